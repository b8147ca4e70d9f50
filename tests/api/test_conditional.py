"""Conditional GETs of /api/v1/requests/ (api/changes.py): an unchanged list is a 304 from one
statement; anything the list could show, or anything that decides who sees what, changes the
ETag, whoever writes it; no caller gets a 304 for a page that is not theirs; and a page's count
is counted once while nothing changes."""

import re
import time
from datetime import timedelta

import psycopg
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from access_requests.models import AccessRequest, Approval
from api import changes
from provisioning.models import Grant
from tests.api.conftest import api_for
from tests.factories import submitted

LIST = "/api/v1/requests/"


def _etag(client, path: str = LIST) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "private, no-cache"
    assert {"Authorization", "Cookie", "Accept"} <= {v.strip() for v in response["Vary"].split(",")}
    return response["ETag"]


def test_an_unchanged_list_is_a_304_from_the_token_and_the_counter(demo):
    submitted(demo)
    client = api_for(demo.alice)
    etag = _etag(client)
    assert re.fullmatch(r'"[0-9a-f]{40}"', etag)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    statements = [q["sql"] for q in queries.captured_queries]
    # The token check, which reads the change counter too: no page, no count.
    assert len(statements) == 1, statements
    assert "authtoken_token" in statements[0] and "api_change_counter" in statements[0]
    # Weak comparison and lists, as RFC 9110 asks of If-None-Match.
    assert client.get(LIST, HTTP_IF_NONE_MATCH=f'"nope", W/{etag}').status_code == 304
    assert client.get(LIST, HTTP_IF_NONE_MATCH="*").status_code == 304
    assert client.get(LIST, HTTP_IF_NONE_MATCH='"nope"').status_code == 200


def test_a_signed_in_browser_gets_the_same_304(demo):
    """A session's call has no token check to read the counter with: it is read on its own."""
    submitted(demo)
    client = APIClient()
    client.force_login(demo.alice)
    etag = _etag(client)
    assert etag == _etag(api_for(demo.alice))  # the same person's same page
    with CaptureQueriesContext(connection) as queries:
        assert client.get(LIST, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert any("api_change_counter" in q["sql"] for q in queries.captured_queries)
    submitted(demo)
    assert client.get(LIST, HTTP_IF_NONE_MATCH=etag).status_code == 200


def _changes(demo):
    """Writes of every kind the list could show or that decide visibility, each a function that
    makes one change the ORM's way, in bulk, or as raw SQL."""
    request = submitted(demo)
    grant_request = submitted(demo)
    grant = Grant.objects.create(
        access_request=grant_request,
        role_arn="arn:aws:iam::999999999999:role/portal/portal-access-1",
        expires_at=timezone.now() + timedelta(hours=1),
    )

    approvers = Group.objects.get(name="data-approvers")

    def raw(statement: str, params: list) -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)

    return {
        "a request submitted": lambda: submitted(demo, ticket="OPS-2"),
        "a status moved in bulk": lambda: AccessRequest.objects.filter(pk=request.pk).update(
            status=AccessRequest.Status.REJECTED
        ),
        "a justification rewritten in raw SQL": lambda: raw(
            f"UPDATE {AccessRequest._meta.db_table} SET justification = %s WHERE id = %s",  # noqa: S608
            ["changed", request.pk],
        ),
        "a grant's expiry": lambda: Grant.objects.filter(pk=grant.pk).update(
            expires_at=timezone.now() + timedelta(hours=2)
        ),
        "an approval": lambda: Approval.objects.create(
            access_request=request, approver=demo.bob, documents_hash=request.documents_hash
        ),
        "an account's approvers": lambda: (
            type(demo.data).objects.filter(pk=demo.vendor.pk).update(approver_group=approvers)
        ),
        "a requester renamed": lambda: (
            type(demo.alice).objects.filter(pk=demo.alice.pk).update(username="alice2")
        ),
        "a group membership": lambda: demo.dave.groups.add(approvers),
        "a group deleted": lambda: Group.objects.filter(name="oncall").delete(),
        "an approval deleted": lambda: Approval.objects.filter(access_request=request).delete(),
    }


