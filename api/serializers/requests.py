"""Access requests in and out of the API (field names are a contract: scripts depend on them)."""

from datetime import datetime

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from access_requests.models import AccessRequest, Approval
from access_requests.selectors import access_request_siblings
from access_requests.services.batches import MAX_TARGET_ACCOUNTS
from accounts.models import SESSION_SECONDS_MIN
from api.serializers.common import AccountIdField
from policy.lint import SEVERITIES, documents_lint

MAX_DURATION = 366 * 24 * 3600


class AccessRequestCreateSerializer(serializers.Serializer):
    """The body of POST /api/v1/requests/. Rules beyond types live in the service, as for pages."""

    source_account = AccountIdField(help_text="12-digit id of the account your identities are in.")
    target_account = AccountIdField(
        required=False,
        help_text="12-digit id of the account holding the resources. Or `target_accounts`.",
    )
    target_accounts = serializers.ListField(
        child=AccountIdField(),
        required=False,
        min_length=1,
        max_length=MAX_TARGET_ACCOUNTS,
        help_text="Instead of `target_account`: several accounts, one request each (201 with "
        '`{"requests": [...]}`, linked by their `batch`). "${Account}" in a resource ARN stands '
        "for each account's id. All or nothing: if one account's request is refused, none is "
        "submitted and the error names the account.",
    )
    source_principal = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2048,
        default="",
        help_text="Blank: the source account root. Or one role ARN in the source account.",
    )
    actions = serializers.ListField(
        child=serializers.CharField(max_length=256),
        max_length=50,
        help_text="e.g. dynamodb:GetItem",
    )
    resources = serializers.ListField(
        child=serializers.CharField(max_length=2048), max_length=50, help_text="Resource ARNs."
    )
    access_via = serializers.ChoiceField(
        choices=AccessRequest.AccessVia.choices, default=AccessRequest.AccessVia.PORTAL
    )
    mechanism = serializers.ChoiceField(
        choices=AccessRequest.RequestedMechanism.choices,
        default=AccessRequest.RequestedMechanism.AUTO,
    )
    duration = serializers.IntegerField(
        min_value=SESSION_SECONDS_MIN, max_value=MAX_DURATION, help_text="Seconds."
    )
    justification = serializers.CharField(max_length=2000)
    ticket = serializers.CharField(required=False, allow_blank=True, max_length=128, default="")
    third_party = serializers.BooleanField(required=False, default=False)
    external_id = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=1224,
        default="",
        help_text="Third-party sources: the ExternalId the third party gave (2-1,224 of "
        "[\\w+=,.@:/-]). Left out, a request reuses the one its third party and target account "
        "share.",
    )
    generate_external_id = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Third-party sources without an ExternalId yet: the portal makes one.",
    )
    break_glass = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Break-glass: allowed only under an access rule with break_glass true; "
        "provisioned at once, reviewed by the account's approvers afterwards.",
    )

    def validate(self, attrs: dict) -> dict:
        given = [name for name in ("target_account", "target_accounts") if name in attrs]
        if len(given) != 1:
            message = (
                "Give either target_account or target_accounts, not both."
                if given
                else "Give the target account (target_account, or target_accounts for several)."
            )
            raise serializers.ValidationError({"target_account": [message]})
        return attrs


class AccessRequestEditSerializer(serializers.Serializer):
    """The body of PATCH /api/v1/requests/{id}/: any field of a submit but the two accounts; what
    is left out stays as it is. Any change voids the votes given so far."""

    source_principal = serializers.CharField(required=False, allow_blank=True, max_length=2048)
    actions = serializers.ListField(
        child=serializers.CharField(max_length=256), max_length=50, required=False
    )
    resources = serializers.ListField(
        child=serializers.CharField(max_length=2048), max_length=50, required=False
    )
    access_via = serializers.ChoiceField(choices=AccessRequest.AccessVia.choices, required=False)
    mechanism = serializers.ChoiceField(
        choices=AccessRequest.RequestedMechanism.choices, required=False
    )
    duration = serializers.IntegerField(
        min_value=SESSION_SECONDS_MIN, max_value=MAX_DURATION, required=False, help_text="Seconds."
    )
    justification = serializers.CharField(max_length=2000, required=False)
    ticket = serializers.CharField(required=False, allow_blank=True, max_length=128)
    third_party = serializers.BooleanField(required=False)
    external_id = serializers.CharField(required=False, allow_blank=True, max_length=1224)
    generate_external_id = serializers.BooleanField(required=False)

    def validate(self, attrs: dict) -> dict:
        moved = sorted({"source_account", "target_account"} & set(self.initial_data or {}))
        if moved:
            raise serializers.ValidationError(
                {name: ["The accounts of a request stay: submit a new request."] for name in moved}
            )
        return attrs


class ApproveSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    documents_hash = serializers.CharField(
        required=False,
        max_length=64,
        help_text="The documents_hash of the request as you reviewed it (GET /api/v1/requests/{id}/"
        "). When the request has changed since, the approval is refused with 409 and nothing is "
        "recorded.",
    )


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class ReviewSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class ApprovalSerializer(serializers.ModelSerializer):
    approver = serializers.CharField(source="approver.username")
    current = serializers.SerializerMethodField(
        help_text="Given on the request's current documents (an edit makes earlier votes void)."
    )

    class Meta:
        model = Approval
        fields = [
            "id",
            "approver",
            "decision",
            "comment",
            "documents_hash",
            "current",
            "created_at",
        ]

    def get_current(self, approval: Approval) -> bool:
        return approval.documents_hash == approval.access_request.documents_hash


class GrantRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    role_arn = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    end_status = serializers.CharField()


class AccessRequestListSerializer(serializers.ModelSerializer):
    requester = serializers.CharField(source="requester.username")
    source_account = serializers.CharField(source="source_account.account_id")
    target_account = serializers.CharField(source="target_account.account_id")
    grant = serializers.SerializerMethodField()
    extends = serializers.IntegerField(source="extends_id", allow_null=True)

    class Meta:
        model = AccessRequest
        fields = [
            "id",
            "status",
            "requester",
            "source_account",
            "target_account",
            "source_principal",
            "actions",
            "resources",
            "access_via",
            "requested_mechanism",
            "mechanism",
            "recommended_mechanism",
            "duration",
            "justification",
            "ticket",
            "third_party",
            "grant",
            "extends",
            "batch",
            "created_at",
            "updated_at",
            "decided_at",
        ]
        extra_kwargs = {
            "batch": {
                "help_text": "The requests submitted together for several target accounts share "
                "it (null for a request on its own); `?batch=` lists them."
            }
        }

    @extend_schema_field(GrantRefSerializer(allow_null=True))
    def get_grant(self, access_request: AccessRequest) -> dict | None:
        grant = getattr(access_request, "grant", None)
        if grant is None:
            return None
        return {
            "id": grant.pk,
            "role_arn": grant.role_arn,
            "expires_at": _when(grant.expires_at),
            "end_status": grant.end_status,
        }


