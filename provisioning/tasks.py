"""Celery tasks: take ids, call one service, retry AWS throttling and outages with backoff."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from core import metrics
from core.errors import ExternalError
from core.retry import retry_if_transient
from provisioning import expiry, failure, queue, services
from provisioning.models import Grant

logger = logging.getLogger(__name__)

MAX_RETRIES = 8


def _vanished(grant_id: int, doing: str) -> None:
    """A task for a grant that is not in the database (its transaction rolled back after all, or
    it was deleted) does nothing, and says so. The services' first statement reads the grant and
    raises Grant.DoesNotExist: no separate look whether it exists."""
    logger.warning("%s grant %s: there is no such grant; nothing to do", doing, grant_id)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def grant_provision_task(self, grant_id: int) -> None:
    try:
        services.grant_provision(grant_id=grant_id)
    except Grant.DoesNotExist:
        _vanished(grant_id, "provisioning")
    except ExternalError as error:
        logger.warning("provisioning grant %s: %s", grant_id, error)
        retry_if_transient(self, error)
        metrics.task_failed(self.name)
        failure.grant_provision_failed(grant_id=grant_id, message=str(error))
    except Exception:
        logger.exception("provisioning grant %s failed", grant_id)
        metrics.task_failed(self.name)
        failure.grant_provision_failed(
            grant_id=grant_id, message="Internal error while provisioning; see the worker log."
        )


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def grant_rollback_task(self, grant_id: int, then_provision: bool = False) -> None:
    try:
        failure.grant_rollback(grant_id=grant_id, then_provision=then_provision)
    except Grant.DoesNotExist:
        _vanished(grant_id, "rolling back")
    except ExternalError as error:
        logger.warning("rolling back grant %s: %s", grant_id, error)
        retry_if_transient(self, error)
        metrics.task_failed(self.name)
        failure.grant_rollback_failed(grant_id=grant_id, message=str(error))
    except Exception:
        logger.exception("rolling back grant %s failed", grant_id)
        metrics.task_failed(self.name)
        failure.grant_rollback_failed(
            grant_id=grant_id, message="Internal error while rolling back; see the worker log."
        )


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def grant_revoke_task(self, grant_id: int, again: bool = False) -> None:
    try:
        services.grant_revoke(grant_id=grant_id, again=again)
    except Grant.DoesNotExist:
        _vanished(grant_id, "revoking")
    except ExternalError as error:
        logger.warning("revoking grant %s: %s", grant_id, error)
        retry_if_transient(self, error)
        metrics.task_failed(self.name)
        services.grant_error_record(grant_id=grant_id, message=str(error))
    except Exception:
        logger.exception("revoking grant %s failed", grant_id)
        metrics.task_failed(self.name)
        services.grant_error_record(
            grant_id=grant_id, message="Internal error while revoking; see the worker log."
        )


@shared_task(acks_late=True, reject_on_worker_lost=True)
def grants_revoke_batch_task(grant_ids: list[int]) -> None:
    """The revokes of an expiry sweep's chunk, one after the other. A grant that fails here is
    handed to its own `grant_revoke_task` (with its retries and backoff); a redelivered batch
    redoes harmlessly what it had done (a revoke of a grant no longer revoking does nothing)."""
    for grant_id in grant_ids:
        try:
            services.grant_revoke(grant_id=grant_id)
        except Grant.DoesNotExist:
            _vanished(grant_id, "revoking")
        except Exception as error:
            logger.warning("revoking grant %s in a batch: %s; queued on its own", grant_id, error)
            grant_revoke_task.delay(grant_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def grants_expire_task() -> int:
    return expiry.grants_expire()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def grants_requeue_task() -> int:
    return queue.grants_requeue_stalled(
        older_than=timedelta(seconds=settings.PORTAL_TASK_REQUEUE_AFTER)
    )


@shared_task(acks_late=True, reject_on_worker_lost=True)
def grants_expiry_notice_task() -> int:
    return expiry.grants_expiry_notify()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def grants_drift_check_task() -> int:
    from provisioning.drift import grants_drift_check

    return grants_drift_check()


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def grant_drift_check_task(self, grant_id: int) -> None:
    from provisioning.drift import grant_drift_check

    try:
        grant_drift_check(grant_id=grant_id)
    except ExternalError as error:
        retry_if_transient(self, error)
        metrics.task_failed(self.name)
        logger.warning("drift check of grant %s: %s", grant_id, error)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def grant_reapply_task(self, grant_id: int) -> None:
    from provisioning.drift import grant_reapply

    try:
        grant_reapply(grant_id=grant_id)
    except Grant.DoesNotExist:
        _vanished(grant_id, "re-applying")
    except ExternalError as error:
        retry_if_transient(self, error)
        metrics.task_failed(self.name)
        services.grant_error_record(grant_id=grant_id, message=f"Re-applying: {error}")


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def scps_sync_task(self) -> int | None:
    from provisioning.organizations import scps_sync

    try:
        return scps_sync()
    except ExternalError as error:
        retry_if_transient(self, error)
        logger.warning("syncing SCPs from AWS Organizations: %s", error)
        return None


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def organization_sync_task(self) -> dict[str, int] | None:
    """The hourly accounts sync (CELERY_BEAT_SCHEDULE) and the admins' on-demand one: accounts
    from AWS Organizations when configured, then every managed account's readiness."""
    from provisioning.organizations import accounts_readiness_check, accounts_sync

    try:
        counts = accounts_sync()
    except ExternalError as error:
        retry_if_transient(self, error)
        logger.warning("syncing accounts from AWS Organizations: %s", error)
        counts = None
    ready = accounts_readiness_check()
    return {**(counts or {}), "ready": ready}