def test_every_change_the_list_could_show_changes_the_etag(demo):
    client = api_for(demo.admin)
    for what, change in _changes(demo).items():
        before = _etag(client)
        change()
        response = client.get(LIST, HTTP_IF_NONE_MATCH=before)
        assert response.status_code == 200, what
        assert response["ETag"] != before, what


def test_a_new_approver_sees_more_and_gets_no_304_for_the_old_page(demo):
    submitted(demo)
    client = api_for(demo.dave)
    etag = _etag(client)
    assert client.get(LIST).json()["count"] == 0
    demo.dave.groups.add(Group.objects.get(name="data-approvers"))
    response = client.get(LIST, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200 and response.json()["count"] == 1


def test_each_caller_query_and_page_has_its_own_etag(demo):
    for _ in range(3):
        submitted(demo)
    alice, admin = api_for(demo.alice), api_for(demo.admin)
    tags = {
        _etag(alice),
        _etag(admin),
        _etag(alice, f"{LIST}?page_size=1"),
        _etag(alice, f"{LIST}?page_size=1&page=2"),
        _etag(alice, f"{LIST}?status=pending"),
    }
    assert len(tags) == 5
    # The admin's ETag is no key to the admin's page: alice gets her own, in full.
    response = alice.get(LIST, HTTP_IF_NONE_MATCH=_etag(admin))
    assert response.status_code == 200 and response["ETag"] == _etag(alice)
    # Another host name is another page (its links are absolute).
    elsewhere = alice.get(LIST, HTTP_HOST="localhost")
    assert elsewhere.status_code == 200 and elsewhere["ETag"] != _etag(alice)
    # The same query in another order is the same page.
    assert _etag(alice, f"{LIST}?page=1&page_size=2") == _etag(alice, f"{LIST}?page_size=2&page=1")


def test_a_bad_query_is_a_400_even_with_a_matching_etag(demo):
    client = api_for(demo.alice)
    assert client.get(f"{LIST}?status=nonsense", HTTP_IF_NONE_MATCH="*").status_code == 400
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert stranger.get(LIST, HTTP_IF_NONE_MATCH="*").status_code == 401
    assert APIClient().get(LIST, HTTP_IF_NONE_MATCH="*").status_code in (401, 403)


# Every filter and caller the list knows, so each of its queries is seen.
_QUERIES = [
    "",
    "?awaiting=true",
    "?status=pending",
    "?source_account=111111111111",
    "?target_account=999999999999",
    "?requester=alice",
    "?mechanism=assume_role",
    "?batch=00000000-0000-0000-0000-000000000000",
]


def _columns_read(statement: str) -> set[tuple[str, str]]:
    """(table, column) of every column a statement names, through its aliases (Django's T4, U0)."""
    tables = {}
    for table, alias in re.findall(
        r'(?:FROM|JOIN)\s+"(\w+)"(?:\s+(?:AS\s+)?([A-Z]\d+)\b)?', statement
    ):
        tables[table] = table
        if alias:
            tables[alias] = table
    read = set()
    for quoted, alias, column in re.findall(r'(?:"(\w+)"|\b([A-Z]\d+))\."(\w+)"', statement):
        read.add((tables[quoted or alias], column))
    return read


def _watched() -> dict[str, set[str] | None]:
    """Table: the columns whose UPDATE the trigger counts (None: any)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, array(SELECT a.attname FROM unnest(t.tgattr) AS n"
            "  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = n)"
            " FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = %s",
            [changes.TRIGGER],
        )
        return {table: (set(columns) or None) for table, columns in cursor.fetchall()}


def test_every_column_the_list_reads_is_watched_by_the_counter(demo):
    submitted(demo)
    read: set[tuple[str, str]] = set()
    for user in (demo.admin, demo.alice, demo.bob, demo.dave):
        client = api_for(user)
        for query in _QUERIES:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(LIST + query).status_code == 200
            # The token check runs on every call (it is not answered from the ETag); the
            # counter is what validates the rest.
            for q in queries.captured_queries[1:]:
                if changes.COUNTER_TABLE not in q["sql"]:
                    read |= _columns_read(q["sql"])
    # Read from the caller's row by the token check, it decides what the caller sees.
    read.add(("auth_user", "is_superuser"))
    assert {
        ("access_requests_accessrequest", "justification"),
        ("auth_user_groups", "user_id"),
    } <= read
    assert ("auth_group", "id") in read and ("provisioning_grant", "role_arn") in read
    watched = _watched()
    missing = {
        (table, column)
        for table, column in read
        if table not in watched or (watched[table] is not None and column not in watched[table])
    }
    assert not missing


def test_a_sign_in_or_a_drift_check_leaves_the_etag_alone(demo):
    """Writes of columns no page shows tell no one anything: the ETag stays."""
    request = submitted(demo)
    grant = Grant.objects.create(
        access_request=request,
        role_arn="arn:aws:iam::999999999999:role/portal/portal-access-1",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    client = api_for(demo.alice)
    etag = _etag(client)
    assert api_for(demo.bob).get("/api/v1/auth/token/").status_code == 200
    type(demo.bob).objects.filter(pk=demo.bob.pk).update(last_login=timezone.now())
    Grant.objects.filter(pk=grant.pk).update(drift_checked_at=timezone.now())
    assert client.get(LIST, HTTP_IF_NONE_MATCH=etag).status_code == 304
    Grant.objects.filter(pk=grant.pk).update(end_status="revoked")
    assert client.get(LIST, HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_the_count_moves_when_the_write_commits_not_before(transactional_db, demo):
    """Another connection's write counts when it commits, together with the rows it wrote."""
    request = submitted(demo)
    client = api_for(demo.admin)
    etag = _etag(client)
    settings_dict = connection.settings_dict
    other = psycopg.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        host=settings_dict["HOST"],
        port=settings_dict["PORT"] or 5432,
    )
    try:
        with other.cursor() as cursor:
            cursor.execute(
                f"UPDATE {AccessRequest._meta.db_table} SET justification = 'later'"  # noqa: S608
                " WHERE id = %s",
                [request.pk],
            )
            assert client.get(LIST, HTTP_IF_NONE_MATCH=etag).status_code == 304
            other.commit()
        response = client.get(LIST, HTTP_IF_NONE_MATCH=etag)
        assert response.status_code == 200
        assert response.json()["results"][0]["justification"] == "later"
    finally:
        other.close()


