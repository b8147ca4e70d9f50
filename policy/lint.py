"""A linter for IAM policy documents: identity, trust, resource, session and SCP.

Pure: a document in, findings out. Each finding names the statement (its Sid, or its index), the
field, what is wrong and, when there is one, the corrected value. The article's own three wrong
ARNs are each caught with their correction.

Grammar: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
Quotas: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
"""

import fnmatch
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from policy.arns import ACCOUNT_ID_RE, arn_matches_template, arn_parse
from policy.catalog import ACTION_RE, action_lookup, actions_of_service, service_known
from policy.validation import arn_correction

ERROR, WARNING, INFO = "error", "warning", "info"
POLICY_TYPES = ("identity", "trust", "resource", "session", "scp")
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
PRINCIPAL_KEYS = {"AWS", "Service", "Federated", "CanonicalUser"}
TRUST_ACTIONS = {
    "sts:assumerole",
    "sts:assumerolewithsaml",
    "sts:assumerolewithwebidentity",
    "sts:tagsession",
    "sts:setsourceidentity",
    "sts:setcontext",
}
# Characters without white space (IAM's count) or bytes, by policy type.
SIZE_LIMITS = {
    "trust": (2048, "role trust policy", "characters without white space"),
    "identity": (10240, "inline role policy", "characters without white space"),
    "session": (2048, "session policy", "characters without white space"),
    "scp": (5120, "service control policy", "characters"),
}
BUCKET_POLICY_BYTES = 20 * 1024
_ROOT_OR_ROLE = re.compile(
    r"^arn:aws:(?:iam::\d{12}:(?:root|(?:role|user)/[\w+=,.@/-]+)"
    r"|sts::\d{12}:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+)$"
)
_SLOPPY_IAM = re.compile(r"^arn:aws:iam:[^:/]*:*(\d{12})[:/]+(root|(?:role|user)/[\w+=,.@/-]+)$")
_SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9.-]+\.amazonaws\.com(?:\.cn)?$")
_CONDITION_OPERATOR = re.compile(r"^(?:For(?:AnyValue|AllValues):)?[A-Za-z]+(?:IfExists)?$")


@dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    statement: int | str | None
    field: str
    message: str
    correction: Any = None
    document: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not data["document"]:
            data.pop("document")
        return data


