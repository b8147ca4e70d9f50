"""Why is this denied? The portal reads the live documents from AWS (the principal's identity
policies and permissions boundary, the resource's policy or the role's trust policy), adds the
organization's SCPs, evaluates with the AWS evaluation logic, and says what would fix it."""

from dataclasses import dataclass, field
from typing import Any

import aws
from accounts.models import Account
from accounts.scps import rcp_levels_named_of, scp_levels_named_of
from policy.arns import arn_parse
from policy.evaluation import Evaluation, PolicySet, RequestContext, evaluate
from policy.resource_policies import holder_for


@dataclass
class Explanation:
    evaluation: Evaluation
    considered: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)


def role_of(principal: str) -> tuple[str, str]:
    """(account, role name) of a role or one of its sessions; role name "" for others."""
    arn = arn_parse(principal)
    if arn is None:
        return "", ""
    if arn.service == "sts" and arn.resource.startswith("assumed-role/"):
        return arn.account, arn.resource.split("/")[1]
    if arn.service == "iam" and arn.resource.startswith("role/"):
        return arn.account, arn.resource.rsplit("/", 1)[1]
    return arn.account, ""


def _credentials(account: Account | None) -> aws.Credentials | None:
    if account is None or not account.managed or not account.provisioner_role_arn:
        return None
    return aws.role_credentials(account.provisioner_role_arn)


def _managed_accounts() -> dict[str, Account]:
    return {a.account_id: a for a in Account.objects.filter(managed=True)}


def explain(
    *,
    principal: str,
    action: str,
    resource: str,
    context: dict[str, Any] | None = None,
    only_policies: frozenset[str] | None = None,
) -> Explanation:
    """`only_policies`: read of the principal's role only these inline policies (the asker's own
    grant's policy on the shared broker role, not every other grant's)."""
    accounts = _managed_accounts()
    considered: list[str] = []
    account_id, role_name = role_of(principal)
    identity: list[dict] = []
    boundary = None
    credentials = _credentials(accounts.get(account_id))
    if role_name and credentials:
        try:
            permissions = aws.role_permissions(credentials, role_name=role_name)
        except aws.AwsError as error:
            considered.append(f"could not read role {role_name} from AWS: {error}")
            permissions = None
        if permissions is None:
            considered.append(f"role {role_name} does not exist in {account_id}")
        elif only_policies is not None:
            identity = [
                document for name, document in permissions.inline.items() if name in only_policies
            ]
            boundary = permissions.boundary
            considered.append(
                f"your grant's inline policy {', '.join(sorted(only_policies))} of role "
                f"{role_name} in {account_id}, as AWS holds it now (its other policies are "
                "other people's)" + (", and its permissions boundary" if boundary else "")
            )
        else:
            identity = [*permissions.inline.values(), *permissions.managed.values()]
            boundary = permissions.boundary
            considered.append(
                f"{len(permissions.inline)} inline and {len(permissions.managed)} managed "
                f"policies of role {role_name} in {account_id}, as AWS holds them now"
                + (", and its permissions boundary" if boundary else "")
            )
    elif role_name:
        considered.append(f"{account_id} is not managed by the portal: its policies are unknown")

    resource_policy, owner = None, ""
    arn = arn_parse(resource)
    try:
        if action.lower() == "sts:assumerole" and arn and arn.service == "iam":
            owner = arn.account
            target_credentials = _credentials(accounts.get(owner))
            role = (
                aws.role_permissions(target_credentials, role_name=arn.resource.rsplit("/", 1)[1])
                if target_credentials
                else None
            )
            if role is not None:
                resource_policy = role.trust_policy
                considered.append(f"trust policy of {resource}, as AWS holds it now")
        elif (holder := holder_for(resource)) is not None:
            owner = holder.account_id or (
                aws.bucket_owner_account(
                    holder.name,
                    {a: c for a in accounts if (c := _credentials(accounts[a])) is not None},
                )
                or ""
            )
            credentials = _credentials(accounts[owner]) if owner in accounts else None
            if credentials is not None:
                resource_policy = aws.policy_read(credentials, holder)
                considered.append(
                    f"policy of {holder.arn}, as AWS holds it now"
                    if resource_policy
                    else f"{holder.arn} has no resource policy"
                )
            elif owner in accounts:
                considered.append(
                    f"no provisioner role in {owner} to read the policy of {holder.arn} with"
                )
    except aws.AwsError as error:
        considered.append(f"could not read the resource's policy from AWS: {error}")

    account = accounts.get(account_id) or Account.objects.filter(account_id=account_id).first()
    scps = scp_levels_named_of(account)[0] if account else None
    if account and scps and scps.documents:
        considered.append(
            f"service control policies of {account.name} ({len(scps.documents)} levels)"
        )
    resource_account = arn.account if arn and arn.account else owner or account_id
    holder_account = Account.objects.filter(account_id=resource_account).first()
    rcps = rcp_levels_named_of(holder_account)[0] if holder_account else None
    if holder_account and rcps and rcps.documents:
        considered.append(f"resource control policies of {holder_account.name}")
    evaluation = evaluate(
        RequestContext(
            principal=principal,
            action=action,
            resource=resource,
            resource_account=resource_account,
            context=context or {},
        ),
        PolicySet(
            scps=scps.documents if scps else [],
            scp_names=scps.names if scps else [],
            rcps=rcps.documents if rcps else [],
            rcp_names=rcps.names if rcps else [],
            identity=identity,
            boundary=boundary,
            resource=resource_policy,
        ),
    )
    return Explanation(
        evaluation=evaluation, considered=considered, fixes=_fixes(evaluation, action, resource)
    )


def _fixes(evaluation: Evaluation, action: str, resource: str) -> list[str]:
    """What would change the answer, layer by layer."""
    if evaluation.decision == "Allowed":
        return []
    fixes = []
    for layer in evaluation.layers:
        if layer.verdict == "ExplicitlyDenied":
            where = {
                "scp": "a service control policy",
                "rcp": "a resource control policy of the resource's account",
                "resource": "the resource's policy",
            }.get(layer.layer, f"the {layer.layer} policy")
            fixes.append(
                f"{where.capitalize()} denies it ({', '.join(layer.statements)}): an explicit "
                "deny cannot be overridden; its owners must change it."
            )
        elif layer.verdict == "ImplicitlyDenied" and layer.layer == "resource":
            fixes.append(
                f"Nothing in the resource's policy allows this caller {action} on {resource}: "
                "request a resource-policy grant in the portal, or check the trust policy's "
                "principal and conditions (such as sts:ExternalId, or sts:SourceIdentity: a "
                "portal session's role accepts only the broker, setting its requester's name)."
            )
        elif layer.verdict == "ImplicitlyDenied" and layer.layer == "identity":
            fixes.append(
                f"No identity policy of the caller allows {action} on {resource}: request "
                "access in the portal."
            )
        elif layer.verdict == "ImplicitlyDenied":
            fixes.append(f"The {layer.layer} layer allows nothing here: {layer.detail}")
    return fixes
