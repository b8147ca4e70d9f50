"""Slack's Web API, through Slack's own SDK: approval messages, their updates in place, the
ephemeral answers to a click, and the reject modal.

Every call goes to `PORTAL_SLACK_API_URL` (Slack's `https://slack.com/api/` unless a test points
it at a local stand-in) with the bot token `PORTAL_SLACK_BOT_TOKEN`; without a token the portal
sends nothing to Slack. Messages are posted, updated and answered from Celery tasks; only the
reject modal opens during the click's own request, because Slack's `trigger_id` lasts 3 seconds.
https://api.slack.com/methods/chat.postMessage · chat.update · chat.postEphemeral · views.open
"""

import logging
from typing import Any

from django.conf import settings
from django.utils import timezone
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from notifications import slack_blocks
from notifications.messages import facts_from
from notifications.models import SlackMessage, approval_model, request_model

logger = logging.getLogger(__name__)

TIMEOUT = 5
# views.open must answer within Slack's 3-second trigger: the click's request waits no longer.
MODAL_TIMEOUT = 2


def enabled() -> bool:
    return bool(settings.PORTAL_SLACK_BOT_TOKEN)


def client(*, timeout: int = TIMEOUT) -> WebClient:
    base_url = settings.PORTAL_SLACK_API_URL
    return WebClient(
        token=settings.PORTAL_SLACK_BOT_TOKEN,
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        timeout=timeout,
    )


def is_retryable(error: BaseException) -> bool:
    """Slack's rate limit (429) and its own trouble (5xx), and connection trouble, may pass; an
    `ok: false` answer (channel_not_found, not_in_channel, invalid_auth) will not."""
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        return status == 429 or status >= 500
    return isinstance(error, OSError | TimeoutError)


def _request(access_request_id: int) -> Any:
    return (
        request_model()
        .objects.select_related("requester", "source_account", "target_account", "extends")
        .filter(pk=access_request_id)
        .first()
    )


def _findings(access_request: Any) -> tuple[str, ...]:
    lines = []
    for finding in access_request.findings or []:
        if isinstance(finding, dict) and finding.get("message"):
            severity = str(finding.get("severity", "")).lower()
            lines.append(f"{severity}: {finding['message']}" if severity else finding["message"])
    return tuple(lines)


def _state(access_request: Any) -> slack_blocks.State:
    votes = (
        approval_model()
        .objects.filter(access_request=access_request, documents_hash=access_request.documents_hash)
        .select_related("approver")
        .order_by("created_at", "id")
    )
    return slack_blocks.State(
        status=access_request.status,
        documents_hash=access_request.documents_hash,
        votes=tuple(
            slack_blocks.Vote(
                approver=vote.approver.get_username(), decision=vote.decision, comment=vote.comment
            )
            for vote in votes
        ),
        findings=_findings(access_request),
    )


def _facts(access_request: Any) -> Any:
    # An extension's facts name the grant it extends (its request number, its external id).
    grant = access_request.extends if access_request.extends_id else None
    return facts_from(access_request, grant=grant, now=timezone.now())


def message_for(access_request: Any) -> dict:
    """The approval message as the request stands now: its text and blocks."""
    facts = _facts(access_request)
    return slack_blocks.request_message(
        facts, _state(access_request), base_url=settings.PORTAL_BASE_URL
    )


def message_post(access_request: Any, channel: str) -> None:
    """Post the approval message to a channel (or a member id: their direct messages with the
    app) and keep its address for the updates."""
    answer = client().chat_postMessage(channel=channel, **message_for(access_request))
    SlackMessage.objects.get_or_create(
        channel=str(answer["channel"]),
        ts=str(answer["ts"]),
        defaults={"access_request": access_request},
    )


def messages_refresh(*, access_request_id: int) -> int:
    """Update every approval message of the request in place to show where it stands now (who
    approved, who rejected and why, or the buttons while it waits); returns how many failed in a
    way worth retrying. Idempotent: each update writes the current state."""
    access_request = _request(access_request_id)
    if access_request is None or not enabled():
        return 0
    posted = list(SlackMessage.objects.filter(access_request=access_request))
    if not posted:
        return 0
    message = message_for(access_request)
    failed = 0
    for row in posted:
        try:
            client().chat_update(channel=row.channel, ts=row.ts, **message)
        except Exception as error:
            logger.warning("Slack message %s of request %s not updated: %s", row, row.pk, error)
            failed += int(is_retryable(error))
    return failed


def ephemeral_send(*, channel: str, user: str, text: str) -> None:
    """A message only `user` sees, in the channel where they clicked."""
    client().chat_postEphemeral(channel=channel, user=user, text=text)


def reject_modal_open(*, trigger_id: str, access_request: Any, channel: str, ts: str) -> None:
    """Open the reason modal for a click on Reject (in the click's request: see the module)."""
    facts = _facts(access_request)
    view = slack_blocks.reject_modal(
        facts, documents_hash=access_request.documents_hash, channel=channel, ts=ts
    )
    client(timeout=MODAL_TIMEOUT).views_open(trigger_id=trigger_id, view=view)
