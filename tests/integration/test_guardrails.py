"""Guardrails on real parts (a Celery worker on Redis, PostgreSQL, the emulator over HTTP): every
role the portal creates carries the permissions boundary, and a portal session's role trusts the
broker for its requester only, as read back from the emulator; sessions are still vended.

The emulator enforces no IAM, so what AWS would decide with these documents is proven by the
evaluator (tests/provisioning/test_boundary.py, test_session_pinning.py); here, that AWS holds
them."""

import json
from urllib.parse import unquote

import boto3
import pytest
from django.test import Client
from django.urls import reverse

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from aws import emulator_client
from policy.boundary import boundary_policy
from provisioning import drift, services
from provisioning.models import CredentialIssue, Grant
from tests.api.conftest import api_for
from tests.factories import submitted
from tests.support import wait_until

DATA = "999999999999"
BOUNDARY_ARN = f"arn:aws:iam::{DATA}:policy/portal/PortalGrantBoundary"
BROKER = "arn:aws:iam::111111111111:role/PortalBroker"


def _iam():
    return emulator_client("iam", account_id=DATA, region="us-east-1")


def _document(value) -> dict:
    return value if isinstance(value, dict) else json.loads(unquote(value))


def _active(demo, **fields) -> Grant:
    access_request = submitted(demo, **fields)
    access_request_approve(access_request=access_request, approver=demo.bob)

    def status() -> str:
        return AccessRequest.objects.get(pk=access_request.pk).status

    wait_until(lambda: status() in ("active", "failed"), timeout=30, what="provisioning")
    grant = Grant.objects.get(access_request=access_request)
    assert status() == "active", grant.last_error
    return grant


def _get_item(credentials: dict, emulator) -> dict:
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="eu-central-1",
    )
    return session.client("dynamodb", endpoint_url=emulator.url).get_item(
        TableName="MyTable", Key={"id": {"S": "1"}}
    )


@pytest.mark.django_db(transaction=True)
def test_a_session_grant_carries_the_boundary_and_trusts_the_broker_for_alice(
    aws_demo, worker, emulator
):
    grant = _active(aws_demo)

    # Read back from AWS (the emulator), not from what the portal recorded.
    role = _iam().get_role(RoleName=grant.role_name)["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY_ARN
    version = _iam().get_policy(PolicyArn=BOUNDARY_ARN)["Policy"]["DefaultVersionId"]
    held = _iam().get_policy_version(PolicyArn=BOUNDARY_ARN, VersionId=version)
    assert _document(held["PolicyVersion"]["Document"]) == boundary_policy()
    trust = _document(role["AssumeRolePolicyDocument"])
    for statement in trust["Statement"]:
        assert statement["Principal"] == {"AWS": BROKER}
        assert statement["Condition"] == {"StringEquals": {"sts:SourceIdentity": "alice"}}
    assert [s["Action"] for s in trust["Statement"]] == ["sts:AssumeRole", "sts:SetSourceIdentity"]

    # The verification evaluated the boundary as AWS holds it, and the broker setting alice.
    grant.refresh_from_db()
    assert grant.written["permissions_boundary"] == BOUNDARY_ARN
    checks = grant.verification["simulation"]["checks"]
    assert [c["decision"] for c in checks if c["action"] == "sts:SetSourceIdentity"] == ["Allowed"]
    get_item = next(c for c in checks if c["action"] == "dynamodb:GetItem")
    assert {layer["layer"]: layer["verdict"] for layer in get_item["layers"]}["boundary"] == (
        "Allowed"
    )

    # Sessions are still vended: through the API ...
    response = api_for(aws_demo.alice).post(f"/api/v1/grants/{grant.pk}/credentials/")
    assert response.status_code == 200, response.content
    assert _get_item(response.json(), emulator)["Item"]["name"] == {"S": "first item"}
    # ... and the session page, whose ~/.aws/config profile asks the portal for sessions rather
    # than assuming the role with her own identity, which the trust policy no longer allows.
    page = Client()
    page.force_login(aws_demo.alice)
    shown = page.post(reverse("grant_session", args=[grant.pk]))
    assert shown.status_code == 200
    text = shown.content.decode()
    assert "export AWS_SESSION_TOKEN=" in text
    assert f"credential_process = portal-cli creds --grant {grant.pk} --format process" in text
    assert "source_profile" not in text
    issues = CredentialIssue.objects.filter(grant=grant)
    assert {issue.source_identity for issue in issues} == {"alice"}
    assert issues.count() == 2

    services.grant_revoke_request(grant=grant, user=aws_demo.alice)
    wait_until(
        lambda: AccessRequest.objects.get(pk=grant.access_request_id).status == "revoked",
        timeout=30,
        what="the revoke",
    )


def test_a_boundary_taken_off_the_role_is_drift_and_reapplying_restores_it(aws_demo):
    access_request = submitted(aws_demo)
    access_request_approve(access_request=access_request, approver=aws_demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    services.grant_provision(grant_id=grant.pk)
    assert drift.grant_drift_check(grant_id=grant.pk) == []

    _iam().delete_role_permissions_boundary(RoleName=grant.role_name)
    differences = drift.grant_drift_check(grant_id=grant.pk)
    assert differences == [
        {"what": "permissions boundary", "expected": BOUNDARY_ARN, "found": None}
    ]

    drift.grant_reapply(grant_id=grant.pk)
    role = _iam().get_role(RoleName=grant.role_name)["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY_ARN
    assert drift.grant_drift_check(grant_id=grant.pk) == []
    services.revoke_start(grant_id=grant.pk, user=None, end_status=Grant.EndStatus.REVOKED)
    services.grant_revoke(grant_id=grant.pk)


def test_the_config_profile_is_offered_only_where_her_own_identity_may_assume(aws_demo):
    page = Client()
    page.force_login(aws_demo.alice)
    for access_via, offered in (("portal", False), ("own_identity", True)):
        access_request = submitted(
            aws_demo,
            access_via=access_via,
            mechanism="assume_role",
            source_principal="arn:aws:iam::111111111111:role/DataAnalyst"
            if access_via == "own_identity"
            else "",
        )
        access_request_approve(access_request=access_request, approver=aws_demo.bob)
        grant = Grant.objects.get(access_request=access_request)
        services.grant_provision(grant_id=grant.pk)
        detail = page.get(reverse("request_detail", args=[access_request.pk])).content.decode()
        assert ("Assume it with your own identity" in detail) is offered, access_via
        assert ("source_profile = default" in detail) is offered, access_via
        services.revoke_start(grant_id=grant.pk, user=None, end_status=Grant.EndStatus.REVOKED)
        services.grant_revoke(grant_id=grant.pk)
