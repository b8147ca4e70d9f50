"""Deciding on a request: approve, reject, the quorum rules, and what an approval starts."""

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from access_requests.models import AccessRequest, Approval
from access_requests.selectors import user_may_decide_for
from access_requests.services.extensions import extension_apply
from accounts.mfa import second_factor_enrolment_check
from accounts.rules import eligibility
from accounts.selectors import left_organization_refusal, user_approves_for
from audit.services import audit_record
from core.errors import ServiceError
from notifications.services import notify, slack_refresh
from provisioning.models import Grant
from provisioning.services import grant_create


def locked_request(access_request: AccessRequest) -> AccessRequest:
    return (
        AccessRequest.objects.select_for_update()
        .select_related("target_account", "source_account")
        .get(pk=access_request.pk)
    )


def request_decided(
    locked: AccessRequest,
    status: str,
    *,
    actor: User | None,
    verb: str,
    client_address: str | None,
    **after: object,
) -> None:
    """Move a pending request to its decision, and record who decided (same transaction); no
    actor when an access rule approved it."""
    locked.status = status
    locked.decided_at = timezone.now()
    locked.save(update_fields=["status", "decided_at", "updated_at"])
    audit_record(
        actor=actor,
        verb=verb,
        obj=locked,
        access_request_id=locked.pk,
        before={"status": AccessRequest.Status.PENDING},
        after={"status": status, **after},
        client_address=client_address,
    )


def _may_decide(locked: AccessRequest, approver: User) -> None:
    if locked.requester_id == approver.pk:
        raise ServiceError("You cannot decide on your own request.", kind=ServiceError.FORBIDDEN)
    if not user_may_decide_for(user=approver, access_request=locked):
        raise ServiceError(
            f"You are not an approver for {locked.target_account}.", kind=ServiceError.FORBIDDEN
        )
    second_factor_enrolment_check(approver)
    if not locked.is_pending:
        raise ServiceError(
            f"This request is already {locked.get_status_display().lower()}.",
            kind=ServiceError.CONFLICT,
        )
    if locked.approvals.filter(approver=approver, documents_hash=locked.documents_hash).exists():
        raise ServiceError("You have already voted on this request.", kind=ServiceError.CONFLICT)


def decision_check(*, access_request: AccessRequest, approver: User) -> None:
    """Whether `approver` may decide on the request now (ServiceError if not), without deciding:
    Slack's Reject asks before it opens the modal for the reason. The decision itself checks
    again, under the row lock."""
    _may_decide(access_request, approver)


def _hash_check(locked: AccessRequest, documents_hash: str | None) -> None:
    if documents_hash is not None and documents_hash != locked.documents_hash:
        raise ServiceError(
            "The request has changed since you opened it: look at it again before you decide.",
            kind=ServiceError.CONFLICT,
        )


def _rules_still_allow(locked: AccessRequest) -> None:
    """What submit checked is checked again when an approval lands, on the request as it waits:
    the accounts are still the organization's, the access rules still let the requester ask for
    it (they may have left the group, or the rule been narrowed or removed, meanwhile), and the
    account still allows that long. For an extension, as when it was asked for: the whole time
    from now to the new expiry, under the rules the grant went under (break-glass or not).
    Rejecting stays possible."""
    for account in (locked.target_account, locked.source_account):
        if refusal := left_organization_refusal(account):
            raise ServiceError(f"{refusal} Reject the request.", kind=ServiceError.CONFLICT)
    duration, break_glass = locked.duration, locked.break_glass
    if locked.extends_id is not None:
        grant = Grant.objects.select_related("access_request").get(pk=locked.extends_id)
        if grant.expires_at is not None:  # else grant_extend refuses: it never went active
            duration += max(int((grant.expires_at - timezone.now()).total_seconds()), 0)
        break_glass = grant.access_request.break_glass
    maximum = locked.target_account.max_access_duration
    if duration > maximum:
        raise ServiceError(
            f"{locked.target_account.name} now allows access for at most {maximum // 3600} hours "
            "from now; this would be longer. Reject the request.",
            kind=ServiceError.CONFLICT,
        )
    found = eligibility(
        user=locked.requester,
        account=locked.target_account,
        actions=locked.actions,
        duration=duration,
        break_glass=break_glass,
    )
    if found.checked and (found.rule is None or not found.eligible):
        why = found.forbidden or " ".join(m for messages in found.errors.values() for m in messages)
        raise ServiceError(
            f"The access rules no longer let {locked.requester.get_username()} have this: {why} "
            "Reject the request.",
            kind=ServiceError.CONFLICT,
        )


# Stand-ins for an approval the rules ask for and nobody has given yet (never a user's id).
_NO_SOURCE_VOTE, _NO_ADMIN_VOTE = -1, -2


