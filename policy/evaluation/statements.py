"""Which statements of one policy apply to a request (Effect, Action/NotAction,
Resource/NotResource, Principal/NotPrincipal, Condition), written from
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
"""

from collections.abc import Mapping
from typing import Any

from policy.evaluation.conditions import conditions_match
from policy.evaluation.matching import (
    action_matches,
    glob_match,
    not_principal_excludes,
    pieces_match,
    principal_block_matches,
)
from policy.evaluation.variables import POLICY_VERSION_WITH_VARIABLES, split


class Match:
    """The statements of one policy (or several) that apply to the request. A plain class with
    slots: five of them are made per evaluation, and a dataclass's list factories cost more."""

    __slots__ = ("allow_kinds", "allows", "denies", "misses", "warnings")

    def __init__(self) -> None:
        self.allows: list[str] = []
        self.denies: list[str] = []
        # for resource policies: how each Allow names the caller (direct/role/wildcard/account)
        self.allow_kinds: list[str] = []
        self.warnings: list[str] = []
        # Why each other statement does not apply: (prefix, Sid, index, why), put in words only
        # when an explanation needs them (formatting every miss cost a tenth of an evaluation).
        self.misses: list[tuple[str, str, int, str]] = []

    def miss_texts(self, limit: int = 4) -> list[str]:
        return [
            f"{prefix}{sid or f'#{index}'}: {why}"
            for prefix, sid, index, why in self.misses[:limit]
        ]

    def extend(self, other: "Match") -> None:
        self.allows += other.allows
        self.denies += other.denies
        self.allow_kinds += other.allow_kinds
        self.warnings += other.warnings
        self.misses += other.misses


def _list(value: object) -> list[str]:
    if type(value) is str:  # the common case first: one action, one resource
        return [value]
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def statements_of(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = policy.get("Statement", [])
    if isinstance(raw, dict):
        return [raw]
    for statement in raw:  # the usual case: a list of statements only, taken as it is
        if not isinstance(statement, dict):
            return [s for s in raw if isinstance(s, dict)]
    return raw  # type: ignore[no-any-return]


def label(statement: Mapping[str, Any], index: int, prefix: str = "") -> str:
    return f"{prefix}{statement.get('Sid') or f'#{index}'}"


def _any_action(patterns: list[str], action: str) -> bool:
    # A plain loop, not any(<generator>): the generator cost about a tenth of an evaluation.
    for pattern in patterns:  # noqa: SIM110
        if action_matches(pattern, action):
            return True
    return False


def _resource_matches(
    patterns: list[str], resource: str, ctx: Mapping[str, object], variables: bool
) -> bool:
    for pattern in patterns:
        if "${" not in pattern:  # no variable: the common case, matched as it is
            if glob_match(pattern, resource):
                return True
            continue
        pieces = split(pattern, ctx, variables)
        if pieces is not None and pieces_match(pieces, resource):
            return True
    return False


def statement_applies(
    statement: Mapping[str, Any],
    action: str,
    resource: str,
    principal: str,
    ctx: Mapping[str, object],
    variables: bool,
    resource_policy: bool,
    has_boundary: bool = False,
) -> tuple[bool, str, str]:
    """(applies, how the principal is named, why not)."""
    if "Action" in statement:
        if not _any_action(_list(statement["Action"]), action):
            return False, "", "action not listed"
    elif "NotAction" in statement:
        if _any_action(_list(statement["NotAction"]), action):
            return False, "", "action excluded by NotAction"
    else:
        return False, "", "no Action"
    if "Resource" in statement:
        if not _resource_matches(_list(statement["Resource"]), resource, ctx, variables):
            return False, "", "resource not listed"
    elif "NotResource" in statement and _resource_matches(
        _list(statement["NotResource"]), resource, ctx, variables
    ):
        return False, "", "resource excluded by NotResource"
    how = "identity"
    if resource_policy:
        if "Principal" in statement:
            named = principal_block_matches(statement["Principal"], principal)
            if named is None:
                return False, "", "principal not named"
            how = named
        elif "NotPrincipal" in statement:
            if not_principal_excludes(statement["NotPrincipal"], principal, has_boundary):
                return False, "", "principal excluded by NotPrincipal"
            how = "wildcard"
        else:
            return False, "", "no Principal"
    ok, why = conditions_match(statement.get("Condition"), ctx, variables)
    if not ok:
        return False, "", why
    return True, how, ""


def match_policy(
    policy: Mapping[str, Any] | None,
    action: str,
    resource: str,
    principal: str,
    ctx: Mapping[str, object],
    *,
    resource_policy: bool = False,
    prefix: str = "",
    has_boundary: bool = False,
) -> Match:
    result = Match()
    if not policy:
        return result
    variables = str(policy.get("Version", "")) == POLICY_VERSION_WITH_VARIABLES
    for index, statement in enumerate(statements_of(policy)):
        effect = statement.get("Effect", "")
        if resource_policy and "NotPrincipal" in statement and effect == "Allow":
            result.warnings.append(
                f"{label(statement, index, prefix)}: NotPrincipal with Allow grants everyone "
                "not listed (unsafe, not supported by AWS for new policies)"
            )
        applies, how, why = statement_applies(
            statement, action, resource, principal, ctx, variables, resource_policy, has_boundary
        )
        if not applies:
            result.misses.append((prefix, statement.get("Sid") or "", index, why))
        elif effect == "Deny":
            result.denies.append(label(statement, index, prefix))
        elif effect == "Allow":
            result.allows.append(label(statement, index, prefix))
            result.allow_kinds.append(how)
    return result
