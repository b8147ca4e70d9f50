"""Audit filters, list filters and pagination, and a fixed number of queries per list."""

import pytest

from access_requests.models import AccessRequest
from access_requests.services import access_request_cancel
from audit.models import AuditEvent
from provisioning.models import Grant
from tests.api.conftest import api_for
from tests.factories import submitted


def test_audit_filters_by_request_actor_and_verb(demo):
    first, second = submitted(demo), submitted(demo)
    api_for(demo.bob).post(f"/api/v1/requests/{first.pk}/approve/")
    admin = api_for(demo.admin)

    by_request = admin.get("/api/v1/audit/", {"request": first.pk}).json()["results"]
    assert {event["request"] for event in by_request} == {first.pk}
    assert {event["verb"] for event in by_request} == {
        "request.submitted",
        "request.approval_given",
        "request.approved",
    }
    by_actor = admin.get("/api/v1/audit/", {"actor": "bob"}).json()["results"]
    assert {event["actor"] for event in by_actor} == {"bob"}
    by_verb = admin.get("/api/v1/audit/", {"verb": "request.submitted"}).json()["results"]
    assert sorted(event["request"] for event in by_verb) == sorted([first.pk, second.pk])
    # Others see only the events they caused.
    mine = api_for(demo.alice).get("/api/v1/audit/").json()["results"]
    assert {event["actor"] for event in mine} == {"alice"}


def test_request_filters(demo):
    first, second = submitted(demo), submitted(demo)
    access_request_cancel(access_request=second, user=demo.alice)
    bob = api_for(demo.bob)

    def ids(**query):
        response = bob.get("/api/v1/requests/", query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids(status="cancelled") == [second.pk]
    assert ids(status="pending", target_account="999999999999") == [first.pk]
    assert ids(source_account="222222222222") == []
    assert ids(requester="alice", mechanism="assume_role") == [second.pk, first.pk]
    assert ids(awaiting="true") == [first.pk]
    assert api_for(demo.alice).get("/api/v1/requests/", {"awaiting": "true"}).json()["count"] == 0


def test_pages_of_at_most_100(demo):
    for _ in range(3):
        submitted(demo)
    page = api_for(demo.alice).get("/api/v1/requests/", {"page_size": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    second = api_for(demo.alice).get(page["next"]).json()
    assert len(second["results"]) == 1
    assert api_for(demo.alice).get("/api/v1/requests/", {"page": 9}).status_code == 404


def _many(demo, count: int) -> None:
    """`count` more requests, each with a grant and an audit event, written in bulk."""
    template = submitted(demo)
    fields = [f.attname for f in AccessRequest._meta.concrete_fields if f.attname != "id"]
    rows = [
        AccessRequest(**{name: getattr(template, name) for name in fields})
        for _ in range(count - 1)
    ]
    created = [template, *AccessRequest.objects.bulk_create(rows)]
    Grant.objects.bulk_create(
        Grant(access_request=row, role_arn=f"arn:aws:iam::999999999999:role/r{row.pk}")
        for row in created
    )
    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor=demo.alice,
            verb="test.row",
            object_type="x",
            object_id=str(row.pk),
            access_request=row,
        )
        for row in created
    )


@pytest.mark.parametrize("path", ["/api/v1/requests/", "/api/v1/grants/", "/api/v1/audit/"])
def test_lists_run_a_fixed_number_of_queries(demo, django_assert_max_num_queries, path):
    client = api_for(demo.admin)
    _many(demo, 5)
    with django_assert_max_num_queries(6) as few:
        assert len(client.get(path, {"page_size": 100}).json()["results"]) >= 1
    _many(demo, 50)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(path, {"page_size": 100}).json()["results"]) >= 5
