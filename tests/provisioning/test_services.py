"""Provisioning, revocation, expiry and sessions, run in-process against the emulator over HTTP."""

import json
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from django.utils import timezone

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from audit.models import AuditEvent
from aws import AwsError, emulator_client
from core.errors import ServiceError
from provisioning import expiry, failure, services, sessions
from provisioning.models import CredentialIssue, Grant
from tests.factories import submitted


def iam(emulator, account_id: str):
    return emulator_client("iam", account_id=account_id, region="us-east-1")


def approved_grant(demo, **overrides) -> Grant:
    access_request = submitted(
        demo, **({"duration": 8 * 3600, "justification": "report"} | overrides)
    )
    access_request_approve(access_request=access_request, approver=demo.bob)
    return Grant.objects.get(access_request=access_request)


def status_of(grant: Grant) -> str:
    return AccessRequest.objects.get(pk=grant.access_request_id).status


def active_grant(demo) -> Grant:
    grant = approved_grant(demo)
    services.grant_provision(grant_id=grant.pk)
    grant.refresh_from_db()
    assert status_of(grant) == "active"
    return grant


def test_provision_writes_and_verifies_exactly_the_approved_documents(aws_demo, emulator):
    grant = active_grant(aws_demo)
    access_request = grant.access_request
    role = iam(emulator, "999999999999").get_role(RoleName=grant.role_name)["Role"]
    assert role["Path"] == "/portal/"
    assert role["MaxSessionDuration"] == 3600
    assert {t["Key"]: t["Value"] for t in role["Tags"]}["portal:request-id"] == str(
        access_request.pk
    )
    assert role["AssumeRolePolicyDocument"] == access_request.documents["trust_policy"]["document"]
    assert (
        grant.written["permission_policy"]
        == access_request.documents["permission_policy"]["document"]
    )
    assert grant.verified_at is not None
    # Eight hours from the approval (when the grant was created), not from the activation: a
    # backlog or a failure cannot stretch it.
    assert abs(grant.expires_at - (grant.created_at + timedelta(hours=8))) < timedelta(seconds=1)
    assert grant.activated_at < grant.expires_at
    assert (
        AuditEvent.objects.filter(access_request=access_request, verb="grant.activated").count()
        == 1
    )


def test_provisioning_twice_is_harmless(aws_demo, emulator):
    grant = active_grant(aws_demo)
    AccessRequest.objects.filter(pk=grant.access_request_id).update(status="provisioning")
    services.grant_provision(grant_id=grant.pk)
    assert status_of(grant) == "active"
    target = iam(emulator, "999999999999")
    names = [r["RoleName"] for r in target.list_roles(PathPrefix="/portal/")["Roles"]]
    assert names.count(grant.role_name) == 1
    assert target.list_role_policies(RoleName=grant.role_name)["PolicyNames"] == [
        grant.permission_policy_name
    ]


def test_revoke_removes_exactly_what_was_written_on_both_accounts(aws_demo, emulator):
    source = iam(emulator, "111111111111")
    foreign = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
    }
    source.put_role_policy(
        RoleName="PortalBroker", PolicyName="someone-elses", PolicyDocument=json.dumps(foreign)
    )
    before = set(source.list_role_policies(RoleName="PortalBroker")["PolicyNames"])
    grant = active_grant(aws_demo)
    assert set(source.list_role_policies(RoleName="PortalBroker")["PolicyNames"]) == before | {
        grant.source_policy_name
    }

    services.grant_revoke_request(grant=grant, user=aws_demo.alice)
    assert status_of(grant) == "revoking"
    services.grant_revoke(grant_id=grant.pk)

    assert status_of(grant) == "revoked"
    assert set(source.list_role_policies(RoleName="PortalBroker")["PolicyNames"]) == before
    assert (
        json.loads(
            json.dumps(
                source.get_role_policy(RoleName="PortalBroker", PolicyName="someone-elses")[
                    "PolicyDocument"
                ]
            )
        )
        == foreign
    )
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam(emulator, "999999999999").get_role(RoleName=grant.role_name)
    grant.refresh_from_db()
    assert grant.ended_at is not None
    event = AuditEvent.objects.get(access_request=grant.access_request, verb="grant.revoked")
    assert len(event.after["removed"]) == 3
    source.delete_role_policy(RoleName="PortalBroker", PolicyName="someone-elses")


