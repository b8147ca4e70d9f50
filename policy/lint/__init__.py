"""A linter for IAM policy documents: identity, trust, resource, session and SCP.

Pure: a document in, findings out. Each finding names the statement (its Sid, or its index), the
field, what is wrong and, when there is one, the corrected value. The article's own three wrong
ARNs are each caught with their correction.

The checks, by what they look at: `grammar` (elements, Version, Sids, Effect, actions,
Condition), `resources` (ARNs against the actions' resource types), `principals` (principal
grammar, public principals, the confused deputy) and `limits` (each document type's size).
"""

from dataclasses import asdict
from typing import Any

from policy.lint import grammar
from policy.lint.findings import ERROR, INFO, POLICY_TYPES, WARNING, Finding, Lint

__all__ = [
    "DOCUMENT_TYPES",
    "ERROR",
    "INFO",
    "POLICY_TYPES",
    "WARNING",
    "Finding",
    "documents_lint",
    "policy_lint",
]

DOCUMENT_TYPES = {
    "trust_policy": "trust",
    "permission_policy": "identity",
    "source_identity_policy": "identity",
}


def policy_lint(
    policy: Any, policy_type: str, *, account_id: str = "", third_party: bool | None = None
) -> list[Finding]:
    """Findings for one document. `account_id` is the account the policy lives in (a trust
    policy's principals elsewhere are cross-account); `third_party` None means unknown."""
    if policy_type not in POLICY_TYPES:
        raise ValueError(f"policy_type is one of {POLICY_TYPES}")
    lint = Lint(policy_type, account_id, third_party)
    grammar.document(lint, policy)
    return lint.findings


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
