"""The audit page and its exports: filters, visibility, CSV/JSON content, constant query counts."""

import csv
import io
import json
from datetime import UTC, datetime
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_record
from audit.views import csv_cell
from tests.factories import submitted

CSV_URL = reverse("audit_export_csv")
JSON_URL = reverse("audit_export_json")
LIST_URL = reverse("audit_list")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def record(actor, verb: str, obj, *, at: datetime | None = None, request_id=None) -> AuditEvent:
    if at is None:
        return audit_record(actor=actor, verb=verb, obj=obj, access_request_id=request_id)
    with mock.patch.object(timezone, "now", return_value=at):
        return audit_record(actor=actor, verb=verb, obj=obj, access_request_id=request_id)


def listed(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [event.verb for event in response.context["page"].object_list]


def exported_csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def exported_json(response) -> list[dict]:
    assert response.status_code == 200
    return json.loads(b"".join(response.streaming_content))


@pytest.fixture
def events(demo):
    """Three days of events by alice and bob, one of them tied to a request."""

    access_request = submitted(demo, justification="Read MyTable")
    record(demo.alice, "grant.day1", demo.data, at=datetime(2020, 3, 1, 9, tzinfo=UTC))
    record(demo.bob, "grant.day2", demo.data, at=datetime(2020, 3, 2, 23, 59, tzinfo=UTC))
    record(demo.alice, "session.day3", demo.data, at=datetime(2020, 3, 3, 0, 0, tzinfo=UTC))
    return access_request


def test_filters_by_request_actor_verb_and_days(demo, events):
    admin = client_for(demo.admin)
    assert listed(admin.get(LIST_URL, {"request": events.pk})) == ["request.submitted"]
    assert listed(admin.get(LIST_URL, {"request": f"#{events.pk}"})) == ["request.submitted"]
    assert listed(admin.get(LIST_URL, {"actor": "bob"})) == ["grant.day2"]
    assert listed(admin.get(LIST_URL, {"verb": "grant."})) == ["grant.day2", "grant.day1"]
    # Both ends of the range are whole days, included.
    assert listed(admin.get(LIST_URL, {"from": "2020-03-02", "to": "2020-03-02"})) == ["grant.day2"]
    assert listed(admin.get(LIST_URL, {"from": "2020-03-01", "to": "2020-03-03"})) == [
        "session.day3",
        "grant.day2",
        "grant.day1",
    ]
    assert listed(admin.get(LIST_URL, {"to": "2020-03-01"})) == ["grant.day1"]
    assert listed(admin.get(LIST_URL, {"actor": "alice", "from": "2020-03-02"})) == [
        "request.submitted",
        "session.day3",
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"request": "abc"}, "is not a request number"),
        ({"request": "9" * 40}, "is not a request number"),
        ({"from": "2020-02-30"}, "is not a date"),
        ({"from": "2020-03-03", "to": "2020-03-01"}, "From is after To"),
    ],
)
def test_bad_filters_get_a_message_and_no_events(demo, events, params, message):
    response = client_for(demo.admin).get(LIST_URL, params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(response.context["page"].object_list) == []
    export = client_for(demo.admin).get(CSV_URL, params)
    assert export.status_code == 400
    assert message in export.content.decode()


def test_the_page_links_the_exports_with_its_filters(demo, events):
    html = client_for(demo.admin).get(LIST_URL, {"actor": "bob", "verb": "grant."}).content
    assert f'href="{CSV_URL}?actor=bob&amp;verb=grant."'.encode() in html
    assert f'href="{JSON_URL}?actor=bob&amp;verb=grant."'.encode() in html


def test_csv_export_is_an_attachment_of_the_filtered_events(demo, events):
    response = client_for(demo.admin).get(CSV_URL, {"verb": "grant."})
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-events-')
    assert response["Content-Disposition"].endswith('.csv"')
    assert response["Cache-Control"] == "no-store"
    rows = exported_csv(response)
    assert [(row["verb"], row["actor"]) for row in rows] == [
        ("grant.day2", "bob"),
        ("grant.day1", "alice"),
    ]
    assert rows[0]["created_at"] == "2020-03-02T23:59:00+00:00"
    assert rows[0]["object_type"] == "accounts.account"
    assert rows[0]["object_id"] == str(demo.data.pk)


def test_json_export_carries_the_same_events_with_structured_changes(demo, events):
    response = client_for(demo.admin).get(JSON_URL, {"request": events.pk})
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].endswith('.json"')
    [event] = exported_json(response)
    assert event["verb"] == "request.submitted"
    assert event["actor"] == "alice"
    assert event["request_id"] == events.pk
    assert isinstance(event["after"], dict) and event["after"]
    assert set(event) == {
        "id",
        "created_at",
        "actor",
        "verb",
        "object_type",
        "object_id",
        "request_id",
        "trace",
        "before",
        "after",
        "client_address",
    }