def _when(value: datetime | None) -> str | None:
    """A date and time as DRF's DateTimeField writes it: ISO 8601 in the time zone (TIME_ZONE,
    UTC; the API activates no other), "+00:00" written "Z"; None stays None. (DRF's own field
    object took a fifth of a list request: four of them a row.)"""
    if value is None:
        return None
    text = value.astimezone(timezone.get_default_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# What GET /api/v1/requests/ reads for a row, as `.values()` lookups: the list's own columns and
# those of the requester, the accounts and the grant it names, none of the large JSON columns
# (documents, findings, simulation: about 4 KB a row) that only the detail shows.
LIST_VALUES = (
    *(
        name
        for name in AccessRequestListSerializer.Meta.fields
        if name not in ("requester", "source_account", "target_account", "grant", "extends")
    ),
    "extends_id",
    "requester__username",
    "source_account__account_id",
    "target_account__account_id",
    "grant__id",
    "grant__role_arn",
    "grant__expires_at",
    "grant__end_status",
)


def list_row(values: dict) -> dict:
    """One row of the list from its LIST_VALUES, written out: field for field what
    AccessRequestListSerializer says of the model instance (tests/api/test_list_reads.py compares
    them), without building the five model instances a row and a field object a value, which
    cost more than the page's SQL."""
    grant_id = values["grant__id"]
    return {
        "id": values["id"],
        "status": values["status"],
        "requester": values["requester__username"],
        "source_account": values["source_account__account_id"],
        "target_account": values["target_account__account_id"],
        "source_principal": values["source_principal"],
        "actions": values["actions"],
        "resources": values["resources"],
        "access_via": values["access_via"],
        "requested_mechanism": values["requested_mechanism"],
        "mechanism": values["mechanism"],
        "recommended_mechanism": values["recommended_mechanism"],
        "duration": values["duration"],
        "justification": values["justification"],
        "ticket": values["ticket"],
        "third_party": values["third_party"],
        "grant": None
        if grant_id is None
        else {
            "id": grant_id,
            "role_arn": values["grant__role_arn"],
            "expires_at": _when(values["grant__expires_at"]),
            "end_status": values["grant__end_status"],
        },
        "extends": values["extends_id"],
        "batch": None if values["batch"] is None else str(values["batch"]),
        "created_at": _when(values["created_at"]),
        "updated_at": _when(values["updated_at"]),
        "decided_at": _when(values["decided_at"]),
    }


class FindingSerializer(serializers.Serializer):
    severity = serializers.ChoiceField(
        choices=[*SEVERITIES, "info"],
        help_text="IAM Access Analyzer's finding types: error (IAM refuses it, or it can never "
        "match), security_warning, warning, suggestion. Findings stored before these were "
        "adopted may say info (a suggestion).",
    )
    code = serializers.CharField()
    issue_code = serializers.CharField(
        required=False, help_text="Access Analyzer's issue code for the same check, if it has one."
    )
    document = serializers.CharField(required=False)
    statement = serializers.JSONField(
        help_text="The statement's index or Sid; null for the document."
    )
    field = serializers.CharField()
    message = serializers.CharField()
    correction = serializers.JSONField(help_text="The corrected value, or null.")


class SiblingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    target_account = serializers.CharField()
    status = serializers.CharField()


class AccessRequestDetailSerializer(AccessRequestListSerializer):
    recommendation_reasons = serializers.ListField(child=serializers.CharField())
    documents = serializers.DictField(
        child=serializers.DictField(),
        help_text="Each document the portal will write (or wrote), keyed by its role: "
        "trust_policy, permission_policy, source_identity_policy, resource_policy:<ARN>, "
        "acl:<bucket>/<key>.",
    )
    findings = serializers.SerializerMethodField()
    simulation = serializers.SerializerMethodField()
    approvals = ApprovalSerializer(many=True)
    reviewed_by = serializers.CharField(
        source="reviewed_by.username", allow_null=True, default=None
    )
    siblings = serializers.SerializerMethodField(
        help_text="The other requests of the same submission (its `batch`), one per account."
    )

    class Meta(AccessRequestListSerializer.Meta):
        fields = [
            *AccessRequestListSerializer.Meta.fields,
            "approved_by_rule",
            "break_glass",
            "review_status",
            "reviewed_by",
            "reviewed_at",
            "review_comment",
            "recommendation_reasons",
            "external_id",
            "documents",
            "documents_hash",
            "findings",
            "simulation",
            "approvals",
            "siblings",
        ]

    @extend_schema_field(SiblingSerializer(many=True))
    def get_siblings(self, access_request: AccessRequest) -> list[dict]:
        """Those the caller may see (the context's `user`): an approver of one account sees
        nothing of the requests into accounts they do not approve for."""
        user = self.context.get("user")
        if access_request.batch is None or user is None:
            return []
        siblings = access_request_siblings(access_request=access_request, user=user)
        return [
            {"id": pk, "target_account": account_id, "status": status}
            for pk, account_id, status in siblings.values_list(
                "id", "target_account__account_id", "status"
            )
        ]

    @extend_schema_field(FindingSerializer(many=True))
    def get_findings(self, access_request: AccessRequest) -> list[dict]:
        """The stored findings, or the linter's on the documents when none were stored."""
        if access_request.findings:
            return access_request.findings
        return [
            finding.as_dict()
            for finding in documents_lint(
                access_request.documents, third_party=access_request.third_party
            )
        ]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_simulation(self, access_request: AccessRequest) -> dict:
        return access_request.simulation or {}
