"""Assume role: the role in the target account with its trust and inline permission builders.

The role's name (`portal-access-<request id>`, grant.role_name) and path
(settings.PORTAL_ROLE_PATH) are the portal's own namespace: requests may not name anything there,
and the portal never takes over a role of that name elsewhere (aws.role_put). So a role of this
grant's name under that path is the portal's whatever its tags now say, and revoke removes it
completely, whatever was attached to it or added meanwhile; what it finds beyond what the portal
wrote is reported.
"""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

import aws
from accounts.models import Account
from policy import builders
from policy.boundary import boundary_arn
from provisioning.models import ApprovedRequest, Grant
from provisioning.writers.removal import Removal

MANAGED_BY_TAG = ("portal:managed-by", "access-portal")
REQUEST_TAG = "portal:request-id"
# What the role writer records of the boundary it read back: its ARN and its document.
PERMISSIONS_BOUNDARY = "permissions_boundary"
PERMISSIONS_BOUNDARY_POLICY = "permissions_boundary_policy"
# Differences in what the portal wrote, as drift names them (the rest are additions).
_WRITTEN = ("trust policy", "permission policy", "maximum session duration")


def _document(access_request: ApprovedRequest, key: str) -> dict:
    return access_request.documents[key]["document"]


def grant_boundary_arn(account: Account) -> str:
    """The permissions boundary every role the portal creates in this account carries, in the
    account's partition."""
    return boundary_arn(account.account_id, settings.PORTAL_ROLE_PATH, account.partition)


def portal_tags(access_request: ApprovedRequest) -> dict[str, str]:
    """The tags the portal puts on the role: drift and revoke report any of them changed."""
    return {
        MANAGED_BY_TAG[0]: MANAGED_BY_TAG[1],
        REQUEST_TAG: str(access_request.pk),
        builders.REQUESTER_TAG_KEY: access_request.requester.get_username()[:256],
    }


def write(grant: Grant, access_request: ApprovedRequest) -> dict[str, Any]:
    """Write the role with its boundary, trust policy and permission policy, then read all of it
    back (the boundary's document too, which the verification's simulation evaluates)."""
    trust = _document(access_request, builders.TRUST_POLICY)
    permission = _document(access_request, builders.PERMISSION_POLICY)
    boundary = grant_boundary_arn(access_request.target_account)
    credentials = aws.role_credentials(access_request.target_account.provisioner_role_arn)
    aws.role_put(
        credentials,
        role_name=grant.role_name,
        path=settings.PORTAL_ROLE_PATH,
        trust_policy=builders.document_json(trust),
        max_session_duration=grant.max_session_duration,
        tags=portal_tags(access_request),
        description=f"Access portal request {access_request.pk}"[:1000],
        permissions_boundary=boundary,
    )
    aws.role_policy_put(
        credentials,
        role_name=grant.role_name,
        policy_name=grant.permission_policy_name,
        document=builders.document_json(permission),
    )
    # A role of this name under the portal's path is the portal's, even one someone created
    # before the grant (request ids are sequential) with policies of their own on it: a role's
    # permissions are the union of all its policies, so nothing but the approved one may stay.
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    extra_policies_remove(grant, access_request)
    role = aws.role_read(credentials, role_name=grant.role_name)
    if role is None:
        raise aws.AwsError(f"Role {grant.role_name} is missing right after it was written.")
    attachments = aws.role_attachments(credentials, role_name=grant.role_name)
    extra = [name for name in role.inline_policies if name != grant.permission_policy_name]
    extra += [*attachments.managed_policies, *attachments.instance_profiles]
    # A role's tags are its sessions' principal tags, which attribute-based policies elsewhere in
    # the account may allow on (aws:PrincipalTag): only the portal's may be on it. Not removed here
    # (the provisioner has no iam:UntagRole): the grant fails, and its rollback deletes the role.
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html
    extra += [f"tag {key}" for key in role.tags if key not in portal_tags(access_request)]
    if extra:
        raise aws.AwsError(
            f"Role {grant.role_name} holds more than what was approved: " + ", ".join(extra)
        )
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


def _name_check(grant: Grant, access_request: ApprovedRequest) -> None:
    """The role a grant removes is the one the portal names for its request, nothing else."""
    if grant.role_name != builders.names_for(access_request.pk).role_name:
        raise aws.AwsError(
            f"Grant {grant.pk} names role {grant.role_name!r}, not the portal's name for request "
            f"{access_request.pk}; nothing was removed."
        )


