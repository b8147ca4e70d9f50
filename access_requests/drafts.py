"""Turn what a requester typed into the exact documents the portal would write.

Shared by the live preview, submission and the API, so what an approver sees is what is written.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from access_requests.documents import documents_for
from access_requests.external_ids import (
    TO_BE_GENERATED,
    external_id_error,
    external_id_resolve,
)
from access_requests.models import AccessRequest, Mechanism
from access_requests.recommender import Facts, Recommendation, recommend
from accounts.models import SESSION_SECONDS_MIN, Account
from accounts.selectors import left_organization_refusal, portal_reserved
from core.errors import ServiceError
from policy import builders
from policy.arns import ROLE_ARN_RE, ROOT_ARN_RE
from policy.escalation import escalation_findings
from policy.reserved import reserved_match
from policy.resource_policies import policy_too_large
from policy.validation import access_validate

MAX_JUSTIFICATION = 2000
MAX_TICKET = 128
# IAM quotas, counted without white space: a role trust policy 2,048 characters, a role's inline
# policies 10,240 in all. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
SIZE_LIMITS = {
    builders.TRUST_POLICY: (2048, "source_principal"),
    builders.PERMISSION_POLICY: (10240, "resources"),
    builders.SOURCE_IDENTITY_POLICY: (10240, "resources"),
}
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# In a resource ARN, the target account's id: one list of resources for several accounts.
ACCOUNT_PLACEHOLDER = "${Account}"


def resources_for_account(resources: list[str], account_id: str) -> list[str]:
    """`resources` with every "${Account}" replaced by `account_id`."""
    return [resource.replace(ACCOUNT_PLACEHOLDER, account_id) for resource in resources]


@dataclass
class Draft:
    """A request as it would be submitted: normalized fields, documents, or the errors per field."""

    errors: dict[str, list[str]] = field(default_factory=dict)
    source_principal: str = ""
    actions: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    mechanism: str = Mechanism.ASSUME_ROLE
    recommended_mechanism: str = Mechanism.ASSUME_ROLE
    recommendation_reasons: list[str] = field(default_factory=list)
    third_party: bool = False
    # A third-party request's ExternalId, or external_ids.TO_BE_GENERATED.
    external_id: str = ""
    documents: dict[str, Any] = field(default_factory=dict)
    recommendation: Recommendation | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    simulation: dict[str, Any] = field(default_factory=dict)
    # The access rule the request goes under ({} when no rules are configured), and why a request
    # no rule lets this requester make in this account is refused (a 403, not a field's error).
    rule: dict[str, Any] = field(default_factory=dict)
    forbidden: str = ""

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def _principal(draft: Draft, source: Account, raw: str) -> str:
    value = (raw or "").strip()
    if not value or value == source.account_id:
        return source.root_arn
    if ROOT_ARN_RE.match(value):
        if value != source.root_arn:
            draft.add("source_principal", f"The principal must be in the source account {source}.")
        return value
    match = ROLE_ARN_RE.match(value)
    if match is None:
        draft.add(
            "source_principal",
            f"“{value}” is neither the account root (arn:aws:iam::{source.account_id}:root) nor a "
            f"role ARN (arn:aws:iam::{source.account_id}:role/Name).",
        )
        return value
    if match.group(1) != source.account_id:
        draft.add("source_principal", f"The role must be in the source account {source}.")
    return value


def _portal_resources(resources: list[str]) -> dict[str, str]:
    """Of `resources`, those that name the portal's own roles and policies (policy/reserved.py),
    with why each is refused: a grant on them is a grant on every grant."""
    reserved = portal_reserved()
    refused = {}
    for resource in (r.strip() for r in resources):
        entry = reserved_match(resource, reserved)
        if entry is not None:
            refused[resource] = (
                f"“{resource}” is {entry.what}, or could name it: the portal keeps its own "
                "resources to itself, in every account, whatever the action."
            )
    return refused


def _external_id_check(
    draft: Draft, source: Account, target: Account, entered: str, generate: bool
) -> None:
    """The ExternalId the trust policy will require (access_requests/external_ids.py)."""
    error = external_id_error(entered) if entered else None
    if error:
        draft.add("external_id", error)
        return
    try:
        resolved = external_id_resolve(
            source_account=source, target_account=target, entered=entered, generate=generate
        )
    except ServiceError as refused:
        for message in refused.field_errors["external_id"]:
            draft.add("external_id", message)
        return
    draft.external_id = resolved or TO_BE_GENERATED


def draft_build(
    *,
    request_id: int | None,
    source_account: Account | None,
    target_account: Account | None,
    source_principal: str,
    actions: list[str],
    resources: list[str],
    access_via: str,
    mechanism: str,
    duration: int | None,
    justification: str,
    ticket: str,
    third_party: bool,
    external_id: str = "",
    generate_external_id: bool = False,
    facts: Facts | None = None,
    grantee_canonical_id: str = "",
    source_identity: str = "",
) -> Draft:
    """Check everything and build the documents. `request_id` None builds a preview."""
    draft = Draft()
    if source_account is None:
        draft.add("source_account", "Choose the source account.")
    if target_account is None:
        draft.add("target_account", "Choose the target account.")
    if source_account and target_account and source_account == target_account:
        draft.add("target_account", "Source and target are the same account: no grant is needed.")
    if target_account and not target_account.managed:
        draft.add("target_account", f"The portal cannot write policies in {target_account}.")
    for name, account in (("source_account", source_account), ("target_account", target_account)):
        if account and (refusal := left_organization_refusal(account)):
            draft.add(name, refusal)
    if access_via not in AccessRequest.AccessVia.values:
        draft.add("access_via", "Choose how the access will be used.")
    if mechanism not in AccessRequest.RequestedMechanism.values:
        draft.add("mechanism", "Choose a mechanism, or let the portal recommend one.")

    if duration is None:
        draft.add("duration", "Choose how long the access lasts.")
    elif duration < SESSION_SECONDS_MIN:
        draft.add("duration", "Access lasts at least 15 minutes.")
    elif target_account and duration > target_account.max_access_duration:
        draft.add(
            "duration",
            f"{target_account.name} allows access for at most "
            f"{target_account.max_access_duration // 3600} hours.",
        )

    justification = justification.strip()
    if not justification:
        draft.add("justification", "Say why you need this access.")
    elif len(justification) > MAX_JUSTIFICATION or _CONTROL_CHARS.search(justification):
        draft.add("justification", f"At most {MAX_JUSTIFICATION} characters of plain text.")
    if len(ticket) > MAX_TICKET or _CONTROL_CHARS.search(ticket):
        draft.add("ticket", f"At most {MAX_TICKET} characters of plain text.")

    if source_account:
        draft.source_principal = _principal(draft, source_account, source_principal)
        draft.third_party = third_party or source_account.third_party
        if access_via == AccessRequest.AccessVia.PORTAL:
            if not source_account.broker_role_arn:
                draft.add(
                    "access_via",
                    f"{source_account} has no broker role, so the portal cannot vend sessions "
                    "from it: choose the source principal's own identity.",
                )
            elif draft.source_principal not in (
                source_account.root_arn,
                source_account.broker_role_arn,
            ):
                draft.add(
                    "source_principal",
                    "Portal sessions are taken through the source account's broker role: the "
                    "principal must be the account root or that role.",
                )

    if target_account:
        check = access_validate(
            actions=actions,
            resources=resources,
            target_account_id=target_account.account_id,
            partition=target_account.partition,
        )
        draft.actions, draft.resources = check.actions, check.resources
        # Whatever else is wrong: who must approve follows from the actions alone.
        draft.findings = [finding.as_dict() for finding in escalation_findings(draft.actions)]
        refused = _portal_resources(resources)
        for name, messages in check.errors.items():
            for message in messages:
                # What the requester reads of one of the portal's own resources is that.
                if not any(f"“{resource}”" in message for resource in refused):
                    draft.add(name, message)
        for message in refused.values():
            draft.add("resources", message)

    recommendation = recommend(
        access_via=access_via, actions=draft.actions, resources=draft.resources, facts=facts
    )
    draft.recommendation = recommendation
    draft.recommendation_reasons = recommendation.reasons
    draft.recommended_mechanism = recommendation.mechanism or ""
    if recommendation.mechanism is None:
        draft.add("actions", recommendation.reasons[0])
    elif mechanism == AccessRequest.RequestedMechanism.AUTO:
        draft.mechanism = recommendation.mechanism
    elif mechanism in Mechanism.values:
        if recommendation.valid(mechanism):
            draft.mechanism = mechanism
        else:
            draft.add(
                "mechanism", f"{Mechanism(mechanism).label}: {recommendation.validity[mechanism]}"
            )
    external_id = external_id.strip()
    if external_id and not draft.third_party:
        draft.add(
            "external_id",
            "An ExternalId is for a third-party source: mark the source as a third party, or "
            "leave it empty.",
        )
    elif draft.third_party and source_account and target_account:
        _external_id_check(draft, source_account, target_account, external_id, generate_external_id)
    if draft.errors or source_account is None or target_account is None:
        return draft
    draft.documents = documents_for(
        mechanism=draft.mechanism,
        request_id=request_id,
        source_account=source_account,
        target_account=target_account,
        source_principal=draft.source_principal,
        actions=draft.actions,
        resources=draft.resources,
        access_via=access_via,
        external_id=draft.external_id,
        grantee_canonical_id=grantee_canonical_id,
        source_identity=source_identity,
    )
    for key, (limit, field_name) in SIZE_LIMITS.items():
        if key not in draft.documents or (
            key == builders.SOURCE_IDENTITY_POLICY and not draft.documents[key]["written_by_portal"]
        ):
            continue
        size = builders.policy_size(draft.documents[key]["document"])
        if size > limit:
            draft.add(
                field_name,
                f"The {draft.documents[key]['title'].lower()} would be {size:,} characters; IAM "
                f"allows {limit:,}. Ask for fewer actions or resources in one request.",
            )
    for entry in draft.documents.values():
        if "holder" in entry:
            # The statement alone: the policy it joins (read from AWS on submit) only adds to it.
            too_large = policy_too_large(
                entry["holder"]["service"],
                {"Version": "2012-10-17", "Statement": [entry["document"]]},
            )
            if too_large:
                draft.add("resources", too_large)
    if draft.errors:
        draft.documents = {}
    return draft
