"""Sending one message: an email through Django's mail framework, or a POST to a webhook."""

import json
import smtplib
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage

from notifications.messages import Email

WEBHOOK_TIMEOUT = 5.0


class WebhookError(Exception):
    """The webhook answered, but not with a 2xx."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other non-2xx: the payload goes only where configured."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def email_send(message: Email, address: str, *, connection) -> None:
    EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        connection=connection,
        # RFC 3834: vacation responders stay quiet.
        headers={"Auto-Submitted": "auto-generated"},
    ).send()


def webhook_is_valid(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def webhook_label(url: str) -> str:
    """Where a webhook goes, without its path: Slack's webhook URLs carry a token there."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}:{parts.port}" if parts.port else f"{parts.scheme}://{host}"


def webhook_post(url: str, payload: dict, *, timeout: float = WEBHOOK_TIMEOUT) -> None:
    if not webhook_is_valid(url):
        raise ValueError("the webhook URL is not an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "access-portal"},
        method="POST",
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        error.close()
        raise WebhookError(f"the webhook answered HTTP {error.code}") from None
    if not 200 <= status < 300:
        raise WebhookError(f"the webhook answered HTTP {status}")


def is_retryable(error: BaseException) -> bool:
    """Connection trouble, timeouts, SMTP 4xx and any non-2xx of a webhook may pass; an SMTP 5xx
    (unknown mailbox, refused sender) or a bad address will not."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return any(code < 500 for code, _message in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code < 500
    return isinstance(error, smtplib.SMTPException | WebhookError | OSError)
