"""The demo accounts, the portal's own roles in them, and the policies of those roles."""

import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from policy.arns import account_root_arn
from policy.boundary import boundary_arn

# The article's world lives in Frankfurt; its ARNs name eu-central-1.
DEMO_REGION = "eu-central-1"
PROVISIONER_ROLE = "PortalProvisioner"
BROKER_ROLE = "PortalBroker"
PROVISIONER_POLICY = "portal-provisioner"

# What the portal does with a provisioner session on the roles it creates (aws.iam: role_put,
# role_read, role_policy_put, role_policy_delete, role_delete), and nothing else. The writes that
# give a role permissions, BOUNDED_ROLE_ACTIONS, only while the role carries the boundary.
PORTAL_ROLE_ACTIONS = [
    "iam:GetRole",
    "iam:UpdateRole",
    "iam:TagRole",
    "iam:DeleteRole",
    "iam:GetRolePolicy",
    "iam:ListRolePolicies",
    "iam:DeleteRolePolicy",
    # Revoke removes the portal's role whatever was attached to it meanwhile: DeleteRole fails
    # while a managed policy is attached or the role is in an instance profile.
    "iam:ListAttachedRolePolicies",
    "iam:DetachRolePolicy",
    "iam:ListInstanceProfilesForRole",
]
BOUNDED_ROLE_ACTIONS = [
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePolicy",
]
# Reading the boundary back (aws.managed_policy_read), so verification evaluates what AWS holds.
BOUNDARY_READ_ACTIONS = ["iam:GetPolicy", "iam:GetPolicyVersion"]
# The readiness check of the account sync (accounts.onboarding): the provisioner reads itself.
PROVISIONER_SELF_ACTIONS = ["iam:GetRole"]
# What the provisioner may never do: change or delete the boundary, or take it off a role.
BOUNDARY_CHANGE_ACTIONS = [
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:DeleteRolePermissionsBoundary",
]
# RemoveRoleFromInstanceProfile's resource is the instance profile, not the role, so it cannot be
# narrowed to the portal's roles: the portal calls it only to take its own role out of a profile
# someone put it in, before deleting the role. (At worst it takes a role out of a profile: no
# permission is gained by that.)
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
INSTANCE_PROFILE_ACTIONS = ["iam:RemoveRoleFromInstanceProfile"]
# The drift sweep: every role of the account with its policies, tags and boundary, 1,000 a page.
DRIFT_SWEEP_ACTIONS = ["iam:GetAccountAuthorizationDetails", "iam:ListRoles"]
# On source-account roles the portal only adds and removes the per-grant identity policies.
SOURCE_ROLE_ACTIONS = [
    "iam:GetRole",
    "iam:PutRolePolicy",
    "iam:GetRolePolicy",
    "iam:ListRolePolicies",
    "iam:DeleteRolePolicy",
    # "Will this work?" reads the source principal's other policies and its boundary.
    "iam:ListAttachedRolePolicies",
]
# The managed policies attached to a source principal's role, or its boundary (read only).
SOURCE_POLICY_READ_ACTIONS = ["iam:GetPolicy", "iam:GetPolicyVersion"]


@dataclass(frozen=True)
class DemoAccount:
    """What one emulated account holds: the portal's roles and the resources to share."""

    account_id: str
    broker: bool = False
    tables: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    buckets: dict[str, dict[str, str]] = field(default_factory=dict)
    queues: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    key_aliases: tuple[str, ...] = ()
    secrets: dict[str, str] = field(default_factory=dict)


DEMO_ACCOUNTS = [
    DemoAccount(account_id="111111111111", broker=True),
    DemoAccount(
        account_id="999999999999",
        tables={
            "MyTable": [
                {"id": "1", "name": "first item"},
                {"id": "2", "name": "second item"},
                {"id": "3", "name": "third item"},
            ]
        },
        buckets={
            "mybucket": {
                "README.txt": "The article's bucket. S3 bucket names are lower case: mybucket.\n",
                "reports/2026-11.csv": "day,requests\n2026-11-01,42\n2026-11-02,57\n",
            }
        },
        queues=("myqueue",),
        topics=("mytopic",),
        key_aliases=("alias/mykey",),
        # The emulator's demo secret, published with the demo (not a credential of anything).
        secrets={"mysecret": json.dumps({"username": "demo", "password": "not-a-real-secret"})},  # nosec B105
    ),
    DemoAccount(
        account_id="222222222222",
        tables={
            "Orders": [
                {"id": "o-1001", "customer": "acme", "total": "129.90"},
                {"id": "o-1002", "customer": "globex", "total": "18.00"},
            ]
        },
        buckets={"prod-reports": {"reports/2026-11.csv": "day,orders\n2026-11-01,1200\n"}},
    ),
    # The sandbox: developers read and list it approved by rule (SPEC 8, 10.2).
    DemoAccount(
        account_id="555555555555",
        tables={"Scratch": [{"id": "s-1", "note": "anything goes here"}]},
    ),
]