def _portal_path(grant: Grant) -> str:
    """The path the portal created the grant's role under: as its ARN was recorded when it was
    verified (so a later change of PORTAL_ROLE_PATH leaves no role behind), else the one set now."""
    resource = grant.role_arn.split(":", 5)[-1] if grant.role_arn else ""
    if resource.startswith("role/") and resource.endswith(f"/{grant.role_name}"):
        return resource[len("role") : -len(grant.role_name)]
    return settings.PORTAL_ROLE_PATH


def _differences(
    grant: Grant,
    access_request: ApprovedRequest,
    role: aws.RoleState,
    attachments: aws.RoleAttachments,
) -> list[dict[str, Any]]:
    """How the role in AWS differs from what the portal wrote: its documents, anything attached
    or added to it, the portal's tags and the boundary."""
    expected = {
        "trust policy": _document(access_request, builders.TRUST_POLICY),
        "permission policy": _document(access_request, builders.PERMISSION_POLICY),
        "maximum session duration": grant.max_session_duration,
    }
    found = {
        "trust policy": role.trust_policy,
        "permission policy": role.inline_policies.get(grant.permission_policy_name),
        "maximum session duration": role.max_session_duration,
    }
    differences = [
        {"what": what, "expected": value, "found": found[what]}
        for what, value in expected.items()
        if found[what] != value
    ]
    for name, document in role.inline_policies.items():
        if name not in (grant.permission_policy_name, builders.REVOKE_SESSIONS_POLICY_NAME):
            differences.append(
                {
                    "what": f"inline policy {name} added to the role",
                    "expected": None,
                    "found": document,
                }
            )
    for arn in attachments.managed_policies:
        differences.append(
            {"what": f"managed policy {arn} attached to the role", "expected": None, "found": arn}
        )
    for profile in attachments.instance_profiles:
        differences.append(
            {
                "what": f"role added to instance profile {profile}",
                "expected": None,
                "found": profile,
            }
        )
    ours = portal_tags(access_request)
    for key, value in ours.items():
        if role.tags.get(key) != value:
            differences.append(
                {"what": f"tag {key} changed", "expected": value, "found": role.tags.get(key)}
            )
    for key, value in role.tags.items():
        if key not in ours:  # a principal tag of every session (see write)
            differences.append({"what": f"tag {key} added", "expected": None, "found": value})
    return differences + _boundary_differences(access_request, role)


def _boundary_differences(
    access_request: ApprovedRequest, role: aws.RoleState
) -> list[dict[str, Any]]:
    """A boundary taken off the role or replaced: drift, and reported at revoke."""
    expected = grant_boundary_arn(access_request.target_account)
    if role.permissions_boundary == expected:
        return []
    return [
        {
            "what": "permissions boundary",
            "expected": expected,
            "found": role.permissions_boundary or None,
        }
    ]


def _found(role_arn: str, difference: dict[str, Any]) -> str:
    """One line for the revoke's record and the approvers' message."""
    what = difference["what"]
    if what in _WRITTEN:
        return f"{role_arn}: {what} changed outside the portal"
    if what == "permissions boundary":
        found = difference["found"] or "none"
        return f"{role_arn}: permissions boundary {found}; the portal set {difference['expected']}"
    if what.startswith("tag ") and what.endswith(" added"):
        return f"{role_arn}: {what}: {difference['found']!r}"
    if what.startswith("tag "):
        return (
            f"{role_arn}: {what}: the portal wrote {difference['expected']!r}, found "
            f"{difference['found']!r}"
        )
    return f"{role_arn}: {what}"