def test_an_empty_export_is_still_valid(demo):
    assert exported_json(client_for(demo.alice).get(JSON_URL)) == []
    assert exported_csv(client_for(demo.alice).get(CSV_URL)) == []


def test_csv_cells_cannot_become_spreadsheet_formulas(demo, django_user_model):
    mallory = django_user_model.objects.create_user("@mallory", password="mallory-pass-1")
    for verb in ('=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1:A9)", "\tcmd", "ok.verb"):
        audit_record(actor=mallory, verb=verb, obj=demo.data)
    rows = exported_csv(client_for(demo.admin).get(CSV_URL, {"actor": "@mallory"}))
    assert sorted(row["verb"] for row in rows) == sorted(
        ['\'=HYPERLINK("http://x")', "'+1+1", "'-2+3", "'@SUM(A1:A9)", "'\tcmd", "ok.verb"]
    )
    assert {row["actor"] for row in rows} == {"'@mallory"}
    # JSON is data, not a spreadsheet: values stay exactly as recorded.
    exported = exported_json(client_for(demo.admin).get(JSON_URL, {"actor": "@mallory"}))
    assert {event["actor"] for event in exported} == {"@mallory"}
    assert '=HYPERLINK("http://x")' in {event["verb"] for event in exported}


def test_csv_cell():
    assert csv_cell(None) == ""
    assert csv_cell(7) == 7
    assert csv_cell({"b": 1, "a": "é"}) == '{"a": "é", "b": 1}'
    assert csv_cell("-1") == "'-1"
    assert csv_cell("grant.activated") == "grant.activated"


def test_non_admins_see_and_export_only_their_own_events(demo, events):
    alice = client_for(demo.alice)
    assert "grant.day2" not in listed(alice.get(LIST_URL))
    assert listed(alice.get(LIST_URL, {"actor": "bob"})) == []
    for rows in (exported_csv(alice.get(CSV_URL)), exported_json(alice.get(JSON_URL))):
        assert len(rows) == 3
        assert {row["actor"] for row in rows} == {"alice"}
    everyone = exported_csv(client_for(demo.admin).get(CSV_URL))
    assert {row["actor"] for row in everyone} == {"alice", "bob"}


@pytest.mark.parametrize("name", ["audit_list", "audit_export_csv", "audit_export_json"])
def test_audit_pages_need_a_login(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    return len(queries)


@pytest.mark.parametrize("url", [LIST_URL, CSV_URL, JSON_URL])
def test_query_count_does_not_grow_with_the_events(demo, django_assert_max_num_queries, url):
    actors = [demo.alice, demo.bob, demo.carol]
    for n in range(5):
        audit_record(actor=actors[n % 3], verb=f"test.{n}", obj=demo.data)
    client = client_for(demo.admin)
    baseline = _queries(client, url)
    for n in range(5, 50):
        audit_record(actor=actors[n % 3], verb=f"test.{n}", obj=demo.data)
    with django_assert_max_num_queries(baseline):
        response = client.get(url)
        content = b"".join(response.streaming_content) if response.streaming else response.content
    assert content.count(b"test.49") == 1
