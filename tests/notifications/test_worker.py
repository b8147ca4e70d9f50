"""Notifications end to end: a real Celery worker on the real Redis sends real SMTP to a local
server (aiosmtpd) and POSTs to a local webhook receiver."""

import pytest
from django.db import transaction

from notifications.services import notify
from tests.factories import TABLE_ARN, submitted
from tests.notifications.sinks import WebhookSink
from tests.support import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

APPROVERS = ["bob@example.com", "carol@example.com"]

MONTHLY_REPORT = {
    "actions": ["dynamodb:GetItem", "dynamodb:Query"],
    "justification": "Monthly report",
}


@pytest.fixture
def webhook():
    sink = WebhookSink()
    yield sink
    sink.stop()


def _mails(smtp_server, subject: str, *, count: int):
    return wait_until(
        lambda: (found := smtp_server.matching(subject)) and len(found) >= count and found,
        timeout=60,
        what=f"{count} mail(s) with {subject!r}",
    )


def test_a_submitted_request_mails_the_approvers_and_posts_to_the_webhook(
    worker, demo, smtp_server, webhook
):
    demo.data.notification_webhook_url = webhook.url
    demo.data.save()
    access_request = submitted(
        demo, actions=["dynamodb:GetItem", "dynamodb:Query"], justification="Monthly report"
    )  # the service notifies the approvers after its commit

    subject = f"[Access portal] Request #{access_request.pk} awaits your approval"
    mails = _mails(smtp_server, subject, count=2)
    assert sorted(to for mail in mails for to in mail.rcpt_tos) == APPROVERS
    for mail in mails:
        assert mail.mail_from == "access-portal@localhost"
        assert mail.message["To"] == mail.rcpt_tos[0]
        assert mail.subject == f"{subject}: alice to data (999999999999)"
        assert f"http://127.0.0.1:8000/requests/{access_request.pk}/" in mail.body
        assert "dynamodb:Query" in mail.body
        assert TABLE_ARN in mail.body
    # The requester gets no approver mail (other tests' mails to alice are about other requests).
    about_this = smtp_server.matching(f"Request #{access_request.pk} ")
    assert not any("alice@example.com" in mail.rcpt_tos for mail in about_this)

    texts = wait_until(webhook.texts, timeout=30, what="the webhook call")
    assert any(f"Request #{access_request.pk}" in text for text in texts)


def test_a_refused_recipient_is_retried_without_mailing_the_others_twice(
    worker, demo, smtp_server, webhook
):
    """The SMTP server answers 451 for carol once; the task retries and sends only hers. The
    webhook answers 500 once; it is retried too."""
    webhook.failures = 1
    demo.data.notification_webhook_url = webhook.url
    demo.data.save()
    access_request = submitted(
        demo, actions=["dynamodb:GetItem", "dynamodb:Query"], justification="Monthly report"
    )
    smtp_server.refuse_once.add("carol@example.com")
    with transaction.atomic():
        notify(event="request.cancelled", access_request_id=access_request.pk)

    subject = f"[Access portal] Request #{access_request.pk} cancelled"
    mails = _mails(smtp_server, subject, count=2)
    wait_until(webhook.texts, timeout=30, what="the retried webhook call")
    assert "carol@example.com" not in smtp_server.refuse_once  # she was refused once
    assert sorted(to for mail in smtp_server.matching(subject) for to in mail.rcpt_tos) == (
        APPROVERS
    )
    assert len(mails) == 2
    assert len(webhook.texts()) == 1


def test_a_rolled_back_change_sends_nothing(worker, demo, smtp_server):
    access_request = submitted(
        demo, actions=["dynamodb:GetItem", "dynamodb:Query"], justification="Monthly report"
    )
    with pytest.raises(RuntimeError), transaction.atomic():
        notify(event="request.approved", access_request_id=access_request.pk)
        raise RuntimeError("the approval failed")
    # A notification committed after it: one queue, one worker process, so had the rolled-back
    # one been enqueued, its mail would be out before this one's.
    notify(event="request.cancelled", access_request_id=access_request.pk)
    _mails(smtp_server, f"Request #{access_request.pk} cancelled", count=2)
    assert smtp_server.matching(f"Request #{access_request.pk} approved") == []
