"""The organization's service control policies (and resource control policies) as they bear on an
account: the documents at each level of its organization path, and which SCP denies which action.
The one place SCPs and RCPs are read and evaluated; the wizard, the request form, the simulation
and *Why denied?* all ask here."""

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import CharField, Value

from accounts.models import Account, ResourceControlPolicy, ServiceControlPolicy
from policy.evaluation import Evaluation, PolicySet, RequestContext, evaluate

# The identity side when only the SCPs are in question: everything allowed, so any Deny shows.
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@dataclass(frozen=True)
class Levels:
    """One account's policies of one kind at each level of its organization path, root first,
    with a name for each (``Name (target)``) for the explanations."""

    documents: list[list[dict[str, Any]]]
    names: list[list[str]]


def _levels_of(model: type[models.Model], accounts: tuple[Account, ...]) -> list[Levels]:
    """In one query (the source and target of a request share their organization's upper
    levels)."""
    by_target: dict[str, list[tuple[str, dict[str, Any]]]] = {
        level: [] for account in accounts for level in account.organization_levels
    }
    if by_target:
        for target, name, document in model._default_manager.filter(
            target__in=list(by_target)
        ).values_list("target", "name", "document"):
            by_target[target].append((f"{name} ({target})", document))
    return [
        Levels(
            documents=[
                [doc for _, doc in by_target[level]] for level in account.organization_levels
            ],
            names=[[name for name, _ in by_target[level]] for level in account.organization_levels],
        )
        for account in accounts
    ]


def organization_levels_of(
    scp_accounts: tuple[Account, ...], rcp_accounts: tuple[Account, ...]
) -> tuple[list[Levels], list[Levels]]:
    """The SCP levels of `scp_accounts` (whose principals call) and the RCP levels of
    `rcp_accounts` (whose resources are called), in one query; an account without RCPs on its
    path has no RCP level at all (the layer then does not apply)."""
    scp_targets = [level for a in scp_accounts for level in a.organization_levels]
    rcp_targets = [level for a in rcp_accounts for level in a.organization_levels]
    found: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
    if scp_targets or rcp_targets:
        columns = ("kind", "target", "name", "document")
        scps = (
            ServiceControlPolicy.objects.filter(target__in=scp_targets)
            .order_by()
            .annotate(kind=Value("scp", output_field=CharField()))
            .values_list(*columns)
        )
        rcps = (
            ResourceControlPolicy.objects.filter(target__in=rcp_targets)
            .order_by()
            .annotate(kind=Value("rcp", output_field=CharField()))
            .values_list(*columns)
        )
        for kind, target, name, document in sorted(
            scps.union(rcps, all=True), key=lambda row: (row[0], row[1], row[2])
        ):
            found.setdefault((kind, target), []).append((f"{name} ({target})", document))

    def levels(kind: str, account: Account) -> Levels:
        rows = [found.get((kind, level), []) for level in account.organization_levels]
        if kind == "rcp" and not any(rows):
            return Levels(documents=[], names=[])
        return Levels(
            documents=[[document for _, document in row] for row in rows],
            names=[[name for name, _ in row] for row in rows],
        )

    return (
        [levels("scp", account) for account in scp_accounts],
        [levels("rcp", account) for account in rcp_accounts],
    )


def scp_levels_named_of(*accounts: Account) -> list[Levels]:
    """For each account, its SCPs at each level, with their names."""
    return _levels_of(ServiceControlPolicy, accounts)


def rcp_levels_named_of(*accounts: Account) -> list[Levels]:
    """For each account, its RCPs at each level besides the implied RCPFullAWSAccess, with their
    names; no level at all when none is attached on the account's path, so the layer shows as
    not applying rather than as RCPFullAWSAccess alone."""
    return [
        levels if any(levels.documents) else Levels(documents=[], names=[])
        for levels in _levels_of(ResourceControlPolicy, accounts)
    ]


def scp_levels_of(*accounts: Account) -> list[list[list[dict[str, Any]]]]:
    """For each account, the SCP documents at each level of its organization path, root first."""
    return [levels.documents for levels in scp_levels_named_of(*accounts)]


def scp_levels(account: Account) -> list[list[dict[str, Any]]]:
    """`scp_levels_of` one account."""
    return scp_levels_of(account)[0]


@dataclass(frozen=True)
class ScpDenial:
    """A deny-list SCP that denies the action, or (``allows_other_only``) the allow-list SCPs of a
    level none of which allows it (``scp`` then names them all, or says none is attached)."""

    scp: str
    target: str
    action: str
    account: str
    allows_other_only: bool = False

    @property
    def label(self) -> str:
        if self.allows_other_only:
            return f"{self.scp} ({self.target}) does not allow {self.action} in {self.account}"
        return f"{self.scp} ({self.target}) denies {self.action} in {self.account}"


def _one_level(context: RequestContext, documents: list[dict[str, Any]]) -> Evaluation:
    """`context` under one organization level of these SCPs, for a principal whose own policies
    allow everything."""
    return evaluate(context, PolicySet(scps=[documents], identity=[ALLOW_ALL]))


def scp_denials(
    *, accounts: list[Account], actions: list[str], resources: list[str]
) -> list[ScpDenial]:
    """Each SCP that denies a requested action on a requested resource to the principals of these
    accounts, once, in the order accounts, actions, resources, SCPs (one query per account); and
    each level of an allow-list strategy where no SCP allows it, named the same way (every level
    of the organization path must allow an action, so that blocks it as surely as a Deny:
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html)."""
    denials: list[ScpDenial] = []
    for account in accounts:
        levels = account.organization_levels
        if not levels:
            continue
        scps = list(ServiceControlPolicy.objects.filter(target__in=levels))
        for action in actions:
            for resource in resources or ["*"]:
                context = RequestContext(
                    principal=account.root_arn,
                    action=action,
                    resource=resource,
                    resource_account=account.account_id,
                )
                for level in levels:
                    attached = [scp for scp in scps if scp.target == level]
                    verdict = _one_level(context, [scp.document for scp in attached])
                    if verdict.layer("scp").verdict == "ImplicitlyDenied":
                        names = ", ".join(scp.name for scp in attached) or "no SCP attached"
                        gap = ScpDenial(names, level, action, account.name, allows_other_only=True)
                        if gap not in denials:
                            denials.append(gap)
                for scp in scps:
                    denial = ScpDenial(scp.name, scp.target, action, account.name)
                    if (
                        _one_level(context, [scp.document]).decision == "ExplicitlyDenied"
                        and denial not in denials
                    ):
                        denials.append(denial)
    return denials
