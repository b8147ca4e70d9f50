"""Several target accounts in one submission (SPEC 10.6): one request per account, linked by a
batch, each checked, decided and provisioned on its own; all or nothing when one is refused."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from access_requests.models import AccessRequest
from access_requests.services import (
    access_request_approve,
    access_requests_submit_batch,
)
from access_requests.services.batches import MAX_TARGET_ACCOUNTS
from accounts.models import Account
from audit.models import AuditEvent
from core.errors import ServiceError
from provisioning.models import Grant
from tests.factories import TABLE_ARN, developers_may_ask, submitted

TABLE_IN_EACH = "arn:aws:dynamodb:eu-central-1:${Account}:table/MyTable"


@pytest.fixture
def analytics(demo):
    """A fourth target account approved by its own group (erin's), which bob is not in."""
    erin = get_user_model().objects.create_user("erin", password="erin-test-pw")
    group = Group.objects.create(name="analytics-approvers")
    erin.groups.add(group)
    account = Account.objects.create(
        account_id="444444444444",
        name="analytics",
        managed=True,
        provisioner_role_arn="arn:aws:iam::444444444444:role/PortalProvisioner",
        approver_group=group,
        approvals_required=1,
    )
    developers_may_ask(account.account_id)
    return account, erin


def batch_of(demo, accounts, **overrides) -> list[AccessRequest]:
    fields = {
        "requester": demo.alice,
        "source_account": demo.dev,
        "target_accounts": accounts,
        "actions": ["dynamodb:GetItem"],
        "resources": [TABLE_IN_EACH],
        "duration": 3600,
        "justification": "Read MyTable in each account for the report",
    }
    return access_requests_submit_batch(**(fields | overrides))


def test_two_accounts_make_two_requests_each_decided_by_its_own_approvers(demo, analytics):
    account, erin = analytics
    data_request, analytics_request = batch_of(demo, [demo.data, account])

    # One request per account, linked, each with the documents of its own account.
    assert data_request.batch is not None and data_request.batch == analytics_request.batch
    assert data_request.target_account == demo.data
    assert analytics_request.target_account == account
    assert data_request.resources == [TABLE_ARN]
    assert analytics_request.resources == [
        "arn:aws:dynamodb:eu-central-1:444444444444:table/MyTable"
    ]
    role = analytics_request.documents["permission_policy"]["document"]
    assert role["Statement"][0]["Resource"] == analytics_request.resources[0]
    assert data_request.documents_hash != analytics_request.documents_hash
    assert data_request.simulation["decision"] == "Allowed"
    assert analytics_request.simulation["decision"] == "Allowed"
    submitted_events = AuditEvent.objects.filter(verb="request.submitted").order_by("id")
    assert [e.after["batch"] for e in submitted_events] == [str(data_request.batch)] * 2

    # bob approves data's request: it is approved (one approval there) and gets its grant.
    access_request_approve(access_request=data_request, approver=demo.bob)
    data_request.refresh_from_db()
    assert data_request.status == AccessRequest.Status.APPROVED
    assert Grant.objects.filter(access_request=data_request).exists()

    # bob does not approve for analytics: its request stays pending, for its own approvers.
    with pytest.raises(ServiceError) as refused:
        access_request_approve(access_request=analytics_request, approver=demo.bob)
    assert refused.value.kind == ServiceError.FORBIDDEN
    analytics_request.refresh_from_db()
    assert analytics_request.status == AccessRequest.Status.PENDING
    assert analytics_request.approvals.count() == 0
    assert not Grant.objects.filter(access_request=analytics_request).exists()

    access_request_approve(access_request=analytics_request, approver=erin)
    analytics_request.refresh_from_db()
    assert analytics_request.status == AccessRequest.Status.APPROVED
    assert Grant.objects.get(access_request=analytics_request).access_request_id == (
        analytics_request.pk
    )
    # Two grants, two roles, each in its own account.
    roles = sorted(
        Grant.objects.filter(access_request__batch=data_request.batch).values_list(
            "access_request__target_account__account_id", flat=True
        )
    )
    assert roles == ["444444444444", "999999999999"]


def test_each_account_goes_under_its_own_access_rules_and_quorum(demo):
    """prod needs two approvals, data one: each request keeps its own account's quorum."""
    data_request, prod_request = batch_of(demo, [demo.data, demo.prod])
    access_request_approve(access_request=data_request, approver=demo.bob)
    access_request_approve(access_request=prod_request, approver=demo.bob)
    data_request.refresh_from_db()
    prod_request.refresh_from_db()
    assert data_request.status == AccessRequest.Status.APPROVED
    assert prod_request.status == AccessRequest.Status.PENDING  # carol's vote is still needed
    access_request_approve(access_request=prod_request, approver=demo.carol)
    prod_request.refresh_from_db()
    assert prod_request.status == AccessRequest.Status.APPROVED


def test_a_bad_arn_in_one_account_means_nothing_is_submitted_and_names_the_account(demo):
    """The literal 999999999999 ARN is in data, not in prod: prod's request is refused, so
    data's is not stored either (no request, no audit event, no notification)."""
    requests_before = AccessRequest.objects.count()
    events_before = AuditEvent.objects.count()

    with pytest.raises(ServiceError) as refused:
        batch_of(demo, [demo.data, demo.prod], resources=[TABLE_ARN])

    assert refused.value.kind == ServiceError.INVALID
    assert "prod (222222222222)" in refused.value.message
    assert "data (999999999999)" not in refused.value.message
    messages = refused.value.field_errors["resources"]
    assert messages and all(m.startswith("prod (222222222222): ") for m in messages)
    assert AccessRequest.objects.count() == requests_before
    assert AuditEvent.objects.count() == events_before


def test_an_account_no_rule_allows_refuses_the_whole_submission(
    demo, django_capture_on_commit_callbacks
):
    """The sandbox's rule allows reads only: a write there refuses data's request too."""
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ServiceError) as refused:
        batch_of(
            demo,
            [demo.data, demo.sandbox],
            actions=["dynamodb:PutItem"],
        )
    assert "sandbox (555555555555)" in refused.value.message
    flat = [m for ms in refused.value.field_errors.values() for m in ms]
    assert any(m.startswith("sandbox (555555555555): ") for m in flat), flat
    assert not any(m.startswith("data (") for m in flat), flat
    assert AccessRequest.objects.count() == 0
    assert callbacks == []  # nothing notified, nothing provisioned


