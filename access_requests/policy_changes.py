"""What approving a resource-policy request changes in AWS: each resource's whole policy as AWS
holds it now, without and with the portal's statement, for the approver on the request page."""

import difflib
import hashlib
import json
from dataclasses import dataclass, field

from django.core.cache import cache

import aws
from access_requests.models import AccessRequest, Mechanism
from policy.builders import RESOURCE_POLICY_PREFIX
from policy.resource_policies import (
    SIZE_LIMITS,
    PolicyHolder,
    in_account,
    policy_size,
    policy_too_large,
    statement_put,
    statement_remove,
    statements_except,
)

POLICY_CACHE_SECONDS = 60
_SHOWN_WHILE = {
    AccessRequest.Status.PENDING,
    AccessRequest.Status.APPROVED,
    AccessRequest.Status.PROVISIONING,
    AccessRequest.Status.ACTIVE,
    AccessRequest.Status.FAILED,
}


@dataclass(frozen=True)
class DiffLine:
    sign: str  # "+" added, "-" removed, " " unchanged
    text: str


@dataclass
class PolicyChange:
    """One resource's whole policy: as AWS holds it without the portal's statement, and with it."""

    holder_arn: str
    service: str
    sid: str
    lines: list[DiffLine] = field(default_factory=list)
    before_exists: bool = True
    statements_kept: int = 0
    size: int = 0
    limit: int = 0
    too_large: str = ""
    error: str = ""

    @property
    def added(self) -> int:
        return sum(1 for line in self.lines if line.sign == "+")

    @property
    def removed(self) -> int:
        return sum(1 for line in self.lines if line.sign == "-")


def policy_diff_lines(before: dict | None, after: dict) -> list[DiffLine]:
    """Every line of the pretty-printed documents, each marked unchanged, added or removed."""
    old = json.dumps(before, indent=2).splitlines() if before else []
    new = json.dumps(after, indent=2).splitlines()
    lines: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            lines += [DiffLine(" ", text) for text in old[i1:i2]]
            continue
        lines += [DiffLine("-", text) for text in old[i1:i2]]
        lines += [DiffLine("+", text) for text in new[j1:j2]]
    return lines


def _policy_now(access_request: AccessRequest, holder: PolicyHolder) -> dict | None:
    """The holder's policy as AWS holds it, read through the target account's provisioner role
    and cached for a minute (the request page is reloaded as it moves). Raises aws.AwsError."""
    key = "resource-policy:" + hashlib.sha256(holder.arn.encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return cached["policy"]
    credentials = aws.role_credentials(access_request.target_account.provisioner_role_arn)
    policy = aws.policy_read(credentials, holder)
    cache.set(key, {"policy": policy}, POLICY_CACHE_SECONDS)
    return policy


def resource_policy_changes(*, access_request: AccessRequest) -> list[PolicyChange]:
    """For a resource-policy request: each resource's whole policy without and with the portal's
    statement, as the portal merges it (statement_put keeps every other statement and its order).
    Best effort: a policy that cannot be read is reported in `error`, not raised."""
    if (
        access_request.mechanism != Mechanism.RESOURCE_POLICY
        or access_request.status not in _SHOWN_WHILE
    ):
        return []
    changes = []
    for key, entry in access_request.documents.items():
        if not key.startswith(RESOURCE_POLICY_PREFIX):
            continue
        holder = in_account(
            PolicyHolder(**entry["holder"]), access_request.target_account.account_id
        )
        statement = entry["document"]
        change = PolicyChange(holder_arn=holder.arn, service=holder.service, sid=statement["Sid"])
        changes.append(change)
        if not access_request.target_account.managed:
            change.error = "The portal does not manage this account, so it cannot read the policy."
            continue
        try:
            now = _policy_now(access_request, holder)
        except aws.AwsError as error:
            change.error = f"Could not read the policy from AWS: {error}"
            continue
        before = statement_remove(now, change.sid) if now else None
        after = statement_put(now, statement)
        change.before_exists = before is not None
        change.statements_kept = len(statements_except(now, change.sid))
        change.lines = policy_diff_lines(before, after)
        change.size = policy_size(holder.service, after)
        change.limit = SIZE_LIMITS.get(holder.service, 0)
        change.too_large = policy_too_large(holder.service, after) or ""
    return changes
