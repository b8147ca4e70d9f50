"""Several accounts in one request, end to end (SPEC 10.6) with the real worker and the emulator:
each account's request is provisioned on its own, in its own account, when its own approval
comes, and a refused submission writes nothing anywhere."""

import pytest

from access_requests.models import AccessRequest
from aws import emulator_client
from provisioning.models import Grant
from tests.api.conftest import api_for
from tests.support import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

DATA, PROD, SANDBOX = "999999999999", "222222222222", "555555555555"
BODY = {
    "source_account": "111111111111",
    "target_accounts": [DATA, SANDBOX],
    "actions": ["dynamodb:GetItem"],
    "resources": ["arn:aws:dynamodb:eu-central-1:${Account}:table/MyTable"],
    "duration": 3600,
    "justification": "Read MyTable in data and the sandbox",
}


def _settled(pk: int) -> AccessRequest:
    wait_until(
        lambda: AccessRequest.objects.get(pk=pk).status in ("active", "failed"),
        timeout=60,
        what="provisioning",
    )
    return AccessRequest.objects.get(pk=pk)


def _portal_roles(account_id: str) -> set[str]:
    iam = emulator_client("iam", account_id=account_id)
    return {role["RoleName"] for role in iam.list_roles(PathPrefix="/portal/")["Roles"]}


def test_each_account_is_provisioned_on_its_own_when_its_own_approval_comes(aws_demo, worker):
    response = api_for(aws_demo.alice).post("/api/v1/requests/", BODY, format="json")
    assert response.status_code == 201, response.content
    data, sandbox = response.json()["requests"]

    # The sandbox's read goes under its auto rule: provisioned with no human, while data's
    # request waits for data's approvers and nothing of it is written.
    sandbox_request = _settled(sandbox["id"])
    sandbox_grant = Grant.objects.get(access_request=sandbox_request)
    assert sandbox_request.status == "active", sandbox_grant.last_error
    assert sandbox_grant.role_arn.startswith(f"arn:aws:iam::{SANDBOX}:role/portal/")
    assert sandbox_grant.role_name in _portal_roles(SANDBOX)
    assert AccessRequest.objects.get(pk=data["id"]).status == "pending"
    assert f"portal-access-{data['id']}" not in _portal_roles(DATA)

    assert api_for(aws_demo.bob).post(f"/api/v1/requests/{data['id']}/approve/").status_code == 200
    data_request = _settled(data["id"])
    data_grant = Grant.objects.get(access_request=data_request)
    assert data_request.status == "active", data_grant.last_error
    assert data_grant.role_arn.startswith(f"arn:aws:iam::{DATA}:role/portal/")
    assert data_grant.role_name in _portal_roles(DATA)
    # Each role names its own account's table, nothing of the other's.
    iam = emulator_client("iam", account_id=DATA)
    [policy_name] = iam.list_role_policies(RoleName=data_grant.role_name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=data_grant.role_name, PolicyName=policy_name)
    assert SANDBOX not in str(document["PolicyDocument"])


def test_a_refused_submission_writes_nothing_in_any_account(aws_demo, worker):
    before = {account: _portal_roles(account) for account in (DATA, SANDBOX)}
    body = BODY | {"actions": ["dynamodb:PutItem"]}  # the sandbox's rule allows reads only
    response = api_for(aws_demo.alice).post("/api/v1/requests/", body, format="json")

    assert response.status_code in (400, 403)
    assert "sandbox (555555555555)" in response.json()["detail"]
    assert AccessRequest.objects.count() == 0 and Grant.objects.count() == 0
    assert {account: _portal_roles(account) for account in (DATA, SANDBOX)} == before
