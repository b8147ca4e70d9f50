"""Resource and NotResource: each ARN's shape and account, and whether it is a resource of the
statement's actions; the mistakes seen in the wild (the article's three wrong ARNs among them)
come with their correction, and Resource “*” on actions that take specific resources is flagged.
"""

import re
from typing import Any

from policy.arns import ACCOUNT_ID_RE, arn_matches_template, arn_parse
from policy.catalog import Action
from policy.lint.findings import ERROR, INFO, WARNING, Lint, strings
from policy.validation import arn_correction


def resources(
    lint: Lint, where: int | str, statement: dict[str, Any], actions: list[Action]
) -> None:
    present = [key for key in ("Resource", "NotResource") if key in statement]
    if lint.policy_type == "trust":
        for key in present:
            lint.add(
                ERROR,
                "resource-in-trust",
                where,
                key,
                "A trust policy has no Resource: the role itself is the resource.",
            )
        return
    if len(present) != 1:
        if present or lint.policy_type in ("identity", "session", "resource"):
            lint.add(
                ERROR,
                "resource-missing" if not present else "resource-both",
                where,
                "Resource",
                "A statement has exactly one of Resource and NotResource.",
            )
        return
    field = present[0]
    values = strings(statement[field])
    if values is None:
        lint.add(
            ERROR,
            "resource-invalid",
            where,
            field,
            f"{field} is a string or a list of strings.",
        )
        return
    templates = [t.arn_template for a in actions for t in a.resource_types]
    for value in values:
        if value == "*":
            if statement.get("Effect") == "Allow" and field == "Resource" and templates:
                lint.add(
                    WARNING,
                    "resource-wildcard",
                    where,
                    field,
                    "Resource “*” with actions that take specific resources grants "
                    "every one of them.",
                )
            continue
        _resource(lint, where, field, value, templates)


def _resource(lint: Lint, where: int | str, field: str, value: str, templates: list[str]) -> None:
    arn = arn_parse(value)
    correction = arn_correction(value)
    if arn is None:
        lint.add(
            ERROR,
            "arn-malformed",
            where,
            field,
            f"“{value}” is not an ARN (arn:aws:service:region:account:resource).",
            correction,
        )
        return
    if arn.account and not ACCOUNT_ID_RE.match(arn.account) and not _wild(arn.account):
        lint.add(
            ERROR,
            "arn-account",
            where,
            field,
            f"“{value}”: the account part is 12 digits.",
            correction,
        )
        return
    if not templates:
        # No exact action to match against: only mistakes known in any context.
        if correction and correction != value:
            lint.add(
                ERROR, "arn-shape", where, field, _shape_message(value, correction), correction
            )
        return
    if any(arn_matches_template(value, template) for template in templates):
        return
    if any(_matches(value, template) for template in templates):
        lint.add(
            INFO,
            "resource-pattern",
            where,
            field,
            f"“{value}” is a pattern: it matches more than one resource.",
        )
        return
    if correction and any(_matches(correction, t) for t in templates):
        lint.add(ERROR, "arn-shape", where, field, _shape_message(value, correction), correction)
        return
    expected = ", ".join(sorted(set(templates)))
    lint.add(
        ERROR,
        "arn-mismatch",
        where,
        field,
        f"“{value}” is not a resource of the statement's actions; expected {expected}.",
    )


def _wild(value: str) -> bool:
    return "*" in value or "?" in value


def _matches(arn: str, template: str) -> bool:
    if arn_matches_template(arn, template):
        return True
    if not _wild(arn):
        return False
    # A pattern: each wildcard stands for a part of the template's variable parts.
    return arn_matches_template(re.sub(r"[*?]+", "x", arn), template) or arn_matches_template(
        re.sub(r"[*?]+", "eu-central-1", arn), template
    )


def _shape_message(value: str, correction: str) -> str:
    arn = arn_parse(value)
    if arn and arn.service == "s3":
        return (
            f"“{value}”: S3 ARNs have no region or account, and bucket names are lower "
            f"case: {correction}."
        )
    if arn and arn.resource.startswith("role/"):
        return f"“{value}”: a role is an IAM resource, and IAM ARNs have no region: {correction}."
    return f"“{value}” has the wrong shape: {correction}."
