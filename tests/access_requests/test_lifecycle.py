"""Approval rules over a request's life: two-party approval, votes bound to the documents, edits
and extensions."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group

from access_requests.models import AccessRequest
from access_requests.services import (
    access_request_approve,
    access_request_edit,
    access_request_reject,
    access_request_review,
    grant_extension_request,
)
from audit.models import AuditEvent
from core.errors import ServiceError
from tests.factories import active_without_aws, submitted

TABLE = "arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"


@pytest.fixture
def two_party(demo, django_user_model):
    """dev (the source) asks for two-party approval; dana approves for dev."""
    group = Group.objects.create(name="dev-approvers")
    demo.dev.approver_group = group
    demo.dev.source_approval_required = True
    demo.dev.save()
    dana = django_user_model.objects.create_user("dana", password="dana-pass-123")
    dana.groups.add(group)
    demo.dana = dana
    return demo


def test_two_party_needs_the_source_accounts_approver_too(two_party):
    demo = two_party
    access_request = submitted(demo)
    access_request_approve(access_request=access_request, approver=demo.bob)
    assert access_request.status == "pending", "the target's quorum alone is not enough"
    access_request_approve(access_request=access_request, approver=demo.dana)
    assert access_request.status == "approved"


def test_two_party_source_approval_alone_is_not_enough(two_party):
    demo = two_party
    access_request = submitted(demo)
    access_request_approve(access_request=access_request, approver=demo.dana)
    assert access_request.status == "pending"


def test_two_party_one_person_in_both_groups_does_not_count_twice(two_party):
    demo = two_party
    demo.bob.groups.add(demo.dev.approver_group)
    access_request = submitted(demo)
    access_request_approve(access_request=access_request, approver=demo.bob)
    assert access_request.status == "pending"
    access_request_approve(access_request=access_request, approver=demo.carol)
    assert access_request.status == "approved"


def test_an_edit_makes_earlier_approvals_stop_counting_and_approvers_vote_again(demo):
    access_request = submitted(
        demo,
        target_account=demo.prod,
        resources=[TABLE.replace("999999999999", "222222222222").replace("MyTable", "Orders")],
    )
    access_request_approve(access_request=access_request, approver=demo.bob)
    first_hash = access_request.documents_hash
    access_request_edit(
        access_request=access_request,
        user=demo.alice,
        actions=["dynamodb:GetItem", "dynamodb:Query"],
        resources=access_request.resources,
        duration=3600,
        justification="report, with queries",
    )
    assert access_request.documents_hash != first_hash
    assert (
        "dynamodb:Query"
        in access_request.documents["permission_policy"]["document"]["Statement"][0]["Action"]
    )
    access_request_approve(access_request=access_request, approver=demo.carol)
    assert access_request.status == "pending", "bob's approval was for other documents"
    access_request_approve(access_request=access_request, approver=demo.bob)
    assert access_request.status == "approved"
    assert (
        AuditEvent.objects.filter(access_request=access_request, verb="request.edited").count() == 1
    )


def test_only_the_requester_edits_and_only_while_pending(demo):
    access_request = submitted(demo)
    arguments = {
        "actions": ["dynamodb:GetItem"],
        "resources": [TABLE],
        "duration": 3600,
        "justification": "x",
    }
    with pytest.raises(ServiceError) as refused:
        access_request_edit(access_request=access_request, user=demo.bob, **arguments)
    assert refused.value.kind == "forbidden"
    access_request_approve(access_request=access_request, approver=demo.bob)
    with pytest.raises(ServiceError) as late:
        access_request_edit(access_request=access_request, user=demo.alice, **arguments)
    assert late.value.kind == "conflict"


def test_a_bad_edit_changes_nothing(demo):
    access_request = submitted(demo)
    before = (access_request.documents_hash, access_request.actions)
    with pytest.raises(ServiceError):
        access_request_edit(
            access_request=access_request,
            user=demo.alice,
            actions=["dynamodb:Nope"],
            resources=[TABLE],
            duration=3600,
            justification="x",
        )
    access_request.refresh_from_db()
    assert (access_request.documents_hash, access_request.actions) == before


def test_an_approved_extension_moves_the_expiry_without_a_gap(demo):
    grant = active_without_aws(demo)
    original_expiry = grant.expires_at
    extension = grant_extension_request(
        grant=grant, user=demo.alice, duration=4 * 3600, justification="the report runs late"
    )
    assert extension.extends_id == grant.pk
    assert extension.documents_hash == grant.access_request.documents_hash
    access_request_approve(access_request=extension, approver=demo.carol)
    grant.refresh_from_db()
    assert extension.status == "extended"
    assert grant.expires_at == original_expiry + timedelta(hours=4)
    assert AccessRequest.objects.get(pk=grant.access_request_id).status == "active"
    assert (
        AuditEvent.objects.filter(
            verb="grant.extended", access_request=grant.access_request
        ).count()
        == 1
    )


def test_a_rejected_extension_keeps_the_original_expiry(demo):
    grant = active_without_aws(demo)
    original_expiry = grant.expires_at
    extension = grant_extension_request(
        grant=grant, user=demo.alice, duration=3600, justification="more"
    )
    access_request_reject(access_request=extension, approver=demo.bob, reason="Not needed")
    grant.refresh_from_db()
    assert extension.status == "rejected"
    assert grant.expires_at == original_expiry
    assert AccessRequest.objects.get(pk=grant.access_request_id).status == "active"


def test_extension_rules(demo):
    grant = active_without_aws(demo)
    with pytest.raises(ServiceError) as stranger:
        grant_extension_request(grant=grant, user=demo.bob, duration=3600, justification="x")
    assert stranger.value.kind == "forbidden"
    with pytest.raises(ServiceError) as too_long:
        grant_extension_request(
            grant=grant, user=demo.alice, duration=7 * 24 * 3600, justification="x"
        )
    assert "at most 168 hours" in too_long.value.field_errors["duration"][0]
    grant_extension_request(grant=grant, user=demo.alice, duration=3600, justification="x")
    with pytest.raises(ServiceError) as twice:
        grant_extension_request(grant=grant, user=demo.alice, duration=3600, justification="x")
    assert twice.value.kind == "conflict"


def test_an_extension_approved_after_the_grant_ended_is_refused(demo):
    grant = active_without_aws(demo)
    extension = grant_extension_request(
        grant=grant, user=demo.alice, duration=3600, justification="x"
    )
    AccessRequest.objects.filter(pk=grant.access_request_id).update(status="expired")
    with pytest.raises(ServiceError) as ended:
        access_request_approve(access_request=extension, approver=demo.bob)
    assert ended.value.kind == "conflict"
    extension.refresh_from_db()
    assert extension.status == "pending"
    assert extension.approvals.count() == 0


def test_an_extension_keeps_to_the_access_rules(demo):
    """The rule's longest access counts from now to the new expiry, as for a new request; a
    requester no rule lets ask any more (out of the group) cannot extend at all."""
    from accounts.access_rules import AccessRule

    AccessRule.objects.filter(name="data").update(max_duration=3 * 3600)
    grant = active_without_aws(demo)  # one hour left
    with pytest.raises(ServiceError) as too_long:
        grant_extension_request(grant=grant, user=demo.alice, duration=3 * 3600, justification="x")
    (message,) = too_long.value.field_errors["duration"]
    assert "would last 3 h 59 min from now" in message and "at most 3 h (data)" in message
    assert grant.extensions.count() == 0
    within = grant_extension_request(grant=grant, user=demo.alice, duration=3600, justification="x")
    access_request_reject(access_request=within, approver=demo.bob, reason="not now")
    demo.alice.groups.remove(Group.objects.get(name="developers"))
    with pytest.raises(ServiceError) as left:
        grant_extension_request(grant=grant, user=demo.alice, duration=3600, justification="x")
    assert left.value.kind == "forbidden" and "No access rule lets alice" in str(left.value)


def test_a_break_glass_review_is_the_target_accounts_not_the_source_approvers(two_party):
    """The review after a break-glass is the target account's check: an approver of the source
    account (two-party approval) cannot mark it reviewed and so take it out of the target
    approvers' "To review"."""
    demo = two_party
    access_request = submitted(
        demo,
        target_account=demo.prod,
        resources=["arn:aws:dynamodb:eu-central-1:222222222222:table/Orders"],
        break_glass=True,
    )
    assert access_request.review_status == "pending_review"
    with pytest.raises(ServiceError) as refused:
        access_request_review(access_request=access_request, reviewer=demo.dana)
    assert refused.value.kind == ServiceError.FORBIDDEN
    assert access_request.review_status == "pending_review"
    access_request_review(access_request=access_request, reviewer=demo.bob, comment="INC-1")
    assert access_request.review_status == "reviewed"


def test_a_break_glass_review_needs_the_reviewers_second_factor(demo, settings):
    """As for approve and reject: an approver who needs a second factor and never enrolled one
    (a token from before PORTAL_REQUIRE_MFA) cannot mark a break-glass reviewed, which would take
    it out of the other approvers' "To review"."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    access_request = submitted(
        demo,
        target_account=demo.prod,
        resources=["arn:aws:dynamodb:eu-central-1:222222222222:table/Orders"],
        break_glass=True,
    )
    settings.PORTAL_REQUIRE_MFA = True
    with pytest.raises(ServiceError) as refused:
        access_request_review(access_request=access_request, reviewer=demo.carol)
    assert refused.value.kind == ServiceError.FORBIDDEN
    assert "two-factor authentication" in refused.value.message
    access_request.refresh_from_db()
    assert access_request.review_status == "pending_review"
    TOTPDevice.objects.create(user=demo.carol, name="app", confirmed=True)
    access_request_review(access_request=access_request, reviewer=demo.carol)
    assert access_request.review_status == "reviewed"
