from django.conf import settings
from django.db import models

from accounts.models import Account
from provisioning.models import AccessVia, Lifecycle, Mechanism

__all__ = ["AccessRequest", "AccessVia", "Approval", "Mechanism"]


class AccessRequest(models.Model):
    """One engineer's ask for access to resources in another account, and its whole lifecycle."""

    class Status(models.TextChoices):
        """Pending until decided; from the approval on, the grant's Lifecycle."""

        PENDING = "pending", "Pending approval"
        APPROVED = Lifecycle.APPROVED.value, Lifecycle.APPROVED.label
        PROVISIONING = Lifecycle.PROVISIONING.value, Lifecycle.PROVISIONING.label
        ACTIVE = Lifecycle.ACTIVE.value, Lifecycle.ACTIVE.label
        REVOKING = Lifecycle.REVOKING.value, Lifecycle.REVOKING.label
        EXPIRED = Lifecycle.EXPIRED.value, Lifecycle.EXPIRED.label
        REVOKED = Lifecycle.REVOKED.value, Lifecycle.REVOKED.label
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = Lifecycle.FAILED.value, Lifecycle.FAILED.label
        EXTENDED = "extended", "Extension applied"

    AccessVia = AccessVia

    class ReviewStatus(models.TextChoices):
        """A break-glass request's review by the account's approvers, after the fact."""

        PENDING_REVIEW = "pending_review", "Waiting for review"
        REVIEWED = "reviewed", "Reviewed"

    class RequestedMechanism(models.TextChoices):
        AUTO = "auto", "Recommended"
        ASSUME_ROLE = Mechanism.ASSUME_ROLE
        RESOURCE_POLICY = Mechanism.RESOURCE_POLICY
        ACL = Mechanism.ACL

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_requests"
    )
    source_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    source_principal = models.CharField(max_length=2048)
    target_account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="access_requests"
    )
    actions = models.JSONField()
    resources = models.JSONField()
    access_via = models.CharField(
        max_length=16, choices=AccessVia.choices, default=AccessVia.PORTAL
    )
    requested_mechanism = models.CharField(
        max_length=16, choices=RequestedMechanism.choices, default=RequestedMechanism.AUTO
    )
    mechanism = models.CharField(max_length=16, choices=Mechanism.choices)
    recommended_mechanism = models.CharField(max_length=16, choices=Mechanism.choices)
    recommendation_reasons = models.JSONField(default=list)
    duration = models.PositiveIntegerField(help_text="How long the grant lives, in seconds.")
    justification = models.TextField(max_length=2000)
    ticket = models.CharField(max_length=128, blank=True)
    third_party = models.BooleanField(default=False)
    external_id = models.CharField(max_length=1224, blank=True)
    documents = models.JSONField(
        default=dict, help_text="Each document the portal will write, keyed by its role."
    )
    documents_hash = models.CharField(max_length=64)
    findings = models.JSONField(default=list)
    privilege_escalation = models.BooleanField(
        default=False,
        help_text="Asks for actions that can mint or widen permissions (policy.escalation): "
        "a platform admin's approval is needed on top of the account's quorum.",
    )
    simulation = models.JSONField(default=dict)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    extends = models.ForeignKey(
        "provisioning.Grant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="extensions",
        help_text="Set on a request to extend an active grant: the same documents, a new expiry.",
    )
    approved_by_rule = models.CharField(
        max_length=64,
        blank=True,
        help_text="The access rule that approved it at submit, without a human (auto or "
        "break-glass); empty when approvers decided.",
    )
    break_glass = models.BooleanField(
        default=False, help_text="Break-glass: provisioned at once, reviewed afterwards."
    )
    review_status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, blank=True, default="", db_index=True
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(max_length=2000, blank=True)
    batch = models.UUIDField(
        null=True,
        blank=True,
        db_index=True,
        help_text="Set on the requests submitted together for several target accounts (one "
        "request per account): the same value links them. Empty for a request on its own.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["requester", "-created_at"]),
            # The lists' order: the first page is an index scan of one page, not a sort of every
            # request.
            models.Index(fields=["-created_at", "-id"], name="access_requ_created_id_idx"),
            # The metrics' oldest pending request: one probe of this index.
            models.Index(fields=["status", "created_at"], name="access_requ_status_created_idx"),
        ]

    def __str__(self) -> str:
        return f"Request #{self.pk} ({self.get_status_display()})"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING


class Approval(models.Model):
    """One approver's vote on a request, bound to the exact documents they saw."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"

    access_request = models.ForeignKey(
        AccessRequest, on_delete=models.CASCADE, related_name="approvals"
    )
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    decision = models.CharField(max_length=8, choices=Decision.choices)
    comment = models.TextField(max_length=2000, blank=True)
    documents_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["access_request", "approver", "documents_hash"],
                name="one_vote_per_approver_per_documents",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.approver} on #{self.access_request_id}"
