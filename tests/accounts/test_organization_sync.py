"""Accounts from AWS Organizations (the demo organization in the emulator, SPEC 10.4): added with
their names, OU paths and their nearest OU's defaults, ready once they run the member template,
marked when they leave; accounts kept by hand stay as they are."""

import uuid

import pytest
from django.contrib.auth.models import Group

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from accounts.management.commands.seed_demo import demo_organization_defaults_seed
from accounts.models import Account, OrganizationDefaults
from aws import emulator_client
from aws.demo_world import organization_root_id
from aws.demo_world.organization import organizations_client
from policy.boundary import boundary_arn
from provisioning import services
from provisioning.models import Grant
from provisioning.organizations import accounts_readiness_check, accounts_sync
from tests.accounts.test_onboarding_template import _stack_create
from tests.api.conftest import api_for
from tests.conftest import ORGANIZATIONS_READER_ARN
from tests.factories import developers_may_ask, submitted
from tests.support import wait_until


def _account_create(name: str, parent: str = "") -> str:
    """A new account in the demo organization (a random id, in the root), moved under `parent`."""
    organizations = organizations_client()
    account_id = organizations.create_account(
        Email=f"{name}-{uuid.uuid4().hex[:6]}@example.com", AccountName=name
    )["CreateAccountStatus"]["AccountId"]
    if parent:
        organizations.move_account(
            AccountId=account_id, SourceParentId=organization_root_id(), DestinationParentId=parent
        )
    return account_id


def _ou_create(name: str) -> str:
    return organizations_client().create_organizational_unit(
        ParentId=organization_root_id(), Name=f"{name}-{uuid.uuid4().hex[:6]}"
    )["OrganizationalUnit"]["Id"]


def test_nothing_is_synced_without_a_management_role(demo, settings):
    settings.PORTAL_ORGANIZATIONS_ROLE_ARN = ""
    assert accounts_sync() is None


@pytest.mark.django_db(transaction=True)
def test_a_new_account_that_runs_the_template_is_ready_after_a_sync_with_its_ou_defaults(
    aws_demo, settings
):
    settings.PORTAL_ORGANIZATIONS_ROLE_ARN = ORGANIZATIONS_READER_ARN
    root = organization_root_id()
    demo_organization_defaults_seed(root)
    ou = _ou_create("analytics")
    OrganizationDefaults.objects.create(
        target=ou,
        name="analytics",
        approver_group=Group.objects.get(name="prod-approvers"),
        approvals_required=1,
        max_access_duration=4 * 3600,
    )
    onboarded = _account_create("analytics-data", parent=ou)
    _stack_create(onboarded, source=False)
    bare = _account_create("sandbox-without-template")  # in the root, no template
    data_before = Account.objects.values().get(account_id="999999999999")

    counts = accounts_sync()
    accounts_readiness_check()

    assert counts is not None and counts["added"] >= 2, counts
    account = Account.objects.get(account_id=onboarded)
    assert account.name == "analytics-data"
    assert account.organization_path == f"{root}/{ou}"
    # What AWS puts in aws:PrincipalOrgID for its principals, which the simulation gives them.
    assert account.organization_id.startswith("o-"), account.organization_id
    assert account.provisioner_role_arn == f"arn:aws:iam::{onboarded}:role/PortalProvisioner"
    assert account.organization_synced
    # The nearest OU with defaults (its own), not the root's.
    assert (account.approver_group.name, account.approvals_required) == ("prod-approvers", 1)
    assert account.max_access_duration == 4 * 3600
    assert account.ready, account.ready_reason
    other = Account.objects.get(account_id=bare)
    assert other.organization_path == root
    # The root's defaults (SPEC 10.4): data-approvers, one approval, 12 h.
    assert (other.approver_group.name, other.approvals_required) == ("data-approvers", 1)
    assert other.max_access_duration == 12 * 3600
    assert not other.ready and "does not exist" in other.ready_reason, other.ready_reason
    # Kept by hand: untouched (only the readiness observation is new).
    data_after = Account.objects.values().get(account_id="999999999999")
    for field in ("ready", "ready_reason", "ready_checked_at"):
        data_before.pop(field), data_after.pop(field)
    assert data_after == data_before
    assert Account.objects.get(account_id="999999999999").ready

    rows = {
        row["account_id"]: row
        for row in api_for(aws_demo.alice).get("/api/v1/accounts/?page_size=100").json()["results"]
    }
    assert rows[onboarded]["ready"] is True and rows[onboarded]["ready_reason"] == ""
    assert rows[bare]["ready"] is False and "does not exist" in rows[bare]["ready_reason"]

    # A grant into the onboarded account becomes active, with the boundary, once a rule lets
    # developers ask for access there.
    developers_may_ask(onboarded)
    access_request = submitted(
        aws_demo,
        target_account=account,
        resources=[f"arn:aws:dynamodb:eu-central-1:{onboarded}:table/Onboarded"],
    )
    emulator_client("dynamodb", account_id=onboarded).create_table(
        TableName="Onboarded",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    access_request_approve(access_request=access_request, approver=aws_demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    services.grant_provision(grant_id=grant.pk)
    assert AccessRequest.objects.get(pk=access_request.pk).status == "active", grant.last_error
    role = emulator_client("iam", account_id=onboarded).get_role(RoleName=grant.role_name)
    assert role["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary_arn(onboarded)

    # The account leaves the organization: marked, its grant kept until revoked.
    organizations_client().remove_account_from_organization(AccountId=onboarded)
    assert accounts_sync()["left"] >= 1  # type: ignore[index]
    accounts_readiness_check()
    account.refresh_from_db()
    assert account.left_organization_at is not None and not account.ready
    assert "left the organization" in account.ready_reason
    assert AccessRequest.objects.get(pk=access_request.pk).status == "active"
    row = next(
        row
        for row in api_for(aws_demo.alice).get("/api/v1/accounts/?page_size=100").json()["results"]
        if row["account_id"] == onboarded
    )
    assert row["in_organization"] is False


def test_an_admin_asks_for_a_sync_and_the_worker_does_it(aws_demo, worker):
    root = organization_root_id()
    demo_organization_defaults_seed(root)
    account_id = _account_create("synced-by-the-worker")
    _stack_create(account_id, source=True)
    assert api_for(aws_demo.alice).post("/api/v1/accounts/sync/").status_code == 403

    response = api_for(aws_demo.admin).post("/api/v1/accounts/sync/")

    assert response.status_code == 202, response.content
    wait_until(
        lambda: Account.objects.filter(account_id=account_id, ready=True).exists(),
        timeout=60,
        what=f"account {account_id} synced and ready",
    )
    assert Account.objects.get(account_id=account_id).approver_group.name == "data-approvers"
