"""What the linter reports: a finding, its severities, and the collector the checks add to."""

from dataclasses import asdict, dataclass
from typing import Any

ERROR, WARNING, INFO = "error", "warning", "info"
POLICY_TYPES = ("identity", "trust", "resource", "session", "scp")
# Where a finding is: the statement's Sid, else its index; None for the whole document.
Where = int | str | None


@dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    statement: Where
    field: str
    message: str
    correction: Any = None
    document: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not data["document"]:
            data.pop("document")
        return data


class Lint:
    """One document's linting: what the checks need to know about it, and their findings so far.
    `account_id` is the account the policy lives in; `third_party` None means unknown."""

    def __init__(self, policy_type: str, account_id: str, third_party: bool | None) -> None:
        self.policy_type = policy_type
        self.account_id = account_id
        self.third_party = third_party
        self.findings: list[Finding] = []

    def add(
        self,
        severity: str,
        code: str,
        statement: Where,
        field: str,
        message: str,
        correction: Any = None,
    ) -> None:
        self.findings.append(Finding(severity, code, statement, field, message, correction))


def strings(value: Any) -> list[str] | None:
    """A string or a non-empty list of strings, as a list; None for anything else."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return value
    return None
