"""Resource and NotResource: each ARN's shape and account, and whether it is a resource of the
statement's actions; the mistakes seen in the wild (the article's three wrong ARNs among them)
come with their correction, and Resource “*” on actions that take specific resources is flagged.
"""

from typing import Any

from policy.arns import (
    ACCOUNT_ID_RE,
    PATTERN_STATES_PER_TEMPLATE,
    Arn,
    arn_parse,
    arn_pattern_match,
)
from policy.catalog import Action, service_resource_templates
from policy.lint.findings import ERROR, WARNING, Lint, strings
from policy.validation import arn_correction


def resources(
    lint: Lint, where: int | str, statement: dict[str, Any], actions: list[Action] | None
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
    # The resource types of the statement's actions; None when not all its actions are known.
    templates = (
        None
        if actions is None
        else sorted({t.arn_template for a in actions for t in a.resource_types})
    )
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


def _resource(
    lint: Lint, where: int | str, field: str, value: str, templates: list[str] | None
) -> None:
    """One ARN or ARN pattern. An error only when IAM would refuse it or it can never match a
    resource: its shape is none of its service's resource types (Access Analyzer's
    INVALID_ARN_RESOURCE). A statement of several actions and several resources pairs each
    action with the resources of its types, as IAM does: a resource need fit only one action."""
    arn = _arn(value)
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
    if arn.account and not _account_ok(arn.account):
        lint.add(
            ERROR,
            "arn-account",
            where,
            field,
            f"“{value}”: the account part is 12 digits (or “aws” for AWS-owned resources).",
            correction,
        )
        return
    if templates and _meets(lint, value, templates, legacy_buckets=False):
        return
    service_templates = list(service_resource_templates(arn.service))
    if service_templates and not _meets(lint, value, service_templates, legacy_buckets=True):
        # Of no resource type of its service: it can never match anything.
        fits = templates or service_templates
        if correction and _meets(lint, correction, fits, legacy_buckets=False):
            lint.add(
                ERROR, "arn-shape", where, field, _shape_message(value, correction), correction
            )
        else:
            lint.add(
                ERROR,
                "arn-unknown-type",
                where,
                field,
                f"“{value}” is of no resource type of {arn.service}; its types are "
                f"{', '.join(service_templates)}.",
                correction,
            )
        return
    fits = templates or service_templates
    if _meets(lint, value, fits, legacy_buckets=True) and not _meets(
        lint, value, fits, legacy_buckets=False
    ):
        # Only a bucket named before March 2018 in us-east-1 may hold upper case.
        lint.add(
            lint.unless_strict(WARNING),
            "arn-shape" if lint.strict else "bucket-legacy-name",
            where,
            field,
            _shape_message(value, correction)
            if lint.strict and correction
            else f"“{value}” matches only S3 buckets with legacy names (upper case or "
            "underscores, allowed in us-east-1 before March 2018); bucket names are lower "
            "case now.",
            correction,
        )
        return
    if not templates:
        return
    if _meets(lint, value, templates, legacy_buckets=True):
        return
    # A resource of its service, but of a type none of the statement's actions takes, as the
    # Service Authorization Reference lists them. The reference is incomplete (an action may
    # touch more than it lists; CodeStar Connections ARNs also go by codeconnections): an error
    # where the portal writes the document, a warning in others'.
    lint.add(
        lint.unless_strict(WARNING),
        "arn-mismatch",
        where,
        field,
        f"“{value}” matches no resource type of the statement's actions; they take "
        f"{', '.join(templates)}.",
        correction
        if correction and _meets(lint, correction, templates, legacy_buckets=False)
        else None,
    )


def _arn(value: str) -> Arn | None:
    """The ARN's parts; a pattern may leave the resource part empty (arn:aws:organizations::*:)."""
    arn = arn_parse(value)
    if arn is None and value.startswith("arn:") and value.count(":") >= 5:
        partition, service, region, account, resource = value.split(":", 5)[1:]
        if partition and service:
            return Arn(partition, service, region, account, resource)
    return arn


def _meets(lint: Lint, value: str, templates: list[str], *, legacy_buckets: bool) -> bool:
    """Whether the pattern can match a resource of one of the templates. What the document's
    matching budget cannot settle counts as a match: never an error for want of time."""
    for template in templates:
        budget = min(PATTERN_STATES_PER_TEMPLATE, lint.match_budget)
        if budget <= 0:
            return True
        verdict, spent = arn_pattern_match(value, template, legacy_buckets, budget)
        lint.match_budget -= spent
        if verdict is not False:
            return True
    return False


def _account_ok(account: str) -> bool:
    return bool(ACCOUNT_ID_RE.match(account)) or account == "aws" or _wild(account)


def _wild(value: str) -> bool:
    """A wildcard, or a policy variable (${aws:PrincipalAccount}), filled in per request."""
    return "*" in value or "?" in value or "${" in value


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
