"""Celery tasks of the resource inventory: take ids, call the service, retry AWS outages."""

import logging

from celery import shared_task
from celery.contrib.django.task import DjangoTask

from accounts import inventory
from core.retry import retry_later

logger = logging.getLogger(__name__)

MAX_RETRIES = 3


# DjangoTask, Celery's default task class under Django, named so that delay_on_commit type-checks.
@shared_task(
    bind=True,
    base=DjangoTask,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
)
def inventory_sync_task(self, account_id: int) -> dict | None:
    """Sync one account's inventory; a failure is recorded on the account, never raised."""
    try:
        result = inventory.inventory_sync(account_id=account_id)
    except Exception:
        logger.exception("inventory sync of account %s failed", account_id)
        inventory.inventory_sync_error(
            account_id=account_id, message="Internal error while listing; see the worker log."
        )
        return None
    if result.retryable:
        retry_later(self)
    return {"added": result.added, "removed": result.removed, "error": result.error}


@shared_task(acks_late=True, reject_on_worker_lost=True)
def inventories_sync_task() -> int:
    """The periodic sync (CELERY_BEAT_SCHEDULE): one task per managed account."""
    return inventory.inventories_sync_queue()
