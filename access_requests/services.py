"""Every write to access requests: submit, approve, reject, cancel. Pages and API call these."""

import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from access_requests.documents import ACL_PREFIX, RESOURCE_POLICY_PREFIX
from access_requests.drafts import draft_build
from access_requests.models import AccessRequest, Approval, Mechanism
from access_requests.selectors import user_approves_for
from accounts.models import Account
from audit.services import audit_record
from portal.errors import ServiceError
from provisioning import policies
from provisioning.inventory import request_facts
from provisioning.models import Grant
from provisioning.tasks import grant_provision_task


@transaction.atomic
def access_request_submit(
    *,
    requester: AbstractBaseUser,
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
    client_address: str | None = None,
) -> AccessRequest:
    """Validate, store the request and the exact documents it will write. Nothing on error."""
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
    }
    facts, grantee_canonical_id = request_facts(
        source_account=source_account, target_account=target_account, resources=resources
    )
    fields["facts"] = facts
    fields["grantee_canonical_id"] = grantee_canonical_id
    draft = draft_build(request_id=None, **fields)
    if draft.errors:
        raise ServiceError("The request has errors.", field_errors=draft.errors)
    if draft.mechanism == Mechanism.ACL and not grantee_canonical_id:
        raise ServiceError(
            "The request has errors.",
            field_errors={
                "mechanism": [
                    f"The portal could not look up the canonical user id of {source_account}, "
                    "which an ACL grant names."
                ]
            },
        )
    external_id = secrets.token_hex(16) if draft.third_party else ""
    access_request = AccessRequest.objects.create(
        requester=requester,
        source_account=source_account,
        target_account=target_account,
        source_principal=draft.source_principal,
        actions=draft.actions,
        resources=draft.resources,
        access_via=access_via,
        requested_mechanism=mechanism,
        mechanism=draft.mechanism,
        recommended_mechanism=draft.recommended_mechanism,
        recommendation_reasons=draft.recommendation_reasons,
        duration=duration,
        justification=justification.strip(),
        ticket=ticket.strip(),
        third_party=draft.third_party,
        external_id=external_id,
    )
    final = draft_build(request_id=access_request.pk, external_id=external_id, **fields)
    if final.errors:  # the same checks as above, with the request's number in the names
        raise ServiceError("The request has errors.", field_errors=final.errors)
    access_request.documents = final.documents
    access_request.documents_hash = policies.documents_hash(final.documents)
    access_request.save(update_fields=["documents", "documents_hash"])
    audit_record(
        actor=requester,
        verb="request.submitted",
        obj=access_request,
        access_request_id=access_request.pk,
        after={"status": access_request.status, "documents_hash": access_request.documents_hash},
        client_address=client_address,
    )
    return access_request


def _locked(access_request: AccessRequest) -> AccessRequest:
    return (
        AccessRequest.objects.select_for_update()
        .select_related("target_account", "source_account")
        .get(pk=access_request.pk)
    )


def _may_decide(locked: AccessRequest, approver: AbstractBaseUser) -> None:
    if locked.requester_id == approver.pk:
        raise ServiceError("You cannot decide on your own request.", kind=ServiceError.FORBIDDEN)
    if not user_approves_for(user=approver, account=locked.target_account):
        raise ServiceError(
            f"You are not an approver for {locked.target_account}.", kind=ServiceError.FORBIDDEN
        )
    if not locked.is_pending:
        raise ServiceError(
            f"This request is already {locked.get_status_display().lower()}.",
            kind=ServiceError.CONFLICT,
        )
    if locked.approvals.filter(approver=approver).exists():
        raise ServiceError("You have already voted on this request.", kind=ServiceError.CONFLICT)


def _vote(locked: AccessRequest, approver: AbstractBaseUser, decision: str, comment: str):
    if len(comment) > 2000:
        raise ServiceError("At most 2000 characters.", field_errors={"comment": ["Too long."]})
    try:
        with transaction.atomic():
            return Approval.objects.create(
                access_request=locked,
                approver=approver,
                decision=decision,
                comment=comment.strip(),
                documents_hash=locked.documents_hash,
            )
    except IntegrityError as error:
        raise ServiceError(
            "You have already voted on this request.", kind=ServiceError.CONFLICT
        ) from error


