"""Every write to grants: provision, verify, revoke, expire, retry.

The worker calls `grant_provision` and `grant_revoke`; they are idempotent (deterministic names,
upserts, deletes that accept "already gone") so a redelivered task redoes its work harmlessly.
No database transaction is held across AWS calls: status moves under a short row lock, so a revoke
that lands while AWS is being written wins, and the provisioning task then cleans up after itself.
"""

import logging
import time
from datetime import timedelta
from functools import partial

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

import aws
from audit.services import audit_record
from core import metrics
from core.errors import ServiceError
from notifications.services import notify
from policy import builders
from provisioning import failure, writers
from provisioning.lifecycle import REVOKED_OR_REVOKING, grant_lock, grant_read, request_move
from provisioning.models import ApprovedRequest, Grant, Lifecycle, Mechanism
from provisioning.queue import (
    grant_provision_enqueue,
    grant_revoke_again_enqueue,
    grant_revoke_enqueue,
)
from provisioning.selectors import user_may_manage
from provisioning.simulation import simulate_written
from provisioning.writers import writer_for

logger = logging.getLogger(__name__)
Status = Lifecycle
# Every state in which a grant may have written something to AWS or may still write: a revoke
# reaches each. An approved grant's provisioning task, should it run afterwards, finds the grant
# revoking and writes nothing; one that is writing sees the revoke when it finishes and queues
# the removal again.
REVOCABLE = (Status.APPROVED, Status.PROVISIONING, Status.ACTIVE, Status.FAILED)


def _begin_provisioning(grant_id: int) -> tuple[Grant, ApprovedRequest] | None:
    """Move the request to provisioning and count the attempt; the locked rows, to write from,
    or None when there is nothing to provision (any more)."""
    with transaction.atomic():
        grant, access_request = grant_lock(grant_id)
        if access_request.status == Status.APPROVED:
            request_move(access_request, Status.PROVISIONING, actor=None, verb="grant.provisioning")
        elif access_request.status != Status.PROVISIONING:
            if grant.attempts and access_request.status in REVOKED_OR_REVOKING:
                # A retry after a revoke: the attempt before it may have written after the removal.
                transaction.on_commit(partial(grant_revoke_again_enqueue, grant_id))
            return None
        grant.attempts += 1
        grant.save(update_fields=["attempts"])
        return grant, access_request


# What provisioning records on the grant once AWS holds what was approved.
_VERIFIED_FIELDS = ["role_arn", "written", "verification", "verified_at", "last_error"]


def grant_provision(*, grant_id: int) -> None:
    """Write what the mechanism needs and the source-side identity policy, read it back, and mark
    the grant active only if AWS holds exactly what was approved. Grant.DoesNotExist when there
    is no such grant."""
    started = time.monotonic()
    begun = _begin_provisioning(grant_id)
    if begun is None:
        return
    # The rows as locked and updated a moment ago: reading them again would find the same.
    grant, access_request = begun
    written = writer_for(access_request.mechanism).write(grant, access_request)
    source_written = writers.source.write(grant, access_request)
    if source_written is not None:
        written[builders.SOURCE_IDENTITY_POLICY] = source_written
    verdict = simulate_written(access_request=access_request, written=written)
    if verdict["decision"] != "Allowed":
        raise aws.AwsError(
            "Read back from AWS, the grant would not work: "
            + "; ".join(c["explanation"] for c in verdict["checks"] if c["decision"] != "Allowed")
        )

    with transaction.atomic():
        grant, access_request = grant_lock(grant_id)
        now = timezone.now()
        grant.role_arn = written.get("role_arn", "")
        grant.written = written
        grant.verification = {
            "checked": sorted(k for k in written if "policy" in k or ":" in k),
            "simulation": verdict,
        }
        grant.verified_at = now
        if access_request.status == Status.FAILED:
            # Another copy of this task failed the grant, and its rollback may have run before
            # these writes: roll back again, keeping the reason it failed.
            grant.save(update_fields=[f for f in _VERIFIED_FIELDS if f != "last_error"])
            failure.grant_rollback_queue(grant)
            return
        grant.last_error = ""
        if access_request.status != Status.PROVISIONING:
            # A revoke landed while AWS was being written: it may have run before these writes,
            # and even finished (the grant revoked, or expired, with nothing to remove yet).
            grant.save(update_fields=_VERIFIED_FIELDS)
            if access_request.status in REVOKED_OR_REVOKING:
                transaction.on_commit(partial(grant_revoke_again_enqueue, grant_id))
            return
        grant.activated_at = now
        if grant.expires_at is None:  # a grant approved before grants had their expiry then
            grant.expires_at = now + timedelta(seconds=access_request.duration)
        grant.save(update_fields=[*_VERIFIED_FIELDS, "activated_at", "expires_at"])
        request_move(
            access_request,
            Status.ACTIVE,
            actor=None,
            verb="grant.activated",
            expires_at=grant.expires_at.isoformat(),
        )
        notify(event="grant.activated", access_request_id=access_request.pk)
        mechanism, seconds = access_request.mechanism, time.monotonic() - started
        logger.info("grant %s active (%s), provisioned in %.2f s", grant_id, mechanism, seconds)
        transaction.on_commit(
            lambda: metrics.PROVISIONING_SECONDS.labels(mechanism=mechanism).observe(seconds)
        )


