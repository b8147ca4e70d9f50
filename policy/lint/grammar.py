"""The document's grammar: its elements, Version, Statement and Sids, each statement's Effect,
Action or NotAction (every action named must exist) and the shape of its Condition. A statement's
other elements are checked by `resources` and `principals`, the document's size by `limits`.

Grammar: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
"""

import re
from typing import Any

from policy.catalog import (
    ACTION_RE,
    Action,
    action_lookup,
    actions_matching,
    service_known,
    service_retired,
)
from policy.lint.findings import ERROR, SUGGESTION, WARNING, Lint, strings
from policy.lint.limits import size
from policy.lint.principals import principals, trust_external_id
from policy.lint.resources import resources

VERSIONS = ("2012-10-17", "2008-10-17")
TOP_KEYS = {"Version", "Id", "Statement"}
STATEMENT_KEYS = {
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
}
TRUST_ACTIONS = {
    "sts:assumerole",
    "sts:assumerolewithsaml",
    "sts:assumerolewithwebidentity",
    "sts:tagsession",
    "sts:setsourceidentity",
    "sts:setcontext",
}
_CONDITION_OPERATOR = re.compile(r"^(?:For(?:AnyValue|AllValues):)?[A-Za-z]+(?:IfExists)?$")


def document(lint: Lint, policy: Any) -> None:
    if not isinstance(policy, dict):
        lint.add(ERROR, "policy-not-object", None, "", "A policy is a JSON object.")
        return
    for key in sorted(set(policy) - TOP_KEYS):
        lint.add(ERROR, "unknown-element", None, key, f"“{key}” is not a policy element.")
    version = policy.get("Version")
    if version is None:
        lint.add(
            WARNING,
            "version-missing",
            None,
            "Version",
            "Without Version, IAM uses 2008-10-17, where policy variables do not work.",
            "2012-10-17",
        )
    elif version not in VERSIONS:
        lint.add(ERROR, "version-invalid", None, "Version", f"Version is one of {VERSIONS}.")
    statements = policy.get("Statement")
    if statements is None:
        lint.add(ERROR, "statement-missing", None, "Statement", "The policy has no Statement.")
        return
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        lint.add(
            ERROR,
            "statement-invalid",
            None,
            "Statement",
            "Statement is a non-empty list of statement objects (or one object).",
        )
        return
    sids: set[str] = set()
    for index, statement in enumerate(statements):
        if not isinstance(statement, dict):
            lint.add(ERROR, "statement-invalid", index, "", "A statement is a JSON object.")
            continue
        sid = statement.get("Sid")
        where: int | str = sid if isinstance(sid, str) and sid else index
        if sid is not None:
            if not isinstance(sid, str):
                lint.add(ERROR, "sid-invalid", index, "Sid", "A Sid is a string.")
            elif not re.fullmatch(r"[A-Za-z0-9]*", sid):
                # IAM allows only these in identity policies; resource policies of other
                # services take more ("__default_statement_ID" in SNS, spaces in S3).
                severity = ERROR if lint.policy_type != "resource" else WARNING
                lint.add(
                    lint.unless_strict(severity),
                    "sid-invalid",
                    index,
                    "Sid",
                    "A Sid has only A-Z, a-z, 0-9.",
                )
            elif sid in sids and sid:
                lint.add(ERROR, "sid-duplicate", where, "Sid", f"Sid “{sid}” is used twice.")
            sids.add(sid if isinstance(sid, str) else "")
        _statement(lint, where, statement)
    size(lint, policy)


def _statement(lint: Lint, where: int | str, statement: dict[str, Any]) -> None:
    for key in sorted(set(statement) - STATEMENT_KEYS):
        lint.add(ERROR, "unknown-element", where, key, f"“{key}” is not a statement element.")
    effect = statement.get("Effect")
    if effect not in ("Allow", "Deny"):
        fixed = effect.capitalize() if isinstance(effect, str) else None
        lint.add(
            ERROR,
            "effect-invalid",
            where,
            "Effect",
            "Effect is “Allow” or “Deny” (case matters).",
            fixed if fixed in ("Allow", "Deny") else None,
        )
    actions = _actions(lint, where, statement)
    resources(lint, where, statement, actions)
    principals(lint, where, statement, effect)
    condition = statement.get("Condition")
    if condition is not None:
        _condition(lint, where, condition)
    if lint.policy_type == "trust":
        trust_external_id(lint, where, statement, effect)


def _actions(lint: Lint, where: int | str, statement: dict[str, Any]) -> list[Action] | None:
    """Check Action or NotAction. The actions an Action names (a wildcard names every action it
    matches), whose resource types the statement's Resource is checked against; None when they
    are not all known (`*`, NotAction, a retired service), so no resource can be said to fit none.
    """
    present = [key for key in ("Action", "NotAction") if key in statement]
    if len(present) != 1:
        lint.add(
            ERROR,
            "action-missing" if not present else "action-both",
            where,
            "Action",
            "A statement has exactly one of Action and NotAction.",
        )
        return None
    field = present[0]
    values = strings(statement[field])
    if values is None:
        lint.add(
            ERROR, "action-invalid", where, field, f"{field} is a string or a list of strings."
        )
        return None
    known: list[Action] | None = [] if field == "Action" else None
    for value in values:
        if value == "*":
            lint.add(SUGGESTION, "action-wildcard", where, field, f"{field} “*”: every action.")
            known = None
            continue
        if not ACTION_RE.match(value):
            lint.add(
                ERROR,
                "action-malformed",
                where,
                field,
                f"“{value}” is not an action; write it as service:Action.",
            )
            continue
        service = value.split(":", 1)[0].lower()
        if not service_known(service):
            known = None
            retired = service_retired(service)
            lint.add(
                lint.unless_strict(WARNING) if retired else ERROR,
                "retired-service" if retired else "unknown-service",
                where,
                field,
                f"“{value}”: {retired} is retired; the action matches nothing any more."
                if retired
                else f"“{value}”: there is no AWS service “{service}”.",
            )
            continue
        if "*" in value or "?" in value:
            matches = actions_matching(value)
            if not matches:
                lint.add(
                    ERROR,
                    "unknown-action",
                    where,
                    field,
                    f"“{value}” matches no action of {service}.",
                )
            else:
                lint.add(
                    SUGGESTION,
                    "action-wildcard",
                    where,
                    field,
                    f"“{value}” matches {len(matches)} actions; least privilege names them.",
                )
            if known is not None:
                known.extend(matches)
            continue
        action = action_lookup(value)
        if action is None:
            lint.add(
                ERROR,
                "unknown-action",
                where,
                field,
                f"“{value}” is not an action of {service}.",
            )
            known = None
            continue
        if lint.policy_type == "trust" and action.qualified.lower() not in TRUST_ACTIONS:
            lint.add(
                ERROR,
                "trust-action",
                where,
                field,
                f"A trust policy allows sts:AssumeRole and its kin, not {value}.",
            )
        if known is not None:
            known.append(action)
    return known


def _condition(lint: Lint, where: int | str, condition: Any) -> None:
    if not isinstance(condition, dict):
        lint.add(
            ERROR,
            "condition-invalid",
            where,
            "Condition",
            'Condition is an object of operators, e.g. {"StringEquals": {...}}.',
        )
        return
    for operator, clause in condition.items():
        if not _CONDITION_OPERATOR.match(str(operator)) or not isinstance(clause, dict):
            lint.add(
                ERROR,
                "condition-invalid",
                where,
                f"Condition.{operator}",
                f"“{operator}” takes an object of condition keys and values.",
            )