def test_folding_ended_connections_keeps_the_count(transactional_db, demo):
    settings_dict = connection.settings_dict
    ended = []
    for n in range(3):  # three connections that write, then end
        with psycopg.connect(
            dbname=settings_dict["NAME"],
            user=settings_dict["USER"],
            host=settings_dict["HOST"],
            port=settings_dict["PORT"] or 5432,
            autocommit=True,
        ) as other:
            other.execute("UPDATE auth_user_groups SET user_id = user_id WHERE id = -%s", [n])
            ended.append(other.info.backend_pid)
    with connection.cursor() as cursor:  # a backend's process ends a moment after its client
        for _ in range(100):
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [ended])
            if cursor.fetchone()[0] == 0:
                break
            time.sleep(0.05)
    before = changes.changes_counted()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {changes.COUNTER_TABLE}")  # noqa: S608
        rows_before = cursor.fetchone()[0]
    left = changes.counter_fold()
    assert changes.changes_counted() == before
    assert left <= rows_before - 3


def test_the_beat_folds_the_counter_every_hour():
    from django.conf import settings

    from api.tasks import change_counter_fold_task

    entry = settings.CELERY_BEAT_SCHEDULE["change-counter-fold"]
    assert entry == {"task": change_counter_fold_task.name, "schedule": 3600.0}


def test_a_page_counts_once_while_nothing_changes(demo):
    """The page's COUNT(*) is remembered per caller, filters and change counter."""
    for _ in range(2):
        submitted(demo)
    admin, alice = api_for(demo.admin), api_for(demo.alice)

    def counts(client, query: str = "") -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(LIST + query)
        assert response.status_code == 200
        return response.json()["count"], sum(
            "COUNT(*)" in q["sql"] for q in queries.captured_queries
        )

    assert counts(admin) == (2, 1)
    assert counts(admin) == (2, 0)
    assert counts(admin, "?page_size=1&page=2") == (2, 0)  # the same filters: the same count
    assert counts(admin, "?status=rejected") == (0, 1)
    assert counts(alice) == (2, 1)  # another caller counts for themself
    submitted(demo)
    assert counts(admin) == (3, 1)
    assert counts(alice) == (3, 1)
    assert counts(alice) == (3, 0)
