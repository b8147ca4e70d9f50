"""/api/v1/onboarding/: what a platform admin deploys to bring the organization's accounts in."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from api.views.common import errors
from aws.member_template import member_template_yaml

# The YAML media type (RFC 9512).
YAML = "application/yaml"


class IsPlatformAdmin(BasePermission):
    """Platform admins (superusers) only: the template and the sync shape every account."""

    message = "Only platform admins may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_superuser)


class MemberTemplateView(APIView):
    permission_classes = [IsPlatformAdmin]

    @extend_schema(
        summary="The CloudFormation template of every member account (a StackSet's)",
        description="YAML: the roles PortalProvisioner and, with SourceAccount true, "
        "PortalBroker, and the managed policy /portal/PortalGrantBoundary. Parameters "
        "ToolingAccountId and SourceAccount. Also `manage.py onboarding_template`.",
        responses={
            (200, YAML): OpenApiResponse(OpenApiTypes.STR, description="The template."),
            **errors(403),
        },
    )
    def get(self, request: Request) -> HttpResponse:
        # The YAML itself as the body (no JSON envelope), so `curl ... > member.yaml` deploys.
        return HttpResponse(member_template_yaml(), content_type=f"{YAML}; charset=utf-8")
