"""Who is notified of what, retries that resend only what failed, and `notify()`'s promise: after
the commit only, and never an exception into the caller."""

import logging
import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from access_requests.models import AccessRequest
from access_requests.services import (
    access_request_approve,
    access_request_reject,
    grant_extension_request,
)
from notifications.models import Notification
from notifications.services import notification_deliver, notify
from tests.factories import TABLE_ARN, submitted
from tests.notifications.sinks import WebhookSink
from tests.support import free_port, python_run


def deliver(event: str, access_request: AccessRequest, key: str = "k1") -> int:
    return notification_deliver(key=key, event=event, access_request_id=access_request.pk)


def recipients(mailoutbox) -> list[str]:
    return sorted(address for message in mailoutbox for address in message.to)


@pytest.fixture
def webhook():
    sink = WebhookSink()
    yield sink
    sink.stop()


def test_a_new_request_mails_each_approver_of_the_target_account_but_not_the_requester(
    demo, mailoutbox, settings
):
    settings.PORTAL_BASE_URL = "https://portal.example.com"
    access_request = submitted(demo)
    assert deliver("request.submitted", access_request) == 0
    assert recipients(mailoutbox) == ["bob@example.com", "carol@example.com"]
    message = mailoutbox[0]
    assert message.from_email == "access-portal@localhost"
    assert message.subject == (
        f"[Access portal] Request #{access_request.pk} awaits your approval: "
        "alice to data (999999999999)"
    )
    assert f"https://portal.example.com/requests/{access_request.pk}/" in message.body
    assert TABLE_ARN in message.body
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    sent = Notification.objects.filter(access_request=access_request, sent_at__isnull=False)
    assert sorted(sent.values_list("recipient", flat=True)) == recipients(mailoutbox)


def test_two_party_approval_also_mails_the_source_accounts_approvers(demo, mailoutbox):
    dev_approvers = Group.objects.create(name="dev-approvers")
    demo.admin.groups.add(dev_approvers)
    demo.alice.groups.add(dev_approvers)  # the requester is never asked to approve herself
    demo.dev.approver_group = dev_approvers
    demo.dev.source_approval_required = True
    demo.dev.save()
    deliver("request.submitted", submitted(demo))
    assert recipients(mailoutbox) == ["admin@example.com", "bob@example.com", "carol@example.com"]


def test_users_without_an_email_or_inactive_are_skipped(demo, mailoutbox):
    demo.carol.email = ""
    demo.carol.save()
    demo.bob.is_active = False
    demo.bob.save()
    assert deliver("request.submitted", submitted(demo)) == 0
    assert mailoutbox == []


def test_a_rejection_tells_the_requester_the_reason(demo, mailoutbox):
    access_request = submitted(demo)
    access_request_reject(
        access_request=access_request, approver=demo.carol, reason="Use the replica"
    )
    deliver("request.rejected", access_request)
    assert recipients(mailoutbox) == ["alice@example.com"]
    assert mailoutbox[0].subject == f"[Access portal] Request #{access_request.pk} rejected"
    assert "Reason: Use the replica" in mailoutbox[0].body


def _active_grant(demo) -> AccessRequest:
    access_request = submitted(demo)
    access_request_approve(access_request=access_request, approver=demo.bob)
    access_request.refresh_from_db()
    grant = access_request.grant
    grant.activated_at = timezone.now()
    grant.expires_at = grant.activated_at + timedelta(hours=1)
    grant.save()
    AccessRequest.objects.filter(pk=access_request.pk).update(status=AccessRequest.Status.ACTIVE)
    return access_request


def test_a_failed_grant_tells_the_requester_the_error(demo, mailoutbox):
    access_request = _active_grant(demo)
    access_request.grant.last_error = "AccessDenied: the provisioner role may not write here"
    access_request.grant.save()
    deliver("grant.failed", access_request)
    assert recipients(mailoutbox) == ["alice@example.com"]
    assert "Error: AccessDenied: the provisioner role may not write here" in mailoutbox[0].body


def test_drift_tells_the_requester_and_the_approvers(demo, mailoutbox):
    access_request = _active_grant(demo)
    access_request.grant.drift = [{"what": "inline policy x added to the role", "found": "{}"}]
    access_request.grant.save()
    deliver("grant.drifted", access_request)
    assert recipients(mailoutbox) == ["alice@example.com", "bob@example.com", "carol@example.com"]
    assert "  - inline policy x added to the role" in mailoutbox[0].body


def test_an_extension_asks_the_approvers_and_names_the_original_request(demo, mailoutbox):
    access_request = _active_grant(demo)
    extension = grant_extension_request(
        grant=access_request.grant, user=demo.alice, duration=3600, justification="One more hour"
    )
    deliver("extension.submitted", extension)
    assert recipients(mailoutbox) == ["bob@example.com", "carol@example.com"]
    assert mailoutbox[0].subject == (
        f"[Access portal] Extension #{extension.pk} of request #{access_request.pk} "
        "awaits your approval"
    )


def test_the_webhook_gets_the_request_and_a_retry_resends_only_what_failed(
    demo, mailoutbox, webhook
):
    webhook.failures = 1
    demo.data.notification_webhook_url = webhook.url
    demo.data.save()
    access_request = submitted(demo)

    assert deliver("request.submitted", access_request, key="task-1") == 1  # the webhook's 500
    assert len(mailoutbox) == 2
    assert webhook.texts() == []
    row = Notification.objects.get(channel="webhook")
    assert row.recipient == f"http://127.0.0.1:{webhook.server.server_port}"  # never the token
    assert row.error == "WebhookError: the webhook answered HTTP 500"
    assert row.sent_at is None

    assert deliver("request.submitted", access_request, key="task-1") == 0
    assert len(mailoutbox) == 2  # not mailed twice
    [text] = webhook.texts()
    assert text.startswith(f"Request #{access_request.pk} awaits your approval")
    row.refresh_from_db()
    assert (row.attempts, row.error) == (2, "")
    assert row.sent_at is not None


def test_a_webhook_that_is_not_http_is_not_called(demo, mailoutbox):
    demo.data.notification_webhook_url = "ftp://127.0.0.1/hook"
    demo.data.save()
    assert deliver("request.submitted", submitted(demo)) == 0  # not worth retrying
    row = Notification.objects.get(channel="webhook")
    assert row.sent_at is None
    assert "not an http(s) URL" in row.error


def test_notify_waits_for_the_commit_and_forgets_a_rollback(
    demo, django_capture_on_commit_callbacks
):
    access_request = submitted(demo)
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notify(event="request.submitted", access_request_id=access_request.pk)
        raise RuntimeError("the approval failed")
    assert callbacks == []
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        notify(event="request.submitted", access_request_id=access_request.pk)
    assert len(callbacks) == 1


def test_notify_with_an_unknown_event_logs_and_does_not_raise(
    db, caplog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, caplog.at_level(logging.ERROR):
        notify(event="request.exploded", access_request_id=1)
    assert callbacks == []
    assert "unknown notification event 'request.exploded'" in caplog.text


def test_notify_with_redis_unreachable_does_not_raise_into_the_caller(db):
    """A real process with its broker on a closed port commits a change that notifies."""
    database = settings.DATABASES["default"]
    script = (
        "import django\n"
        "django.setup()\n"
        "from django.db import transaction\n"
        "from notifications.services import notify\n"
        "with transaction.atomic():\n"
        "    notify(event='request.submitted', access_request_id=1)\n"
        "print('committed')\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        ),
        "TEST_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
    }
    done = python_run(["-c", script], env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "committed"
    assert "notification request.submitted for request 1 not enqueued" in done.stderr
