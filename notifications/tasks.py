"""Celery task: deliver one notification, retrying connection trouble with backoff."""

import logging
import random

from celery import shared_task
from django.conf import settings

from notifications import services

logger = logging.getLogger(__name__)

MAX_RETRIES = 6
MAX_COUNTDOWN = 120


def _countdown(retries: int) -> float:
    # Below a quarter of the visibility timeout, or Redis redelivers the task while it waits.
    ceiling = min(MAX_COUNTDOWN, settings.CELERY_VISIBILITY_TIMEOUT / 4)
    return min(ceiling, 2 ** (retries + 1)) * random.uniform(0.5, 1.0)  # noqa: S311 (jitter)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def notification_send_task(self, event: str, access_request_id: int) -> None:
    """The task id (kept across retries and redeliveries) keys what was sent, so a retry sends
    only what failed."""
    key = self.request.id or services.notification_key()
    failed = services.notification_deliver(
        key=key, event=event, access_request_id=access_request_id
    )
    if not failed:
        return
    if self.request.retries < self.max_retries:
        raise self.retry(countdown=_countdown(self.request.retries))
    logger.error(
        "notification %s for request %s: %s message(s) not delivered after %s retries",
        event,
        access_request_id,
        failed,
        self.max_retries,
    )
