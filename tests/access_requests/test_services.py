"""Submitting and deciding requests: the rules both the pages and the API rely on."""

import pytest

from access_requests.models import AccessRequest, Approval
from access_requests.services import (
    access_request_approve,
    access_request_cancel,
    access_request_preview,
    access_request_reject,
)
from audit.models import AuditEvent
from core.errors import ServiceError
from provisioning.models import Grant
from provisioning.queue import grant_provision_enqueue
from tests.factories import TABLE_ARN, submitted

PROD_TABLE_ARN = "arn:aws:dynamodb:eu-central-1:222222222222:table/Orders"


def provisioning_enqueued(callbacks: list) -> list:
    """The on-commit callbacks that enqueue provisioning (others send notifications)."""
    return [c for c in callbacks if getattr(c, "func", None) is grant_provision_enqueue]


def test_submit_stores_the_exact_documents_of_the_article_corrected(demo):
    access_request = submitted(demo)
    documents = access_request.documents
    role_arn = f"arn:aws:iam::999999999999:role/portal/portal-access-{access_request.pk}"

    # A portal session's role trusts the broker, for alice alone (not the source account root).
    trust = documents["trust_policy"]["document"]
    assert trust["Statement"] == [
        {
            "Sid": "PortalAssumeRole",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:role/PortalBroker"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:SourceIdentity": "alice"}},
        },
        {
            "Sid": "PortalSessionAttributes",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:role/PortalBroker"},
            "Action": "sts:SetSourceIdentity",
            "Condition": {"StringEquals": {"sts:SourceIdentity": "alice"}},
        },
    ]
    assert documents["permission_policy"]["document"]["Statement"] == [
        {
            "Sid": f"PortalAccess{access_request.pk}",
            "Effect": "Allow",
            "Action": "dynamodb:GetItem",
            "Resource": TABLE_ARN,
        }
    ]
    source = documents["source_identity_policy"]
    assert source["account_id"] == "111111111111"
    assert source["role_name"] == "PortalBroker"
    assert source["document"]["Statement"][0]["Resource"] == role_arn
    assert "sts:AssumeRole" in source["document"]["Statement"][0]["Action"]
    assert len(access_request.documents_hash) == 64
    assert access_request.status == "pending"
    assert access_request.mechanism == "assume_role"
    assert access_request.recommendation_reasons
    assert AuditEvent.objects.filter(
        verb="request.submitted", access_request=access_request
    ).exists()


def test_third_party_source_gets_an_external_id_condition(demo):
    access_request = submitted(demo, third_party=True, generate_external_id=True)
    assert len(access_request.external_id) == 32
    condition = access_request.documents["trust_policy"]["document"]["Statement"][0]["Condition"]
    assert condition == {
        "StringEquals": {
            "sts:ExternalId": access_request.external_id,
            "sts:SourceIdentity": "alice",
        }
    }


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"actions": ["dynamodb:GetItemz"]}, "actions", "is not an action of dynamodb"),
        ({"actions": ["nosuch:GetItem"]}, "actions", "there is no AWS service"),
        ({"actions": ["dynamodb:*"]}, "actions", "wildcards"),
        ({"actions": []}, "actions", "at least one action"),
        (
            {"resources": ["arn:aws:dynamodb:eu-central-1:999999999999:table:MyTable"]},
            "resources",
            "Did you mean arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable?",
        ),
        ({"resources": ["not-an-arn"]}, "resources", "is not an ARN"),
        ({"resources": [PROD_TABLE_ARN]}, "resources", "not in the target account"),
        ({"resources": ["*"]}, "resources", "every resource"),
        (
            {
                "actions": ["s3:GetObject"],
                "resources": ["arn:aws:s3:eu-central-1:999999999999:MyBucket/*"],
            },
            "resources",
            "Did you mean arn:aws:s3:::mybucket/*?",
        ),
        ({"duration": 60}, "duration", "at least 15 minutes"),
        ({"duration": 8 * 24 * 3600}, "duration", "at most 168 hours"),
        ({"justification": "   "}, "justification", "Say why"),
        ({"justification": "x" * 2001}, "justification", "At most 2000"),
        ({"source_principal": "arn:aws:iam:111111111111/root"}, "source_principal", "neither"),
        (
            {"source_principal": "arn:aws:iam::222222222222:role/Other"},
            "source_principal",
            "must be in the source account",
        ),
        ({"target_account": None}, "target_account", "Choose the target account"),
    ],
)
def test_bad_input_is_refused_per_field_and_nothing_is_saved(demo, overrides, field, message):
    with pytest.raises(ServiceError) as refused:
        submitted(demo, **overrides)
    assert any(message in text for text in refused.value.field_errors[field]), (
        refused.value.field_errors
    )
    assert AccessRequest.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_same_account_and_unmanaged_target_are_refused(demo):
    with pytest.raises(ServiceError) as same:
        submitted(
            demo,
            target_account=demo.dev,
            resources=[TABLE_ARN.replace("999999999999", "111111111111")],
        )
    assert "same account" in same.value.field_errors["target_account"][0]
    with pytest.raises(ServiceError) as unmanaged:
        submitted(demo, target_account=demo.vendor)
    assert "cannot write policies" in unmanaged.value.field_errors["target_account"][0]


