"""Notifications: `notify()` is the one entry point; the worker sends with `notification_deliver`.

A notification never blocks or fails the change it reports: `notify()` only registers an enqueue
for after the caller's commit (a rolled-back change sends nothing), and swallows every error.
"""

import logging
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from notifications import channels, messages, slack
from notifications.models import Notification, approval_model, request_model
from notifications.selectors import recipient_emails, slack_destinations

logger = logging.getLogger(__name__)

EMAIL_TIMEOUT = 10


def notify(*, event: str, access_request_id: int) -> None:
    """Tell the people concerned about `event` on this request, after the current transaction
    commits. Call it inside the service's transaction. Never raises."""
    try:
        if event not in messages.EVENTS:
            logger.error("unknown notification event %r for request %s", event, access_request_id)
            return
        transaction.on_commit(partial(_enqueue, event, access_request_id), robust=True)
        if event in SLACK_DECIDED_EVENTS:
            slack_refresh(access_request_id=access_request_id)
    except Exception:
        logger.exception("notification %s for request %s not registered", event, access_request_id)


# The events whose message asks approvers to decide: in Slack, with Approve and Reject buttons.
SLACK_EVENTS = ("request.submitted", "extension.submitted")
# The events after which the Slack messages of a request show who decided (updated in place).
SLACK_DECIDED_EVENTS = (
    "request.approved",
    "request.rejected",
    "request.cancelled",
    "extension.applied",
    "extension.rejected",
)


def slack_refresh(*, access_request_id: int) -> None:
    """Update the request's Slack messages in place after the current transaction commits (a
    vote, a decision): a task does it. Never raises; nothing happens without Slack set up."""
    try:
        if slack.enabled():
            transaction.on_commit(partial(_enqueue_refresh, access_request_id), robust=True)
    except Exception:
        logger.exception("Slack update for request %s not registered", access_request_id)


def slack_answer(*, channel: str, user: str, text: str) -> None:
    """Tell one Slack member, in the channel where they clicked, what came of their click (a
    refusal, an unknown member): a task sends it, after the commit. Never raises."""
    from notifications.tasks import slack_ephemeral_task

    def enqueue() -> None:
        try:
            slack_ephemeral_task.apply_async((channel, user, text), priority=PRIORITY)
        except Exception as error:
            logger.warning("Slack answer to %s not enqueued: %s", user, error)

    try:
        if slack.enabled():
            transaction.on_commit(enqueue, robust=True)
    except Exception:
        logger.exception("Slack answer to %s not registered", user)


def _enqueue_refresh(access_request_id: int) -> None:
    from notifications.tasks import slack_refresh_task

    try:
        slack_refresh_task.apply_async((access_request_id,), priority=PRIORITY)
    except Exception as error:
        logger.warning("Slack update for request %s not enqueued: %s", access_request_id, error)


# Redis priority of a notification's task (0 is the highest, the default of every other task):
# the same workers take a grant's provisioning before any waiting message, so access goes live
# first and "it is active" follows. A worker with nothing else to do takes messages at once.
PRIORITY = 9


def _enqueue(event: str, access_request_id: int) -> None:
    from notifications.tasks import notification_send_task

    try:
        notification_send_task.apply_async((event, access_request_id), priority=PRIORITY)
    except Exception as error:  # the broker is down: the change stands, the message is lost
        logger.warning(
            "notification %s for request %s not enqueued: %s", event, access_request_id, error
        )


def _reject_reason(access_request: Any) -> str:
    last = (
        access_request.approvals.filter(decision=approval_model().Decision.REJECT)
        .order_by("-created_at", "-id")
        .first()
    )
    return last.comment if last else ""


# Columns a message never shows: the request's documents and simulation, the grant's read-back.
_UNSHOWN = (
    "documents",
    "findings",
    "simulation",
    "grant__written",
    "grant__verification",
    "extends__written",
    "extends__verification",
)


