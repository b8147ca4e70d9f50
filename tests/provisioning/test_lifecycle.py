"""Expiry, drift and emergency revoke, against the emulator (in-process, and with a real worker)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from audit.models import AuditEvent
from aws import emulator_client
from core.errors import ServiceError
from provisioning import drift, expiry, services
from provisioning.models import Grant
from tests.factories import submitted
from tests.support import wait_until

TABLE = "arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"
ANALYST = "arn:aws:iam::111111111111:role/DataAnalyst"


def iam(emulator, account_id: str):
    return emulator_client("iam", account_id=account_id, region="us-east-1")


def status_of(grant: Grant) -> str:
    return AccessRequest.objects.get(pk=grant.access_request_id).status


def provisioned(demo, **fields) -> Grant:
    access_request = submitted(demo, **({"justification": "lifecycle"} | fields))
    access_request_approve(access_request=access_request, approver=demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    services.grant_provision(grant_id=grant.pk)
    grant.refresh_from_db()
    assert status_of(grant) == "active"
    return grant


def test_expiry_is_on_time_and_exactly_once(aws_demo):
    due = provisioned(aws_demo)
    later = provisioned(aws_demo)
    now = timezone.now()
    Grant.objects.filter(pk=due.pk).update(expires_at=now - timedelta(seconds=1))
    Grant.objects.filter(pk=later.pk).update(expires_at=now + timedelta(minutes=5))
    assert expiry.grants_expire() == 1
    assert expiry.grants_expire() == 0  # beat running twice, or late
    services.grant_revoke(grant_id=due.pk)
    assert status_of(due) == "expired"
    assert status_of(later) == "active"
    events = AuditEvent.objects.filter(access_request=due.access_request, verb="grant.expired")
    assert events.count() == 1


def test_the_expiry_notice_goes_once(aws_demo):
    grant = provisioned(aws_demo)
    now = timezone.now()
    Grant.objects.filter(pk=grant.pk).update(
        activated_at=now - timedelta(minutes=50), expires_at=now + timedelta(minutes=10)
    )
    assert expiry.grants_expiry_notify() == 1
    assert expiry.grants_expiry_notify() == 0
    grant.refresh_from_db()
    assert grant.expiry_notice_at is not None
    assert AuditEvent.objects.filter(verb="grant.expiring", object_id=str(grant.pk)).count() == 1


def test_no_expiry_notice_long_before(aws_demo):
    grant = provisioned(aws_demo)
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() + timedelta(hours=3))
    assert expiry.grants_expiry_notify() == 0


def test_drift_on_a_role_is_found_shown_and_reapplied(aws_demo, emulator):
    grant = provisioned(aws_demo)
    target = iam(emulator, "999999999999")
    widened = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}],
    }
    target.put_role_policy(
        RoleName=grant.role_name,
        PolicyName=grant.permission_policy_name,
        PolicyDocument=json.dumps(widened),
    )
    target.put_role_policy(
        RoleName=grant.role_name, PolicyName="added-by-hand", PolicyDocument=json.dumps(widened)
    )

    differences = drift.grant_drift_check(grant_id=grant.pk)
    grant.refresh_from_db()
    assert grant.drifted_at is not None
    assert {d["what"] for d in differences} == {
        "permission policy",
        "inline policy added-by-hand added to the role",
    }
    assert differences[0]["found"] == widened
    assert AuditEvent.objects.filter(verb="grant.drifted", object_id=str(grant.pk)).count() == 1

    drift.grant_reapply(grant_id=grant.pk)
    grant.refresh_from_db()
    assert grant.drifted_at is None and grant.drift == []
    assert target.list_role_policies(RoleName=grant.role_name)["PolicyNames"] == [
        grant.permission_policy_name
    ]
    assert status_of(grant) == "active"


def test_drift_on_a_bucket_policy_counts_only_the_portals_statement(aws_demo, emulator):
    s3 = emulator_client("s3", account_id="999999999999", region="eu-central-1")
    original = s3.get_bucket_policy(Bucket="mybucket")["Policy"]
    grant = provisioned(
        aws_demo,
        source_principal=ANALYST,
        access_via="own_identity",
        actions=["s3:GetObject"],
        resources=["arn:aws:s3:::mybucket/*"],
    )
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket="mybucket")["Policy"])
        policy["Statement"][0]["Resource"] = "arn:aws:s3:::mybucket/other/*"  # someone else's
        s3.put_bucket_policy(Bucket="mybucket", Policy=json.dumps(policy))
        assert drift.grant_drift_check(grant_id=grant.pk) == []

        policy["Statement"][1]["Action"] = ["s3:GetObject", "s3:PutObject"]  # the portal's
        s3.put_bucket_policy(Bucket="mybucket", Policy=json.dumps(policy))
        (difference,) = drift.grant_drift_check(grant_id=grant.pk)
        assert difference["what"].startswith(f"statement PortalAccess{grant.access_request_id}")

        drift.grant_reapply(grant_id=grant.pk)
        after = json.loads(s3.get_bucket_policy(Bucket="mybucket")["Policy"])
        assert after["Statement"][1]["Action"] == "s3:GetObject"
        assert after["Statement"][0]["Resource"] == "arn:aws:s3:::mybucket/other/*"
    finally:
        services.grant_revoke_request(grant=grant, user=aws_demo.alice)
        services.grant_revoke(grant_id=grant.pk)
        s3.put_bucket_policy(Bucket="mybucket", Policy=original)


def test_reapply_is_for_drifted_grants_and_people_who_may_manage_them(aws_demo, django_user_model):
    grant = provisioned(aws_demo)
    with pytest.raises(ServiceError) as not_drifted:
        drift.grant_reapply_request(grant=grant, user=aws_demo.alice)
    assert not_drifted.value.kind == "conflict"
    stranger = django_user_model.objects.create_user("erin", password="erin-pass-123")
    Grant.objects.filter(pk=grant.pk).update(drifted_at=timezone.now())
    with pytest.raises(ServiceError) as refused:
        drift.grant_reapply_request(grant=grant, user=stranger)
    assert refused.value.kind == "forbidden"


@pytest.mark.django_db(transaction=True)
def test_emergency_revoke_of_a_user_across_mechanisms(aws_demo, worker, emulator):
    demo = aws_demo
    role_request = submitted(demo, justification="role")
    policy_request = submitted(
        demo,
        source_principal=ANALYST,
        access_via="own_identity",
        actions=["sqs:SendMessage"],
        resources=["arn:aws:sqs:eu-central-1:999999999999:myqueue"],
        justification="queue",
    )
    for access_request in (role_request, policy_request):
        access_request_approve(access_request=access_request, approver=demo.bob)
    for access_request in (role_request, policy_request):
        wait_until(
            lambda r=access_request: AccessRequest.objects.get(pk=r.pk).status == "active",
            what="activation",
        )
    with pytest.raises(ServiceError):
        services.grants_revoke_all(admin=demo.bob, requester=demo.alice)

    started = services.grants_revoke_all(admin=demo.admin, requester=demo.alice)
    assert sorted(started) == sorted([role_request.grant.pk, policy_request.grant.pk])
    for access_request in (role_request, policy_request):
        wait_until(
            lambda r=access_request: AccessRequest.objects.get(pk=r.pk).status == "revoked",
            what="the emergency revoke",
        )
    roles = iam(emulator, "999999999999").list_roles(PathPrefix="/portal/")["Roles"]
    assert f"portal-access-{role_request.pk}" not in [r["RoleName"] for r in roles]
    sqs = emulator_client("sqs", account_id="999999999999", region="eu-central-1")
    url = sqs.get_queue_url(QueueName="myqueue")["QueueUrl"]
    policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
    assert f"PortalAccess{policy_request.pk}" not in policy.get("Policy", "")
    assert AuditEvent.objects.filter(verb="grants.emergency_revoked").count() == 1