@transaction.atomic
def access_request_approve(
    *,
    access_request: AccessRequest,
    approver: AbstractBaseUser,
    comment: str = "",
    client_address: str | None = None,
) -> Approval:
    """One approval. When the account's quorum of approvals on the current documents is reached,
    the request is approved and provisioning is enqueued after the commit.

    The row lock serializes approvers: two clicking at once provision once."""
    locked = _locked(access_request)
    _may_decide(locked, approver)
    approval = _vote(locked, approver, Approval.Decision.APPROVE, comment)
    audit_record(
        actor=approver,
        verb="request.approval_given",
        obj=approval,
        access_request_id=locked.pk,
        after={"decision": approval.decision, "documents_hash": approval.documents_hash},
        client_address=client_address,
    )
    approvals = locked.approvals.filter(
        decision=Approval.Decision.APPROVE, documents_hash=locked.documents_hash
    ).count()
    if approvals >= locked.target_account.approvals_required:
        locked.status = AccessRequest.Status.APPROVED
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "decided_at", "updated_at"])
        grant = _grant_create(locked)
        audit_record(
            actor=approver,
            verb="request.approved",
            obj=locked,
            access_request_id=locked.pk,
            before={"status": AccessRequest.Status.PENDING},
            after={"status": locked.status, "grant": grant.pk, "approvals": approvals},
            client_address=client_address,
        )
        grant_provision_task.delay_on_commit(grant.pk)
    access_request.refresh_from_db()
    return approval


def _grant_create(access_request: AccessRequest) -> Grant:
    """The grant records the names of everything it will write, before anything is written."""
    names = policies.names_for(access_request.pk)
    documents = access_request.documents
    source_document = documents[policies.SOURCE_IDENTITY_POLICY]
    grant = Grant(
        access_request=access_request,
        source_role_name=source_document.get("role_name", ""),
        source_policy_name=names.policy_name if source_document["written_by_portal"] else "",
        external_id=access_request.external_id,
        max_session_duration=access_request.target_account.max_session_duration,
    )
    if access_request.mechanism == Mechanism.ASSUME_ROLE:
        grant.role_name = names.role_name
        grant.permission_policy_name = names.policy_name
    elif access_request.mechanism == Mechanism.RESOURCE_POLICY:
        grant.resource_statements = [
            {"holder": entry["holder"], "sid": entry["document"]["Sid"], "created_policy": None}
            for key, entry in documents.items()
            if key.startswith(RESOURCE_POLICY_PREFIX)
        ]
    else:
        grant.acl_grants = [
            {
                "bucket": entry["bucket"],
                "key": entry["key"],
                "grantee": entry["document"]["Grantee"]["ID"],
                "permission": permission,
                "writer_account": "",
            }
            for key, entry in documents.items()
            if key.startswith(ACL_PREFIX)
            for permission in entry["document"]["Permissions"]
        ]
    grant.save()
    return grant


@transaction.atomic
def access_request_reject(
    *,
    access_request: AccessRequest,
    approver: AbstractBaseUser,
    reason: str = "",
    client_address: str | None = None,
) -> Approval:
    """Any reject rejects the request."""
    locked = _locked(access_request)
    _may_decide(locked, approver)
    if not reason.strip():
        raise ServiceError(
            "Say why you reject the request.", field_errors={"reason": ["A reason is required."]}
        )
    approval = _vote(locked, approver, Approval.Decision.REJECT, reason)
    locked.status = AccessRequest.Status.REJECTED
    locked.decided_at = timezone.now()
    locked.save(update_fields=["status", "decided_at", "updated_at"])
    audit_record(
        actor=approver,
        verb="request.rejected",
        obj=locked,
        access_request_id=locked.pk,
        before={"status": AccessRequest.Status.PENDING},
        after={"status": locked.status, "reason": approval.comment},
        client_address=client_address,
    )
    access_request.refresh_from_db()
    return approval


@transaction.atomic
def access_request_cancel(
    *, access_request: AccessRequest, user: AbstractBaseUser, client_address: str | None = None
) -> AccessRequest:
    locked = _locked(access_request)
    if locked.requester_id != user.pk:
        raise ServiceError("Only the requester can cancel a request.", kind=ServiceError.FORBIDDEN)
    if not locked.is_pending:
        raise ServiceError(
            f"This request is already {locked.get_status_display().lower()}.",
            kind=ServiceError.CONFLICT,
        )
    locked.status = AccessRequest.Status.CANCELLED
    locked.decided_at = timezone.now()
    locked.save(update_fields=["status", "decided_at", "updated_at"])
    audit_record(
        actor=user,
        verb="request.cancelled",
        obj=locked,
        access_request_id=locked.pk,
        before={"status": AccessRequest.Status.PENDING},
        after={"status": locked.status},
        client_address=client_address,
    )
    access_request.refresh_from_db()
    return locked