def _listed(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def quorum(locked: AccessRequest) -> tuple[bool, str]:
    """Whether the approvals on the current documents reach the account's rules, and what is
    missing: N approvers of the target account; with two-party approval one more approver of
    the source account; for a privilege escalation one more platform admin. Each person fills
    one place: the source account's and the admin's approvals come on top of the N."""
    # Votes of people who have left (deactivated) count no more, as those of people who left the
    # approver group do not (user_approves_for is asked now, not when they voted).
    voters = list(
        locked.approvals.filter(
            decision=Approval.Decision.APPROVE,
            documents_hash=locked.documents_hash,
            approver__is_active=True,
        ).select_related("approver")
    )
    target, source = locked.target_account, locked.source_account
    target_voters = {
        a.approver_id for a in voters if user_approves_for(user=a.approver, account=target)
    }
    source_places: list[int | None] = [None]
    if source.source_approval_required:
        source_voters = {
            a.approver_id for a in voters if user_approves_for(user=a.approver, account=source)
        }
        source_places = [*sorted(source_voters), _NO_SOURCE_VOTE]
    admin_places: list[int | None] = [None]
    if locked.privilege_escalation:
        admins = {a.approver_id for a in voters if a.approver.is_superuser}
        admin_places = [*sorted(admins), _NO_ADMIN_VOTE]
    needed = target.approvals_required
    best: tuple[int, bool, bool, bool] | None = None
    for source_voter in source_places:
        for admin in admin_places:
            if source_voter is not None and source_voter == admin:
                continue
            others = target_voters - {source_voter, admin}
            missing = max(0, needed - len(others))
            shared = len(others) < len(target_voters)
            gaps = (missing, source_voter == _NO_SOURCE_VOTE, admin == _NO_ADMIN_VOTE, shared)
            if best is None or sum(gaps[:3]) < sum(best[:3]):
                best = gaps
    if best is None:  # never: the stand-ins always make one assignment
        raise ValueError("no assignment of approvals")
    missing, no_source, no_admin, shared = best
    parts = []
    if missing:
        counted_once = " (one person's approval counts once)" if shared else ""
        parts.append(
            f"{missing} more approval{'s' if missing != 1 else ''} of {target.name}{counted_once}"
        )
    if no_source:
        parts.append(f"an approval of {source.name} (two-party approval)")
    if no_admin:
        parts.append("an approval of a platform admin (privilege escalation)")
    return not parts, _listed(parts) if parts else ""


def _vote(locked: AccessRequest, approver: User, decision: str, comment: str):
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
    approver: User,
    comment: str = "",
    documents_hash: str | None = None,
    client_address: str | None = None,
) -> Approval:
    """One approval. When the account's quorum of approvals on the current documents is reached,
    the request is approved and provisioning is enqueued after the commit.

    `documents_hash` is the hash of what the approver was shown (the pages always send it): when
    the request has changed since, nothing is recorded and the approver is told to look again.
    The row lock serializes approvers: two clicking at once provision once."""
    locked = locked_request(access_request)
    _may_decide(locked, approver)
    _hash_check(locked, documents_hash)
    _rules_still_allow(locked)
    approval = _vote(locked, approver, Approval.Decision.APPROVE, comment)
    slack_refresh(access_request_id=locked.pk)
    audit_record(
        actor=approver,
        verb="request.approval_given",
        obj=approval,
        access_request_id=locked.pk,
        after={"decision": approval.decision, "documents_hash": approval.documents_hash},
        client_address=client_address,
    )
    reached, _missing = quorum(locked)
    approvals = locked.approvals.filter(
        decision=Approval.Decision.APPROVE, documents_hash=locked.documents_hash
    ).count()
    if reached and locked.extends_id:
        extension_apply(locked, approver=approver, client_address=client_address)
    elif reached:
        # Provisioning is queued after the commit; a broker that does not answer leaves the
        # approval standing, the failure recorded on the grant, and grants_requeue_task queues it
        # again.
        grant = grant_create(access_request=locked)
        request_decided(
            locked,
            AccessRequest.Status.APPROVED,
            actor=approver,
            verb="request.approved",
            client_address=client_address,
            grant=grant.pk,
            approvals=approvals,
        )
        notify(event="request.approved", access_request_id=locked.pk)
    access_request.refresh_from_db()
    return approval


@transaction.atomic
def access_request_reject(
    *,
    access_request: AccessRequest,
    approver: User,
    reason: str = "",
    documents_hash: str | None = None,
    client_address: str | None = None,
) -> Approval:
    """Any reject rejects the request. `documents_hash`, when given, is the hash of what the
    approver was shown, as for an approval."""
    locked = locked_request(access_request)
    _may_decide(locked, approver)
    _hash_check(locked, documents_hash)
    if not reason.strip():
        raise ServiceError(
            "Say why you reject the request.", field_errors={"reason": ["A reason is required."]}
        )
    approval = _vote(locked, approver, Approval.Decision.REJECT, reason)
    request_decided(
        locked,
        AccessRequest.Status.REJECTED,
        actor=approver,
        verb="request.rejected",
        client_address=client_address,
        reason=approval.comment,
    )
    rejected = "extension.rejected" if locked.extends_id else "request.rejected"
    notify(event=rejected, access_request_id=locked.pk)
    access_request.refresh_from_db()
    return approval