def test_markup_in_free_text_is_stored_verbatim(demo):
    text = "<script>alert('x')</script> ünïcödé ✓"
    access_request = submitted(demo, justification=text)
    assert access_request.justification == text


def test_requester_cannot_approve_their_own_request(demo):
    demo.alice.groups.add(demo.data.approver_group)
    access_request = submitted(demo)
    with pytest.raises(ServiceError) as refused:
        access_request_approve(access_request=access_request, approver=demo.alice)
    assert refused.value.kind == "forbidden"
    assert access_request.approvals.count() == 0


def test_approver_of_another_account_cannot_decide(demo, django_user_model):
    from django.contrib.auth.models import Group

    outsider = django_user_model.objects.create_user("erin", password="erin-pass-123")
    group = Group.objects.create(name="elsewhere-approvers")
    outsider.groups.add(group)
    access_request = submitted(demo)
    for decide in (access_request_approve, access_request_reject):
        with pytest.raises(ServiceError) as refused:
            kwargs = {"comment": "ok"} if decide is access_request_approve else {"reason": "no"}
            decide(access_request=access_request, approver=outsider, **kwargs)
        assert refused.value.kind == "forbidden"
    access_request.refresh_from_db()
    assert access_request.status == "pending"


def test_one_approval_activates_the_data_account_and_enqueues_once(
    demo, django_capture_on_commit_callbacks
):
    access_request = submitted(demo)
    with django_capture_on_commit_callbacks() as callbacks:
        access_request_approve(access_request=access_request, approver=demo.bob, comment="ok")
    access_request.refresh_from_db()
    assert access_request.status == "approved"
    assert Grant.objects.filter(access_request=access_request).count() == 1
    assert len(provisioning_enqueued(callbacks)) == 1


def test_prod_needs_two_distinct_approvers(demo, django_capture_on_commit_callbacks):
    access_request = submitted(
        demo, target_account=demo.prod, resources=[PROD_TABLE_ARN], duration=3600
    )
    with django_capture_on_commit_callbacks() as callbacks:
        access_request_approve(access_request=access_request, approver=demo.bob)
    access_request.refresh_from_db()
    assert access_request.status == "pending"
    assert provisioning_enqueued(callbacks) == []

    with pytest.raises(ServiceError) as again:
        access_request_approve(access_request=access_request, approver=demo.bob)
    assert again.value.kind == "conflict"
    assert access_request.approvals.count() == 1

    with django_capture_on_commit_callbacks() as callbacks:
        access_request_approve(access_request=access_request, approver=demo.carol)
    access_request.refresh_from_db()
    assert access_request.status == "approved"
    assert len(provisioning_enqueued(callbacks)) == 1


