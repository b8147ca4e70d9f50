"""Privilege escalation end to end with the real worker and the emulator: bob's approval alone
leaves the request pending and writes nothing; with a platform admin's approval on top it is
provisioned, once, even when the last two approvers click at once."""

import json

import pytest

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve, access_request_reject
from aws import emulator_client
from provisioning.models import Grant
from tests.factories import approved_at_once, submitted
from tests.support import wait_until

DATA = "999999999999"
PASS_ROLE = {
    "actions": ["iam:PassRole"],
    "resources": ["arn:aws:iam::999999999999:role/SomeAppRole"],
}
# Escalations that the grant role may then really use: iam:PassRole is taken away from every
# grant role by the PortalGrantBoundary (issue 15, item 3), so it is not among them.
ESCALATIONS = {
    "bucket-policy": {"actions": ["s3:PutBucketPolicy"], "resources": ["arn:aws:s3:::mybucket"]},
    "function-code": {
        "actions": ["lambda:UpdateFunctionCode"],
        "resources": ["arn:aws:lambda:eu-central-1:999999999999:function:SomeApp"],
    },
}


def _status(access_request: AccessRequest) -> str:
    access_request.refresh_from_db()
    return access_request.status


def _portal_roles() -> list[str]:
    iam = emulator_client("iam", account_id=DATA)
    return [role["RoleName"] for role in iam.list_roles(PathPrefix="/portal/")["Roles"]]


@pytest.mark.django_db(transaction=True)
def test_bobs_approval_of_pass_role_alone_queues_and_writes_nothing(aws_demo, worker):
    access_request = submitted(aws_demo, justification="deploy the app", **PASS_ROLE)
    [finding] = [f for f in access_request.findings if f["code"] == "privilege-escalation"]
    assert finding["message"].startswith("iam:PassRole: hands a role to a service")
    access_request_approve(access_request=access_request, approver=aws_demo.bob)
    assert _status(access_request) == "pending"
    assert not Grant.objects.filter(access_request=access_request).exists()
    assert f"portal-access-{access_request.pk}" not in _portal_roles()
    access_request_reject(access_request=access_request, approver=aws_demo.admin, reason="no")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fields", ESCALATIONS.values(), ids=ESCALATIONS.keys())
def test_an_escalation_needs_bob_and_an_admin_then_goes_active(aws_demo, worker, fields):
    access_request = submitted(aws_demo, justification="deploy the app", **fields)
    [finding] = [f for f in access_request.findings if f["code"] == "privilege-escalation"]
    assert finding["message"].startswith(fields["actions"][0] + ":")

    access_request_approve(access_request=access_request, approver=aws_demo.bob)
    assert _status(access_request) == "pending"
    assert not Grant.objects.filter(access_request=access_request).exists()
    assert f"portal-access-{access_request.pk}" not in _portal_roles()

    access_request_approve(access_request=access_request, approver=aws_demo.admin)
    wait_until(lambda: _status(access_request) in ("active", "failed"), what="provisioning")
    grant = Grant.objects.get(access_request=access_request)
    assert _status(access_request) == "active", grant.last_error
    iam = emulator_client("iam", account_id=DATA)
    policy = iam.get_role_policy(RoleName=grant.role_name, PolicyName=grant.permission_policy_name)
    document = policy["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    assert [s["Action"] for s in document["Statement"]] in (
        [fields["actions"]],
        [fields["actions"][0]],
    )


@pytest.mark.django_db(transaction=True)
def test_the_last_two_approvers_clicking_at_once_provision_once(aws_demo, worker):
    """bob has approved; carol and the admin click at once. The row lock serializes them:
    whichever comes second either completes the request or finds it decided."""
    demo = aws_demo
    access_request = submitted(demo, justification="race", **ESCALATIONS["bucket-policy"])
    access_request_approve(access_request=access_request, approver=demo.bob)
    outcomes = approved_at_once(access_request, [demo.carol, demo.admin])

    wait_until(lambda: _status(access_request) == "active", timeout=30, what="activation")
    assert outcomes["admin"] == "approved"
    assert outcomes["carol"] in ("approved", "conflict")
    assert Grant.objects.filter(access_request=access_request).count() == 1
    assert Grant.objects.get(access_request=access_request).attempts == 1
    assert _portal_roles().count(f"portal-access-{access_request.pk}") == 1
