"""Grants, extension and credential bodies."""

from rest_framework import serializers

from accounts.models import SESSION_SECONDS_MIN
from api.serializers.requests import MAX_DURATION
from provisioning.models import Grant


class GrantListSerializer(serializers.ModelSerializer):
    access_request = serializers.IntegerField(source="access_request_id")
    status = serializers.CharField(
        source="access_request.status", help_text="The request's lifecycle status."
    )
    mechanism = serializers.CharField(source="access_request.mechanism")
    requester = serializers.CharField(source="access_request.requester.username")
    source_account = serializers.CharField(source="access_request.source_account.account_id")
    target_account = serializers.CharField(source="access_request.target_account.account_id")

    class Meta:
        model = Grant
        fields = [
            "id",
            "access_request",
            "status",
            "mechanism",
            "requester",
            "source_account",
            "target_account",
            "role_arn",
            "expires_at",
            "activated_at",
            "end_status",
            "ended_at",
            "last_error",
            "created_at",
        ]


class GrantDetailSerializer(GrantListSerializer):
    class Meta(GrantListSerializer.Meta):
        fields = [
            *GrantListSerializer.Meta.fields,
            "role_name",
            "permission_policy_name",
            "resource_statements",
            "acl_grants",
            "source_role_name",
            "source_policy_name",
            "external_id",
            "max_session_duration",
            "written",
            "verified_at",
            "verification",
            "drifted_at",
            "drift",
            "drift_checked_at",
            "rolled_back_at",
            "rolled_back",
            "rollback_error",
            "removal_found",
        ]


class ExtendSerializer(serializers.Serializer):
    duration = serializers.IntegerField(
        min_value=SESSION_SECONDS_MIN, max_value=MAX_DURATION, help_text="Seconds to add."
    )
    justification = serializers.CharField(max_length=2000)


class CredentialProcessSerializer(serializers.Serializer):
    """The AWS CLI's credential_process format, exactly."""

    Version = serializers.IntegerField()
    AccessKeyId = serializers.CharField()
    SecretAccessKey = serializers.CharField()
    SessionToken = serializers.CharField()
    Expiration = serializers.CharField(help_text="ISO 8601 time.")
