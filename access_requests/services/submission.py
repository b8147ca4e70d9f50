"""Writing a request: submit, edit while pending, cancel."""

from dataclasses import replace
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from access_requests.documents import documents_with_stand_in_id
from access_requests.drafts import Draft, draft_build, resources_for_account
from access_requests.external_ids import (
    TO_BE_GENERATED,
    external_id_generate,
    external_id_remember,
)
from access_requests.facts import request_facts
from access_requests.models import AccessRequest, Mechanism
from access_requests.ownership import bucket_owner_errors
from access_requests.services.decisions import locked_request, request_decided
from access_requests.services.rules import draft_rule_check, request_rule_apply
from accounts.models import Account
from accounts.scps import scp_denials
from audit.services import audit_record
from core.errors import ServiceError
from notifications.services import notify, slack_refresh
from policy import builders
from policy.escalation import privilege_escalations
from policy.lint import documents_lint
from provisioning.simulation import simulate


def access_request_preview(
    fields: dict[str, Any],
    *,
    requester: User,
    request_id: int | None = None,
    break_glass: bool = False,
) -> Draft:
    """The draft of these fields with what AWS and the organization's SCPs say about them: what
    the form's live preview shows and what submission checks. A portal session's role is for its
    requester alone: their name is in its trust policy."""
    source_identity = builders.source_identity_for(requester.get_username(), requester.pk)
    if fields["target_account"] is not None:
        # "${Account}" in an ARN stands for the target account's id (SPEC 10.6): one list of
        # resources serves every account of a submission for several.
        fields = fields | {
            "resources": resources_for_account(
                fields["resources"], fields["target_account"].account_id
            )
        }
    # Refuse bad input before any AWS call. Facts only ever rule mechanisms out, so what is wrong
    # without them stays wrong with them.
    unchecked = draft_build(request_id=request_id, source_identity=source_identity, **fields)
    # The access rules before any AWS call too: what no rule allows is refused as it is typed.
    if unchecked.errors or not draft_rule_check(
        unchecked,
        requester=requester,
        account=fields["target_account"],
        source_account=fields["source_account"],
        duration=fields["duration"],
        break_glass=break_glass,
    ):
        unchecked.documents = {}
        return unchecked
    owner_errors = bucket_owner_errors(
        target_account=fields["target_account"], resources=fields["resources"]
    )
    if owner_errors:
        for message in owner_errors:
            unchecked.add("resources", message)
        unchecked.documents = {}
        return unchecked
    facts, grantee_canonical_id = request_facts(
        source_account=fields["source_account"],
        target_account=fields["target_account"],
        resources=fields["resources"],
    )
    # Each side's SCPs bind only its own principals (recommender.Facts).
    source_denials, target_denials = (
        tuple(
            denial.label
            for denial in scp_denials(
                accounts=[account], actions=fields["actions"], resources=fields["resources"]
            )
        )
        if account is not None
        else ()
        for account in (fields["source_account"], fields["target_account"])
    )
    draft = draft_build(
        request_id=request_id,
        facts=replace(facts, source_scp_denials=source_denials, target_scp_denials=target_denials),
        grantee_canonical_id=grantee_canonical_id,
        source_identity=source_identity,
        **fields,
    )
    draft.rule = unchecked.rule
    if not draft.errors and draft.mechanism == Mechanism.ACL and not grantee_canonical_id:
        draft.add(
            "mechanism",
            f"The portal could not look up the canonical user id of {fields['source_account']}, "
            "which an ACL grant names.",
        )
    if draft.documents:
        # "<id>" is no valid Sid or role name: lint what submit will write, with a number there.
        linted = draft.documents if request_id else documents_with_stand_in_id(draft.documents)
        # After the draft's escalation findings, which decide who must approve.
        draft.findings += [
            finding.as_dict() for finding in documents_lint(linted, third_party=draft.third_party)
        ]
        draft.simulation = simulate(
            mechanism=draft.mechanism,
            documents=draft.documents,
            source_account=fields["source_account"],
            target_account=fields["target_account"],
            source_principal=draft.source_principal,
            actions=draft.actions,
            resources=draft.resources,
            external_id=draft.external_id,
            source_identity=(
                source_identity if fields["access_via"] == AccessRequest.AccessVia.PORTAL else ""
            ),
        )
    return draft


