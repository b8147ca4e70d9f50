"""The article's first scenario through the API only: a token, submit as alice, approve as bob, a
real worker provisions, credentials from the API work with boto3 against the emulator."""

import boto3
import pytest
from rest_framework.test import APIClient

from tests.api.conftest import SUBMIT
from tests.support import wait_until


def login(username: str, password: str) -> APIClient:
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


@pytest.mark.django_db(transaction=True)
def test_submit_approve_provision_and_use_credentials_through_the_api(aws_demo, worker, emulator):
    alice = login("alice", "alice-demo")
    bob = login("bob", "bob-demo")

    submitted = alice.post("/api/v1/requests/", SUBMIT | {"ticket": "OPS-7"}, format="json")
    assert submitted.status_code == 201, submitted.content
    request_id = submitted.json()["id"]
    assert submitted.json()["status"] == "pending"
    assert submitted.json()["mechanism"] == "assume_role"
    assert set(submitted.json()["documents"]) == {
        "trust_policy",
        "permission_policy",
        "source_identity_policy",
    }

    approved = bob.post(f"/api/v1/requests/{request_id}/approve/", {"comment": "ok"}, format="json")
    assert approved.status_code == 200, approved.content
    assert approved.json()["approvals"][0]["approver"] == "bob"

    def active():
        body = alice.get(f"/api/v1/requests/{request_id}/").json()
        return body if body["status"] == "active" else None

    body = wait_until(active, timeout=30, what="an active grant")
    grant_id = body["grant"]["id"]
    assert body["grant"]["role_arn"].endswith(f"portal-access-{request_id}")

    response = alice.post(f"/api/v1/grants/{grant_id}/credentials/")
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    credentials = response.json()
    assert set(credentials) == {
        "Version",
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "Expiration",
    }
    assert credentials["Version"] == 1

    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="eu-central-1",
    )
    identity = session.client("sts", endpoint_url=emulator.url).get_caller_identity()
    assert identity["Account"] == "999999999999"
    assert identity["Arn"].endswith(f"assumed-role/portal-access-{request_id}/alice")
    item = session.client("dynamodb", endpoint_url=emulator.url).get_item(
        TableName="MyTable", Key={"id": {"S": "1"}}
    )
    assert item["Item"]["name"] == {"S": "first item"}

    # The audit trail has the access key id, never the secret; bob cannot take alice's session.
    events = alice.get("/api/v1/audit/", {"request": request_id, "verb": "credentials"}).json()
    assert events["results"][0]["after"]["access_key_id"] == credentials["AccessKeyId"]
    assert credentials["SecretAccessKey"] not in str(events)
    assert bob.post(f"/api/v1/grants/{grant_id}/credentials/").status_code == 403

    revoked = alice.post(f"/api/v1/grants/{grant_id}/revoke/")
    assert revoked.status_code == 202
    wait_until(
        lambda: alice.get(f"/api/v1/grants/{grant_id}/").json()["status"] == "revoked",
        timeout=30,
        what="the revoke",
    )
    again = alice.post(f"/api/v1/grants/{grant_id}/revoke/")
    assert again.status_code == 409
