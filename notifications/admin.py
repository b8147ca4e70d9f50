from django.contrib import admin

from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: what was sent to whom, and why a message did not go out."""

    list_display = ("created_at", "event", "access_request", "channel", "recipient", "sent_at")
    list_filter = ("event", "channel")
    search_fields = ("recipient", "event")
    list_select_related = ("access_request",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False
