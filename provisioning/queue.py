"""Queueing the grant tasks, and queueing again what the broker lost."""

import logging
from datetime import timedelta

from celery import Task
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from provisioning.lifecycle import grant_lock
from provisioning.models import Grant, Lifecycle

logger = logging.getLogger(__name__)
Status = Lifecycle


# Marks a grant whose task the broker did not take; the requeue sweep queues it again.
QUEUE_ERROR = "The task queue did not take the task"


def _enqueue(task: Task, grant_id: int, *args: object) -> None:
    """Queue one grant task. Runs after the commit, so the change stands whatever happens here: a
    broker that does not answer (down, or frozen: its socket_timeout bounds the wait) is recorded on
    the grant, and `grants_requeue_stalled` queues the work again, instead of losing it."""
    try:
        task.delay(grant_id, *args)
    except Exception as error:
        logger.error("%s for grant %s not queued: %s", task.name, grant_id, error)
        Grant.objects.filter(pk=grant_id).update(
            last_error=f"{QUEUE_ERROR} ({type(error).__name__}); it is queued again automatically."
        )


def grant_provision_enqueue(grant_id: int) -> None:
    """Queue provisioning now; call it from `transaction.on_commit`. Never raises."""
    from provisioning.tasks import grant_provision_task  # the tasks import the services

    _enqueue(grant_provision_task, grant_id)


def grant_revoke_enqueue(grant_id: int) -> None:
    from provisioning.tasks import grant_revoke_task

    _enqueue(grant_revoke_task, grant_id)


def grant_revoke_again_enqueue(grant_id: int) -> None:
    """Queue the removal of what a grant wrote once more, for a writer that finished after a
    revoke or an expiry had started (services.grant_revoke's `again`)."""
    from provisioning.tasks import grant_revoke_task

    _enqueue(grant_revoke_task, grant_id, True)


def grants_revoke_enqueue(grant_ids: list[int], *, batch: int = 50) -> None:
    """Queue the revoke of many grants (the expiry sweep): a task for every `batch` of them, over
    one broker connection; 10,000 grants are 200 messages. Never raises: grants whose task the
    broker did not take are marked, as `_enqueue` marks them, and queued again by the requeue
    sweep one by one."""
    from provisioning.tasks import grants_revoke_batch_task

    queued = 0
    try:
        with grants_revoke_batch_task.app.producer_or_acquire() as producer:
            for start in range(0, len(grant_ids), batch):
                chunk = grant_ids[start : start + batch]
                grants_revoke_batch_task.apply_async((chunk,), producer=producer)
                queued += len(chunk)
    except Exception as error:
        left = grant_ids[queued:]
        logger.error("revoke of %s grants not queued: %s", len(left), error)
        Grant.objects.filter(pk__in=left).update(
            last_error=f"{QUEUE_ERROR} ({type(error).__name__}); it is queued again automatically."
        )


def grant_rollback_enqueue(grant_id: int, then_provision: bool = False) -> None:
    from provisioning.tasks import grant_rollback_task

    _enqueue(grant_rollback_task, grant_id, then_provision)


def grants_requeue_stalled(*, older_than: timedelta) -> int:
    """Queue again the provisioning or revoke of grants that have not moved for `older_than`:
    their task was lost (the broker refused it, or a Redis without persistence restarted) or is
    long overdue. The tasks are idempotent, so a second copy of a live task does no harm; a grant
    stopped on a recorded AWS error waits for a person's retry instead. `older_than` stays above
    the longest retry chain, so a grant that is merely retrying is left alone.

    A failed grant not yet rolled back has its rollback queued again, whatever stopped it: a failed
    rollback is retried every `older_than` until it is done."""
    now = timezone.now()
    moving = Q(
        access_request__status__in=[Status.APPROVED, Status.PROVISIONING, Status.REVOKING]
    ) & (Q(last_error="") | Q(last_error__startswith=QUEUE_ERROR))
    rolling_back = Q(access_request__status=Status.FAILED, rolled_back_at__isnull=True)
    stalled = Grant.objects.filter(
        moving | rolling_back, access_request__updated_at__lt=now - older_than
    ).values_list("pk", "access_request__status")
    requeued = 0
    for grant_id, status in stalled:
        with transaction.atomic():
            try:
                _grant, access_request = grant_lock(grant_id)
            except Grant.DoesNotExist:
                continue
            if access_request.status != status:
                continue  # it moved meanwhile
            # Touched, so the next sweep waits another `older_than` before queueing it again.
            access_request.save(update_fields=["updated_at"])
        logger.warning(
            "grant %s has been %s since before %s; queueing it again",
            grant_id,
            status,
            now - older_than,
        )
        if status == Status.REVOKING:
            grant_revoke_enqueue(grant_id)
        elif status == Status.FAILED:
            grant_rollback_enqueue(grant_id)
        else:
            grant_provision_enqueue(grant_id)
        requeued += 1
    return requeued
