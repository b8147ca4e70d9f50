"""Every role of an account in a few calls: what the drift sweep compares the portal's roles with.

`GetAccountAuthorizationDetails` (filter `Role`) returns each role with its trust policy, inline
policies, attached managed policies, instance profiles, permissions boundary and tags, up to 1,000
roles a page; `ListRoles` under the portal's path adds each role's maximum session duration, which
the details leave out. Two calls for an account of up to 1,000 roles, instead of six per role.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_RoleDetail.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListRoles.html
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from aws.core import Credentials, client_for, translate_error
from aws.iam import RoleAttachments, RoleState, _decode_policy

PAGE_SIZE = 1000


@dataclass(frozen=True)
class AccountRoles:
    """The roles of one account by name (all of them, whatever their path), each with what else
    holds on to it."""

    roles: dict[str, tuple[RoleState, RoleAttachments]]
    calls: int


def _pages(
    call: Callable[..., dict[str, Any]], pace: Callable[[], None], **params: Any
) -> Iterator[dict[str, Any]]:
    """IAM's Marker/IsTruncated pagination, with `pace()` before every call (the caller's rate
    limit for the account)."""
    marker = ""
    while True:
        pace()
        page = call(**params, MaxItems=PAGE_SIZE, **({"Marker": marker} if marker else {}))
        yield page
        if not page.get("IsTruncated") or not page.get("Marker"):
            return
        marker = page["Marker"]


def account_roles_read(
    credentials: Credentials, *, path_prefix: str, pace: Callable[[], None] = lambda: None
) -> AccountRoles:
    """Every role of the account with its documents, tags, boundary and attachments; the maximum
    session duration of those under `path_prefix` (others keep 0)."""
    iam = client_for("iam", credentials)
    calls = 0
    durations: dict[str, int] = {}
    roles: dict[str, tuple[RoleState, RoleAttachments]] = {}
    try:
        for page in _pages(iam.list_roles, pace, PathPrefix=path_prefix):
            calls += 1
            for role in page.get("Roles", []):
                durations[role["RoleName"]] = role.get("MaxSessionDuration", 3600)
        for page in _pages(iam.get_account_authorization_details, pace, Filter=["Role"]):
            calls += 1
            for detail in page.get("RoleDetailList", []):
                name = detail["RoleName"]
                state = RoleState(
                    arn=detail["Arn"],
                    trust_policy=_decode_policy(detail.get("AssumeRolePolicyDocument", {})),
                    max_session_duration=durations.get(name, 0),
                    tags={tag["Key"]: tag["Value"] for tag in detail.get("Tags", [])},
                    inline_policies={
                        policy["PolicyName"]: _decode_policy(policy["PolicyDocument"])
                        for policy in detail.get("RolePolicyList", [])
                    },
                    path=detail.get("Path", "/"),
                    permissions_boundary=detail.get("PermissionsBoundary", {}).get(
                        "PermissionsBoundaryArn", ""
                    ),
                )
                attachments = RoleAttachments(
                    managed_policies=tuple(
                        attached["PolicyArn"]
                        for attached in detail.get("AttachedManagedPolicies", [])
                    ),
                    instance_profiles=tuple(
                        profile["InstanceProfileName"]
                        for profile in detail.get("InstanceProfileList", [])
                    ),
                )
                roles[name] = (state, attachments)
    except Exception as error:
        raise translate_error(error, "reading the account's roles") from error
    return AccountRoles(roles=roles, calls=calls)
