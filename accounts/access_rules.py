"""The access rule: who may ask for what in which accounts, for how long, and what approval it
needs (SPEC 10.2). Matching and validation are in accounts/rules.py."""

from django.db import models


class AccessRule(models.Model):
    """One rule. Lists are JSON so that the database, the API and the YAML file say the same."""

    class Approval(models.TextChoices):
        AUTO = "auto", "Approved by rule"
        ACCOUNT = "account", "The account's approver quorum"

    name = models.SlugField(max_length=64, unique=True)
    accounts = models.JSONField(
        default=list, help_text='Account ids, OU ids (ou-...) or "*" for every account.'
    )
    requester_groups = models.JSONField(
        default=list, help_text="Names of the groups whose members may ask under this rule."
    )
    services = models.JSONField(
        default=list, blank=True, help_text="Service prefixes (dynamodb, s3...); empty: any."
    )
    access_levels = models.JSONField(
        default=list,
        blank=True,
        help_text="IAM catalog levels: Read, List, Write, Permissions management, Tagging; "
        "empty: any.",
    )
    max_duration = models.PositiveIntegerField(help_text="Longest access, in seconds.")
    approval = models.CharField(max_length=16, choices=Approval.choices, default=Approval.ACCOUNT)
    break_glass = models.BooleanField(
        default=False,
        help_text="Break-glass: provisioned at once, reviewed by the account's approvers after.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The admin's form checks what the API and the YAML file check."""
        from django.core.exceptions import ValidationError

        from accounts.rules import rule_errors

        errors = rule_errors(self.as_dict())
        if errors:
            raise ValidationError(errors)

    def as_dict(self) -> dict:
        """The rule as the API and the YAML file carry it."""
        return {
            "name": self.name,
            "accounts": list(self.accounts),
            "requester_groups": list(self.requester_groups),
            "services": list(self.services),
            "access_levels": list(self.access_levels),
            "max_duration": self.max_duration,
            "approval": self.approval,
            "break_glass": self.break_glass,
        }
