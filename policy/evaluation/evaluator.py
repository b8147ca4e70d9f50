"""The decision: SCPs, resource-based policy, identity policies, permissions boundary and session
policy combined as the AWS documentation describes:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session

Rules:
1. An applicable explicit Deny in any policy wins.
2. SCPs (given for the principal's account, from the root down): every level needs an Allow.
   They are skipped for service principals (SCPs only affect principals of member accounts).
3. Same account: an Allow in the identity policies or in the resource policy suffices. A resource
   policy Allow naming the exact IAM user or role-session ARN is not limited by the permissions
   boundary or the session policy; any other Allow (identity policy, or resource policy naming the
   role, ``*``...) also needs an Allow in the boundary and the session policy when present. A
   resource policy naming only the account (``ACCT``/``arn:aws:iam::ACCT:root``) delegates to the
   account's identity policies and grants nothing by itself.
4. Cross account: the resource side (resource policy, e.g. a role trust policy for
   ``sts:AssumeRole``) and the identity side (identity, boundary, session) must both allow.
5. The account root user (``arn:aws:iam::ACCT:root``) is allowed in its own account unless denied.
Simplifications: RCPs, VPC endpoint policies, ACLs and service-specific rules (KMS key policies
that must enable IAM, S3 object ownership) are not modelled.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from policy.evaluation.matching import arn_account, session_role_arn
from policy.evaluation.statements import Match, match_policy

ALLOWED = "Allowed"
EXPLICITLY_DENIED = "ExplicitlyDenied"
IMPLICITLY_DENIED = "ImplicitlyDenied"
NOT_APPLICABLE = "NotApplicable"


@dataclass(frozen=True)
class RequestContext:
    principal: str
    action: str
    resource: str = "*"
    resource_account: str = ""
    context: Mapping[str, str | list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class PolicySet:
    scps: Sequence[Sequence[dict[str, Any]]] = ()
    identity: Sequence[dict[str, Any]] = ()
    boundary: dict[str, Any] | None = None
    session: dict[str, Any] | None = None
    resource: dict[str, Any] | None = None


@dataclass
class LayerVerdict:
    layer: str
    verdict: str
    statements: list[str] = field(default_factory=list)
    detail: str = ""


@dataclass
class Evaluation:
    decision: str
    layers: list[LayerVerdict]
    explanation: str

    @property
    def allowed(self) -> bool:
        return self.decision == ALLOWED

    def layer(self, name: str) -> LayerVerdict:
        return next(layer for layer in self.layers if layer.layer == name)


def request_keys(
    request: RequestContext, principal_account: str, resource_account: str
) -> dict[str, object]:
    """Context keys derived from the request, overridden by ``request.context`` (lower case)."""
    principal = request.principal
    keys: dict[str, object] = {"aws:resourceaccount": resource_account}
    if principal.startswith("arn:"):
        role = session_role_arn(principal)
        keys["aws:principalarn"] = role or principal
        keys["aws:principalaccount"] = principal_account
        resource_part = principal.split(":", 5)[5]
        if resource_part.startswith("user/"):
            keys["aws:username"] = resource_part.rsplit("/", 1)[-1]
            keys["aws:principaltype"] = "User"
        elif role:
            keys["aws:principaltype"] = "AssumedRole"
        elif resource_part == "root":
            keys["aws:principaltype"] = "Account"
    for key, value in request.context.items():
        keys[key.lower()] = list(value) if isinstance(value, list | tuple) else value
    return keys


def _verdict(layer: str, match: Match | None, present: bool, what: str) -> LayerVerdict:
    if not present or match is None:
        return LayerVerdict(layer, NOT_APPLICABLE, [], f"no {what}")
    if match.denies:
        return LayerVerdict(layer, EXPLICITLY_DENIED, match.denies, f"{what}: explicit Deny")
    if match.allows:
        return LayerVerdict(layer, ALLOWED, match.allows, f"{what}: Allow")
    detail = f"no statement of the {what} allows"
    if match.misses:
        detail += " (" + "; ".join(match.misses[:4]) + ")"
    return LayerVerdict(layer, IMPLICITLY_DENIED, [], detail)


def _scp_layer(
    request: RequestContext, levels: Sequence[Sequence[dict[str, Any]]], ctx: Mapping[str, object]
) -> LayerVerdict:
    if not levels or not request.principal.startswith("arn:"):
        return LayerVerdict("scp", NOT_APPLICABLE, [], "no SCPs apply")
    denies: list[str] = []
    allows: list[str] = []
    missing: list[int] = []
    for depth, level in enumerate(levels):
        level_match = Match()
        for number, policy in enumerate(level):
            prefix = f"L{depth}:" if len(level) == 1 else f"L{depth}P{number}:"
            level_match.extend(
                match_policy(
                    policy, request.action, request.resource, request.principal, ctx, prefix=prefix
                )
            )
        denies += level_match.denies
        allows += level_match.allows
        if not level_match.allows:
            missing.append(depth)
    if denies:
        return LayerVerdict("scp", EXPLICITLY_DENIED, denies, "an SCP denies the action")
    if missing:
        return LayerVerdict(
            "scp",
            IMPLICITLY_DENIED,
            [],
            f"no SCP allows the action at organization level(s) {missing}",
        )
    return LayerVerdict("scp", ALLOWED, allows, "every organization level allows")


def evaluate(request: RequestContext, policies: PolicySet) -> Evaluation:
    principal_account = arn_account(request.principal)
    resource_account = request.resource_account or principal_account
    cross = bool(principal_account) and resource_account != principal_account
    ctx = request_keys(request, principal_account, resource_account)
    args = (request.action, request.resource, request.principal, ctx)

    identity = Match()
    for number, policy in enumerate(policies.identity):
        prefix = f"P{number}:" if len(policies.identity) > 1 else ""
        identity.extend(match_policy(policy, *args, prefix=prefix))
    boundary = match_policy(policies.boundary, *args) if policies.boundary else None
    session = match_policy(policies.session, *args) if policies.session else None
    resource = (
        match_policy(
            policies.resource,
            *args,
            resource_policy=True,
            has_boundary=policies.boundary is not None,
        )
        if policies.resource
        else None
    )
    is_root = request.principal.split(":", 5)[-1] == "root"

    layers = [
        _scp_layer(request, policies.scps, ctx),
        _verdict("resource", resource, policies.resource is not None, "resource-based policy"),
        _verdict("identity", identity, bool(policies.identity), "identity-based policies"),
        _verdict("boundary", boundary, policies.boundary is not None, "permissions boundary"),
        _verdict("session", session, policies.session is not None, "session policy"),
    ]
    by_name = {layer.layer: layer for layer in layers}
    if resource is not None and resource.warnings:
        by_name["resource"].detail += "; " + "; ".join(resource.warnings)
    if is_root and not cross and by_name["identity"].verdict != EXPLICITLY_DENIED:
        by_name["identity"] = LayerVerdict("identity", ALLOWED, [], "the account root user")
        layers[2] = by_name["identity"]

    denied = [layer for layer in layers if layer.verdict == EXPLICITLY_DENIED]
    if denied:
        first = denied[0]
        return Evaluation(
            EXPLICITLY_DENIED,
            layers,
            f"Explicitly denied by the {first.layer} layer ({', '.join(first.statements)}).",
        )
    if by_name["scp"].verdict == IMPLICITLY_DENIED:
        return Evaluation(IMPLICITLY_DENIED, layers, f"Implicitly denied: {by_name['scp'].detail}.")

    limits_ok = all(
        by_name[name].verdict in (ALLOWED, NOT_APPLICABLE) for name in ("boundary", "session")
    )
    identity_allows = by_name["identity"].verdict == ALLOWED
    kinds = set(resource.allow_kinds) if resource else set()
    if is_root and not cross:
        limits_ok = True
    identity_side = identity_allows and limits_ok

    if cross:
        resource_side = bool(kinds)
        if identity_side and resource_side:
            return Evaluation(
                ALLOWED,
                layers,
                "Allowed: cross-account request allowed by both "
                "the resource-based policy and the caller's identity side.",
            )
        missing = []
        if not resource_side:
            missing.append(
                "the resource-based policy of the resource account "
                f"{resource_account} does not allow the caller"
            )
        if not identity_allows:
            missing.append(f"no identity policy in account {principal_account} allows it")
        elif not limits_ok:
            missing.append("the permissions boundary or session policy does not allow it")
        return Evaluation(
            IMPLICITLY_DENIED,
            layers,
            "Implicitly denied: cross-account access needs both sides, but "
            + " and ".join(missing)
            + ".",
        )

    if "direct" in kinds:
        return Evaluation(
            ALLOWED,
            layers,
            "Allowed: the resource-based policy names the caller "
            "directly, which the boundary and session policy do not limit.",
        )
    if (identity_allows or kinds & {"role", "wildcard"}) and limits_ok:
        source = "identity-based policies" if identity_allows else "resource-based policy"
        return Evaluation(ALLOWED, layers, f"Allowed by the {source} within one account.")
    if identity_allows or kinds & {"role", "wildcard"}:
        limiter = next(
            n
            for n in ("boundary", "session")
            if by_name[n].verdict != ALLOWED and by_name[n].verdict != NOT_APPLICABLE
        )
        return Evaluation(
            IMPLICITLY_DENIED,
            layers,
            f"Implicitly denied: the {limiter} layer does not allow the action.",
        )
    return Evaluation(
        IMPLICITLY_DENIED,
        layers,
        "Implicitly denied: no identity-based or resource-based policy allows it.",
    )