def grant_create(*, access_request: ApprovedRequest) -> Grant:
    """The grant of an approved request, recording the names of everything it will write before
    anything is written, and its expiry (from the approval); its provisioning is queued after the
    commit (call it inside the approval's transaction)."""
    names = builders.names_for(access_request.pk)
    documents = access_request.documents
    source_document = documents[builders.SOURCE_IDENTITY_POLICY]
    grant = Grant(
        access_request_id=access_request.pk,
        source_role_name=source_document.get("role_name", ""),
        source_policy_name=names.policy_name if source_document["written_by_portal"] else "",
        external_id=access_request.external_id,
        max_session_duration=access_request.target_account.max_session_duration,
        # Bounded from the approval on: whatever happens to provisioning (a backlog, a failure
        # after writing), the grant ends by then.
        expires_at=timezone.now() + timedelta(seconds=access_request.duration),
    )
    if access_request.mechanism == Mechanism.ASSUME_ROLE:
        grant.role_name = names.role_name
        grant.permission_policy_name = names.policy_name
    elif access_request.mechanism == Mechanism.RESOURCE_POLICY:
        grant.resource_statements = [
            {"holder": entry["holder"], "sid": entry["document"]["Sid"], "created_policy": None}
            for key, entry in documents.items()
            if key.startswith(builders.RESOURCE_POLICY_PREFIX)
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
            if key.startswith(builders.ACL_PREFIX)
            for permission in entry["document"]["Permissions"]
        ]
    grant.save()
    transaction.on_commit(partial(grant_provision_enqueue, grant.pk))
    return grant


def grant_extend(
    *,
    grant_id: int,
    seconds: int,
    actor: User,
    extension_id: int,
    client_address: str | None = None,
) -> Grant:
    """An approved extension: the active grant expires `seconds` later (counted from now if its
    expiry has passed), and is warned again before the new expiry. Nothing in AWS changes. Call it
    inside the approval's transaction."""
    grant, access_request = grant_lock(grant_id)
    if access_request.status != Status.ACTIVE:
        state = access_request.get_status_display().lower()
        raise ServiceError(
            f"The grant is {state}: there is nothing to extend.", kind=ServiceError.CONFLICT
        )
    before = grant.expiry
    grant.expires_at = max(before, timezone.now()) + timedelta(seconds=seconds)
    grant.expiry_notice_at = None
    grant.save(update_fields=["expires_at", "expiry_notice_at"])
    audit_record(
        actor=actor,
        verb="grant.extended",
        obj=grant,
        access_request_id=access_request.pk,
        before={"expires_at": before.isoformat()},
        after={"expires_at": grant.expiry.isoformat(), "extension": extension_id},
        client_address=client_address,
    )
    return grant


def grant_retry(*, grant: Grant, user: User, client_address: str | None = None) -> None:
    """Try a failed provisioning again (rolled back first), or a revoke that stopped on an
    error."""
    with transaction.atomic():
        grant, access_request = grant_lock(grant.pk)
        if not user_may_manage(user=user, access_request=access_request):
            raise ServiceError("You cannot retry this grant.", kind=ServiceError.FORBIDDEN)
        grant_id = grant.pk
        if access_request.status == Status.FAILED:
            failure.grant_retry_failed(
                grant, access_request, actor=user, client_address=client_address
            )
        elif access_request.status == Status.REVOKING and grant.last_error:
            audit_record(
                actor=user,
                verb="grant.revoke_retried",
                obj=grant,
                access_request_id=access_request.pk,
                before={"last_error": grant.last_error},
                client_address=client_address,
            )
            transaction.on_commit(lambda: grant_revoke_enqueue(grant_id))
        else:
            raise ServiceError("There is nothing to retry.", kind=ServiceError.CONFLICT)


def grant_revoke_request(
    *, grant: Grant, user: User | None, client_address: str | None = None
) -> None:
    """Revoke now (requester, an approver of the target account, or an admin)."""
    revoke_start(
        grant_id=grant.pk,
        user=user,
        end_status=Grant.EndStatus.REVOKED,
        client_address=client_address,
    )


def revoke_start(*, grant_id: int, user: User | None, end_status: str, client_address=None) -> bool:
    with transaction.atomic():
        grant, access_request = grant_lock(grant_id)
        if user is not None and not user_may_manage(user=user, access_request=access_request):
            raise ServiceError("You cannot revoke this grant.", kind=ServiceError.FORBIDDEN)
        if access_request.status not in REVOCABLE:
            if user is None:
                return False
            raise ServiceError(
                f"This grant is {access_request.get_status_display().lower()}.",
                kind=ServiceError.CONFLICT,
            )
        grant.end_status = end_status
        grant.save(update_fields=["end_status"])
        verb = "grant.expiry_started" if end_status == Grant.EndStatus.EXPIRED else "grant.revoking"
        request_move(
            access_request, Status.REVOKING, actor=user, verb=verb, client_address=client_address
        )
        transaction.on_commit(lambda: grant_revoke_enqueue(grant_id))
        return True


