"""The organization's guardrails: service control policies (on the caller's account) and resource
control policies (on the resource's account). Neither grants anything; both only limit.

SCPs, https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
- Every level of the principal's organization path (root, each OU, the account) needs an Allow;
  a Deny at any level wins.
- They limit IAM users and roles (root users included) of member accounts; they do not apply to
  service-linked roles, nor to service principals or anonymous callers, who have no account.

RCPs, https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html and
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html
- The RCPs of the account that owns the resource apply, whoever calls: principals of other
  organizations, root users, service principals and anonymous callers included.
- ``RCPFullAWSAccess`` (Allow everything) is attached to every root, OU and account while RCPs
  are enabled, and Allow is only valid in it: so a level never lacks an Allow, and only a Deny
  decides. A level listed here holds the RCPs *besides* ``RCPFullAWSAccess``.
- They apply only to the actions of the services on AWS's list (``RCP_SERVICES``), never to
  service-linked roles, and never to ``kms:RetireGrant``. (AWS managed KMS keys and resources of
  the management account are also exempt: whoever passes the RCPs knows whose resource it is.)
"""

from collections.abc import Mapping, Sequence
from typing import Any

from policy.evaluation.statements import match_policy
from policy.evaluation.verdicts import (
    ALLOWED,
    EXPLICITLY_DENIED,
    IMPLICITLY_DENIED,
    NOT_APPLICABLE,
    LayerVerdict,
)

# "List of AWS services that support RCPs", orgs_manage_policies_rcps.html#rcp-supported-services
# (the service prefixes, as listed there in 2026).
RCP_SERVICES = frozenset(
    {
        "aoss",
        "appconfig",
        "appstream",
        "autoscaling",
        "autoscaling-plans",
        "budgets",
        "clouddirectory",
        "cloudfront",
        "cloudsearch",
        "cloudtrail-data",
        "codeartifact",
        "codebuild",
        "codecommit",
        "codepipeline",
        "cognito-identity",
        "cognito-idp",
        "comprehend",
        "comprehendmedical",
        "compute-optimizer",
        "cost-optimization-hub",
        "dax",
        "dsql",
        "dynamodb",
        "ecr",
        "ecr-public",
        "events",
        "firehose",
        "fis",
        "fms",
        "gamelift",
        "health",
        "inspector-scan",
        "kendra",
        "kinesisvideo",
        "kms",
        "logs",
        "memorydb",
        "networkmonitor",
        "notifications",
        "opensearch",
        "pca-connector-ad",
        "personalize",
        "polly",
        "pricing",
        "resource-groups",
        "rolesanywhere",
        "s3",
        "secretsmanager",
        "servicediscovery",
        "signin",
        "sqs",
        "sts",
        "support",
        "swf",
        "textract",
        "timestream-influxdb",
        "transcribe",
        "transfer",
        "translate",
        "wafv2",
        "workspaces",
        "xray",
    }
)
# "Resources and entities not restricted by RCPs": RCPs do not impact this permission.
RCP_EXEMPT_ACTIONS = frozenset({"kms:retiregrant"})


def is_service_linked_role_session(principal: str) -> bool:
    """A session of a service-linked role (``AWSServiceRoleFor...``, under ``/aws-service-role/``),
    which neither SCPs nor RCPs restrict."""
    return ":assumed-role/AWSServiceRoleFor" in principal or "/aws-service-role/" in principal


def _label(names: Sequence[Sequence[str]], depth: int, number: int, count: int) -> str:
    if depth < len(names) and number < len(names[depth]):
        return f"{names[depth][number]}:"
    return f"L{depth}:" if count == 1 else f"L{depth}P{number}:"


def scp_layer(
    action: str,
    resource: str,
    principal: str,
    levels: Sequence[Sequence[dict[str, Any]]],
    ctx: Mapping[str, object],
    names: Sequence[Sequence[str]] = (),
) -> LayerVerdict:
    """``names``: per level, per SCP, how to call it (e.g. ``DenyS3 (ou-prod)``), so a blocked
    request names the SCP, deny-list or allow-list alike; without them, ``L<level>P<number>``."""
    if not levels or not principal.startswith("arn:"):
        return LayerVerdict("scp", NOT_APPLICABLE, [], "no SCPs apply")
    if is_service_linked_role_session(principal):
        return LayerVerdict("scp", NOT_APPLICABLE, [], "SCPs do not restrict service-linked roles")
    denies: list[str] = []
    allows: list[str] = []
    missing: list[int] = []
    for depth, level in enumerate(levels):
        allowed = False
        for number, policy in enumerate(level):
            prefix = _label(names, depth, number, len(level))
            found = match_policy(policy, action, resource, principal, ctx, prefix=prefix)
            if found.denies:
                denies += found.denies
            if found.allows:
                allows += found.allows
                allowed = True
        if not allowed:
            missing.append(depth)
    if denies:
        return LayerVerdict("scp", EXPLICITLY_DENIED, denies, "an SCP denies the action")
    if missing:
        # An allow-list strategy: each level must allow the action; name what is attached there.
        attached = [
            f"at level {depth}, "
            + (
                f"{', '.join(names[depth])} allow{'s' if len(names[depth]) == 1 else ''} "
                "other actions only"
                if names[depth]
                else "no SCP is attached"
            )
            for depth in missing
            if depth < len(names)
        ]
        return LayerVerdict(
            "scp",
            IMPLICITLY_DENIED,
            [],
            f"no SCP allows the action at organization level(s) {missing}"
            + (f" ({'; '.join(attached)})" if attached else ""),
        )
    return LayerVerdict("scp", ALLOWED, allows, "every organization level allows")


def rcp_layer(
    action: str,
    resource: str,
    principal: str,
    levels: Sequence[Sequence[dict[str, Any]]],
    ctx: Mapping[str, object],
    names: Sequence[Sequence[str]] = (),
) -> LayerVerdict:
    """The resource account's RCPs, levels from the root down, ``RCPFullAWSAccess`` implied."""
    if not levels:
        return LayerVerdict("rcp", NOT_APPLICABLE, [], "no RCPs apply")
    service = action.split(":", 1)[0].lower()
    if service not in RCP_SERVICES:
        return LayerVerdict("rcp", NOT_APPLICABLE, [], f"RCPs do not apply to {service} actions")
    if action.lower() in RCP_EXEMPT_ACTIONS:
        return LayerVerdict("rcp", NOT_APPLICABLE, [], f"RCPs do not restrict {action}")
    if is_service_linked_role_session(principal):
        return LayerVerdict("rcp", NOT_APPLICABLE, [], "RCPs do not restrict service-linked roles")
    denies: list[str] = []
    for depth, level in enumerate(levels):
        for number, policy in enumerate(level):
            prefix = _label(names, depth, number, len(level))
            found = match_policy(
                policy, action, resource, principal, ctx, resource_policy=True, prefix=prefix
            )
            denies += found.denies
    if denies:
        return LayerVerdict("rcp", EXPLICITLY_DENIED, denies, "an RCP denies the action")
    return LayerVerdict(
        "rcp", ALLOWED, ["RCPFullAWSAccess"], "RCPFullAWSAccess at every level; no RCP denies"
    )