def _checked_draft(
    fields: dict[str, Any], *, requester: User, request_id: int | None, break_glass: bool = False
) -> Draft:
    draft = access_request_preview(
        fields, requester=requester, request_id=request_id, break_glass=break_glass
    )
    if draft.forbidden:
        raise ServiceError(draft.forbidden, kind=ServiceError.FORBIDDEN)
    if draft.errors:
        raise ServiceError("The request has errors.", field_errors=draft.errors)
    return draft


def approval_hash(access_request: AccessRequest) -> str:
    """What a vote on the request binds to: its documents and every term an approver is shown
    beside them. Set its documents and columns first."""
    return builders.documents_hash(
        access_request.documents,
        terms={
            "duration": access_request.duration,
            "source_principal": access_request.source_principal,
            "access_via": access_request.access_via,
            "mechanism": access_request.mechanism,
            "third_party": access_request.third_party,
            "source_account": access_request.source_account.account_id,
            "target_account": access_request.target_account.account_id,
        },
    )


def _columns(draft: Draft, fields: dict[str, Any]) -> dict[str, Any]:
    """What a request stores of its checked draft and of the fields as typed: the same on submit
    and on edit (the accounts, the external id and the documents are set by each)."""
    return {
        "source_principal": draft.source_principal,
        "actions": draft.actions,
        "resources": draft.resources,
        "access_via": fields["access_via"],
        "requested_mechanism": fields["mechanism"],
        "mechanism": draft.mechanism,
        "recommended_mechanism": draft.recommended_mechanism,
        "recommendation_reasons": draft.recommendation_reasons,
        "duration": fields["duration"],
        "justification": fields["justification"].strip(),
        "ticket": fields["ticket"].strip(),
        "third_party": draft.third_party,
        "privilege_escalation": bool(privilege_escalations(draft.actions)),
    }


def _external_id_keep(draft: Draft, source: Account, target: Account) -> str:
    """The checked draft's ExternalId, made now if the portal is to make it, and kept as the
    pair's (access_requests/external_ids.py); "" when the source is no third party."""
    if not draft.third_party:
        return ""
    generated = draft.external_id == TO_BE_GENERATED
    value = external_id_generate() if generated else draft.external_id
    external_id_remember(
        source_account=source, target_account=target, value=value, generated=generated
    )
    return value


@transaction.atomic
def access_request_submit(
    *,
    requester: User,
    source_account: Account | None,
    target_account: Account | None,
    source_principal: str = "",
    actions: list[str],
    resources: list[str],
    access_via: str = AccessRequest.AccessVia.PORTAL,
    mechanism: str = AccessRequest.RequestedMechanism.AUTO,
    duration: int | None,
    justification: str,
    ticket: str = "",
    third_party: bool = False,
    external_id: str = "",
    generate_external_id: bool = False,
    break_glass: bool = False,
    batch: UUID | None = None,
    client_address: str | None = None,
) -> AccessRequest:
    """Validate, store the request and the exact documents it will write. Nothing on error.
    Under an auto rule it is approved at once; break-glass, under a break-glass rule only, is
    provisioned at once and reviewed after (services/rules.py). `batch` links the requests of
    one submission for several accounts (services/batches.py)."""
    fields = {
        "source_account": source_account,
        "target_account": target_account,
        "source_principal": source_principal,
        "actions": actions,
        "resources": resources,
        "access_via": access_via,
        "mechanism": mechanism,
        "duration": duration,
        "justification": justification,
        "ticket": ticket,
        "third_party": third_party,
        "external_id": external_id,
        "generate_external_id": generate_external_id,
    }
    draft = _checked_draft(fields, requester=requester, request_id=None, break_glass=break_glass)
    if source_account is None or target_account is None:
        raise ValueError("A checked draft has both accounts.")  # the draft refuses a missing one
    external_id = _external_id_keep(draft, source_account, target_account)
    access_request = AccessRequest.objects.create(
        requester=requester,
        source_account=source_account,
        target_account=target_account,
        external_id=external_id,
        batch=batch,
        **_columns(draft, fields),
    )
    # The same checks again, with the request's number in the names.
    final = _checked_draft(
        fields | {"external_id": external_id},
        requester=requester,
        request_id=access_request.pk,
        break_glass=break_glass,
    )
    access_request.documents = final.documents
    access_request.documents_hash = approval_hash(access_request)
    access_request.findings, access_request.simulation = final.findings, final.simulation
    access_request.save(update_fields=["documents", "documents_hash", "findings", "simulation"])
    audit_record(
        actor=requester,
        verb="request.submitted",
        obj=access_request,
        access_request_id=access_request.pk,
        after={
            "status": access_request.status,
            "documents_hash": access_request.documents_hash,
            **({"batch": str(batch)} if batch else {}),
        },
        client_address=client_address,
    )
    if final.rule and (final.rule["auto"] or final.rule["break_glass"]):
        request_rule_apply(access_request, rule=final.rule, client_address=client_address)
    else:
        notify(event="request.submitted", access_request_id=access_request.pk)
    return access_request


