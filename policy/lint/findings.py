"""What the linter reports: a finding, its severities, and the collector the checks add to.

Severities are IAM Access Analyzer's finding types: `error` for what IAM refuses or what can never
match anything, `security_warning` for access wider than it looks, `warning` for what is legal but
against best practice, `suggestion` for what does not change access. A finding carries Access
Analyzer's issue code beside ours where Access Analyzer has the same check:
https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html
"""

from dataclasses import asdict, dataclass
from typing import Any

ERROR, SECURITY_WARNING, WARNING, SUGGESTION = "error", "security_warning", "warning", "suggestion"
SEVERITIES = (ERROR, SECURITY_WARNING, WARNING, SUGGESTION)
POLICY_TYPES = ("identity", "trust", "resource", "session", "scp")
# Where a finding is: the statement's Sid, else its index; None for the whole document.
Where = int | str | None

# About a second of ARN matching, whatever the document holds; past it, resources pass unjudged.
MATCH_STATES_PER_DOCUMENT = 1_000_000

# Our code -> Access Analyzer's issue code for the same check.
ISSUE_CODES = {
    "policy-not-object": "JSON_SYNTAX_ERROR",
    "unknown-element": "INVALID_POLICY_ELEMENT",
    "version-missing": "MISSING_VERSION",
    "version-invalid": "INVALID_VERSION",
    "statement-missing": "MISSING_STATEMENT",
    "sid-invalid": "UNSUPPORTED_SID",
    "sid-duplicate": "UNIQUE_SIDS_REQUIRED",
    "effect-invalid": "INVALID_EFFECT",
    "action-missing": "MISSING_ACTION",
    "action-both": "UNSUPPORTED_ELEMENT_COMBINATION",
    "action-malformed": "INVALID_ACTION",
    "unknown-service": "INVALID_SERVICE_IN_ACTION",
    "unknown-action": "INVALID_ACTION",
    "condition-invalid": "INVALID_CONDITION_OPERATOR",
    "resource-missing": "MISSING_RESOURCE",
    "resource-both": "UNSUPPORTED_ELEMENT_COMBINATION",
    "arn-malformed": "MISSING_ARN_FIELD",
    "arn-account": "INVALID_ARN_ACCOUNT",
    "arn-shape": "INVALID_ARN_RESOURCE",
    "arn-unknown-type": "INVALID_ARN_RESOURCE",
    "principal-not-allowed": "UNSUPPORTED_PRINCIPAL",
    "principal-missing": "MISSING_PRINCIPAL",
    "principal-type": "INVALID_PRINCIPAL_KEY",
    "principal-invalid": "INVALID_PRINCIPAL_FORMAT",
    "principal-malformed": "INVALID_PRINCIPAL_FORMAT",
    "principal-wildcard": "UNSUPPORTED_WILDCARD_IN_PRINCIPAL",
    "notprincipal-allow": "ALLOW_WITH_NOT_PRINCIPAL",
}


@dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    statement: Where
    field: str
    message: str
    correction: Any = None
    document: str = ""
    issue_code: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for optional in ("document", "issue_code"):
            if not data[optional]:
                data.pop(optional)
        return data


class Lint:
    """One document's linting: what the checks need to know about it, and their findings so far.
    `account_id` is the account the policy lives in; `third_party` None means unknown. `strict`
    for the documents the portal writes itself: what it would be odd to write is an error there,
    where in others' documents only what IAM refuses or what can never match is."""

    def __init__(
        self, policy_type: str, account_id: str, third_party: bool | None, strict: bool = False
    ) -> None:
        self.policy_type = policy_type
        self.account_id = account_id
        self.third_party = third_party
        self.strict = strict
        self.findings: list[Finding] = []
        # How many pattern x template states ARN matching may still walk for this document.
        self.match_budget = MATCH_STATES_PER_DOCUMENT

    def add(
        self,
        severity: str,
        code: str,
        statement: Where,
        field: str,
        message: str,
        correction: Any = None,
    ) -> None:
        self.findings.append(
            Finding(
                severity,
                code,
                statement,
                field,
                message,
                correction,
                issue_code=ISSUE_CODES.get(code, ""),
            )
        )

    def unless_strict(self, severity: str) -> str:
        """`severity` in others' documents; an error in the portal's own."""
        return ERROR if self.strict else severity


def strings(value: Any) -> list[str] | None:
    """A string or a non-empty list of strings, as a list; None for anything else."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return value
    return None