def grant_revoke(*, grant_id: int, again: bool = False) -> None:
    """Remove what the grant wrote, on both accounts, whatever was changed around it meanwhile;
    what was found beyond what the portal wrote is recorded and the approvers are told.

    `again`: a writer (provisioning, re-apply) finished after the revoke had started, and may
    have written after its removal: a grant still revoking is revoked as usual, and one whose
    revoke has finished has what it wrote removed once more."""
    grant, approved = grant_read(grant_id)
    if again and approved.status in (Status.REVOKED, Status.EXPIRED):
        _remove_again(grant, approved)
        return
    if approved.status != Status.REVOKING:
        return
    removal = writers.written_remove(grant, approved)

    with transaction.atomic():
        grant, access_request = grant_lock(grant_id)
        if access_request.status != Status.REVOKING:
            return
        grant.ended_at = timezone.now()
        grant.last_error = ""
        grant.removal_found = removal.found
        grant.save(update_fields=["ended_at", "last_error", "removal_found"])
        final = Status.EXPIRED if grant.end_status == Grant.EndStatus.EXPIRED else Status.REVOKED
        request_move(
            access_request,
            final,
            actor=None,
            verb=f"grant.{final}",
            removed=removal.removed,
            found=removal.found,
        )
        notify(event=f"grant.{final}", access_request_id=access_request.pk)
        if removal.found:
            notify(event="grant.revoke_found_changes", access_request_id=access_request.pk)


def _remove_again(grant: Grant, approved: ApprovedRequest) -> None:
    removal = writers.written_remove(grant, approved)
    if removal.removed or removal.found:
        with transaction.atomic():
            audit_record(
                actor=None,
                verb="grant.removed_again",
                obj=grant,
                access_request_id=approved.pk,
                after={"removed": removal.removed, "found": removal.found},
            )


def grant_error_record(*, grant_id: int, message: str) -> None:
    """A revoke or re-apply could not finish: the grant keeps its status and shows the reason."""
    Grant.objects.filter(pk=grant_id).update(last_error=message[:4000])


def bulk_revoke_check(*, admin: User) -> None:
    """Only platform admins revoke in bulk (ServiceError otherwise)."""
    if not admin.is_superuser:
        raise ServiceError("Only platform admins revoke in bulk.", kind=ServiceError.FORBIDDEN)


def grants_revoke_all(
    *,
    admin: User,
    requester: User | None = None,
    account_id: str = "",
    client_address: str | None = None,
) -> list[int]:
    """Emergency revoke: every grant of one user, or every grant into or out of one account, in
    every state that may have written or may still write, across mechanisms. Admins only. Returns
    the grants now being revoked."""
    bulk_revoke_check(admin=admin)
    if (requester is None) == (not account_id):
        raise ServiceError("Name either a user or an account.")
    grants = Grant.objects.filter(access_request__status__in=REVOCABLE)
    if requester is not None:
        grants = grants.filter(access_request__requester=requester)
    else:
        grants = grants.filter(
            Q(access_request__target_account__account_id=account_id)
            | Q(access_request__source_account__account_id=account_id)
        )
    started = _grants_revoke_each(grants, actor=admin, client_address=client_address)
    with transaction.atomic():
        audit_record(
            actor=admin,
            verb="grants.emergency_revoked",
            obj=requester if requester is not None else admin,
            after={
                "account": account_id,
                "user": getattr(requester, "username", ""),
                "grants": started,
            },
            client_address=client_address,
        )
    return started


def grants_revoke_of(
    *, requester: User, actor: User | None, client_address: str | None = None
) -> list[int]:
    """Every grant of `requester` in every state that may have written or may still write, revoked
    as a normal revoke is (a leaver's). The caller has decided that `actor` may (a platform admin),
    or it is None for a machine such as an identity provider's SCIM client. Returns the grants
    now being revoked; the caller records why."""
    grants = Grant.objects.filter(
        access_request__status__in=REVOCABLE, access_request__requester=requester
    )
    return _grants_revoke_each(grants, actor=actor, client_address=client_address)


def _grants_revoke_each(
    grants: QuerySet[Grant], *, actor: User | None, client_address: str | None
) -> list[int]:
    """Start the revoke of each grant, one short transaction each (AWS is written by the worker);
    the ids of those started. One that ended meanwhile is skipped."""
    started = []
    for grant_id in grants.order_by("pk").values_list("pk", flat=True):
        try:
            moved = revoke_start(
                grant_id=grant_id,
                user=actor,
                end_status=Grant.EndStatus.REVOKED,
                client_address=client_address,
            )
        except ServiceError:
            continue  # ended meanwhile
        if moved:
            started.append(grant_id)
    return started