@transaction.atomic
def access_request_edit(
    *,
    access_request: AccessRequest,
    user: User,
    source_principal: str = "",
    actions: list[str],
    resources: list[str],
    access_via: str = AccessRequest.AccessVia.PORTAL,
    mechanism: str = AccessRequest.RequestedMechanism.AUTO,
    duration: int | None,
    justification: str,
    ticket: str = "",
    third_party: bool = False,
    external_id: str = "",
    generate_external_id: bool = False,
    client_address: str | None = None,
    **_accounts: object,
) -> AccessRequest:
    """Change a pending request. Its documents and their hash are built again, so approvals given
    on the earlier documents no longer count; the accounts stay as submitted."""
    locked = locked_request(access_request)
    if locked.requester_id != user.pk:
        raise ServiceError("Only the requester can edit a request.", kind=ServiceError.FORBIDDEN)
    if not locked.is_pending or locked.extends_id:
        raise ServiceError(
            f"This request is {locked.get_status_display().lower()}: it can no longer be edited.",
            kind=ServiceError.CONFLICT,
        )
    fields = {
        "source_account": locked.source_account,
        "target_account": locked.target_account,
        "source_principal": source_principal,
        "actions": actions,
        "resources": resources,
        "access_via": access_via,
        "mechanism": mechanism,
        "duration": duration,
        "justification": justification,
        "ticket": ticket,
        "third_party": third_party,
        "external_id": external_id,
        "generate_external_id": generate_external_id,
    }
    draft = _checked_draft(fields, requester=user, request_id=locked.pk)
    external_id = _external_id_keep(draft, locked.source_account, locked.target_account)
    if external_id != draft.external_id:  # made just now: the documents name it
        draft = _checked_draft(
            fields | {"external_id": external_id}, requester=user, request_id=locked.pk
        )
    before_hash = locked.documents_hash
    for column, value in _columns(draft, fields).items():
        setattr(locked, column, value)
    locked.external_id = external_id
    locked.documents = draft.documents
    locked.documents_hash = approval_hash(locked)
    locked.findings, locked.simulation = draft.findings, draft.simulation
    locked.save()
    audit_record(
        actor=user,
        verb="request.edited",
        obj=locked,
        access_request_id=locked.pk,
        before={"documents_hash": before_hash},
        after={"documents_hash": locked.documents_hash},
        client_address=client_address,
    )
    # Its Slack messages show the new documents (and their hash: a click on the old ones fails).
    slack_refresh(access_request_id=locked.pk)
    access_request.refresh_from_db()
    return locked


@transaction.atomic
def access_request_cancel(
    *, access_request: AccessRequest, user: User, client_address: str | None = None
) -> AccessRequest:
    locked = locked_request(access_request)
    if locked.requester_id != user.pk:
        raise ServiceError("Only the requester can cancel a request.", kind=ServiceError.FORBIDDEN)
    if not locked.is_pending:
        raise ServiceError(
            f"This request is already {locked.get_status_display().lower()}.",
            kind=ServiceError.CONFLICT,
        )
    request_decided(
        locked,
        AccessRequest.Status.CANCELLED,
        actor=user,
        verb="request.cancelled",
        client_address=client_address,
    )
    notify(event="request.cancelled", access_request_id=locked.pk)
    access_request.refresh_from_db()
    return locked
