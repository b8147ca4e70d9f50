"""The user admin of accounts/admin.py, with deactivation that does everything a leaver needs.

Registered again from here, the top layer: deactivating (api/leavers.py) reaches the API's
tokens and the requests app, which accounts must not import. Unticking "Active" and the
"Deactivate" action both call the one service; only platform admins may do either.
"""

from typing import cast

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework.authtoken.models import TokenProxy

from accounts.admin import AuditedUserAdmin
from api.leavers import Deactivation, user_deactivate
from core.errors import ServiceError
from core.http import client_address


def deactivation_summary(done: Deactivation) -> str:
    """One line for the admin's message: what ended."""
    return (
        f"Deactivated {done.username}: {done.tokens_deleted} API token(s) deleted, "
        f"{done.sessions_ended} session(s) ended, {len(done.requests_cancelled)} pending "
        f"request(s) cancelled, {len(done.grants_revoked)} grant(s) being revoked."
    )


admin.site.unregister(User)
# DRF's token admin lists every key whole and makes a token for anyone: one platform admin could
# then act, unaudited, as each approver of a request in turn. Tokens are listed by prefix and
# revoked through the API (GET/DELETE /api/v1/auth/tokens/), each revoke audited.
admin.site.unregister(TokenProxy)


@admin.register(User)
class LeaverUserAdmin(AuditedUserAdmin):
    actions = ["deactivate"]
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "is_active")

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        # Ending someone's access is a platform admin's call, and nobody's own.
        if not request.user.is_superuser or (obj is not None and obj.pk == request.user.pk):
            return (*fields, "is_active")
        return fields

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        """Unticking "Active" deactivates through the service: the form saves the user still
        active, then the service makes them inactive and ends the rest (all in the admin's
        transaction; the revokes are queued when it commits)."""
        deactivating = change and "is_active" in form.changed_data and not obj.is_active
        if deactivating:
            obj.is_active = True
        super().save_model(request, obj, form, change)
        if deactivating:
            done = user_deactivate(
                user=obj,
                actor=cast(User, request.user),
                via="admin",
                client_address=client_address(request),
            )
            self.message_user(request, deactivation_summary(done))

    @admin.action(
        description="Deactivate (end their tokens, sessions, pending requests and grants)",
        permissions=["deactivate"],
    )
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset.order_by("pk"):
            try:
                done = user_deactivate(
                    user=user,
                    actor=cast(User, request.user),
                    via="admin",
                    client_address=client_address(request),
                )
            except ServiceError as error:
                self.message_user(request, f"{user}: {error.message}", messages.ERROR)
                continue
            self.message_user(request, deactivation_summary(done))

    def has_deactivate_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser
