"""Drift: what the portal wrote, changed outside the portal. A periodic task re-reads every active
grant; a difference marks the grant drifted, shows it, and offers re-apply or revoke."""

import logging
from functools import partial

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from core.errors import ServiceError
from notifications.services import notify
from provisioning import writers
from provisioning.lifecycle import grant_lock
from provisioning.models import Grant, Lifecycle, Mechanism
from provisioning.queue import grant_revoke_again_enqueue
from provisioning.selectors import user_may_manage
from provisioning.writers import role, writer_for

logger = logging.getLogger(__name__)
Status = Lifecycle


def _grant(grant_id: int) -> Grant:
    return Grant.objects.select_related(
        "access_request__source_account",
        "access_request__target_account",
        "access_request__requester",
    ).get(pk=grant_id)


def grant_drift_check(*, grant_id: int) -> list[dict]:
    """Compare AWS with the approved documents; record and audit a change of drift state."""
    grant = _grant(grant_id)
    access_request = grant.access_request
    if access_request.status != Status.ACTIVE:
        return []
    differences = writer_for(access_request.mechanism).drift(grant, access_request)
    differences += writers.source.drift(grant, access_request)
    drift_record(grant_id=grant_id, access_request_id=access_request.pk, differences=differences)
    return differences


def drift_record(*, grant_id: int, access_request_id: int, differences: list[dict]) -> None:
    """Keep what a check found; a change of drift state is audited (and a new drift told)."""
    with transaction.atomic():
        locked = Grant.objects.select_for_update().get(pk=grant_id)
        now = timezone.now()
        was_drifted = locked.drifted_at is not None
        locked.drift_checked_at = now
        locked.drift = differences
        if differences and not was_drifted:
            locked.drifted_at = now
            audit_record(
                actor=None,
                verb="grant.drifted",
                obj=locked,
                access_request_id=access_request_id,
                after={"differences": [d["what"] for d in differences]},
            )
            notify(event="grant.drifted", access_request_id=access_request_id)
        elif not differences and was_drifted:
            locked.drifted_at = None
            audit_record(
                actor=None,
                verb="grant.drift_cleared",
                obj=locked,
                access_request_id=access_request_id,
            )
        locked.save(update_fields=["drift", "drifted_at", "drift_checked_at"])


def grants_drift_check() -> int:
    """Check every active grant: the assume-role grants in one sweep that reads each account's
    roles in a few calls (provisioning.drift_sweep), the others by a task each. Returns how many
    grants were checked or queued."""
    from provisioning.drift_sweep import assume_role_grants_sweep
    from provisioning.tasks import grant_drift_check_task

    swept = assume_role_grants_sweep()
    ids = list(
        Grant.objects.filter(access_request__status=Status.ACTIVE)
        .exclude(access_request__mechanism=Mechanism.ASSUME_ROLE)
        .values_list("pk", flat=True)
    )
    for grant_id in ids:
        grant_drift_check_task.delay(grant_id)
    return swept.grants + len(ids)


def grant_reapply_request(*, grant: Grant, user: User, client_address: str | None = None) -> None:
    with transaction.atomic():
        locked = (
            Grant.objects.select_for_update()
            .select_related("access_request__target_account")
            .get(pk=grant.pk)
        )
        access_request = locked.access_request
        if not user_may_manage(user=user, access_request=access_request):
            raise ServiceError("You cannot re-apply this grant.", kind=ServiceError.FORBIDDEN)
        if access_request.status != Status.ACTIVE or locked.drifted_at is None:
            raise ServiceError(
                "Only a drifted active grant can be re-applied.", kind=ServiceError.CONFLICT
            )
        audit_record(
            actor=user,
            verb="grant.reapply_requested",
            obj=locked,
            access_request_id=access_request.pk,
            client_address=client_address,
        )
        grant_id = locked.pk
        transaction.on_commit(lambda: _enqueue_reapply(grant_id))


def grant_reapply(*, grant_id: int) -> None:
    """Write the approved documents again (the writers are idempotent), then check once more."""
    grant = _grant(grant_id)
    access_request = grant.access_request
    if access_request.status != Status.ACTIVE:
        return
    removed = []
    if access_request.mechanism == Mechanism.ASSUME_ROLE:
        # Before the write, which leaves nothing but the approved policy on the role: what it
        # took off is recorded here.
        removed = role.extra_policies_remove(grant, access_request)
    writer_for(access_request.mechanism).write(grant, access_request)
    writers.source.write(grant, access_request)
    with transaction.atomic():
        _locked, now = grant_lock(grant_id)
        if now.status != Status.ACTIVE:
            # A revoke or an expiry landed while AWS was being written, and may have removed
            # everything before these writes: what the grant wrote is removed once more.
            transaction.on_commit(partial(grant_revoke_again_enqueue, grant_id))
            return
        audit_record(
            actor=None,
            verb="grant.reapplied",
            obj=grant,
            access_request_id=access_request.pk,
            after={"removed_extra_policies": removed},
        )
    grant_drift_check(grant_id=grant_id)


def _enqueue_reapply(grant_id: int) -> None:
    from provisioning.tasks import grant_reapply_task

    grant_reapply_task.delay(grant_id)