def tooling_trust_policy(tooling_root: str = "") -> dict[str, Any]:
    """Trust the tooling account, whose credentials the portal runs with (`tooling_root`: its
    root ARN, for the onboarding template's parameter; the configured account by default)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PortalTooling",
                "Effect": "Allow",
                "Principal": {
                    "AWS": tooling_root or account_root_arn(settings.PORTAL_TOOLING_ACCOUNT_ID)
                },
                "Action": "sts:AssumeRole",
            }
        ],
    }


# Resource policies and ACLs (aws.resource_policies and s3_acls): read and write the
# policies of the account's resources; they only ever add or remove the portal's statements.
RESOURCE_POLICY_ACTIONS = [
    "s3:ListAllMyBuckets",
    "s3:ListBucket",
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketAcl",
    "s3:PutBucketAcl",
    "s3:GetObjectAcl",
    "s3:PutObjectAcl",
    "sqs:GetQueueUrl",
    "sqs:GetQueueAttributes",
    "sqs:SetQueueAttributes",
    "sns:GetTopicAttributes",
    "sns:SetTopicAttributes",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:PutKeyPolicy",
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetResourcePolicy",
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:DeleteResourcePolicy",
    "dynamodb:DescribeTable",
    "dynamodb:GetResourcePolicy",
    "dynamodb:PutResourcePolicy",
    "dynamodb:DeleteResourcePolicy",
    "lambda:GetFunction",
    "lambda:GetPolicy",
    "lambda:AddPermission",
    "lambda:RemovePermission",
]
# The wizard's inventory (aws.inventory): list the resources engineers pick from.
INVENTORY_ACTIONS = [
    "dynamodb:ListTables",
    "s3:ListAllMyBuckets",
    "s3:GetBucketLocation",
    "sqs:ListQueues",
    "sns:ListTopics",
    "kms:ListKeys",
    "kms:ListAliases",
    "kms:DescribeKey",
    "secretsmanager:ListSecrets",
]
# A role in the source account that engineers use with their own identity.
ANALYST_ROLE = "DataAnalyst"


def own_account_trust_policy(account_id: str) -> dict[str, Any]:
    """Trust the account's own identities, whose IAM policies decide who may assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": account_root_arn(account_id)},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def provisioner_policy(account_id: str, *, broker_role: str = "") -> dict[str, Any]:
    """Least privilege for the provisioner role: manage roles under the portal's path, each
    carrying the permissions boundary, and in a source account the inline identity policies that
    let its roles assume a granted role: the broker role's for portal sessions, and any role's
    that a request names as its source principal (IAM cannot narrow PutRolePolicy by policy name,
    so this covers every role but the provisioner itself).

    The condition key iam:PermissionsBoundary is the boundary in a CreateRole or
    PutRolePermissionsBoundary request, and the role's current boundary for PutRolePolicy and
    UpdateAssumeRolePolicy; a negated operator is true when the key is missing, so a role without
    the boundary is refused too.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
    """
    path = settings.PORTAL_ROLE_PATH
    portal_roles = f"arn:aws:iam::{account_id}:role{path}*"
    boundary = boundary_arn(account_id, path)
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ManagePortalRoles",
            "Effect": "Allow",
            "Action": PORTAL_ROLE_ACTIONS + BOUNDED_ROLE_ACTIONS,
            "Resource": portal_roles,
        },
        {
            # An explicit Deny, so no other statement (the source account's below) can lift it.
            "Sid": "OnlyBoundedPortalRoles",
            "Effect": "Deny",
            "Action": BOUNDED_ROLE_ACTIONS,
            "Resource": portal_roles,
            "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": boundary}},
        },
        {
            # The account sync's readiness check: the role answers for itself through a session
            # (the emulator lets anyone assume even a missing role, so the session alone proves
            # nothing). https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html
            "Sid": "ReadItself",
            "Effect": "Allow",
            "Action": PROVISIONER_SELF_ACTIONS,
            "Resource": f"arn:aws:iam::{account_id}:role/{PROVISIONER_ROLE}",
        },
        {
            "Sid": "ReadTheBoundary",
            "Effect": "Allow",
            "Action": BOUNDARY_READ_ACTIONS,
            "Resource": boundary,
        },
        {
            "Sid": "KeepTheBoundary",
            "Effect": "Deny",
            "Action": BOUNDARY_CHANGE_ACTIONS,
            "Resource": [boundary, f"arn:aws:iam::{account_id}:role/*"],
        },
        {
            "Sid": "TakePortalRolesOutOfInstanceProfiles",
            "Effect": "Allow",
            "Action": INSTANCE_PROFILE_ACTIONS,
            "Resource": f"arn:aws:iam::{account_id}:instance-profile/*",
        },
        {
            # The drift sweep reads the account's roles in a few calls (aws.iam_accounts); both
            # actions take no resource ARN, "*" is the only resource they accept. Read-only.
            # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
            "Sid": "ReadRolesForTheDriftSweep",
            "Effect": "Allow",
            "Action": DRIFT_SWEEP_ACTIONS,
            "Resource": "*",
        },
        {
            # Resource-level scoping differs per service; the account boundary is what matters.
            "Sid": "ManageResourcePolicies",
            "Effect": "Allow",
            "Action": RESOURCE_POLICY_ACTIONS,
            "Resource": "*",
        },
        {
            # The List* actions take no resource ARN: "*" is the only resource they accept.
            "Sid": "ListInventory",
            "Effect": "Allow",
            "Action": INVENTORY_ACTIONS,
            "Resource": "*",
        },
    ]
    if broker_role:
        statements += [
            {
                "Sid": "SourceIdentityPolicies",
                "Effect": "Allow",
                "Action": SOURCE_ROLE_ACTIONS,
                "Resource": f"arn:aws:iam::{account_id}:role/*",
            },
            {
                "Sid": "ReadSourcePrincipalsPolicies",
                "Effect": "Allow",
                "Action": SOURCE_POLICY_READ_ACTIONS,
                "Resource": [
                    f"arn:aws:iam::{account_id}:policy/*",
                    "arn:aws:iam::aws:policy/*",
                ],
            },
            {
                "Sid": "NotItself",
                "Effect": "Deny",
                "Action": ["iam:PutRolePolicy", "iam:DeleteRolePolicy"],
                "Resource": f"arn:aws:iam::{account_id}:role/{PROVISIONER_ROLE}",
            },
        ]
    return {"Version": "2012-10-17", "Statement": statements}
