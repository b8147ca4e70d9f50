"""What AWS holds now that bears on a request's simulation, read through the provisioner roles:
the target resources' own policies (a bucket policy's Deny, a KMS key policy that does not enable
IAM policies) and the source principal's other policies and permissions boundary.

Best effort and cached for a minute in the process, like the request form's other lookups (its
live preview asks on every change): what cannot be read is left out and said so in the
simulation's notes, never raised."""

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import aws
from accounts.models import Account
from policy.resource_policies import holder_for, in_account

logger = logging.getLogger(__name__)
CACHE_SECONDS = 60.0
_cache: dict[str, tuple[float, Any]] = {}
_lock = threading.Lock()


def _cached(key: str) -> Any:
    with _lock:
        found = _cache.get(key)
    if found is None or time.monotonic() - found[0] >= CACHE_SECONDS:
        return None
    return found[1]


def _remember(key: str, value: Any) -> None:
    with _lock:
        if len(_cache) > 1024:
            _cache.clear()
        _cache[key] = (time.monotonic(), value)


def forget() -> None:
    """Empty the cache (each test starts without an earlier test's reads)."""
    with _lock:
        _cache.clear()


@dataclass
class SourceSide:
    """The source principal's own identity-based policies and boundary, as AWS holds them (the
    portal's policy for this grant left out: the simulation adds the one it writes)."""

    identity: list[dict[str, Any]] = field(default_factory=list)
    boundary: dict[str, Any] | None = None
    known: bool = False


def resource_policy_now(account: Account, resource: str) -> tuple[bool, dict[str, Any] | None, str]:
    """(known, the policy of the resource's holder or None when it has none, a note)."""
    holder = holder_for(resource)
    if holder is None:
        return False, None, ""
    holder = in_account(holder, account.account_id)
    if not account.managed or not account.provisioner_role_arn:
        return (
            False,
            None,
            f"{account.account_id} is not managed: the policy of {holder.arn} is unknown",
        )
    key = f"resource-policy:{holder.arn}"
    cached = _cached(key)
    if cached is not None:
        return True, cached["policy"], ""
    try:
        policy = aws.policy_read(aws.role_credentials(account.provisioner_role_arn), holder)
    except aws.AwsError as error:
        logger.info("reading the policy of %s for a simulation: %s", holder.arn, error)
        return False, None, f"could not read the policy of {holder.arn}: {error}"
    _remember(key, {"policy": policy})
    return True, policy, ""


def holder_arn_of(resource: str, account: Account) -> str | None:
    holder = holder_for(resource)
    return in_account(holder, account.account_id).arn if holder is not None else None


def source_side_now(
    account: Account, role_name: str, *, except_policy: str = ""
) -> tuple[SourceSide, str]:
    """The role's inline and managed policies and boundary in the source account, but the inline
    policy `except_policy` (the grant's own, which the simulation puts in as it will be written);
    (unknown, note) when the portal cannot read them."""
    if not role_name:
        return SourceSide(), ""
    if not account.managed or not account.provisioner_role_arn:
        return SourceSide(), (
            f"{account.account_id} is not managed: the other policies and permissions boundary "
            f"of role {role_name} are unknown"
        )
    key = f"role-permissions:{account.account_id}:{role_name}"
    cached = _cached(key)
    if cached is None:
        try:
            permissions = aws.role_permissions(
                aws.role_credentials(account.provisioner_role_arn), role_name=role_name
            )
        except aws.AwsError as error:
            logger.info("reading role %s for a simulation: %s", role_name, error)
            return SourceSide(), f"could not read role {role_name}: {error}"
        cached = (
            {"missing": True}
            if permissions is None
            else {
                "inline": permissions.inline,
                "managed": permissions.managed,
                "boundary": permissions.boundary,
            }
        )
        _remember(key, cached)
    if cached.get("missing"):
        return SourceSide(known=True), f"role {role_name} does not exist in {account.account_id}"
    identity = [doc for name, doc in cached["inline"].items() if name != except_policy]
    return (
        SourceSide(
            identity=[*identity, *cached["managed"].values()],
            boundary=cached["boundary"],
            known=True,
        ),
        "",
    )
