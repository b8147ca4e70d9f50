from django.contrib import admin

from accounts.models import Account


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = (
        "account_id",
        "name",
        "environment",
        "managed",
        "third_party",
        "approver_group",
        "approvals_required",
    )
    list_filter = ("environment", "managed", "third_party")
    search_fields = ("account_id", "name")
    autocomplete_fields = ("approver_group",)
