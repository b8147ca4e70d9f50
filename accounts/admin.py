import hashlib
from urllib.parse import urlsplit

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db import models

from accounts.access_rules import AccessRule
from accounts.models import (
    Account,
    ExternalId,
    OrganizationDefaults,
    Resource,
    ResourceControlPolicy,
    ServiceControlPolicy,
)
from accounts.profiles import UserProfile
from audit.admin_changes import AuditedAdmin
from audit.services import audit_record


def _webhook_host(url: str) -> str:
    """What the audit trail keeps of a webhook URL: its host (Slack's URLs carry a token)."""
    return f"{urlsplit(url).hostname} (path not recorded)" if url else ""


def _fingerprint(secret: str) -> str:
    """A password hash as the trail shows it: enough to see that it changed, nothing more."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12] if secret else ""


@admin.register(Account)
class AccountAdmin(AuditedAdmin):
    audit_redact = {"notification_webhook_url": _webhook_host}
    # A webhook address typed without a scheme is https (Django 6's default already).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = (
        "account_id",
        "name",
        "environment",
        "managed",
        "third_party",
        "approver_group",
        "approvals_required",
        "ready",
        "organization_synced",
    )
    list_filter = ("environment", "managed", "third_party", "ready", "organization_synced")
    search_fields = ("account_id", "name")
    autocomplete_fields = ("approver_group",)
    fieldsets = (
        (None, {"fields": ("account_id", "name", "environment", "organization_path")}),
        ("Portal roles", {"fields": ("managed", "provisioner_role_arn", "broker_role_arn")}),
        (
            "Approvals",
            {"fields": ("approver_group", "approvals_required", "source_approval_required")},
        ),
        ("Limits", {"fields": ("max_access_duration", "max_session_duration", "third_party")}),
        ("Notifications", {"fields": ("notification_webhook_url", "slack_channel_id")}),
        (
            "Resource inventory",
            {"fields": ("inventory_synced_at", "inventory_requested_at", "inventory_error")},
        ),
        (
            "AWS Organizations",
            {
                "fields": (
                    "organization_synced",
                    "left_organization_at",
                    "ready",
                    "ready_reason",
                    "ready_checked_at",
                )
            },
        ),
    )
    readonly_fields = (
        "inventory_synced_at",
        "inventory_requested_at",
        "inventory_error",
        "left_organization_at",
        "ready",
        "ready_reason",
        "ready_checked_at",
    )


class ApprovedAccountsInline(admin.TabularInline):
    model = Account
    fk_name = "approver_group"
    fields = ("account_id", "name", "approvals_required")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Accounts this group approves for"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class UserInline(admin.TabularInline):
    model = Group.user_set.through
    extra = 0
    autocomplete_fields = ("user",)
    verbose_name = "Member"
    verbose_name_plural = "Members (approvers)"


admin.site.unregister(Group)


@admin.register(Group)
class ApproverGroupAdmin(AuditedAdmin, GroupAdmin):
    """Groups double as approver groups: members approve for the accounts that name the group."""

    audit_related = ("user_set", lambda user: user.username)

    inlines = (UserInline, ApprovedAccountsInline)
    list_display = ("name", "member_count")

    @admin.display(description="Members")
    def member_count(self, group: Group) -> int:
        return group.user_set.count()


@admin.register(ExternalId)
class ExternalIdAdmin(AuditedAdmin):
    """Changing a pair's ExternalId changes only requests submitted afterwards: live grants keep
    the trust policy they were approved with."""

    list_display = ("source_account", "target_account", "generated", "created_at")
    list_filter = ("generated",)


@admin.register(OrganizationDefaults)
class OrganizationDefaultsAdmin(AuditedAdmin):
    """What the Organizations sync gives an account it adds: the nearest root or OU's row."""

    list_display = ("target", "name", "approver_group", "approvals_required", "max_access_duration")
    search_fields = ("target", "name")
    autocomplete_fields = ("approver_group",)


@admin.register(ServiceControlPolicy)
class ServiceControlPolicyAdmin(AuditedAdmin):
    list_display = ("name", "target", "description")
    search_fields = ("name", "target")


@admin.register(ResourceControlPolicy)
class ResourceControlPolicyAdmin(AuditedAdmin):
    """RCPs besides AWS's RCPFullAWSAccess (implied at every level)."""

    list_display = ("name", "target", "description")
    search_fields = ("name", "target")


admin.site.unregister(User)


class UserProfileInline(admin.StackedInline):
    model = UserProfile
    can_delete = False
    max_num = 1
    fields = ("slack_user_id",)
    verbose_name_plural = "Chat"


@admin.register(User)
class AuditedUserAdmin(AuditedAdmin, UserAdmin):
    """Users: who is a platform admin (superuser), which approver groups they are in, and their
    Slack member id (whose clicks in Slack are their decisions)."""

    audit_redact = {"password": _fingerprint}
    audit_related = ("groups", lambda group: group.name)
    inlines = (UserProfileInline,)

    def save_formset(self, request, form, formset, change) -> None:
        """A changed Slack member id is an audit event: it decides whose clicks count as whose."""
        if formset.model is not UserProfile:
            super().save_formset(request, form, formset, change)
            return
        user = form.instance
        before = UserProfile.objects.filter(user=user).values_list("slack_user_id", flat=True)
        old = next(iter(before), None)
        super().save_formset(request, form, formset, change)
        new = UserProfile.objects.filter(user=user).values_list("slack_user_id", flat=True)
        now = next(iter(new), None)
        if old != now:
            audit_record(
                actor=request.user,
                verb="admin.user.slack_user_id_changed",
                obj=user,
                before={"slack_user_id": old},
                after={"slack_user_id": now},
                client_address=request.META.get("REMOTE_ADDR") or None,
            )


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    """Read-only: the inventory sync owns these rows (Refresh inventory in the request wizard)."""

    list_display = ("name", "kind", "account", "region", "seen_at")
    list_filter = ("kind", "account")
    search_fields = ("name", "arn")
    list_select_related = ("account",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AccessRule)
class AccessRuleAdmin(AuditedAdmin):
    """Rules edited one by one; the model's clean() checks what the API checks. Each save is an
    audit event with the fields before and after."""

    list_display = (
        "name",
        "accounts",
        "requester_groups",
        "services",
        "access_levels",
        "max_duration",
        "approval",
        "break_glass",
    )
    list_filter = ("approval", "break_glass")
    search_fields = ("name",)
