"""What the portal knows of a person beyond Django's user: their identity in chat tools."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

# Slack's member ids: U or W (Enterprise Grid) and upper-case letters and digits, e.g. U0123ABCD.
# https://api.slack.com/changelog/2016-08-11-user-id-format-changes
slack_user_id_validator = RegexValidator(
    r"^[UW][A-Z0-9]{2,20}$",
    "A Slack member id looks like U0123ABCD (Profile → ⋮ → Copy member ID).",
)


class UserProfile(models.Model):
    """One per user, made when first needed. `slack_user_id` ties a Slack member to this user: a
    click on Approve in Slack is this user's approval, so only admins set it (in /admin/), never
    the person themselves."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    slack_user_id = models.CharField(
        max_length=24,
        null=True,
        blank=True,
        unique=True,
        validators=[slack_user_id_validator],
        verbose_name="Slack member id",
        help_text="Their Slack member id (U…): their clicks on Approve and Reject in Slack "
        "count as theirs, and approval messages reach them by direct message.",
    )

    def __str__(self) -> str:
        return f"profile of {self.user_id}"

    def save(self, *args, **kwargs) -> None:
        # An empty id is no id: NULLs do not collide in the unique index, empty strings would.
        self.slack_user_id = (self.slack_user_id or "").strip() or None
        super().save(*args, **kwargs)