def notification_deliver(*, key: str, event: str, access_request_id: int) -> int:
    """Send the event's emails and webhook message that were not sent yet under `key`; returns
    how many failed in a way worth retrying. No transaction is held while sending."""
    access_request = (
        request_model()
        .objects.select_related("requester", "source_account", "target_account", "extends", "grant")
        .defer(*_UNSHOWN)
        .filter(pk=access_request_id)
        .first()
    )
    if access_request is None or event not in messages.EVENTS:
        logger.warning("notification %s for missing request %s dropped", event, access_request_id)
        return 0
    if access_request.extends_id:
        grant = access_request.extends
    else:
        grant = getattr(access_request, "grant", None)
    addresses = recipient_emails(audience=messages.EVENTS[event], access_request=access_request)
    url = access_request.target_account.notification_webhook_url
    recipients = [(Notification.Channel.EMAIL, address) for address in addresses]
    if url:
        recipients.append((Notification.Channel.WEBHOOK, channels.webhook_label(url)))
    destinations = []
    if event in SLACK_EVENTS and slack.enabled():
        destinations = slack_destinations(access_request=access_request)
        recipients.extend((Notification.Channel.SLACK, channel) for channel in destinations)
    if not recipients:
        return 0  # nobody to tell: no rows, no message built
    unsent = _unsent(key, event, access_request, recipients)
    if not unsent:
        return 0
    reason = _reject_reason(access_request) if event.endswith(".rejected") else ""
    facts = messages.facts_from(access_request, grant=grant, reason=reason, now=timezone.now())
    base_url = settings.PORTAL_BASE_URL

    retryable = 0
    if any(channel == Notification.Channel.EMAIL for channel, _ in unsent):
        email = messages.email(event, facts, base_url=base_url)
        connection = get_connection(timeout=EMAIL_TIMEOUT)
        try:
            for address in addresses:
                if (Notification.Channel.EMAIL, address) in unsent:
                    retryable += _deliver_once(
                        key,
                        event,
                        access_request,
                        Notification.Channel.EMAIL,
                        address,
                        partial(channels.email_send, email, address, connection=connection),
                    )
        finally:
            connection.close()

    if url and (Notification.Channel.WEBHOOK, channels.webhook_label(url)) in unsent:
        payload = messages.webhook_payload(event, facts, base_url=base_url)
        retryable += _deliver_once(
            key,
            event,
            access_request,
            Notification.Channel.WEBHOOK,
            channels.webhook_label(url),
            partial(channels.webhook_post, url, payload),
        )
    for channel in destinations:
        if (Notification.Channel.SLACK, channel) in unsent:
            retryable += _deliver_once(
                key,
                event,
                access_request,
                Notification.Channel.SLACK,
                channel,
                partial(slack.message_post, access_request, channel),
            )
    return retryable


def _unsent(
    key: str, event: str, access_request: Any, recipients: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Record a row per recipient under `key` unless there is one (a retried or redelivered task
    finds its rows), and return the (channel, recipient) pairs not sent yet: two statements,
    whatever the number of recipients."""
    Notification.objects.bulk_create(
        [
            Notification(
                key=key,
                event=event,
                access_request=access_request,
                channel=channel,
                recipient=recipient,
            )
            for channel, recipient in recipients
        ],
        ignore_conflicts=True,
    )
    return set(
        Notification.objects.filter(key=key, sent_at__isnull=True).values_list(
            "channel", "recipient"
        )
    )


def _deliver_once(
    key: str,
    event: str,
    access_request: Any,
    channel: str,
    recipient: str,
    send: Callable[[], None],
) -> int:
    """Send to one recipient not sent to yet under this key, and record it at once (a task killed
    after this send does not send it again); 1 if it failed and may pass later."""
    row = Notification.objects.filter(key=key, channel=channel, recipient=recipient)
    try:
        send()
    except Exception as error:
        retryable = channels.is_retryable(error) or slack.is_retryable(error)
        row.update(attempts=F("attempts") + 1, error=f"{type(error).__name__}: {error}"[:2000])
        logger.warning(
            "notification %s for request %s to %s by %s failed (%s): %s",
            event,
            access_request.pk,
            recipient,
            channel,
            "will retry" if retryable else "permanent",
            error,
        )
        return int(retryable)
    row.update(attempts=F("attempts") + 1, sent_at=timezone.now(), error="")
    return 0


def notification_key() -> str:
    """A key for a delivery outside a Celery task (its task id is the key otherwise)."""
    return uuid.uuid4().hex
