"""/api/v1/audit/: the audit trail (admins all; others the events they caused)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError

from api.views.common import caller, errors
from audit.models import AuditEvent
from audit.selectors import audit_events_filtered, audit_filters_parse


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    request = serializers.IntegerField(source="access_request_id", allow_null=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "verb",
            "object_type",
            "object_id",
            "request",
            "before",
            "after",
            "client_address",
        ]


@extend_schema_view(
    get=extend_schema(
        summary="Audit events, newest first",
        parameters=[
            OpenApiParameter("request", int, description="A request id."),
            OpenApiParameter("actor", str, description="A username."),
            OpenApiParameter("verb", str, description="A verb or its prefix, e.g. request."),
            OpenApiParameter("from", str, description="First day, YYYY-MM-DD."),
            OpenApiParameter("to", str, description="Last day, YYYY-MM-DD."),
        ],
        responses={200: AuditEventSerializer(many=True), **errors(400, 404)},
    )
)
class AuditListView(generics.ListAPIView):
    serializer_class = AuditEventSerializer

    def get_queryset(self):
        filters = audit_filters_parse(self.request.query_params)
        if filters.errors:
            raise ValidationError({"detail": " ".join(filters.errors), "filters": filters.errors})
        return audit_events_filtered(user=caller(self.request), **filters.arguments()).order_by(
            "-created_at", "-id"
        )
