"""Celery tasks of the API: the change counter's upkeep."""

from celery import shared_task

from api import changes


@shared_task(acks_late=True, reject_on_worker_lost=True)
def change_counter_fold_task() -> int:
    """The hourly fold (CELERY_BEAT_SCHEDULE) of the counter rows of ended database connections
    (api/changes.py); the count, and so every ETag, stays the same. Returns the rows left."""
    return changes.counter_fold()
