"""The article's first scenario end to end on real parts: a real Celery worker on the real Redis,
PostgreSQL, and the emulator over HTTP."""

import boto3
import pytest
from botocore.exceptions import ClientError

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from aws import emulator_client
from provisioning import sessions
from provisioning.models import Grant
from provisioning.services import grant_revoke_request
from tests.factories import submitted
from tests.support import wait_until


def _status(access_request: AccessRequest) -> str:
    access_request.refresh_from_db()
    return access_request.status


def _iam(emulator, account_id: str):
    return emulator_client("iam", account_id=account_id, region="us-east-1")


@pytest.mark.django_db(transaction=True)
def test_request_approve_provision_session_get_item_revoke(aws_demo, worker, emulator):
    demo = aws_demo
    access_request = submitted(demo, duration=8 * 3600)
    access_request_approve(access_request=access_request, approver=demo.bob)

    wait_until(lambda: _status(access_request) == "active", timeout=30, what="an active grant")
    grant = Grant.objects.get(access_request=access_request)
    assert (
        grant.role_arn == f"arn:aws:iam::999999999999:role/portal/portal-access-{access_request.pk}"
    )
    assert grant.written["trust_policy"]["Statement"][0]["Principal"] == {
        "AWS": "arn:aws:iam::111111111111:role/PortalBroker"
    }

    assumed, issue, _ = sessions.session_start(grant_id=grant.pk, user=demo.alice)
    session = boto3.Session(
        aws_access_key_id=assumed.credentials.access_key_id,
        aws_secret_access_key=assumed.credentials.secret_access_key,
        aws_session_token=assumed.credentials.session_token,
        region_name="eu-central-1",
    )
    identity = session.client("sts", endpoint_url=emulator.url).get_caller_identity()
    assert identity["Account"] == "999999999999"
    assert identity["Arn"] == (
        f"arn:aws:sts::999999999999:assumed-role/portal-access-{access_request.pk}/alice"
    )
    item = session.client("dynamodb", endpoint_url=emulator.url).get_item(
        TableName="MyTable", Key={"id": {"S": "1"}}
    )
    assert item["Item"]["name"] == {"S": "first item"}
    assert issue.access_key_id == assumed.credentials.access_key_id
    assert issue.duration == 3600  # the role-chaining cap, not the grant's 8 hours

    iam_source = _iam(emulator, "111111111111")
    broker_policies = iam_source.list_role_policies(RoleName="PortalBroker")["PolicyNames"]
    assert f"portal-access-{access_request.pk}" in broker_policies

    grant_revoke_request(grant=grant, user=demo.alice)
    wait_until(lambda: _status(access_request) == "revoked", timeout=30, what="the revoke")
    iam_target = _iam(emulator, "999999999999")
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam_target.get_role(RoleName=f"portal-access-{access_request.pk}")
    remaining = iam_source.list_role_policies(RoleName="PortalBroker")["PolicyNames"]
    assert f"portal-access-{access_request.pk}" not in remaining
    # The portal's own provisioner policy on the source side is untouched.
    assert iam_source.get_role(RoleName="PortalBroker")["Role"]["RoleName"] == "PortalBroker"
