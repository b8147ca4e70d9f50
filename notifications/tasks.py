"""Celery task: deliver one notification, retrying connection trouble with backoff."""

import logging

from celery import shared_task

from core.retry import retry_later
from notifications import services, slack

logger = logging.getLogger(__name__)

MAX_RETRIES = 6


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
    retry_later(self)
    logger.error(
        "notification %s for request %s: %s message(s) not delivered after %s retries",
        event,
        access_request_id,
        failed,
        self.max_retries,
    )


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def slack_refresh_task(self, access_request_id: int) -> None:
    """Show in the request's Slack messages where it stands now (each update writes the whole
    current state, so a retry or a redelivery is harmless)."""
    if slack.messages_refresh(access_request_id=access_request_id):
        retry_later(self)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=3)
def slack_ephemeral_task(self, channel: str, user: str, text: str) -> None:
    """An answer only the clicking member sees (a refusal, an unknown member)."""
    try:
        slack.ephemeral_send(channel=channel, user=user, text=text)
    except Exception as error:
        if not slack.is_retryable(error):
            logger.warning("Slack answer to %s in %s not sent: %s", user, channel, error)
            return
        retry_later(self)
