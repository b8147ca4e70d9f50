"""GET /api/v1/requests/ as it is read fast: its written-out rows say exactly what DRF's generic
serializer says, it reads none of the detail's large columns, and the visibility rule lists each
request once."""

import json
from datetime import timedelta

from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from access_requests.models import AccessRequest
from access_requests.selectors import access_requests_awaiting, access_requests_visible_to
from api.serializers.requests import LIST_VALUES, AccessRequestListSerializer, list_row
from provisioning.models import Grant
from tests.api.conftest import api_for
from tests.factories import submitted


def _varied_requests(demo) -> list[AccessRequest]:
    """A pending request; an active one with its grant; its extension; a decided one."""
    pending = submitted(demo, ticket="OPS-1")
    active = submitted(demo, third_party=True, external_id="vendor-given-id")
    AccessRequest.objects.filter(pk=active.pk).update(
        status=AccessRequest.Status.ACTIVE, decided_at=timezone.now()
    )
    grant = Grant.objects.create(
        access_request=active,
        role_arn="arn:aws:iam::999999999999:role/portal/portal-access-1",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    extension = submitted(demo)
    AccessRequest.objects.filter(pk=extension.pk).update(extends=grant)
    rejected = submitted(demo)
    AccessRequest.objects.filter(pk=rejected.pk).update(
        status=AccessRequest.Status.REJECTED, decided_at=timezone.now()
    )
    return [pending, active, extension, rejected]


def test_the_written_out_rows_match_the_generic_serializer(demo):
    _varied_requests(demo)
    rows = access_requests_visible_to(user=demo.admin).order_by("id")
    values = {v["id"]: v for v in rows.values(*LIST_VALUES)}
    assert len(rows) == 4 and len(values) == 4
    for row in rows:
        fast = list_row(values[row.pk])
        assert fast == AccessRequestListSerializer(row).data
        assert list(fast) == AccessRequestListSerializer.Meta.fields
    served = api_for(demo.admin).get("/api/v1/requests/").json()["results"]
    by_id = {row.pk: row for row in rows}
    for item in served:
        # Through JSON, as a client reads it: the same as the generic serializer's, rendered.
        generic = AccessRequestListSerializer(by_id[item["id"]]).data
        assert item == json.loads(JSONRenderer().render(generic))
    assert {item["grant"]["id"] for item in served if item["grant"]} == {Grant.objects.get().pk}
    assert [item["extends"] for item in served if item["extends"]] == [Grant.objects.get().pk]
    assert any(item["decided_at"] for item in served)
    assert all(item["created_at"].endswith("Z") for item in served)


def test_the_list_reads_none_of_the_detail_columns(demo):
    _varied_requests(demo)
    with CaptureQueriesContext(connection) as captured:
        response = api_for(demo.alice).get("/api/v1/requests/")
    assert response.status_code == 200 and response.json()["count"] == 4
    page = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith('SELECT "access_requests_accessrequest"."id"')
    ]
    assert len(page) == 1
    for column in ("documents", "findings", "simulation", "written", "verification"):
        assert f'."{column}"' not in page[0], column
    assert "documents" not in response.json()["results"][0]
    detail = api_for(demo.alice).get(f"/api/v1/requests/{response.json()['results'][0]['id']}/")
    assert {"documents", "findings", "simulation"} <= set(detail.json())


def test_a_request_visible_twice_over_is_listed_once(demo, stranger):
    """Bob approves for the target account and, through a second group, for the source account
    that asks for two-party approval: the request matches both rules, and shows once."""
    second = Group.objects.create(name="dev-approvers")
    demo.bob.groups.add(second)
    demo.dev.source_approval_required = True
    demo.dev.approver_group = second
    demo.dev.save(update_fields=["source_approval_required", "approver_group"])
    access_request = submitted(demo)
    visible = list(access_requests_visible_to(user=demo.bob).values_list("pk", flat=True))
    assert visible == [access_request.pk]
    assert list(access_requests_awaiting(user=demo.bob)) == [access_request]
    page = api_for(demo.bob).get("/api/v1/requests/").json()
    assert page["count"] == 1 and [item["id"] for item in page["results"]] == [access_request.pk]
    assert api_for(demo.bob).get("/api/v1/requests/", {"awaiting": "true"}).json()["count"] == 1
    # Carol approves for the target only (one rule); a stranger for nothing.
    assert list(access_requests_visible_to(user=demo.carol)) == [access_request]
    assert not access_requests_visible_to(user=stranger).exists()
    assert api_for(stranger).get(f"/api/v1/requests/{access_request.pk}/").status_code == 404