def test_every_refused_account_is_named(demo):
    with pytest.raises(ServiceError) as refused:
        batch_of(demo, [demo.prod, demo.sandbox], resources=[TABLE_ARN])
    assert "prod (222222222222)" in refused.value.message
    assert "sandbox (555555555555)" in refused.value.message


def test_an_auto_rule_applies_to_its_account_alone(demo):
    """Under sandbox-read a read in the sandbox is approved at submit; data's waits for bob."""
    data_request, sandbox_request = batch_of(demo, [demo.data, demo.sandbox])
    assert sandbox_request.approved_by_rule == "sandbox-read"
    assert sandbox_request.status == AccessRequest.Status.APPROVED
    assert data_request.status == AccessRequest.Status.PENDING
    assert data_request.approved_by_rule == ""


@pytest.mark.parametrize(
    ("accounts", "message"),
    [
        ([], "at least one"),
        (["data", "data"], "listed twice"),
        (["data"] * (MAX_TARGET_ACCOUNTS + 1), f"At most {MAX_TARGET_ACCOUNTS}"),
    ],
)
def test_the_list_of_accounts_is_checked(demo, accounts, message):
    with pytest.raises(ServiceError) as refused:
        batch_of(demo, [getattr(demo, name) for name in accounts])
    assert message in refused.value.field_errors["target_accounts"][0]
    assert AccessRequest.objects.count() == 0


def test_account_placeholder_works_for_one_target_account_too(demo):
    access_request = submitted(demo, resources=[TABLE_IN_EACH])
    assert access_request.resources == [TABLE_ARN]
    assert access_request.batch is None
