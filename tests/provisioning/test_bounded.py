"""Nothing half-written, nothing unbounded: a grant that fails for good is rolled back at once, a
rollback that cannot finish is retried and shown, a grant has its expiry from the moment it is
approved, and expiry reaches every state that may have written something.

The hole this closes: provisioning wrote, the read-back simulation refused, the grant was `failed`
with nothing removed and no `expires_at`, and expiry skipped failed grants: a "one hour" role left
in place forever.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from access_requests.services import access_request_approve
from accounts.models import ServiceControlPolicy
from audit.models import AuditEvent
from aws import AwsError, emulator_client
from provisioning import expiry, failure, services
from provisioning.models import Grant
from provisioning.queue import grants_requeue_stalled
from tests.factories import submitted
from tests.support import FaultProxy, wait_until

FREEZE = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Freeze", "Effect": "Deny", "Action": "dynamodb:GetItem", "Resource": "*"}
    ],
}


def _roles() -> set[str]:
    iam = emulator_client("iam", account_id="999999999999", region="us-east-1")
    return {role["RoleName"] for role in iam.list_roles()["Roles"]}


def _broker_policies() -> set[str]:
    iam = emulator_client("iam", account_id="111111111111", region="us-east-1")
    return set(iam.list_role_policies(RoleName="PortalBroker")["PolicyNames"])


def _failed_after_writing(demo) -> Grant:
    """alice's grant, approved; an SCP added before provisioning makes the read-back simulation
    refuse after the role and the broker's policy are written: it fails for good."""
    access_request = submitted(demo)
    access_request_approve(access_request=access_request, approver=demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    ServiceControlPolicy.objects.create(name="DenyReadsForNow", target="ou-data", document=FREEZE)
    with pytest.raises(AwsError, match="would not work") as refused:
        services.grant_provision(grant_id=grant.pk)
    failure.grant_provision_failed(grant_id=grant.pk, message=str(refused.value))
    grant.refresh_from_db()
    assert grant.access_request.status == "failed"
    assert grant.role_name in _roles()
    assert grant.source_policy_name in _broker_policies()
    return grant


def test_an_approved_grant_has_its_expiry_before_anything_is_written(demo):
    access_request = submitted(demo, duration=2 * 3600)
    approved_at = timezone.now()
    access_request_approve(access_request=access_request, approver=demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    assert grant.activated_at is None
    assert abs(grant.expiry - (approved_at + timedelta(hours=2))) < timedelta(seconds=30)


def test_a_failed_grant_is_rolled_back_and_the_page_shows_what_was_removed(aws_demo):
    grant = _failed_after_writing(aws_demo)
    failure.grant_rollback(grant_id=grant.pk)
    grant.refresh_from_db()
    assert grant.role_name not in _roles()
    assert grant.source_policy_name not in _broker_policies()
    assert grant.rolled_back_at is not None and grant.rollback_error == ""
    role_arn = f"arn:aws:iam::999999999999:role/portal/{grant.role_name}"
    assert role_arn in grant.rolled_back
    assert any(grant.source_policy_name in line for line in grant.rolled_back)
    event = AuditEvent.objects.get(access_request=grant.access_request, verb="grant.rolled_back")
    assert event.after["removed"] == grant.rolled_back

    client = Client()
    client.force_login(aws_demo.alice)
    page = client.get(reverse("request_detail", args=[grant.access_request_id])).content.decode()
    assert "Rolled back" in page and role_arn in page

    failure.grant_rollback(grant_id=grant.pk)  # a redelivered task: nothing more to do
    assert AuditEvent.objects.filter(verb="grant.rolled_back").count() == 1


@pytest.fixture
def denying_aws(emulator, settings):
    """The portal's AWS calls go through a proxy that, while `fail_next` lasts, answers every
    call AccessDenied, as AWS does once someone has narrowed the provisioner role's policy."""
    proxy = FaultProxy(emulator.port)
    proxy.fault = "denied"
    settings.AWS_ENDPOINT_URL = proxy.url
    yield proxy
    settings.AWS_ENDPOINT_URL = emulator.url
    proxy.stop()


def test_a_failed_rollback_is_recorded_retried_and_still_bounded_by_expiry(
    aws_demo, django_user_model, denying_aws
):
    stranger = django_user_model.objects.create_user("zed", password="zed-pass-12345")
    grant = _failed_after_writing(aws_demo)
    # AWS refuses the provisioner's calls: the rollback cannot finish.
    denying_aws.fail_next = 1_000
    with pytest.raises(AwsError, match="AccessDenied") as refused:
        failure.grant_rollback(grant_id=grant.pk)
    assert not refused.value.retryable
    failure.grant_rollback_failed(grant_id=grant.pk, message=str(refused.value))
    grant.refresh_from_db()
    assert grant.rolled_back_at is None and "AccessDenied" in grant.rollback_error

    # Shown on the dashboard of those who may act on it, not of others.
    for user, shown in ((aws_demo.alice, True), (aws_demo.admin, True), (stranger, False)):
        client = Client()
        client.force_login(user)
        page = client.get(reverse("dashboard")).content.decode()
        assert ("Rollback failed" in page) is shown, user

    # The requeue sweep tries it again; a person's Retry rolls back first, then provisions.
    assert grants_requeue_stalled(older_than=timedelta(0)) == 1
    services.grant_retry(grant=grant, user=aws_demo.alice)
    assert AuditEvent.objects.filter(verb="grant.retry_requested").count() == 1

    denying_aws.fail_next = 0  # the provisioner's policy is put right
    assert grant.role_name in _roles()  # nothing was removed meanwhile
    failure.grant_rollback(grant_id=grant.pk)
    grant.refresh_from_db()
    assert grant.rolled_back_at is not None and grant.rollback_error == ""
    assert grant.role_name not in _roles()
    assert grant.expires_at is not None


def test_a_retry_rolls_back_first_then_provisions_again(aws_demo):
    grant = _failed_after_writing(aws_demo)
    ServiceControlPolicy.objects.filter(name="DenyReadsForNow").delete()
    services.grant_retry(grant=grant, user=aws_demo.alice)
    grant.refresh_from_db()
    assert grant.access_request.status == "failed"  # nothing moves before the rollback is done
    failure.grant_rollback(grant_id=grant.pk, then_provision=True)
    grant.refresh_from_db()
    assert grant.access_request.status == "approved"
    assert grant.role_name not in _roles()
    verbs = list(
        AuditEvent.objects.filter(access_request=grant.access_request)
        .order_by("pk")
        .values_list("verb", flat=True)
    )
    assert verbs[-3:] == ["grant.retry_requested", "grant.rolled_back", "grant.retried"]
    services.grant_provision(grant_id=grant.pk)
    grant.refresh_from_db()
    assert grant.access_request.status == "active"
    assert grant.rolled_back_at is None and grant.rolled_back == []
    assert grant.role_name in _roles()


def test_a_grant_whose_rollback_never_finishes_still_expires(aws_demo):
    grant = _failed_after_writing(aws_demo)
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert expiry.grants_expire() == 1
    services.grant_revoke(grant_id=grant.pk)
    grant.refresh_from_db()
    assert grant.access_request.status == "expired"
    assert grant.role_name not in _roles()


@pytest.mark.django_db(transaction=True)
def test_a_grant_forced_to_fail_leaves_nothing_in_the_emulator_and_has_an_expiry(aws_demo, worker):
    """On the real worker: an SCP lands between submit and approval (submit refuses what SCPs
    deny), so the read-back after writing refuses; the worker fails the grant and rolls it back
    on its own."""
    roles_before, broker_before = _roles(), _broker_policies()
    access_request = submitted(aws_demo)
    ServiceControlPolicy.objects.create(name="DenyReadsForNow", target="ou-data", document=FREEZE)
    access_request_approve(access_request=access_request, approver=aws_demo.bob)
    grant = Grant.objects.get(access_request=access_request)

    def rolled_back() -> bool:
        grant.refresh_from_db()
        return grant.rolled_back_at is not None

    wait_until(rolled_back, what="the rollback")
    assert grant.access_request.status == "failed"
    assert "would not work" in grant.last_error
    assert grant.expires_at is not None
    assert _roles() == roles_before and _broker_policies() == broker_before
    assert f"arn:aws:iam::999999999999:role/portal/{grant.role_name}" in grant.rolled_back
