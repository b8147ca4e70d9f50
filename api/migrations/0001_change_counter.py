"""The change counter behind the request list's ETags (api/changes.py), on PostgreSQL.

A table of counts, one row per database connection that has written (`backend`: its
pg_backend_pid(); row 0 holds the folded counts of connections that have ended), and a
statement-level trigger on every table the request list reads (for an UPDATE, of the columns it
reads). The trigger adds one to the writing connection's row for every statement that writes, in
the same transaction as the write: the new count is visible exactly when the rows are (and at
once to the writing transaction itself). No two transactions ever write the same row (a
connection runs one transaction at a time), so writers never wait on the counter or deadlock
over it.

The table is not a model: Django's flush (transactional tests) must not empty it, or a count
could come round to a value an earlier page was served with. TRUNCATE of a watched table counts
as a change too. In production the portal's database role needs SELECT, INSERT and UPDATE on
the table (the trigger runs as the writer), and DELETE for the hourly fold.

SQLite (the throwaway `make run` demo database) gets nothing: the list answers without ETags.
"""

from django.db import migrations

COUNTER = "api_change_counter"
FUNCTION = "api_change_noted"
TRIGGER = "api_change_noted"

# What the request list reads, and what decides who sees which request: for each model, the
# fields whose UPDATE counts (None: any), besides every INSERT, DELETE and TRUNCATE. An UPDATE
# of other columns (a sign-in's last_login, a drift check's drift_checked_at) changes nothing a
# page shows: it leaves every ETag as it was, and tells no one that someone signed in.
WATCHED: dict[tuple[str, str], list[str] | None] = {
    ("access_requests", "AccessRequest"): [
        "id",
        "status",
        "requester",
        "source_account",
        "target_account",
        "source_principal",
        "actions",
        "resources",
        "access_via",
        "requested_mechanism",
        "mechanism",
        "recommended_mechanism",
        "duration",
        "justification",
        "ticket",
        "third_party",
        "extends",
        "batch",
        "created_at",
        "updated_at",
        "decided_at",
        "documents_hash",
        "privilege_escalation",
    ],
    ("access_requests", "Approval"): None,
    ("provisioning", "Grant"): ["id", "access_request", "role_arn", "expires_at", "end_status"],
    ("accounts", "Account"): ["id", "account_id", "approver_group", "source_approval_required"],
    # The caller's own row is read by the token check; is_superuser decides what they see.
    ("auth", "User"): ["id", "username", "is_superuser", "is_active"],
    ("auth", "Group"): ["id"],
}
MEMBERSHIPS = ("auth", "User", "groups")  # the user-group table: any change counts

# Plain text (the names above, written out): the body holds no parameters.
FUNCTION_CREATE = """
    CREATE FUNCTION api_change_noted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO api_change_counter AS counter (backend, changes) VALUES (pg_backend_pid(), 1)
        ON CONFLICT (backend) DO UPDATE SET changes = counter.changes + 1;
        RETURN NULL;
    END;
    $$
"""


def _watched(apps, schema_editor) -> dict[str, list[str] | None]:
    """Table name: the quoted columns whose UPDATE counts, or None for any."""
    tables: dict[str, list[str] | None] = {}
    for (app, name), fields in WATCHED.items():
        meta = apps.get_model(app, name)._meta
        tables[meta.db_table] = None
        if fields is not None:
            columns = [meta.get_field(field).column for field in fields]
            tables[meta.db_table] = [schema_editor.quote_name(column) for column in columns]
    app, name, field = MEMBERSHIPS
    through = apps.get_model(app, name)._meta.get_field(field).remote_field.through
    tables[through._meta.db_table] = None
    return tables


def counter_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE TABLE {COUNTER} (backend integer PRIMARY KEY, changes bigint NOT NULL)"
    )
    schema_editor.execute(
        f"INSERT INTO {COUNTER} (backend, changes) VALUES (0, 0)"  # nosec B608 (constants)
    )
    schema_editor.execute(FUNCTION_CREATE, params=None)
    for table, columns in _watched(apps, schema_editor).items():
        update = "UPDATE" if columns is None else f"UPDATE OF {', '.join(columns)}"
        schema_editor.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER INSERT OR DELETE OR TRUNCATE OR {update}"
            f" ON {schema_editor.quote_name(table)} FOR EACH STATEMENT"
            f" EXECUTE FUNCTION {FUNCTION}()",
            params=None,
        )


def counter_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in _watched(apps, schema_editor):
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {TRIGGER} ON {schema_editor.quote_name(table)}", params=None
        )
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()", params=None)
    schema_editor.execute(f"DROP TABLE IF EXISTS {COUNTER}", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("access_requests", "0010_request_status_created_index"),
        ("accounts", "0010_resource_control_policies"),
        ("provisioning", "0006_grant_removal_found"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    operations = [migrations.RunPython(counter_create, counter_drop)]
