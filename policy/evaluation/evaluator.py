"""The decision: SCPs, RCPs, resource-based policy, identity policies, permissions boundary and
session policy combined as the AWS documentation describes:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session

Rules:
1. An applicable explicit Deny in any policy wins (RCPs and SCPs included).
2. RCPs (given for the resource's account, from the root down, ``RCPFullAWSAccess`` implied):
   only a Deny decides; see ``organizations.py`` for whom and what they restrict.
3. SCPs (given for the principal's account, from the root down): every level needs an Allow.
   They are skipped for service principals, anonymous callers and service-linked roles.
4. Same account: an Allow in the identity policies or in the resource policy suffices. A resource
   policy Allow naming the exact IAM user or role-session ARN is not limited by the permissions
   boundary or the session policy; any other Allow (identity policy, or resource policy naming the
   role, ``*``...) also needs an Allow in the boundary and the session policy when present. A
   resource policy naming only the account (``ACCT``/``arn:aws:iam::ACCT:root``) delegates to the
   account's identity policies and grants nothing by itself.
5. Cross account: the resource side (resource policy, e.g. a role trust policy for
   ``sts:AssumeRole``) and the identity side (identity, boundary, session) must both allow.
6. The account root user (``arn:aws:iam::ACCT:root``) is allowed in its own account unless denied.
7. Callers without an IAM identity: an AWS service principal (``lambda.amazonaws.com``) and an
   anonymous caller (the principal ``"anonymous"``: an unsigned request, which S3 and a few other
   services accept, see the first step of the evaluation-logic page) have no identity-based
   policies, boundary or session policy, and no account for SCPs; only a resource-based policy
   can allow them: a statement naming the service, or everyone (``"*"`` / ``{"AWS": "*"}``).
   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
   (anonymous access, service principals). RCPs still apply to both.
Simplifications: VPC endpoint policies, ACLs and service-specific rules (KMS key policies that
must enable IAM, S3 object ownership) are not modelled here: the request's simulation supplies
a KMS key policy as the resource policy, where it belongs.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from policy.evaluation.matching import arn_account, session_role_arn
from policy.evaluation.organizations import rcp_layer, scp_layer
from policy.evaluation.statements import Match, match_policy
from policy.evaluation.verdicts import (
    ALLOWED,
    EXPLICITLY_DENIED,
    IMPLICITLY_DENIED,
    NOT_APPLICABLE,
    LayerVerdict,
)

ANONYMOUS = "anonymous"

__all__ = [
    "ALLOWED",
    "ANONYMOUS",
    "EXPLICITLY_DENIED",
    "IMPLICITLY_DENIED",
    "NOT_APPLICABLE",
    "Evaluation",
    "LayerVerdict",
    "PolicySet",
    "RequestContext",
    "evaluate",
]


@dataclass(frozen=True)
class RequestContext:
    principal: str
    action: str
    resource: str = "*"
    resource_account: str = ""
    context: Mapping[str, str | list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class PolicySet:
    """``scps``: the principal's account's SCP levels, root first. ``rcps``: the resource's
    account's RCP levels, root first, each the RCPs besides the implied ``RCPFullAWSAccess``.
    ``scp_names``/``rcp_names``: per level, per policy, a name for the explanation."""

    scps: Sequence[Sequence[dict[str, Any]]] = ()
    identity: Sequence[dict[str, Any]] = ()
    boundary: dict[str, Any] | None = None
    session: dict[str, Any] | None = None
    resource: dict[str, Any] | None = None
    rcps: Sequence[Sequence[dict[str, Any]]] = ()
    scp_names: Sequence[Sequence[str]] = ()
    rcp_names: Sequence[Sequence[str]] = ()


@dataclass
class Evaluation:
    decision: str
    layers: list[LayerVerdict]
    explanation: str
    # The layer that decided a denial ("scp", "rcp", "resource", "identity", "boundary",
    # "session"), or "" when allowed.
    blocking: str = ""

    @property
    def allowed(self) -> bool:
        return self.decision == ALLOWED

    def layer(self, name: str) -> LayerVerdict:
        return next(layer for layer in self.layers if layer.layer == name)


def principal_kind(principal: str) -> str:
    """``arn`` (an IAM user, role, session or account root), ``anonymous``, ``service`` (an AWS
    service principal such as ``lambda.amazonaws.com``) or ``other`` (e.g. a canonical user)."""
    if principal.startswith("arn:"):
        return "arn"
    if principal in (ANONYMOUS, "*"):
        return "anonymous"
    return "service" if "." in principal else "other"


def request_keys(
    request: RequestContext, principal_account: str, resource_account: str
) -> dict[str, object]:
    """Context keys derived from the request, overridden by ``request.context`` (lower case).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html:
    aws:PrincipalIsAWSService is in every signed request (true only for a service principal,
    which also gets aws:PrincipalServiceName); an anonymous request carries no principal keys."""
    principal = request.principal
    keys: dict[str, object] = {"aws:resourceaccount": resource_account}
    if principal.startswith("arn:"):
        role = session_role_arn(principal)
        keys["aws:principalarn"] = role or principal
        keys["aws:principalaccount"] = principal_account
        keys["aws:principalisawsservice"] = "false"
        resource_part = principal.split(":", 5)[5]
        if resource_part.startswith("user/"):
            keys["aws:username"] = resource_part.rsplit("/", 1)[-1]
            keys["aws:principaltype"] = "User"
        elif role:
            keys["aws:principaltype"] = "AssumedRole"
        elif resource_part == "root":
            keys["aws:principaltype"] = "Account"
    elif principal_kind(principal) == "service":
        keys["aws:principalisawsservice"] = "true"
        keys["aws:principalservicename"] = principal
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
        detail += " (" + "; ".join(match.miss_texts()) + ")"
    return LayerVerdict(layer, IMPLICITLY_DENIED, [], detail)


def _mandatory_resource_policy(action: str, resource: str) -> bool:
    """A role's trust policy and a KMS key's key policy must allow the caller (or its account)
    even within one account: an identity-based policy alone is not enough for them (so a key
    policy without the "Enable IAM policies" statement for the account root makes IAM policies
    useless for the key).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html (trust policy)
    https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam
    """
    service = action[:4].lower()
    if service == "sts:":
        return ":role/" in resource and action.lower().startswith("sts:assumerole")
    return service == "kms:" and ":key/" in resource


def _identityless(kind: str) -> str:
    return "an anonymous caller" if kind == "anonymous" else "a service principal"


def evaluate(request: RequestContext, policies: PolicySet) -> Evaluation:
    kind = principal_kind(request.principal)
    principal_account = arn_account(request.principal)
    resource_account = request.resource_account or principal_account
    cross = bool(principal_account) and resource_account != principal_account
    ctx = request_keys(request, principal_account, resource_account)
    args = (request.action, request.resource, request.principal, ctx)
    identityless = kind in ("anonymous", "service")

    identity = Match()
    boundary = session = None
    if not identityless:
        if len(policies.identity) == 1:
            identity = match_policy(policies.identity[0], *args)
        else:
            for number, policy in enumerate(policies.identity):
                identity.extend(match_policy(policy, *args, prefix=f"P{number}:"))
        boundary = match_policy(policies.boundary, *args) if policies.boundary else None
        session = match_policy(policies.session, *args) if policies.session else None
    resource = (
        match_policy(
            policies.resource,
            *args,
            resource_policy=True,
            has_boundary=policies.boundary is not None and not identityless,
        )
        if policies.resource
        else None
    )
    is_root = kind == "arn" and request.principal.split(":", 5)[-1] == "root"

    layers = [
        scp_layer(*args[:3], policies.scps, ctx, policies.scp_names),
        rcp_layer(*args[:3], policies.rcps, ctx, policies.rcp_names),
        _verdict("resource", resource, policies.resource is not None, "resource-based policy"),
        _verdict(
            "identity",
            identity,
            bool(policies.identity) and not identityless,
            "identity-based policies",
        ),
        _verdict("boundary", boundary, policies.boundary is not None, "permissions boundary"),
        _verdict("session", session, policies.session is not None, "session policy"),
    ]
    by_name = {layer.layer: layer for layer in layers}
    if resource is not None and resource.warnings:
        by_name["resource"].detail += "; " + "; ".join(resource.warnings)
    if identityless:
        for name in ("identity", "boundary", "session"):
            by_name[name].detail = f"{_identityless(kind)} has none"
    if is_root and not cross and by_name["identity"].verdict != EXPLICITLY_DENIED:
        by_name["identity"] = LayerVerdict("identity", ALLOWED, [], "the account root user")
        layers[3] = by_name["identity"]

    denied = [layer for layer in layers if layer.verdict == EXPLICITLY_DENIED]
    if denied:
        first = denied[0]
        return Evaluation(
            EXPLICITLY_DENIED,
            layers,
            f"Explicitly denied by the {first.layer} layer ({', '.join(first.statements)}).",
            first.layer,
        )
    if by_name["scp"].verdict == IMPLICITLY_DENIED:
        return Evaluation(
            IMPLICITLY_DENIED, layers, f"Implicitly denied: {by_name['scp'].detail}.", "scp"
        )

    kinds = set(resource.allow_kinds) if resource else set()
    if identityless:
        who = _identityless(kind)
        if kinds - {"account"}:
            return Evaluation(ALLOWED, layers, f"Allowed: the resource-based policy allows {who}.")
        return Evaluation(
            IMPLICITLY_DENIED,
            layers,
            f"Implicitly denied: only a resource-based policy can allow {who}, and none "
            + ("that names it or everyone does." if policies.resource else "is given."),
            "resource",
        )

    limits_ok = all(
        by_name[name].verdict in (ALLOWED, NOT_APPLICABLE) for name in ("boundary", "session")
    )
    identity_allows = by_name["identity"].verdict == ALLOWED
    if is_root and not cross:
        limits_ok = True
    identity_side = identity_allows and limits_ok

    # Without the trust or key policy the caller's side is all there is to judge: only a given
    # one is required to allow.
    mandatory = (
        resource is not None
        and "direct" not in kinds
        and _mandatory_resource_policy(request.action, request.resource)
    )
    if cross or mandatory:
        resource_side = bool(kinds)
        if not cross and kinds - {"account"}:
            identity_side = limits_ok  # the trust or key policy names the caller's role or all
        if identity_side and resource_side:
            return Evaluation(
                ALLOWED,
                layers,
                "Allowed: cross-account request allowed by both "
                "the resource-based policy and the caller's identity side."
                if cross
                else "Allowed by the resource-based policy (a trust or key policy) "
                "with the caller's identity side.",
            )
        missing = []
        if not resource_side:
            missing.append(
                "the resource-based policy of the resource account "
                f"{resource_account} does not allow the caller"
                if cross
                else "the role's trust policy or the key's key policy does not allow the "
                "caller or its account (an identity-based policy alone is not enough)"
            )
        if not identity_allows:
            missing.append(f"no identity policy in account {principal_account} allows it")
        elif not limits_ok:
            missing.append("the permissions boundary or session policy does not allow it")
        blocking = (
            "resource"
            if not resource_side
            else "identity"
            if not identity_allows
            else (_limiter(by_name))
        )
        return Evaluation(
            IMPLICITLY_DENIED,
            layers,
            (
                "Implicitly denied: cross-account access needs both sides, but "
                if cross
                else "Implicitly denied: "
            )
            + " and ".join(missing)
            + ".",
            blocking,
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
        limiter = _limiter(by_name)
        return Evaluation(
            IMPLICITLY_DENIED,
            layers,
            f"Implicitly denied: the {limiter} layer does not allow the action.",
            limiter,
        )
    return Evaluation(
        IMPLICITLY_DENIED,
        layers,
        "Implicitly denied: no identity-based or resource-based policy allows it.",
        "identity",
    )


def _limiter(by_name: Mapping[str, LayerVerdict]) -> str:
    return next(
        name
        for name in ("boundary", "session")
        if by_name[name].verdict not in (ALLOWED, NOT_APPLICABLE)
    )
