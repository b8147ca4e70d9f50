from django.db import models

from access_requests.models import AccessRequest


class Notification(models.Model):
    """One message to one recipient on one channel, for one `notify()` call (its `key`).

    A redelivered or retried task finds the rows it already sent and skips them, so a failure for
    one recipient is retried without mailing the others twice. Holds no message text and never the
    webhook URL (Slack's carry a token): a webhook row names only its host.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"

    key = models.CharField(max_length=64, help_text="The Celery task id of one notification.")
    event = models.CharField(max_length=32)
    access_request = models.ForeignKey(
        AccessRequest, on_delete=models.CASCADE, related_name="notifications"
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
