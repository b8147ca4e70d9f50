"""Principal and NotPrincipal, and what a statement exposes: which policy types name principals,
their grammar, public principals (“*”), NotPrincipal with Allow, and a trust policy's missing
sts:ExternalId for another account (the confused deputy problem).
"""

import re
from typing import Any

from policy.arns import ACCOUNT_ID_RE, arn_parse
from policy.lint.findings import ERROR, SECURITY_WARNING, WARNING, Lint, strings

PRINCIPAL_KEYS = {"AWS", "Service", "Federated", "CanonicalUser"}
_ROOT_OR_ROLE = re.compile(
    r"^arn:aws(?:-cn|-us-gov)?:(?:iam::\d{12}:(?:root|(?:role|user)/[\w+=,.@/-]+)"
    r"|sts::\d{12}:(?:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+|federated-user/[\w+=,.@-]+))$",
    re.ASCII,
)
_SLOPPY_IAM = re.compile(
    r"^arn:aws:iam:[^:/]*:*(\d{12})[:/]+(root|(?:role|user)/[\w+=,.@/-]+)$", re.ASCII
)
_SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9.-]+\.amazonaws\.com(?:\.cn)?$")


def principals(lint: Lint, where: int | str, statement: dict[str, Any], effect: Any) -> None:
    present = [key for key in ("Principal", "NotPrincipal") if key in statement]
    needs = lint.policy_type in ("trust", "resource")
    if not needs:
        for key in present:
            lint.add(
                ERROR,
                "principal-not-allowed",
                where,
                key,
                f"An {lint.policy_type} policy has no {key}: it applies to whoever it "
                "is attached to.",
            )
        return
    if not present:
        lint.add(
            ERROR,
            "principal-missing",
            where,
            "Principal",
            "A trust or resource policy names a Principal.",
        )
        return
    for key in present:
        if key == "NotPrincipal" and effect == "Allow":
            lint.add(
                lint.unless_strict(SECURITY_WARNING),
                "notprincipal-allow",
                where,
                key,
                "NotPrincipal with Allow grants everyone except the named principals; "
                "name the principals with Principal instead.",
            )
        _principal(lint, where, key, statement[key], statement)


def _principal(
    lint: Lint, where: int | str, field: str, value: Any, statement: dict[str, Any]
) -> None:
    if value == "*":
        _public(lint, where, field, statement)
        return
    if not isinstance(value, dict) or not value:
        lint.add(
            ERROR,
            "principal-invalid",
            where,
            field,
            f'{field} is “*” or an object such as {{"AWS": "arn:aws:iam::111111111111:root"}}.',
        )
        return
    for kind, raw in value.items():
        path = f"{field}.{kind}"
        if kind not in PRINCIPAL_KEYS:
            lint.add(
                ERROR,
                "principal-type",
                where,
                path,
                f"“{kind}” is not a principal type ({', '.join(sorted(PRINCIPAL_KEYS))}).",
            )
            continue
        names = strings(raw)
        if names is None:
            lint.add(
                ERROR,
                "principal-invalid",
                where,
                path,
                "A principal is a string or a list of strings.",
            )
            continue
        for name in names:
            if name == "*":
                _public(lint, where, path, statement)
            elif kind == "AWS":
                _aws_principal(lint, where, path, name)
            elif kind == "Service" and not _SERVICE_PRINCIPAL.match(name):
                lint.add(
                    ERROR,
                    "principal-malformed",
                    where,
                    path,
                    f"“{name}” is not a service principal (e.g. ec2.amazonaws.com).",
                )


def _aws_principal(lint: Lint, where: int | str, path: str, name: str) -> None:
    if ACCOUNT_ID_RE.match(name) or _ROOT_OR_ROLE.match(name):
        return
    sloppy = _SLOPPY_IAM.match(name)
    correction = f"arn:aws:iam::{sloppy.group(1)}:{sloppy.group(2)}" if sloppy else None
    if correction is None and "*" in name:
        lint.add(
            ERROR,
            "principal-wildcard",
            where,
            path,
            f"“{name}”: wildcards are allowed only as the whole principal “*”.",
        )
        return
    lint.add(
        ERROR,
        "principal-malformed",
        where,
        path,
        f"“{name}” is not an AWS principal: an account id, arn:aws:iam::ACCOUNT:root, "
        "a role or user ARN.",
        correction,
    )


def _public(lint: Lint, where: int | str, field: str, statement: dict[str, Any]) -> None:
    conditioned = bool(statement.get("Condition"))
    lint.add(
        WARNING if conditioned else lint.unless_strict(SECURITY_WARNING),
        "principal-public",
        where,
        field,
        "“*” is everyone"
        + (
            ", narrowed only by the Condition."
            if conditioned
            else ", in every AWS account and anonymous: the resource is public."
        ),
    )


def trust_external_id(lint: Lint, where: int | str, statement: dict[str, Any], effect: Any) -> None:
    if effect != "Allow" or lint.third_party is False:
        return
    accounts = sorted(_principal_accounts(statement.get("Principal")) - {lint.account_id})
    if not accounts or _has_external_id(statement.get("Condition")):
        return
    who = ", ".join(accounts)
    lint.add(
        lint.unless_strict(SECURITY_WARNING) if lint.third_party else WARNING,
        "trust-external-id",
        where,
        "Condition",
        f"The role trusts {who}"
        + (
            ", a third party: require sts:ExternalId (the confused deputy problem)."
            if lint.third_party
            else "; if that is a third party (outside your organization), require "
            "sts:ExternalId (the confused deputy problem)."
        ),
        {"StringEquals": {"sts:ExternalId": "<a random id the third party uses>"}},
    )


def _principal_accounts(principal: Any) -> set[str]:
    if not isinstance(principal, dict):
        return set()
    accounts = set()
    for name in strings(principal.get("AWS")) or []:
        if ACCOUNT_ID_RE.match(name):
            accounts.add(name)
        elif (arn := arn_parse(name)) and ACCOUNT_ID_RE.match(arn.account):
            accounts.add(arn.account)
    return accounts


def _has_external_id(condition: Any) -> bool:
    if not isinstance(condition, dict):
        return False
    return any(
        isinstance(clause, dict) and any(str(k).lower() == "sts:externalid" for k in clause)
        for clause in condition.values()
    )