def remove(grant: Grant, access_request: ApprovedRequest) -> Removal:
    """Remove the portal's role completely, even when its tags were changed or policies were
    attached or added to it: first a deny for every session issued until now (sessions already
    handed out die at once, whatever the role still holds while it is taken apart), then every
    managed policy detached (the policies themselves stay), every inline policy deleted, the role
    taken out of any instance profile, and the role deleted: DeleteRole needs all of that gone.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html
    What was there beyond what the portal wrote is returned as found. A role of this name that
    is not under the portal's path is not the portal's: it is left alone, and reported."""
    _name_check(grant, access_request)
    credentials = aws.role_credentials(access_request.target_account.provisioner_role_arn)
    name = grant.role_name
    role = aws.role_read(credentials, role_name=name)
    if role is None:
        return Removal()
    path = _portal_path(grant)
    if role.path != path:
        return Removal(
            found=[
                f"{role.arn}: a role named {name} outside {path} is not the portal's; it was "
                "left alone"
            ]
        )
    sessions_revoke(credentials, role_name=name, issued_before=timezone.now())
    attachments = aws.role_attachments(credentials, role_name=name)
    found = [
        _found(role.arn, difference)
        for difference in _differences(grant, access_request, role, attachments)
        # A document missing is not something added: a grant that failed half-way never wrote it.
        if difference["found"] is not None or difference["what"] not in _WRITTEN
    ]
    removed = []
    for arn in attachments.managed_policies:
        if aws.role_policy_detach(credentials, role_name=name, policy_arn=arn):
            removed.append(f"{role.arn} managed policy {arn} detached (the policy itself is kept)")
    for profile in attachments.instance_profiles:
        if aws.role_instance_profile_remove(credentials, role_name=name, instance_profile=profile):
            removed.append(f"{role.arn} taken out of instance profile {profile}")
    for policy_name in role.inline_policies:
        if policy_name != builders.REVOKE_SESSIONS_POLICY_NAME and aws.role_policy_delete(
            credentials, role_name=name, policy_name=policy_name
        ):
            removed.append(f"{role.arn} inline policy {policy_name}")
    # Last of all, as DeleteRole requires: the role holds no permission by now.
    aws.role_policy_delete(
        credentials, role_name=name, policy_name=builders.REVOKE_SESSIONS_POLICY_NAME
    )
    if aws.role_delete(credentials, role_name=name):
        removed.append(role.arn)
    return Removal(removed=removed, found=found)


def sessions_revoke(
    credentials: aws.Credentials, *, role_name: str, issued_before: datetime
) -> None:
    """Deny everything to the role's sessions issued before `issued_before` (an inline policy)."""
    aws.role_policy_put(
        credentials,
        role_name=role_name,
        policy_name=builders.REVOKE_SESSIONS_POLICY_NAME,
        document=builders.document_json(
            builders.revoke_sessions_policy(issued_before=issued_before)
        ),
    )


def drift(grant: Grant, access_request: ApprovedRequest) -> list[dict[str, Any]]:
    """How the role in AWS differs from what was approved (nothing: an empty list)."""
    credentials = aws.role_credentials(access_request.target_account.provisioner_role_arn)
    role = aws.role_read(credentials, role_name=grant.role_name)
    if role is None:
        return drift_from(grant, access_request, None)
    attachments = aws.role_attachments(credentials, role_name=grant.role_name)
    return drift_from(grant, access_request, (role, attachments))


def drift_from(
    grant: Grant,
    access_request: ApprovedRequest,
    found: tuple[aws.RoleState, aws.RoleAttachments] | None,
) -> list[dict[str, Any]]:
    """How the role as read (None: not there) differs from what was approved: `drift`'s answer,
    for a role read with the rest of its account (the drift sweep)."""
    if found is None:
        return [{"what": f"role {grant.role_name}", "expected": "present", "found": None}]
    return _differences(grant, access_request, *found)


def extra_policies_remove(grant: Grant, access_request: ApprovedRequest) -> list[str]:
    """Re-applying restores the approved role: inline policies added to the portal's own role out
    of band, managed policies attached to it and instance profiles it was put in would widen the
    access beyond what was approved."""
    credentials = aws.role_credentials(access_request.target_account.provisioner_role_arn)
    name = grant.role_name
    role = aws.role_read(credentials, role_name=name)
    if role is None:
        return []
    attachments = aws.role_attachments(credentials, role_name=name)
    removed = []
    for policy_name in role.inline_policies:
        if policy_name != grant.permission_policy_name:
            aws.role_policy_delete(credentials, role_name=name, policy_name=policy_name)
            removed.append(policy_name)
    for arn in attachments.managed_policies:
        aws.role_policy_detach(credentials, role_name=name, policy_arn=arn)
        removed.append(arn)
    for profile in attachments.instance_profiles:
        aws.role_instance_profile_remove(credentials, role_name=name, instance_profile=profile)
        removed.append(f"instance profile {profile}")
    return removed
