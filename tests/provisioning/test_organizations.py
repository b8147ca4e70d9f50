"""SCPs synced from AWS Organizations (the emulator's) through a management-account role."""

import json

from accounts.models import Account, ServiceControlPolicy
from aws import emulator_client
from provisioning.organizations import scps_sync

DENY_SCAN = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "dynamodb:Scan", "Resource": "*"}],
}


def test_nothing_is_synced_without_a_management_role(demo, settings):
    settings.PORTAL_ORGANIZATIONS_ROLE_ARN = ""
    assert scps_sync() is None


def test_scps_and_account_paths_come_from_organizations(aws_demo, settings):
    organizations = emulator_client("organizations", account_id="123456789012", region="us-east-1")
    organizations.create_organization(FeatureSet="ALL")
    root = organizations.list_roots()["Roots"][0]["Id"]
    ou = organizations.create_organizational_unit(ParentId=root, Name="analytics")[
        "OrganizationalUnit"
    ]["Id"]
    account_id = organizations.create_account(Email="x@example.com", AccountName="analytics")[
        "CreateAccountStatus"
    ]["AccountId"]
    organizations.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=ou)
    policy = organizations.create_policy(
        Content=json.dumps(DENY_SCAN),
        Description="Analytics tables are queried, never scanned",
        Name="DenyScans",
        Type="SERVICE_CONTROL_POLICY",
    )["Policy"]["PolicySummary"]["Id"]
    organizations.attach_policy(PolicyId=policy, TargetId=ou)
    Account.objects.create(account_id=account_id, name="analytics", managed=False)
    seeded = ServiceControlPolicy.objects.filter(synced=False).count()

    settings.PORTAL_ORGANIZATIONS_ROLE_ARN = (
        "arn:aws:iam::123456789012:role/PortalOrganizationsReader"
    )
    attachments = scps_sync()

    synced = ServiceControlPolicy.objects.filter(synced=True)
    assert attachments == synced.count()
    deny = synced.get(name="DenyScans")
    assert deny.target == ou and deny.document == DENY_SCAN
    assert set(synced.filter(name="FullAWSAccess").values_list("target", flat=True)) >= {
        root,
        ou,
        account_id,
    }
    assert Account.objects.get(account_id=account_id).organization_path == f"{root}/{ou}"
    assert ServiceControlPolicy.objects.filter(synced=False).count() == seeded, "seeds kept"

    organizations.detach_policy(PolicyId=policy, TargetId=ou)
    scps_sync()
    assert not ServiceControlPolicy.objects.filter(synced=True, name="DenyScans").exists()


def test_rcps_are_synced_beside_the_scps_and_reach_the_simulation(aws_demo, settings):
    """Resource control policies come from the same read as the SCPs, AWS's own
    RCPFullAWSAccess left out (the evaluator implies it at every level); detached, they go."""
    from accounts.models import ResourceControlPolicy
    from accounts.scps import rcp_levels_named_of
    from aws.demo_world import organization_root_id
    from aws.demo_world.organization import organizations_client
    from tests.conftest import ORGANIZATIONS_READER_ARN

    organizations = organizations_client()
    root = organization_root_id()
    ou = organizations.create_organizational_unit(ParentId=root, Name="perimeter-test")[
        "OrganizationalUnit"
    ]["Id"]
    perimeter = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OrgOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-demo"}},
            }
        ],
    }
    policy = organizations.create_policy(
        Content=json.dumps(perimeter),
        Description="Only the organization reads its buckets",
        Name="DataPerimeter",
        Type="RESOURCE_CONTROL_POLICY",
    )["Policy"]["PolicySummary"]["Id"]
    organizations.attach_policy(PolicyId=policy, TargetId=ou)
    account = Account.objects.create(
        account_id="444444444444", name="perimeter", organization_path=f"{root}/{ou}"
    )
    settings.PORTAL_ORGANIZATIONS_ROLE_ARN = ORGANIZATIONS_READER_ARN
    try:
        scps_sync()
        synced = ResourceControlPolicy.objects.filter(synced=True)
        assert synced.get(name="DataPerimeter", target=ou).document == perimeter
        assert not synced.filter(name="RCPFullAWSAccess").exists()
        (levels,) = rcp_levels_named_of(account)
        assert levels.names == [[], ["DataPerimeter (" + ou + ")"], []]
        assert levels.documents[1] == [perimeter]
    finally:
        organizations.detach_policy(PolicyId=policy, TargetId=ou)
        organizations.delete_policy(PolicyId=policy)
    scps_sync()
    assert not ResourceControlPolicy.objects.filter(name="DataPerimeter").exists()
    (levels,) = rcp_levels_named_of(account)
    assert levels.documents == []  # no RCP on its path: the layer does not apply
