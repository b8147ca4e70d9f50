from datetime import datetime
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models
from django.db.models.options import Options

from accounts.models import Account


class ApprovedRequest(Protocol):
    """What provisioning reads and moves of the request a grant carries out. The request model
    (access_requests.AccessRequest) sits above this app, which reaches it through
    Grant.access_request and never imports it; mypy checks that the model keeps this shape."""

    status: str

    @property
    def pk(self) -> Any: ...
    @property
    def _meta(self) -> "Options[Any]": ...
    @property
    def requester(self) -> User: ...
    @property
    def requester_id(self) -> int: ...
    @property
    def source_account(self) -> Account: ...
    @property
    def target_account(self) -> Account: ...
    @property
    def source_principal(self) -> str: ...
    @property
    def access_via(self) -> str: ...
    @property
    def mechanism(self) -> str: ...
    @property
    def actions(self) -> Any: ...
    @property
    def resources(self) -> Any: ...
    @property
    def documents(self) -> Any: ...
    @property
    def duration(self) -> int: ...
    @property
    def external_id(self) -> str: ...
    def get_status_display(self) -> str: ...
    def save(self, *, update_fields: list[str] | None = None) -> None: ...


class Mechanism(models.TextChoices):
    """How a grant gives access: the article's three ways."""

    ASSUME_ROLE = "assume_role", "Assume role"
    RESOURCE_POLICY = "resource_policy", "Resource-based policy"
    ACL = "acl", "S3 ACL"


class AccessVia(models.TextChoices):
    """Who uses the access: sessions the portal vends, or the source principal itself."""

    PORTAL = "portal", "Sessions from the portal"
    OWN_IDENTITY = "own_identity", "The source principal's own identity"


class Lifecycle(models.TextChoices):
    """A request's status from its approval on. Provisioning alone moves it (services.py), as it
    writes, verifies, revokes and expires the request's grant."""

    APPROVED = "approved", "Approved"
    PROVISIONING = "provisioning", "Provisioning"
    ACTIVE = "active", "Active"
    REVOKING = "revoking", "Revoking"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"
    FAILED = "failed", "Failed"


class Grant(models.Model):
    """What the portal wrote into AWS for one approved request, precisely enough to undo it.

    The lifecycle status lives on the request; the grant records names, ARNs and verification.
    """

    class EndStatus(models.TextChoices):
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    # The approved request: what to write (its documents) and its status (a Lifecycle value).
    access_request = models.OneToOneField(
        "access_requests.AccessRequest", on_delete=models.PROTECT, related_name="grant"
    )
    # Assume role: the role and its inline permission policy in the target account.
    role_arn = models.CharField(max_length=2048, blank=True)
    role_name = models.CharField(max_length=64, blank=True)
    permission_policy_name = models.CharField(max_length=128, blank=True)
    # Resource policy: one entry per policy holder, {"holder": {...}, "sid", "created_policy"}.
    resource_statements = models.JSONField(default=list, blank=True)
    # S3 ACL: one entry per grant, {"bucket", "key", "grantee", "permission", "writer_account"}.
    acl_grants = models.JSONField(default=list, blank=True)
    # The source-side identity policy: an inline policy on one role of the source account.
    source_role_name = models.CharField(max_length=64, blank=True)
    source_policy_name = models.CharField(max_length=128, blank=True)
    external_id = models.CharField(max_length=1224, blank=True)
    max_session_duration = models.PositiveIntegerField(default=3600)
    written = models.JSONField(default=dict, help_text="The documents as read back from AWS.")
    expires_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verification = models.JSONField(default=dict)
    expiry_notice_at = models.DateTimeField(null=True, blank=True)
    drifted_at = models.DateTimeField(null=True, blank=True)
    drift = models.JSONField(
        default=list, blank=True, help_text="What AWS holds that differs from what was written."
    )
    drift_checked_at = models.DateTimeField(null=True, blank=True)
    # A grant that failed for good is rolled back: what the rollback removed, when, or why it could
    # not (the requeue sweep tries it again).
    rolled_back_at = models.DateTimeField(null=True, blank=True)
    rolled_back = models.JSONField(
        default=list, blank=True, help_text="What the rollback of a failed grant removed."
    )
    rollback_error = models.TextField(blank=True)
    # What the revoke (or the rollback) found in AWS beyond what the portal wrote: policies attached
    # or added to its role, its tags changed, statements others added to a resource policy.
    removal_found = models.JSONField(
        default=list,
        blank=True,
        help_text="What removing the grant found in AWS beyond what the portal wrote.",
    )
    end_status = models.CharField(max_length=8, choices=EndStatus.choices, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Grant #{self.pk} for request #{self.access_request_id}"

    @property
    def activation(self) -> datetime:
        """When the grant went active; ValueError for one that never did."""
        if self.activated_at is None:
            raise ValueError(f"{self} never went active.")
        return self.activated_at

    @property
    def expiry(self) -> datetime:
        """When the grant ends: set when it goes active (and moved by extensions), so every grant
        that went active has one; ValueError for one that never did."""
        if self.expires_at is None:
            raise ValueError(f"{self} never went active: it has no expiry.")
        return self.expires_at


class CredentialIssue(models.Model):
    """A session vended for a grant. Never holds the secret key or the session token."""

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="credential_issues")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    session_name = models.CharField(max_length=64)
    source_identity = models.CharField(max_length=64)
    access_key_id = models.CharField(max_length=128)
    assumed_role_arn = models.CharField(max_length=2048)
    duration = models.PositiveIntegerField()
    role_chained = models.BooleanField(default=False)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    issued_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at", "-id"]

    def __str__(self) -> str:
        return f"Session {self.session_name} for grant #{self.grant_id}"
