"""Nothing unbounded: a grant has its expiry from the moment it is approved, and expiry reaches
every state that may have written something.

The hole this closes (its first half): provisioning wrote, the read-back simulation refused, the
grant was `failed` with nothing removed and no `expires_at`, and expiry skipped failed grants: a
"one hour" role left in place forever.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from access_requests.services import access_request_approve
from accounts.models import ServiceControlPolicy
from aws import AwsError, emulator_client
from provisioning import expiry, services
from provisioning.models import Grant
from tests.factories import submitted

FREEZE = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Freeze", "Effect": "Deny", "Action": "dynamodb:GetItem", "Resource": "*"}
    ],
}


def _roles() -> set[str]:
    iam = emulator_client("iam", account_id="999999999999", region="us-east-1")
    return {role["RoleName"] for role in iam.list_roles()["Roles"]}


def test_an_approved_grant_has_its_expiry_before_anything_is_written(demo):
    access_request = submitted(demo, duration=2 * 3600)
    approved_at = timezone.now()
    access_request_approve(access_request=access_request, approver=demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    assert grant.activated_at is None
    assert abs(grant.expiry - (approved_at + timedelta(hours=2))) < timedelta(seconds=30)


def test_a_grant_that_fails_after_writing_expires_and_expiry_removes_what_it_wrote(aws_demo):
    access_request = submitted(aws_demo)
    access_request_approve(access_request=access_request, approver=aws_demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    # An SCP added between approval and provisioning: the role is written, the read-back
    # simulation says no, and the grant fails for good.
    ServiceControlPolicy.objects.create(name="DenyReadsForNow", target="ou-data", document=FREEZE)
    with pytest.raises(AwsError, match="would not work") as refused:
        services.grant_provision(grant_id=grant.pk)
    services.grant_provision_failed(grant_id=grant.pk, message=str(refused.value))
    grant.refresh_from_db()
    assert grant.access_request.status == "failed"
    assert grant.role_name in _roles()
    assert grant.expires_at is not None

    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert expiry.grants_expire() == 1
    services.grant_revoke(grant_id=grant.pk)
    grant.refresh_from_db()
    assert grant.access_request.status == "expired"
    assert grant.role_name not in _roles()
