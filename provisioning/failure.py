"""A grant that fails for good: marked failed with the reason, and rolled back at once.

The rollback removes exactly what the grant recorded (the revoke's removal), records what it
removed, and is retried until it is done: by the task's backoff on AWS throttling and outages, by
the requeue sweep after any other error, and by a person's Retry (which rolls back first, then
provisions again). A failed grant is never left
assumable, and its expiry (set at approval) stands behind all of this.
"""

from functools import partial

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from notifications.services import notify
from provisioning import writers
from provisioning.lifecycle import REVOKED_OR_REVOKING, grant_lock, grant_read, request_move
from provisioning.models import ApprovedRequest, Grant, Lifecycle
from provisioning.queue import (
    grant_provision_enqueue,
    grant_revoke_again_enqueue,
    grant_rollback_enqueue,
)

Status = Lifecycle


def grant_provision_failed(*, grant_id: int, message: str) -> None:
    """Provisioning gave up: the grant shows `failed` with the reason, and whatever it had written
    is rolled back at once (it is never left assumable). A provisioning task that failed after
    another had already failed the grant rolls back again: it may have written meanwhile."""
    with transaction.atomic():
        grant, access_request = grant_lock(grant_id)
        grant.last_error = message[:4000]
        grant.save(update_fields=["last_error"])
        if access_request.status in (Status.PROVISIONING, Status.APPROVED):
            request_move(
                access_request, Status.FAILED, actor=None, verb="grant.failed", error=message
            )
            notify(event="grant.failed", access_request_id=access_request.pk)
        if access_request.status == Status.FAILED:
            grant_rollback_queue(grant)
        elif access_request.status in REVOKED_OR_REVOKING:
            # A revoke landed while it wrote, and may have finished before what it wrote: that is
            # removed again (a revoked grant is never failed, so no rollback would remove it).
            transaction.on_commit(partial(grant_revoke_again_enqueue, grant.pk))


def grant_rollback_queue(grant: Grant) -> None:
    """Queue the rollback of a failed grant (after the commit), forgetting any earlier one: what
    is in AWS now is what counts."""
    grant.rolled_back_at = None
    grant.rolled_back = []
    grant.removal_found = []
    grant.rollback_error = ""
    grant.save(update_fields=["rolled_back_at", "rolled_back", "removal_found", "rollback_error"])
    transaction.on_commit(partial(grant_rollback_enqueue, grant.pk))


def grant_rollback(*, grant_id: int, then_provision: bool = False) -> None:
    """Remove everything a failed grant wrote (the revoke's removal: exactly what the grant
    recorded, nothing else), and record what was removed; then, for a person's Retry, provision
    it again. Idempotent: nothing to remove unless the grant is failed and not yet rolled back.
    Grant.DoesNotExist when there is no such grant."""
    grant, approved = grant_read(grant_id)
    if approved.status != Status.FAILED:
        return
    removal = None if grant.rolled_back_at else writers.written_remove(grant, approved)

    with transaction.atomic():
        grant, access_request = grant_lock(grant_id)
        if access_request.status != Status.FAILED:
            return  # revoked, expired or retried meanwhile: that stands
        if removal is not None and grant.rolled_back_at is None:
            grant.rolled_back_at = timezone.now()
            grant.rolled_back = removal.removed
            grant.removal_found = removal.found
            grant.rollback_error = ""
            grant.save(
                update_fields=["rolled_back_at", "rolled_back", "removal_found", "rollback_error"]
            )
            audit_record(
                actor=None,
                verb="grant.rolled_back",
                obj=grant,
                access_request_id=access_request.pk,
                after={"removed": removal.removed, "found": removal.found},
            )
            if removal.found:
                notify(event="grant.revoke_found_changes", access_request_id=access_request.pk)
        if then_provision and grant.rolled_back_at is not None:
            _provision_again(grant, access_request, actor=None)


def grant_retry_failed(
    grant: Grant, access_request: ApprovedRequest, *, actor: User, client_address: str | None
) -> None:
    """A person's Retry of a failed grant (rows locked, inside the transaction): provisioned again
    at once when its rollback is done; otherwise rolled back first (now, whatever stopped the
    rollback before), then provisioned, so a rollback never removes what the retry writes."""
    if grant.rolled_back_at is not None:
        _provision_again(grant, access_request, actor=actor, client_address=client_address)
        return
    audit_record(
        actor=actor,
        verb="grant.retry_requested",
        obj=grant,
        access_request_id=access_request.pk,
        before={"rollback_error": grant.rollback_error},
        after={"rollback_first": True},
        client_address=client_address,
    )
    transaction.on_commit(partial(grant_rollback_enqueue, grant.pk, then_provision=True))


def _provision_again(
    grant: Grant,
    access_request: ApprovedRequest,
    *,
    actor: User | None,
    client_address: str | None = None,
) -> None:
    grant.rolled_back_at = None
    grant.rolled_back = []
    grant.removal_found = []
    grant.save(update_fields=["rolled_back_at", "rolled_back", "removal_found"])
    request_move(
        access_request,
        Status.APPROVED,
        actor=actor,
        verb="grant.retried",
        client_address=client_address,
    )
    transaction.on_commit(partial(grant_provision_enqueue, grant.pk))


def grant_rollback_failed(*, grant_id: int, message: str) -> None:
    """The rollback could not finish: recorded on the grant and shown on the dashboard; the
    requeue sweep tries again, and so does a person's Retry."""
    Grant.objects.filter(pk=grant_id, rolled_back_at__isnull=True).update(
        rollback_error=message[:4000]
    )
