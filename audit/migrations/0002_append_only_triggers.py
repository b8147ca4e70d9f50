"""Make the audit trail append-only in the database too, not only in the model.

AuditEvent refuses save() on an existing row, delete() and queryset update()/delete(), but raw SQL,
a shell or another program on the same database would go around that. On PostgreSQL a row-level
trigger rejects every UPDATE and DELETE on the table, whoever sends it.

What the trigger does not cover, and why:

- TRUNCATE is left alone on purpose. Django empties the test database between transactional tests
  with TRUNCATE (its PostgreSQL flush; row triggers do not fire on TRUNCATE, so tests still clean
  up), and a statement-level TRUNCATE trigger would break that teardown.
- TRUNCATE, DROP TRIGGER, ALTER TABLE ... DISABLE TRIGGER and session_replication_role all need the
  table's owner (or a superuser). So in production run migrations with an owner role and the
  portal itself with a role that does NOT own the table and holds only SELECT and INSERT on it
  (and USAGE on its id sequence); then neither the portal nor a stolen portal credential can
  rewrite history. The trigger stops even the owner's ordinary UPDATE and DELETE.
- A future migration that must rewrite rows (a backfill) has to disable the trigger for its own
  transaction, visibly, in that migration.

SQLite (the throwaway `make run` demo database) gets an UPDATE trigger only: Django's flush on
SQLite empties tables with DELETE, so a DELETE trigger there would break `manage.py flush` and
transactional tests run against SQLite. Deleting is still refused by the model.

Users and requests cannot be deleted from under their events either: both foreign keys are PROTECT
(and at the database level NO ACTION), so deleting a user or a request that has events fails.
"""

from django.db import migrations

FUNCTION = "audit_auditevent_append_only"
TRIGGER = "audit_auditevent_append_only"
MESSAGE = "Audit events are append-only"


def _table(apps) -> str:
    return apps.get_model("audit", "AuditEvent")._meta.db_table


def triggers_create(apps, schema_editor):
    table = schema_editor.quote_name(_table(apps))
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"""
            CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}: % on %.% is refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
                    USING HINT = 'The audit trail is written once and never changed or deleted.';
            END;
            $$
            """,
            params=None,  # the body holds % signs: no parameter interpolation
        )
        schema_editor.execute(
            f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()",
            params=None,
        )
    elif vendor == "sqlite":
        schema_editor.execute(
            f"CREATE TRIGGER {TRIGGER}_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE is refused'); END"
        )
    # Other databases: the model's refusals only.


def triggers_drop(apps, schema_editor):
    table = schema_editor.quote_name(_table(apps))
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
    elif vendor == "sqlite":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}_update")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(triggers_create, triggers_drop, elidable=False)]
