"""The permissions boundary on every role the portal creates: the managed policy
``arn:aws:iam::<account>:policy/portal/PortalGrantBoundary``. Pure: no Django, no boto3.

A permissions boundary sets the most that a role's identity-based policies can grant it: AWS
allows a call only when both the role's own policies and its boundary allow it (the effective
permissions are their intersection), and an explicit Deny in either wins.
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html

So the boundary allows everything: what a grant may do is what its inline permission policy (the
approved document) says. It only takes away what would let a grant reach past that document, even
where an approver let it through:
- every IAM write (create, put, attach, pass a role, tag, delete...): with any of them a grant could
  write itself or another role a wider policy, mint keys, or hand a stronger role to a service;
  and IAM Roles Anywhere's, whose trust anchors and profiles mint sessions of other roles;
- IAM Identity Center's writes, through its API or its console's `sso-directory:` permissions
  (permission sets, account assignments and group members are admin rights by
  another name), AWS Organizations and the account's own settings (account:*);
- anything at all on the portal's own resources: roles and policies under the portal's path (other
  grants, this boundary), and the provisioner, broker and organizations-reader roles, in any
  account, including sts:AssumeRole into them: a grant's session must not chain into another
  grant's role or into the roles the portal itself runs with.
The same document serves the demo world, the documentation and the onboarding template.
"""

from collections.abc import Sequence
from typing import Any

from policy.builders import VERSION

BOUNDARY_NAME = "PortalGrantBoundary"
DEFAULT_PATH = "/portal/"
# The portal's own roles, by the names the documentation and the onboarding template give them.
PROTECTED_ROLE_NAMES = ("PortalProvisioner", "PortalBroker", "PortalOrganizationsReader")

# Every IAM action whose access level is not Read or List in the Service Authorization Reference
# starts with one of these verbs (tests/policy/test_boundary.py holds the catalog to that); the
# wildcards also cover actions AWS adds later under the same verbs.
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
IAM_WRITE_ACTIONS = [
    f"iam:{verb}*"
    for verb in (
        "Accept", "Add", "Associate", "Attach", "Change", "Create", "Deactivate", "Delete",
        "Detach", "Disable", "Enable", "Put", "Reject", "Remove", "Reset", "Resync", "Send",
        "Set", "Tag", "Untag", "Update", "Upload",
    )
] + ["iam:PassRole"]  # fmt: skip
# IAM Roles Anywhere: a trust anchor is an identity provider (a certificate authority whose
# certificates buy sessions of the roles of its profiles, whose trust policies name the anchor):
# pointing one at one's own CA, or adding a role to a profile, mints sessions of other roles.
# Every action not Read or List starts with one of these verbs.
# https://docs.aws.amazon.com/rolesanywhere/latest/userguide/trust-model.html
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementrolesanywhere.html
ROLES_ANYWHERE_WRITE_ACTIONS = [
    f"rolesanywhere:{verb}*"
    for verb in (
        "Create", "Delete", "Disable", "Enable", "Import", "Put", "Reset", "Tag", "Untag", "Update",
    )
]  # fmt: skip
# IAM Identity Center: the same for its permission sets, assignments and directory.
IDENTITY_CENTER_WRITE_ACTIONS = [
    f"sso:{verb}*"
    for verb in (
        "Add", "Associate", "Attach", "Create", "Delete", "Detach", "Disassociate", "Import",
        "Provision", "Put", "Remove", "Start", "Tag", "Untag", "Update",
    )
] + [
    f"identitystore:{verb}*"
    for verb in ("Add", "Create", "Delete", "Remove", "Reserve", "Update")
] + [
    # The Identity Center console's own permissions for its directory (users, groups, group
    # members, passwords, MFA devices): the same writes as identitystore's, by another prefix.
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsiamidentitycenterdirectory.html
    f"sso-directory:{verb}*"
    for verb in (
        "Add", "Complete", "Create", "Delete", "Disable", "Enable", "Import", "Remove", "Start",
        "Update", "Verify",
    )
]  # fmt: skip
ORGANIZATION_ACTIONS = ["organizations:*", "account:*"]
# What no grant may do to the portal's own roles and policies: anything in IAM, or assume them.
PORTAL_RESOURCE_ACTIONS = ["iam:*", "sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]


def boundary_arn(account_id: str, path: str = DEFAULT_PATH, partition: str = "aws") -> str:
    """arn:PARTITION:iam::ACCOUNT:policy/portal/PortalGrantBoundary (IAM is global: no region)."""
    return f"arn:{partition}:iam::{account_id}:policy{path}{BOUNDARY_NAME}"


def portal_resources(
    *, path: str = DEFAULT_PATH, protected_roles: Sequence[str] = PROTECTED_ROLE_NAMES
) -> list[str]:
    """The portal's own roles and policies, in every account (the account field is a wildcard)."""
    return [
        f"arn:aws:iam::*:role{path}*",
        f"arn:aws:iam::*:policy{path}*",
        *(f"arn:aws:iam::*:role/{name}" for name in protected_roles),
    ]


def boundary_policy(
    *, path: str = DEFAULT_PATH, protected_roles: Sequence[str] = PROTECTED_ROLE_NAMES
) -> dict[str, Any]:
    """The boundary's document: one for every account, since it names no account of its own."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                # A boundary grants nothing by itself: the inline policy decides within it.
                "Sid": "InlinePolicyDecides",
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
            },
            {
                "Sid": "NoIdentityAdministration",
                "Effect": "Deny",
                "Action": IAM_WRITE_ACTIONS
                + ROLES_ANYWHERE_WRITE_ACTIONS
                + IDENTITY_CENTER_WRITE_ACTIONS,
                "Resource": "*",
            },
            {
                "Sid": "NoOrganizationOrAccountChanges",
                "Effect": "Deny",
                "Action": ORGANIZATION_ACTIONS,
                "Resource": "*",
            },
            {
                "Sid": "PortalResourcesOffLimits",
                "Effect": "Deny",
                "Action": PORTAL_RESOURCE_ACTIONS,
                "Resource": portal_resources(path=path, protected_roles=protected_roles),
            },
        ],
    }