class _Lint:
    def __init__(self, policy_type: str, account_id: str, third_party: bool | None) -> None:
        self.policy_type = policy_type
        self.account_id = account_id
        self.third_party = third_party
        self.findings: list[Finding] = []

    def add(self, severity, code, statement, field, message, correction=None) -> None:
        self.findings.append(Finding(severity, code, statement, field, message, correction))

    # --- the document ------------------------------------------------------------------------
    def document(self, policy: Any) -> None:
        if not isinstance(policy, dict):
            self.add(ERROR, "policy-not-object", None, "", "A policy is a JSON object.")
            return
        for key in sorted(set(policy) - TOP_KEYS):
            self.add(ERROR, "unknown-element", None, key, f"“{key}” is not a policy element.")
        version = policy.get("Version")
        if version is None:
            self.add(
                WARNING,
                "version-missing",
                None,
                "Version",
                "Without Version, IAM uses 2008-10-17, where policy variables do not work.",
                "2012-10-17",
            )
        elif version not in VERSIONS:
            self.add(ERROR, "version-invalid", None, "Version", f"Version is one of {VERSIONS}.")
        statements = policy.get("Statement")
        if statements is None:
            self.add(ERROR, "statement-missing", None, "Statement", "The policy has no Statement.")
            return
        if isinstance(statements, dict):
            statements = [statements]
        if not isinstance(statements, list) or not statements:
            self.add(
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
                self.add(ERROR, "statement-invalid", index, "", "A statement is a JSON object.")
                continue
            sid = statement.get("Sid")
            where: int | str = sid if isinstance(sid, str) and sid else index
            if sid is not None:
                if not isinstance(sid, str) or not re.fullmatch(r"[A-Za-z0-9]*", sid):
                    self.add(ERROR, "sid-invalid", index, "Sid", "A Sid has only A-Z, a-z, 0-9.")
                elif sid in sids and sid:
                    self.add(ERROR, "sid-duplicate", where, "Sid", f"Sid “{sid}” is used twice.")
                sids.add(sid if isinstance(sid, str) else "")
            self.statement(where, statement)
        self.size(policy)

    def statement(self, where: int | str, statement: dict) -> None:
        for key in sorted(set(statement) - STATEMENT_KEYS):
            self.add(ERROR, "unknown-element", where, key, f"“{key}” is not a statement element.")
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            fixed = effect.capitalize() if isinstance(effect, str) else None
            self.add(
                ERROR,
                "effect-invalid",
                where,
                "Effect",
                "Effect is “Allow” or “Deny” (case matters).",
                fixed if fixed in ("Allow", "Deny") else None,
            )
        actions = self.actions(where, statement)
        self.resources(where, statement, actions)
        self.principals(where, statement, effect)
        condition = statement.get("Condition")
        if condition is not None:
            self.condition(where, condition)
        if self.policy_type == "trust":
            self.trust_external_id(where, statement, effect)

    # --- Action / NotAction ------------------------------------------------------------------
    def actions(self, where, statement: dict) -> list:
        present = [key for key in ("Action", "NotAction") if key in statement]
        if len(present) != 1:
            self.add(
                ERROR,
                "action-missing" if not present else "action-both",
                where,
                "Action",
                "A statement has exactly one of Action and NotAction.",
            )
            return []
        field = present[0]
        values = _strings(statement[field])
        if values is None:
            self.add(
                ERROR, "action-invalid", where, field, f"{field} is a string or a list of strings."
            )
            return []
        known = []
        for value in values:
            if value == "*":
                self.add(INFO, "action-wildcard", where, field, f"{field} “*”: every action.")
                continue
            if not ACTION_RE.match(value):
                self.add(
                    ERROR,
                    "action-malformed",
                    where,
                    field,
                    f"“{value}” is not an action; write it as service:Action.",
                )
                continue
            service = value.split(":", 1)[0].lower()
            if not service_known(service):
                self.add(
                    ERROR,
                    "unknown-service",
                    where,
                    field,
                    f"“{value}”: there is no AWS service “{service}”.",
                )
                continue
            if "*" in value or "?" in value:
                pattern = value.lower()
                matches = [
                    a
                    for a in actions_of_service(service)
                    if fnmatch.fnmatchcase(a.lower(), pattern)
                ]
                if not matches:
                    self.add(
                        ERROR,
                        "unknown-action",
                        where,
                        field,
                        f"“{value}” matches no action of {service}.",
                    )
                else:
                    self.add(
                        INFO,
                        "action-wildcard",
                        where,
                        field,
                        f"“{value}” matches {len(matches)} actions; least privilege names them.",
                    )
                continue
            action = action_lookup(value)
            if action is None:
                self.add(
                    ERROR,
                    "unknown-action",
                    where,
                    field,
                    f"“{value}” is not an action of {service}.",
                )
                continue
            if self.policy_type == "trust" and action.qualified.lower() not in TRUST_ACTIONS:
                self.add(
                    ERROR,
                    "trust-action",
                    where,
                    field,
                    f"A trust policy allows sts:AssumeRole and its kin, not {value}.",
                )
            if field == "Action":
                known.append(action)
        return known

    # --- Resource / NotResource --------------------------------------------------------------
    def resources(self, where, statement: dict, actions: list) -> None:
        present = [key for key in ("Resource", "NotResource") if key in statement]
        if self.policy_type == "trust":
            for key in present:
                self.add(
                    ERROR,
                    "resource-in-trust",
                    where,
                    key,
                    "A trust policy has no Resource: the role itself is the resource.",
                )
            return
        if len(present) != 1:
            if present or self.policy_type in ("identity", "session", "resource"):
                self.add(
                    ERROR,
                    "resource-missing" if not present else "resource-both",
                    where,
                    "Resource",
                    "A statement has exactly one of Resource and NotResource.",
                )
            return
        field = present[0]
        values = _strings(statement[field])
        if values is None:
            self.add(
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
                    self.add(
                        WARNING,
                        "resource-wildcard",
                        where,
                        field,
                        "Resource “*” with actions that take specific resources grants "
                        "every one of them.",
                    )
                continue
            self.resource(where, field, value, templates)

    def resource(self, where, field: str, value: str, templates: list[str]) -> None:
        arn = arn_parse(value)
        correction = arn_correction(value)
        if arn is None:
            self.add(
                ERROR,
                "arn-malformed",
                where,
                field,
                f"“{value}” is not an ARN (arn:aws:service:region:account:resource).",
                correction,
            )
            return
        if arn.account and not ACCOUNT_ID_RE.match(arn.account) and not _wild(arn.account):
            self.add(
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
                self.add(
                    ERROR, "arn-shape", where, field, _shape_message(value, correction), correction
                )
            return
        if any(arn_matches_template(value, template) for template in templates):
            return
        if any(_matches(value, template) for template in templates):
            self.add(
                INFO,
                "resource-pattern",
                where,
                field,
                f"“{value}” is a pattern: it matches more than one resource.",
            )
            return
        if correction and any(_matches(correction, t) for t in templates):
            self.add(
                ERROR, "arn-shape", where, field, _shape_message(value, correction), correction
            )
            return
        expected = ", ".join(sorted(set(templates)))
        self.add(
            ERROR,
            "arn-mismatch",
            where,
            field,
            f"“{value}” is not a resource of the statement's actions; expected {expected}.",
        )

    # --- Principal / NotPrincipal ------------------------------------------------------------
    def principals(self, where, statement: dict, effect) -> None:
        present = [key for key in ("Principal", "NotPrincipal") if key in statement]
        needs = self.policy_type in ("trust", "resource")
        if not needs:
            for key in present:
                self.add(
                    ERROR,
                    "principal-not-allowed",
                    where,
                    key,
                    f"An {self.policy_type} policy has no {key}: it applies to whoever it "
                    "is attached to.",
                )
            return
        if not present:
            self.add(
                ERROR,
                "principal-missing",
                where,
                "Principal",
                "A trust or resource policy names a Principal.",
            )
            return
        for key in present:
            if key == "NotPrincipal" and effect == "Allow":
                self.add(
                    ERROR,
                    "notprincipal-allow",
                    where,
                    key,
                    "NotPrincipal with Allow grants everyone except the named principals; "
                    "name the principals with Principal instead.",
                )
            self.principal(where, key, statement[key], statement)

    def principal(self, where, field: str, value: Any, statement: dict) -> None:
        if value == "*":
            self.public(where, field, statement)
            return
        if not isinstance(value, dict) or not value:
            self.add(
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
                self.add(
                    ERROR,
                    "principal-type",
                    where,
                    path,
                    f"“{kind}” is not a principal type ({', '.join(sorted(PRINCIPAL_KEYS))}).",
                )
                continue
            names = _strings(raw)
            if names is None:
                self.add(
                    ERROR,
                    "principal-invalid",
                    where,
                    path,
                    "A principal is a string or a list of strings.",
                )
                continue
            for name in names:
                if name == "*":
                    self.public(where, path, statement)
                elif kind == "AWS":
                    self.aws_principal(where, path, name)
                elif kind == "Service" and not _SERVICE_PRINCIPAL.match(name):
                    self.add(
                        ERROR,
                        "principal-malformed",
                        where,
                        path,
                        f"“{name}” is not a service principal (e.g. ec2.amazonaws.com).",
                    )

    def aws_principal(self, where, path: str, name: str) -> None:
        if ACCOUNT_ID_RE.match(name) or _ROOT_OR_ROLE.match(name):
            return
        sloppy = _SLOPPY_IAM.match(name)
        correction = f"arn:aws:iam::{sloppy.group(1)}:{sloppy.group(2)}" if sloppy else None
        if correction is None and "*" in name:
            self.add(
                ERROR,
                "principal-wildcard",
                where,
                path,
                f"“{name}”: wildcards are allowed only as the whole principal “*”.",
            )
            return
        self.add(
            ERROR,
            "principal-malformed",
            where,
            path,
            f"“{name}” is not an AWS principal: an account id, arn:aws:iam::ACCOUNT:root, "
            "a role or user ARN.",
            correction,
        )

    def public(self, where, field: str, statement: dict) -> None:
        conditioned = bool(statement.get("Condition"))
        self.add(
            WARNING if conditioned else ERROR,
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

    # --- Condition, ExternalId, size ---------------------------------------------------------
    def condition(self, where, condition: Any) -> None:
        if not isinstance(condition, dict):
            self.add(
                ERROR,
                "condition-invalid",
                where,
                "Condition",
                'Condition is an object of operators, e.g. {"StringEquals": {...}}.',
            )
            return
        for operator, clause in condition.items():
            if not _CONDITION_OPERATOR.match(str(operator)) or not isinstance(clause, dict):
                self.add(
                    ERROR,
                    "condition-invalid",
                    where,
                    f"Condition.{operator}",
                    f"“{operator}” takes an object of condition keys and values.",
                )

    def trust_external_id(self, where, statement: dict, effect) -> None:
        if effect != "Allow" or self.third_party is False:
            return
        accounts = sorted(_principal_accounts(statement.get("Principal")) - {self.account_id})
        if not accounts or _has_external_id(statement.get("Condition")):
            return
        who = ", ".join(accounts)
        self.add(
            ERROR if self.third_party else WARNING,
            "trust-external-id",
            where,
            "Condition",
            f"The role trusts {who}"
            + (
                ", a third party: require sts:ExternalId (the confused deputy problem)."
                if self.third_party
                else "; if that is a third party (outside your organization), require "
                "sts:ExternalId (the confused deputy problem)."
            ),
            {"StringEquals": {"sts:ExternalId": "<a random id the third party uses>"}},
        )

    def size(self, policy: dict) -> None:
        text = json.dumps(policy, separators=(",", ":"), ensure_ascii=False)
        if self.policy_type == "resource":
            if len(text.encode()) > BUCKET_POLICY_BYTES and _is_bucket_policy(policy):
                self.add(
                    ERROR,
                    "size",
                    None,
                    "",
                    f"The bucket policy is {len(text.encode()):,} "
                    f"bytes; S3 allows {BUCKET_POLICY_BYTES:,}.",
                )
            return
        limit, name, unit = SIZE_LIMITS[self.policy_type]
        count = len(re.sub(r"\s", "", text)) if "white" in unit else len(text)
        if count > limit:
            self.add(
                ERROR, "size", None, "", f"The {name} is {count:,} {unit}; IAM allows {limit:,}."
            )


def _strings(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return value
    return None


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


def _principal_accounts(principal: Any) -> set[str]:
    if not isinstance(principal, dict):
        return set()
    accounts = set()
    for name in _strings(principal.get("AWS")) or []:
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


def _is_bucket_policy(policy: dict) -> bool:
    statements = policy.get("Statement")
    statements = [statements] if isinstance(statements, dict) else statements or []
    for statement in statements:
        if isinstance(statement, dict):
            for value in _strings(statement.get("Resource")) or []:
                if value.startswith("arn:aws:s3:::"):
                    return True
    return False


def policy_lint(
    policy: Any, policy_type: str, *, account_id: str = "", third_party: bool | None = None
) -> list[Finding]:
    """Findings for one document. `account_id` is the account the policy lives in (a trust
    policy's principals elsewhere are cross-account); `third_party` None means unknown."""
    if policy_type not in POLICY_TYPES:
        raise ValueError(f"policy_type is one of {POLICY_TYPES}")
    lint = _Lint(policy_type, account_id, third_party)
    lint.document(policy)
    return lint.findings


DOCUMENT_TYPES = {
    "trust_policy": "trust",
    "permission_policy": "identity",
    "source_identity_policy": "identity",
}


def documents_lint(documents: dict[str, Any], *, third_party: bool) -> list[Finding]:
    """Findings for a request's documents (keyed by role, see access_requests.documents)."""
    findings = []
    for key, entry in documents.items():
        if not isinstance(entry, dict) or "document" not in entry:
            continue
        if key in DOCUMENT_TYPES:
            policy_type, document = DOCUMENT_TYPES[key], entry["document"]
        elif key.startswith("resource_policy:"):
            policy_type = "resource"
            document = {"Version": "2012-10-17", "Statement": [entry["document"]]}
        else:
            continue
        for finding in policy_lint(
            document, policy_type, account_id=entry.get("account_id", ""), third_party=third_party
        ):
            findings.append(Finding(**{**asdict(finding), "document": key}))
    return findings
