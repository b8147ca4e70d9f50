"""Why is this denied? The portal answers from what it knows: the organization's SCPs and the
documents of the grants the asking user may see, evaluated with the AWS evaluation logic."""

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from access_requests.documents import RESOURCE_POLICY_PREFIX
from access_requests.models import AccessRequest, Mechanism
from access_requests.selectors import access_requests_visible_to
from accounts.models import Account
from provisioning import policies
from provisioning.policy.arns import arn_parse
from provisioning.policy.evaluation import Evaluation, PolicySet, RequestContext, evaluate
from provisioning.policy.resource_policies import holder_for
from provisioning.simulation import scp_levels


@dataclass
class Explanation:
    evaluation: Evaluation
    considered: list[str] = field(default_factory=list)


def _principal_parts(principal: str) -> tuple[str, str]:
    """(account, role name) of a role or one of its sessions; role name "" for other principals."""
    arn = arn_parse(principal)
    if arn is None:
        return "", ""
    if arn.service == "sts" and arn.resource.startswith("assumed-role/"):
        return arn.account, arn.resource.split("/")[1]
    if arn.service == "iam" and arn.resource.startswith("role/"):
        return arn.account, arn.resource.rsplit("/", 1)[1]
    return arn.account, ""


def explain(
    *,
    user: AbstractBaseUser,
    principal: str,
    action: str,
    resource: str,
    context: dict[str, Any] | None = None,
) -> Explanation:
    account_id, role_name = _principal_parts(principal)
    grants = (
        access_requests_visible_to(user=user)
        .filter(status=AccessRequest.Status.ACTIVE)
        .select_related("grant")
    )
    identity: list[dict] = []
    resource_policy = None
    considered: list[str] = []
    holder = holder_for(resource)
    owner = ""  # S3 ARNs name no account: the grants that cover the resource tell whose it is
    for access_request in grants:
        grant = access_request.grant
        written = grant.written or {}
        if access_request.mechanism == Mechanism.ASSUME_ROLE and role_name == grant.role_name:
            identity.append(written.get(policies.PERMISSION_POLICY) or {})
            considered.append(
                f"permission policy of {grant.role_arn} (request #{access_request.pk})"
            )
        if (
            grant.source_policy_name
            and role_name == grant.source_role_name
            and account_id == access_request.source_account.account_id
        ):
            identity.append(written.get(policies.SOURCE_IDENTITY_POLICY) or {})
            considered.append(
                f"identity policy {grant.source_policy_name} on {role_name} "
                f"(request #{access_request.pk})"
            )
        if action.lower() == "sts:assumerole" and resource == grant.role_arn:
            resource_policy = written.get(policies.TRUST_POLICY)
            owner = access_request.target_account.account_id
            considered.append(f"trust policy of {grant.role_arn} (request #{access_request.pk})")
        if holder is not None and f"{RESOURCE_POLICY_PREFIX}{holder.arn}" in written:
            resource_policy = written[f"{RESOURCE_POLICY_PREFIX}{holder.arn}"]
            owner = access_request.target_account.account_id
            considered.append(
                f"policy of {holder.arn} as last read back (request #{access_request.pk})"
            )
    account = Account.objects.filter(account_id=account_id).first()
    scps = scp_levels(account) if account else []
    if scps:
        considered.append(f"service control policies of {account.name} ({len(scps)} levels)")
    arn = arn_parse(resource)
    evaluation = evaluate(
        RequestContext(
            principal=principal,
            action=action,
            resource=resource,
            resource_account=(arn.account if arn and arn.account else owner or account_id),
            context=context or {},
        ),
        PolicySet(scps=scps, identity=[p for p in identity if p], resource=resource_policy),
    )
    return Explanation(evaluation=evaluation, considered=considered)