def test_approvals_on_earlier_documents_do_not_count(demo):
    access_request = submitted(demo, target_account=demo.prod, resources=[PROD_TABLE_ARN])
    access_request_approve(access_request=access_request, approver=demo.bob)
    AccessRequest.objects.filter(pk=access_request.pk).update(documents_hash="0" * 64)
    access_request_approve(access_request=access_request, approver=demo.carol)
    access_request.refresh_from_db()
    assert access_request.status == "pending"


def test_any_reject_rejects_and_needs_a_reason(demo):
    access_request = submitted(demo, target_account=demo.prod, resources=[PROD_TABLE_ARN])
    access_request_approve(access_request=access_request, approver=demo.bob)
    with pytest.raises(ServiceError):
        access_request_reject(access_request=access_request, approver=demo.carol, reason="  ")
    access_request_reject(access_request=access_request, approver=demo.carol, reason="Use staging")
    access_request.refresh_from_db()
    assert access_request.status == "rejected"
    assert not Grant.objects.filter(access_request=access_request).exists()
    with pytest.raises(ServiceError) as late:
        access_request_approve(access_request=access_request, approver=demo.admin)
    assert late.value.kind in ("conflict", "forbidden")


def test_deciding_a_decided_request_is_a_conflict(demo):
    access_request = submitted(demo)
    access_request_approve(access_request=access_request, approver=demo.bob)
    with pytest.raises(ServiceError) as late:
        access_request_approve(access_request=access_request, approver=demo.carol)
    assert late.value.kind == "conflict"
    assert Approval.objects.filter(access_request=access_request).count() == 1


def test_only_the_requester_cancels_and_only_while_pending(demo):
    access_request = submitted(demo)
    with pytest.raises(ServiceError) as refused:
        access_request_cancel(access_request=access_request, user=demo.bob)
    assert refused.value.kind == "forbidden"
    access_request_cancel(access_request=access_request, user=demo.alice)
    access_request.refresh_from_db()
    assert access_request.status == "cancelled"
    with pytest.raises(ServiceError) as again:
        access_request_cancel(access_request=access_request, user=demo.alice)
    assert again.value.kind == "conflict"


def test_a_permission_policy_over_the_iam_quota_is_refused(demo):
    """50 tables with 200-character names: about 12,500 characters, over IAM's 10,240."""
    prefix = "arn:aws:dynamodb:eu-central-1:999999999999:table/"
    resources = [f"{prefix}{i:03}{'t' * 197}" for i in range(50)]
    with pytest.raises(ServiceError) as refused:
        submitted(demo, resources=resources)
    (message,) = refused.value.field_errors["resources"]
    assert "The permission policy would be 12," in message
    assert "IAM allows 10,240" in message
    assert AccessRequest.objects.count() == 0


def test_a_preview_of_a_sound_request_has_no_lint_errors(demo):
    """The preview names the role "portal-access-<id>" until submit assigns the number: the
    linter judges the documents submit will write, not the placeholder."""
    fields = {
        "source_account": demo.dev,
        "target_account": demo.data,
        "source_principal": "",
        "third_party": False,
        "actions": ["dynamodb:GetItem", "dynamodb:PutItem"],
        "resources": [TABLE_ARN],
        "access_via": AccessRequest.AccessVia.PORTAL,
        "mechanism": AccessRequest.RequestedMechanism.AUTO,
        "duration": 3600,
        "justification": "Read and fix items in MyTable",
        "ticket": "",
    }
    draft = access_request_preview(fields, requester=demo.alice)
    assert not draft.errors
    assert "portal-access-<id>" in str(draft.documents)
    assert [f for f in draft.findings if f["severity"] == "error"] == []


def test_a_submit_that_fails_after_its_insert_leaves_no_request(demo, monkeypatch):
    """Submit is one transaction: the request, its documents and its audit event, or nothing."""

    def audit_down(**_fields):
        raise RuntimeError("the audit trail refused the event")

    monkeypatch.setattr("access_requests.services.submission.audit_record", audit_down)
    with pytest.raises(RuntimeError):
        submitted(demo)
    assert not AccessRequest.objects.exists()
