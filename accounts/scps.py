"""The organization's service control policies as they bear on an account: the documents at each
level of its organization path, and which SCP denies which action. The one place SCPs are read and
evaluated; the wizard, the request form, the simulation and *Why denied?* all ask here."""

from dataclasses import dataclass
from typing import Any

from accounts.models import Account, ServiceControlPolicy
from policy.evaluation import PolicySet, RequestContext, evaluate

# The identity side when only the SCPs are in question: everything allowed, so any Deny shows.
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def scp_levels_of(*accounts: Account) -> list[list[list[dict[str, Any]]]]:
    """For each account, the SCP documents at each level of its organization path, root first;
    in one query (the source and target of a request share their organization's upper levels)."""
    by_target: dict[str, list[dict[str, Any]]] = {
        level: [] for account in accounts for level in account.organization_levels
    }
    if by_target:
        for target, document in ServiceControlPolicy.objects.filter(
            target__in=list(by_target)
        ).values_list("target", "document"):
            by_target[target].append(document)
    return [[by_target[level] for level in account.organization_levels] for account in accounts]


def scp_levels(account: Account) -> list[list[dict[str, Any]]]:
    """`scp_levels_of` one account."""
    return scp_levels_of(account)[0]


@dataclass(frozen=True)
class ScpDenial:
    scp: str
    target: str
    action: str
    account: str

    @property
    def label(self) -> str:
        return f"{self.scp} ({self.target}) denies {self.action} in {self.account}"


def scp_denials(
    *, accounts: list[Account], actions: list[str], resources: list[str]
) -> list[ScpDenial]:
    """Each SCP that denies a requested action on a requested resource to the principals of these
    accounts, once, in the order accounts, actions, resources, SCPs (one query per account)."""
    denials: list[ScpDenial] = []
    for account in accounts:
        levels = account.organization_levels
        if not levels:
            continue
        scps = list(ServiceControlPolicy.objects.filter(target__in=levels))
        for action in actions:
            for resource in resources or ["*"]:
                for scp in scps:
                    verdict = evaluate(
                        RequestContext(
                            principal=account.root_arn,
                            action=action,
                            resource=resource,
                            resource_account=account.account_id,
                        ),
                        PolicySet(scps=[[scp.document]], identity=[ALLOW_ALL]),
                    )
                    denial = ScpDenial(scp.name, scp.target, action, account.name)
                    if verdict.decision == "ExplicitlyDenied" and denial not in denials:
                        denials.append(denial)
    return denials
