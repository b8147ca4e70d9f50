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
from policy.lint.findings import (
    ERROR,
    POLICY_TYPES,
    SECURITY_WARNING,
    SEVERITIES,
    SUGGESTION,
    WARNING,
    Finding,
    Lint,
)

__all__ = [
    "DOCUMENT_TYPES",
    "ERROR",
    "POLICY_TYPES",
    "SECURITY_WARNING",
    "SEVERITIES",
    "SUGGESTION",
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
    policy: Any,
    policy_type: str,
    *,
    account_id: str = "",
    third_party: bool | None = None,
    strict: bool = False,
) -> list[Finding]:
    """Findings for one document. `account_id` is the account the policy lives in (a trust
    policy's principals elsewhere are cross-account); `third_party` None means unknown.

    By default a document is judged as AWS would judge it (someone else's: an AWS managed policy,
    a bucket policy): `error` only for what IAM refuses or what can never match. `strict` for the
    documents the portal writes, where it decides what to write: a public principal, a retired
    service or an S3 bucket name in upper case are errors there."""
    if policy_type not in POLICY_TYPES:
        raise ValueError(f"policy_type is one of {POLICY_TYPES}")
    lint = Lint(policy_type, account_id, third_party, strict)
    grammar.document(lint, policy)
    return lint.findings


def documents_lint(documents: dict[str, Any], *, third_party: bool) -> list[Finding]:
    """Findings for a request's documents (keyed by role, see access_requests.documents), which
    the portal writes: judged strictly."""
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
            document,
            policy_type,
            account_id=entry.get("account_id", ""),
            third_party=third_party,
            strict=True,
        ):
            findings.append(Finding(**{**asdict(finding), "document": key}))
    return findings
