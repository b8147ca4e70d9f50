"""Assume role: the role in the target account with its trust and inline permission builders."""

from typing import Any

from django.conf import settings

import aws
from policy import builders
from policy.boundary import boundary_arn
from provisioning.models import ApprovedRequest, Grant

MANAGED_BY_TAG = ("portal:managed-by", "access-portal")
REQUEST_TAG = "portal:request-id"
# What the role writer records of the boundary it read back: its ARN and its document.
PERMISSIONS_BOUNDARY = "permissions_boundary"
PERMISSIONS_BOUNDARY_POLICY = "permissions_boundary_policy"


def _document(access_request: ApprovedRequest, key: str) -> dict:
    return access_request.documents[key]["document"]


def grant_boundary_arn(account_id: str) -> str:
    """The permissions boundary every role the portal creates in this account carries."""
    return boundary_arn(account_id, settings.PORTAL_ROLE_PATH)


def write(grant: Grant, access_request: ApprovedRequest) -> dict[str, Any]:
    """Write the role with its boundary, trust policy and permission policy, then read all of it
    back (the boundary's document too, which the verification's simulation evaluates)."""
    trust = _document(access_request, builders.TRUST_POLICY)
    permission = _document(access_request, builders.PERMISSION_POLICY)
    boundary = grant_boundary_arn(access_request.target_account.account_id)
    credentials = aws.role_credentials(access_request.target_account.provisioner_role_arn)
    aws.role_put(
        credentials,
        role_name=grant.role_name,
        path=settings.PORTAL_ROLE_PATH,
        trust_policy=builders.document_json(trust),
        max_session_duration=grant.max_session_duration,
        tags={
            MANAGED_BY_TAG[0]: MANAGED_BY_TAG[1],
            REQUEST_TAG: str(access_request.pk),
            "portal:requester": access_request.requester.get_username()[:256],
        },
        description=f"Access portal request {access_request.pk}"[:1000],
        permissions_boundary=boundary,
    )
    aws.role_policy_put(
        credentials,
        role_name=grant.role_name,
        policy_name=grant.permission_policy_name,
        document=builders.document_json(permission),
    )
    role = aws.role_read(credentials, role_name=grant.role_name)
    if role is None:
        raise aws.AwsError(f"Role {grant.role_name} is missing right after it was written.")
    # The emulator accepts a boundary that does not exist; AWS refuses the role. Read it either way.
    boundary_document = aws.managed_policy_read(credentials, policy_arn=boundary)
    if boundary_document is None:
        raise aws.AwsError(
            f"The permissions boundary {boundary} does not exist: the account's onboarding "
            "creates it (docs/real-aws.md)."
        )
    written = {
        "role_arn": role.arn,
        builders.TRUST_POLICY: role.trust_policy,
        builders.PERMISSION_POLICY: role.inline_policies.get(grant.permission_policy_name),
        "max_session_duration": role.max_session_duration,
        "tags": role.tags,
        PERMISSIONS_BOUNDARY: role.permissions_boundary,
        PERMISSIONS_BOUNDARY_POLICY: boundary_document,
    }
    expected = {
        builders.TRUST_POLICY: trust,
        builders.PERMISSION_POLICY: permission,
        "max_session_duration": grant.max_session_duration,
        PERMISSIONS_BOUNDARY: boundary,
    }
    mismatched = [key for key, value in expected.items() if written[key] != value]
    if mismatched:
        raise aws.AwsError(
            "AWS does not hold what was approved after writing it: " + ", ".join(mismatched)
        )
    return written


def remove(grant: Grant, access_request: ApprovedRequest) -> list[str]:
    """Delete the inline policy and the role, only if the role carries this request's tag."""
    target = access_request.target_account
    credentials = aws.role_credentials(target.provisioner_role_arn)
    role = aws.role_read(credentials, role_name=grant.role_name)
    if role is None:
        return []
    if role.tags.get(REQUEST_TAG) != str(access_request.pk):
        raise aws.AwsError(
            f"Role {grant.role_name} is not tagged as written for request {access_request.pk}; "
            "the portal leaves it alone."
        )
    removed = []
    if aws.role_policy_delete(
        credentials, role_name=grant.role_name, policy_name=grant.permission_policy_name
    ):
        removed.append(f"{role.arn} inline policy {grant.permission_policy_name}")
    if aws.role_delete(credentials, role_name=grant.role_name):
        removed.append(role.arn)
    return removed


def drift(grant: Grant, access_request: ApprovedRequest) -> list[dict[str, Any]]:
    """How the role in AWS differs from what was approved (nothing: an empty list)."""
    credentials = aws.role_credentials(access_request.target_account.provisioner_role_arn)
    role = aws.role_read(credentials, role_name=grant.role_name)
    if role is None:
        return [{"what": f"role {grant.role_name}", "expected": "present", "found": None}]
    expected = {
        "trust policy": _document(access_request, builders.TRUST_POLICY),
        "permission policy": _document(access_request, builders.PERMISSION_POLICY),
        "maximum session duration": grant.max_session_duration,
        "permissions boundary": grant_boundary_arn(access_request.target_account.account_id),
    }
    found = {
        "trust policy": role.trust_policy,
        "permission policy": role.inline_policies.get(grant.permission_policy_name),
        "maximum session duration": role.max_session_duration,
        "permissions boundary": role.permissions_boundary or None,
    }
    differences = [
        {"what": what, "expected": value, "found": found[what]}
        for what, value in expected.items()
        if found[what] != value
    ]
    for name, document in role.inline_policies.items():
        if name != grant.permission_policy_name:
            differences.append(
                {
                    "what": f"inline policy {name} added to the role",
                    "expected": None,
                    "found": document,
                }
            )
    return differences


def extra_policies_remove(grant: Grant, access_request: ApprovedRequest) -> list[str]:
    """Re-applying restores the approved role: inline policies added to the portal's own role out
    of band would widen the access beyond what was approved."""
    credentials = aws.role_credentials(access_request.target_account.provisioner_role_arn)
    role = aws.role_read(credentials, role_name=grant.role_name)
    removed = []
    for name in role.inline_policies if role else []:
        if name != grant.permission_policy_name:
            aws.role_policy_delete(credentials, role_name=grant.role_name, policy_name=name)
            removed.append(name)
    return removed
