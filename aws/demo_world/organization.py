"""The demo's AWS Organizations: management account 100000000000, its reader role, and the
organization the accounts sync reads (SPEC 10.4).

The emulator cannot put fixed account ids into an organization (`create_account` makes a random
one), so the demo's fixed accounts stay kept by hand; the organization holds the accounts created
in it later, which become ready once they run the member template.
"""

from typing import Any

from aws import emulator_client
from aws.demo_world.policies import tooling_trust_policy
from aws.demo_world.resources import role_ensure

MANAGEMENT_ACCOUNT = "100000000000"
ORGANIZATIONS_READER_ROLE = "PortalOrganizationsReader"
ORGANIZATIONS_READER_POLICY = "portal-organizations-reader"
# What aws.organizations reads: accounts, their parents, and the SCPs with their targets.
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsorganizations.html
ORGANIZATIONS_READ_ACTIONS = [
    "organizations:ListAccounts",
    "organizations:ListParents",
    "organizations:ListPolicies",
    "organizations:DescribePolicy",
    "organizations:ListTargetsForPolicy",
]


def organizations_reader_policy() -> dict[str, Any]:
    """Read the organization, nothing else (the List/Describe actions take only "*")."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadTheOrganization",
                "Effect": "Allow",
                "Action": ORGANIZATIONS_READ_ACTIONS,
                "Resource": "*",
            }
        ],
    }


def organizations_client() -> Any:
    """The management account's Organizations client (a global service: us-east-1)."""
    return emulator_client("organizations", account_id=MANAGEMENT_ACCOUNT, region="us-east-1")


def organization_ensure() -> str:
    """The organization of the management account, created when absent; its root id."""
    organizations = organizations_client()
    try:
        organizations.describe_organization()
        outcome = "exists"
    except organizations.exceptions.AWSOrganizationsNotInUseException:
        organizations.create_organization(FeatureSet="ALL")
        outcome = "created"
    return f"{outcome}, root {organization_root_id()}"


def organization_root_id() -> str:
    return str(organizations_client().list_roots()["Roots"][0]["Id"])


def organizations_reader_ensure() -> str:
    """The role whose ARN `make run` sets as PORTAL_ORGANIZATIONS_ROLE_ARN."""
    return role_ensure(
        MANAGEMENT_ACCOUNT,
        role_name=ORGANIZATIONS_READER_ROLE,
        trust_policy=tooling_trust_policy(),
        description="Access portal: reads AWS Organizations (accounts, OUs, SCPs)",
        inline_policies={ORGANIZATIONS_READER_POLICY: organizations_reader_policy()},
    )
