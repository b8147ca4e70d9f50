from typing import Any

from django.apps import apps
from django.db import models

# Notifications sit below the apps that notify (requests and provisioning call `notify()`), so they
# name the request model by its label, as Django's own apps name the user model
# (AUTH_USER_MODEL, get_user_model()), instead of importing the app above them.
REQUEST_MODEL = "access_requests.AccessRequest"
APPROVAL_MODEL = "access_requests.Approval"


def request_model() -> Any:
    return apps.get_model(REQUEST_MODEL)


def approval_model() -> Any:
    return apps.get_model(APPROVAL_MODEL)


class Notification(models.Model):
    """One message to one recipient on one channel, for one `notify()` call (its `key`).

    A redelivered or retried task finds the rows it already sent and skips them, so a failure for
    one recipient is retried without mailing the others twice. Holds no message text and never the
    webhook URL (Slack's carry a token): a webhook row names only its host.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"
        SLACK = "slack", "Slack"

    key = models.CharField(max_length=64, help_text="The Celery task id of one notification.")
    event = models.CharField(max_length=32)
    access_request = models.ForeignKey(
        REQUEST_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    recipient = models.CharField(max_length=254)
    attempts = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "channel", "recipient"], name="one_notification_per_recipient"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.recipient} ({self.channel}) for #{self.access_request_id}"


class SlackMessage(models.Model):
    """An approval message the portal posted in Slack (a channel, or an approver's direct
    messages), kept so it can be updated in place once people decide (chat.update). Holds the
    message's address only, never its text."""

    access_request = models.ForeignKey(
        REQUEST_MODEL, on_delete=models.CASCADE, related_name="slack_messages"
    )
    channel = models.CharField(max_length=24)
    ts = models.CharField(max_length=32, help_text="Slack's id of the message in its channel.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "ts"], name="one_row_per_slack_message")
        ]

    def __str__(self) -> str:
        return f"Slack message {self.channel}/{self.ts} for #{self.access_request_id}"
