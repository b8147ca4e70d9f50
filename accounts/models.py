import re

from django.contrib.auth.models import Group
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from policy.arns import account_root_arn, partition_of_arn

# ASCII only (re.ASCII): Python's \d and \w also match other scripts' digits and letters.
account_id_validator = RegexValidator(
    r"^\d{12}\Z", "An AWS account id is exactly 12 digits.", flags=re.ASCII
)
role_arn_validator = RegexValidator(
    r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}\Z",
    "A role ARN looks like arn:aws:iam::123456789012:role/Name (IAM ARNs have no region).",
    flags=re.ASCII,
)

# STS limits: a role session lasts 15 minutes to 12 hours.
# https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html (DurationSeconds)
SESSION_SECONDS_MIN = 900
SESSION_SECONDS_MAX = 43200
# Assuming a role from a role session is role chaining; AWS caps that session at one hour.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html#iam-term-role-chaining
ROLE_CHAINING_SECONDS_MAX = 3600


class Account(models.Model):
    """An AWS account the portal knows: a source of principals, a target of grants, or both."""

    class Environment(models.TextChoices):
        PROD = "prod", "Production"
        NON_PROD = "non_prod", "Non-production"

    account_id = models.CharField(max_length=12, unique=True, validators=[account_id_validator])
    name = models.CharField(max_length=64)
    environment = models.CharField(
        max_length=16, choices=Environment.choices, default=Environment.NON_PROD
    )
    managed = models.BooleanField(
        default=True, help_text="The portal can write policies here through the provisioner role."
    )
    provisioner_role_arn = models.CharField(
        max_length=2048, blank=True, validators=[role_arn_validator]
    )
    broker_role_arn = models.CharField(
        max_length=2048,
        blank=True,
        validators=[role_arn_validator],
        help_text="In a source account: the role through which the portal vends sessions.",
    )
    approver_group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="approved_accounts"
    )
    source_approval_required = models.BooleanField(
        default=False,
        help_text="Two-party approval: requests from this account also need one approval from "
        "its own approver group, besides the target account's quorum.",
    )
    approvals_required = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    max_access_duration = models.PositiveIntegerField(
        default=7 * 24 * 3600,
        validators=[MinValueValidator(SESSION_SECONDS_MIN)],
        help_text="Longest grant, in seconds.",
    )
    max_session_duration = models.PositiveIntegerField(
        default=3600,
        validators=[MinValueValidator(SESSION_SECONDS_MIN), MaxValueValidator(SESSION_SECONDS_MAX)],
        help_text="MaxSessionDuration of the roles the portal creates here, in seconds.",
    )
    third_party = models.BooleanField(
        default=False, help_text="Outside the organization: trust policies require an ExternalId."
    )
    notification_webhook_url = models.URLField(
        blank=True,
        max_length=500,
        help_text="Optional Slack-compatible incoming webhook for this account's requests.",
    )
    slack_channel_id = models.CharField(
        max_length=24,
        blank=True,
        validators=[
            RegexValidator(r"^[CGD][A-Z0-9]{2,20}$", "A Slack channel id looks like C0123ABCD.")
        ],
        help_text="The approvers' Slack channel (its id, C…): approval requests with Approve and "
        "Reject buttons go there. Empty: to each approver with a Slack member id, by direct "
        "message (when the portal's Slack app is set up).",
    )
    organization_path = models.CharField(
        max_length=512, blank=True, help_text="e.g. r-root/ou-workloads, for SCP evaluation."
    )
    organization_id = models.CharField(
        max_length=64,
        blank=True,
        help_text="The organization's id (o-…), from the Organizations sync: what AWS puts in "
        "aws:PrincipalOrgID for this account's principals, which RCPs often test.",
    )
    inventory_synced_at = models.DateTimeField(
        null=True, blank=True, help_text="When the resource inventory was last read from AWS."
    )
    inventory_error = models.CharField(
        max_length=1000, blank=True, help_text="Why the last inventory sync failed, if it did."
    )
    inventory_requested_at = models.DateTimeField(
        null=True, blank=True, help_text="When someone last asked for an inventory refresh."
    )
    organization_synced = models.BooleanField(
        default=False,
        help_text="Added by the AWS Organizations sync; false: kept by hand, the sync leaves it.",
    )
    left_organization_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the sync last found it gone from the organization (its grants stay "
        "until revoked).",
    )
    ready = models.BooleanField(
        default=False,
        help_text="The provisioner role answered through a session of its own at the last check.",
    )
    ready_reason = models.CharField(
        max_length=1000, blank=True, help_text="Why it is not ready, at the last check."
    )
    ready_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["account_id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_id})"

    @property
    def partition(self) -> str:
        """aws, aws-cn or aws-us-gov: the partition of the account's role ARNs (the sync writes
        them in the partition Organizations names), "aws" when it has none."""
        return partition_of_arn(self.provisioner_role_arn or self.broker_role_arn)

    @property
    def root_arn(self) -> str:
        return account_root_arn(self.account_id, self.partition)

    @property
    def organization_levels(self) -> list[str]:
        """The SCP attachment points from the root down to this account, e.g.
        ["r-demo", "ou-workloads", "ou-prod", "222222222222"]; empty outside an organization."""
        if not self.organization_path:
            return []
        return [*self.organization_path.split("/"), self.account_id]


class OrganizationDefaults(models.Model):
    """What an account the Organizations sync adds gets, by where it sits: the defaults of the
    nearest root or OU on its path that has any (the account's parent first, the root last)."""

    target = models.CharField(
        max_length=68,
        unique=True,
        validators=[
            RegexValidator(
                r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$",
                "A root id (r-...) or an OU id (ou-...-...), as AWS Organizations shows it.",
            )
        ],
        help_text="The root or OU id, e.g. r-ab12 or ou-ab12-cd34ef56.",
    )
    name = models.CharField(max_length=128, blank=True, help_text="A label, e.g. the OU's name.")
    approver_group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approvals_required = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    max_access_duration = models.PositiveIntegerField(
        default=12 * 3600,
        validators=[MinValueValidator(SESSION_SECONDS_MIN)],
        help_text="Longest grant, in seconds.",
    )

    class Meta:
        ordering = ["target"]
        verbose_name = "organization unit defaults"
        verbose_name_plural = "organization unit defaults"

    def __str__(self) -> str:
        return f"Defaults of {self.name or self.target}"


class OrganizationPolicy(models.Model):
    """A policy of AWS Organizations (an SCP or an RCP) where it is attached."""

    name = models.CharField(max_length=128)
    target = models.CharField(
        max_length=512,
        help_text="Where it is attached: a root or OU path element (e.g. r-demo, ou-prod) or "
        "a 12-digit account id.",
    )
    document = models.JSONField()
    description = models.CharField(max_length=512, blank=True)
    synced = models.BooleanField(
        default=False, help_text="Read from AWS Organizations; the next sync replaces it."
    )

    class Meta:
        abstract = True
        ordering = ["target", "name"]

    def __str__(self) -> str:
        return f"{self.name} on {self.target}"


class ServiceControlPolicy(OrganizationPolicy):
    """An organization's SCP, attached to the root, an OU or an account.

    Synced from AWS Organizations where the portal has a management-account role; the emulator
    cannot place fixed account ids in an organization, so the demo seeds them here directly."""

    class Meta(OrganizationPolicy.Meta):
        constraints = [
            models.UniqueConstraint(fields=["name", "target"], name="one_scp_per_target")
        ]


class ResourceControlPolicy(OrganizationPolicy):
    """An organization's RCP, attached to the root, an OU or an account: it limits what anyone,
    inside the organization or not, may do with the resources of the accounts below it.

    Synced from AWS Organizations beside the SCPs. AWS's ``RCPFullAWSAccess`` (attached at every
    level while RCPs are on) is implied, not stored: a level keeps only the RCPs besides it.
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html"""

    class Meta(OrganizationPolicy.Meta):
        constraints = [
            models.UniqueConstraint(fields=["name", "target"], name="one_rcp_per_target")
        ]


# STS's rule for an ExternalId: 2 to 1,224 characters of letters, digits and _+=,.@:/-.
# https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html (ExternalId)
EXTERNAL_ID_RE = r"^[A-Za-z0-9_+=,.@:/-]{2,1224}$"


class ExternalId(models.Model):
    """The ExternalId one third party uses with one target account, reused by every request from
    that third party into that account. The article's rule: the third party makes it, unique per
    customer, and gives it to the account that trusts it; the portal makes one only on request."""

    source_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    target_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    value = models.CharField(
        max_length=1224,
        validators=[RegexValidator(EXTERNAL_ID_RE, "2 to 1,224 of A-Z a-z 0-9 _+=,.@:/-")],
    )
    generated = models.BooleanField(
        default=False, help_text="Made by the portal on request, not given by the third party."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "ExternalId"
        constraints = [
            models.UniqueConstraint(
                fields=["source_account", "target_account"], name="one_external_id_per_pair"
            )
        ]

    def __str__(self) -> str:
        return f"ExternalId of {self.source_account} in {self.target_account}"


class Resource(models.Model):
    """A resource seen in a managed account by the inventory sync, for the request wizard's
    resource picker. The sync replaces an account's set; nothing else writes here."""

    class Kind(models.TextChoices):
        DYNAMODB_TABLE = "dynamodb_table", "DynamoDB table"
        S3_BUCKET = "s3_bucket", "S3 bucket"
        SQS_QUEUE = "sqs_queue", "SQS queue"
        SNS_TOPIC = "sns_topic", "SNS topic"
        KMS_KEY = "kms_key", "KMS key"
        SECRET = "secret", "Secrets Manager secret"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="resources")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    arn = models.CharField(max_length=2048)
    name = models.CharField(max_length=512, help_text="For KMS keys, the first alias if any.")
    region = models.CharField(max_length=32, blank=True)
    seen_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "arn"]
        constraints = [
            models.UniqueConstraint(fields=["account", "arn"], name="one_resource_per_arn")
        ]

    def __str__(self) -> str:
        return self.arn


from accounts.access_rules import AccessRule  # noqa: E402, F401  (registered with the app)
from accounts.profiles import UserProfile  # noqa: E402, F401  (registered with the app)
