"""What holds at submit holds when the approval lands: a requester the access rules no longer let
ask (out of the group, the rule narrowed or gone) gets no grant from a request or an extension
still waiting, and an account that left the organization takes no new access (SPEC 10.2, 10.4)."""

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from access_requests.models import AccessRequest
from access_requests.services import (
    access_request_approve,
    access_request_reject,
    grant_extension_request,
)
from accounts.access_rules import AccessRule
from core.errors import ServiceError
from provisioning.models import Grant
from tests.factories import active_without_aws, submitted


def _leaves_developers(demo) -> None:
    demo.alice.groups.remove(Group.objects.get(name="developers"))


def test_a_pending_request_of_someone_who_left_the_group_is_not_approved(demo):
    access_request = submitted(demo)
    _leaves_developers(demo)
    with pytest.raises(ServiceError) as refused:
        access_request_approve(access_request=access_request, approver=demo.bob)
    assert refused.value.kind == ServiceError.CONFLICT
    assert "No access rule lets alice" in str(refused.value)
    access_request.refresh_from_db()
    assert access_request.status == "pending"
    assert access_request.approvals.count() == 0
    assert not Grant.objects.filter(access_request=access_request).exists()
    # Rejecting it stays possible.
    access_request_reject(access_request=access_request, approver=demo.bob, reason="left the team")
    assert access_request.status == "rejected"


def test_a_pending_request_longer_than_its_narrowed_rule_is_not_approved(demo):
    access_request = submitted(demo, duration=6 * 3600)
    AccessRule.objects.filter(name="data").update(max_duration=3600)
    with pytest.raises(ServiceError) as refused:
        access_request_approve(access_request=access_request, approver=demo.bob)
    assert "at most 1 h (data)" in str(refused.value)
    assert not Grant.objects.filter(access_request=access_request).exists()


def test_a_pending_extension_of_someone_who_left_the_group_is_not_applied(demo):
    grant = active_without_aws(demo)
    expiry = grant.expires_at
    extension = grant_extension_request(
        grant=grant, user=demo.alice, duration=3600, justification="the report runs late"
    )
    _leaves_developers(demo)
    with pytest.raises(ServiceError) as refused:
        access_request_approve(access_request=extension, approver=demo.bob)
    assert refused.value.kind == ServiceError.CONFLICT
    grant.refresh_from_db()
    assert grant.expires_at == expiry
    extension.refresh_from_db()
    assert extension.status == "pending" and extension.approvals.count() == 0


def test_a_pending_extension_past_its_narrowed_rule_is_not_applied(demo):
    grant = active_without_aws(demo)  # one hour left
    expiry = grant.expires_at
    extension = grant_extension_request(
        grant=grant, user=demo.alice, duration=4 * 3600, justification="the report runs late"
    )
    AccessRule.objects.filter(name="data").update(max_duration=2 * 3600)
    with pytest.raises(ServiceError):
        access_request_approve(access_request=extension, approver=demo.bob)
    grant.refresh_from_db()
    assert grant.expires_at == expiry


def test_an_account_that_left_the_organization_takes_no_new_request(demo):
    for account in (demo.data, demo.dev):
        account.left_organization_at = timezone.now()
        account.save(update_fields=["left_organization_at"])
        with pytest.raises(ServiceError) as refused:
            submitted(demo)
        field = "target_account" if account == demo.data else "source_account"
        assert "left the organization" in refused.value.field_errors[field][0]
        account.left_organization_at = None
        account.save(update_fields=["left_organization_at"])
    assert not AccessRequest.objects.exists()


def test_a_request_waiting_when_its_account_left_the_organization_is_not_approved(demo):
    access_request = submitted(demo)
    demo.data.left_organization_at = timezone.now()
    demo.data.save(update_fields=["left_organization_at"])
    with pytest.raises(ServiceError) as refused:
        access_request_approve(access_request=access_request, approver=demo.bob)
    assert refused.value.kind == ServiceError.CONFLICT
    assert "left the organization" in str(refused.value)
    assert not Grant.objects.filter(access_request=access_request).exists()


def test_a_grant_in_an_account_that_left_the_organization_is_kept_but_not_extended(demo):
    grant = active_without_aws(demo)
    extension = grant_extension_request(
        grant=grant, user=demo.alice, duration=3600, justification="x"
    )
    demo.data.left_organization_at = timezone.now()
    demo.data.save(update_fields=["left_organization_at"])
    with pytest.raises(ServiceError):
        access_request_approve(access_request=extension, approver=demo.bob)
    access_request_reject(access_request=extension, approver=demo.bob, reason="left")
    with pytest.raises(ServiceError) as refused:
        grant_extension_request(grant=grant, user=demo.alice, duration=3600, justification="x")
    assert "left the organization" in str(refused.value)
    assert AccessRequest.objects.get(pk=grant.access_request_id).status == "active"


def test_a_pending_request_longer_than_the_account_now_allows_is_not_approved(demo):
    access_request = submitted(demo, duration=6 * 3600)
    demo.data.max_access_duration = 2 * 3600
    demo.data.save(update_fields=["max_access_duration"])
    with pytest.raises(ServiceError) as refused:
        access_request_approve(access_request=access_request, approver=demo.bob)
    assert refused.value.kind == ServiceError.CONFLICT
    assert "at most 2 hours" in str(refused.value)
    assert not Grant.objects.filter(access_request=access_request).exists()


def test_an_emergency_revoke_of_an_account_cancels_what_waits_into_or_out_of_it(demo):
    """As for a person: what waits for an approver goes first, so nobody approves a new grant
    into (or out of) the account after an admin cut it off."""
    from access_requests.services import access_revoke_all

    into = submitted(demo)  # dev -> data
    out_of = submitted(
        demo,
        source_account=demo.data,
        access_via="own_identity",
        target_account=demo.prod,
        resources=["arn:aws:dynamodb:eu-central-1:222222222222:table/Orders"],
    )
    elsewhere = submitted(
        demo,
        target_account=demo.prod,
        resources=["arn:aws:dynamodb:eu-central-1:222222222222:table/Orders"],
    )
    _started, cancelled = access_revoke_all(admin=demo.admin, account_id="999999999999")
    assert sorted(cancelled) == sorted([into.pk, out_of.pk])
    for access_request in (into, out_of, elsewhere):
        access_request.refresh_from_db()
    assert (into.status, out_of.status, elsewhere.status) == ("cancelled", "cancelled", "pending")
    with pytest.raises(ServiceError) as refused:
        access_request_approve(access_request=into, approver=demo.bob)
    assert refused.value.kind == ServiceError.CONFLICT
    # Naming both a person and an account (or neither) is refused before anything is cancelled.
    with pytest.raises(ServiceError):
        access_revoke_all(admin=demo.admin, requester=demo.alice, account_id="222222222222")
    elsewhere.refresh_from_db()
    assert elsewhere.status == "pending"


def test_the_api_says_409_and_records_nothing(demo):
    from tests.api.conftest import api_for

    access_request = submitted(demo)
    _leaves_developers(demo)
    response = api_for(demo.bob).post(
        f"/api/v1/requests/{access_request.pk}/approve/",
        {"documents_hash": access_request.documents_hash},
        format="json",
    )
    assert response.status_code == 409
    assert "no longer let alice" in response.json()["detail"]
    assert access_request.approvals.count() == 0
