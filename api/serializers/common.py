"""Serializers shared by several endpoints, and the error bodies the schema describes."""

from rest_framework import serializers

from accounts.models import Account

ACCOUNT_ID_REGEX = r"^\d{12}$"


class ErrorSerializer(serializers.Serializer):
    """Every refusal: a sentence for the user."""

    detail = serializers.CharField()


def field_errors_schema():
    """The 400 body in the schema: `detail` plus any field's list of messages."""
    return {
        "type": "object",
        "properties": {
            "detail": {"type": "string"},
        },
        "required": ["detail"],
        "additionalProperties": {
            "oneOf": [
                {"type": "array", "items": {}},
                {"type": "object"},
                {"type": "string"},
            ]
        },
    }


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = [
            "account_id",
            "name",
            "environment",
            "managed",
            "third_party",
            "approvals_required",
            "source_approval_required",
            "max_access_duration",
            "max_session_duration",
            "broker_role_arn",
            "organization_path",
            "in_organization",
            "ready",
            "ready_reason",
            "ready_checked_at",
        ]
        read_only_fields = fields

    # False once the Organizations sync found a synced account gone (its grants stay until
    # revoked); accounts kept by hand are never marked.
    in_organization = serializers.SerializerMethodField()
    ready_reason = serializers.SerializerMethodField()

    def get_in_organization(self, account: Account) -> bool:
        return account.left_organization_at is None

    def get_ready_reason(self, account: Account) -> str:
        """Why the account is not ready: the last check's reason, or that none ran yet."""
        if account.ready:
            return ""
        if not account.managed:
            return "Not managed: the portal writes nothing in this account."
        if account.ready_checked_at is None:
            return "Not checked yet: the accounts sync checks the provisioner role (hourly)."
        return account.ready_reason


class AccountIdField(serializers.SlugRelatedField):
    """A 12-digit account id in, the Account out; a clear message for an unknown or bad id."""

    default_error_messages = {
        "does_not_exist": "The portal knows no account {value}.",
        "invalid": "An AWS account id is exactly 12 digits.",
    }

    def __init__(self, **kwargs) -> None:
        super().__init__(slug_field="account_id", queryset=Account.objects.all(), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str | int) or isinstance(data, bool):
            self.fail("invalid")
        value = str(data)
        if not (len(value) == 12 and value.isascii() and value.isdigit()):
            self.fail("invalid")
        return super().to_internal_value(value)