def test_only_requester_approvers_and_admins_revoke(aws_demo, django_user_model):
    grant = active_grant(aws_demo)
    stranger = django_user_model.objects.create_user("eve", password="eve-pass-123")
    with pytest.raises(ServiceError) as refused:
        services.grant_revoke_request(grant=grant, user=stranger)
    assert refused.value.kind == "forbidden"
    services.grant_revoke_request(grant=grant, user=aws_demo.admin)
    with pytest.raises(ServiceError) as twice:
        services.grant_revoke_request(grant=grant, user=aws_demo.admin)
    assert twice.value.kind == "conflict"


def test_expiry_revokes_once_even_when_run_twice(aws_demo, emulator):
    grant = active_grant(aws_demo)
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert expiry.grants_expire() == 1
    assert expiry.grants_expire() == 0
    services.grant_revoke(grant_id=grant.pk)
    services.grant_revoke(grant_id=grant.pk)
    assert status_of(grant) == "expired"
    assert (
        AuditEvent.objects.filter(access_request=grant.access_request, verb="grant.expired").count()
        == 1
    )


def test_a_failure_is_readable_and_retry_succeeds(aws_demo):
    """The source-side role is missing (deleted out of band): the grant fails with AWS's reason,
    and a retry once it is back finishes the job."""
    grant = approved_grant(aws_demo)
    Grant.objects.filter(pk=grant.pk).update(source_role_name="DeletedBroker")
    with pytest.raises(AwsError) as error:
        services.grant_provision(grant_id=grant.pk)
    assert not error.value.retryable
    failure.grant_provision_failed(grant_id=grant.pk, message=str(error.value))
    grant.refresh_from_db()
    assert status_of(grant) == "failed"
    assert "NoSuchEntity" in grant.last_error and "DeletedBroker" in grant.last_error
    failure.grant_rollback(grant_id=grant.pk)  # the worker does this as soon as the grant fails

    Grant.objects.filter(pk=grant.pk).update(source_role_name="PortalBroker")
    services.grant_retry(grant=grant, user=aws_demo.alice)
    assert status_of(grant) == "approved"
    services.grant_provision(grant_id=grant.pk)
    grant.refresh_from_db()
    assert status_of(grant) == "active"
    assert grant.last_error == ""


def test_session_duration_caps():
    grant = Grant(max_session_duration=7200, expires_at=timezone.now() + timedelta(hours=5))
    seconds, reason = sessions.session_duration(grant=grant, role_chained=True)
    assert seconds == 3600 and "role chaining" in reason
    seconds, reason = sessions.session_duration(grant=grant, role_chained=False)
    assert seconds == 7200 and "maximum session duration" in reason
    grant.expires_at = timezone.now() + timedelta(minutes=30)
    seconds, reason = sessions.session_duration(grant=grant, role_chained=True)
    assert 1790 <= seconds <= 1800 and "time left" in reason
    grant.expires_at = timezone.now() + timedelta(minutes=5)
    seconds, reason = sessions.session_duration(grant=grant, role_chained=True)
    assert seconds == 900 and "15-minute minimum" in reason


def test_only_the_requester_takes_a_session_and_only_while_active(aws_demo):
    grant = active_grant(aws_demo)
    with pytest.raises(ServiceError) as refused:
        sessions.session_start(grant_id=grant.pk, user=aws_demo.bob)
    assert refused.value.kind == "forbidden"
    assumed, issue, _ = sessions.session_start(
        grant_id=grant.pk, user=aws_demo.alice, client_address="127.0.0.1"
    )
    assert issue.source_identity == "alice"
    assert assumed.assumed_role_arn.endswith(f"{grant.role_name}/alice")
    event = AuditEvent.objects.get(verb="credentials.issued", access_request=grant.access_request)
    assert event.after["access_key_id"] == assumed.credentials.access_key_id
    assert event.client_address == "127.0.0.1"
    # The issue and its event are written together, and name each other.
    stored = CredentialIssue.objects.get(pk=issue.pk)
    assert (event.object_type, event.object_id) == ("provisioning.credentialissue", str(issue.pk))
    assert event.actor == aws_demo.alice and event.created_at == stored.issued_at
    assert stored.client_address == "127.0.0.1" and stored.grant_id == grant.pk
    assert stored.access_key_id == assumed.credentials.access_key_id
    services.grant_revoke_request(grant=grant, user=aws_demo.alice)
    with pytest.raises(ServiceError) as revoked:
        sessions.session_start(grant_id=grant.pk, user=aws_demo.alice)
    assert revoked.value.kind == "conflict"
    assert CredentialIssue.objects.count() == 1
