"""/api/v1/users/: deactivate a leaver (platform admins)."""

from dataclasses import asdict

from django.contrib.auth import get_user_model
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.leavers import user_deactivate
from api.views.common import caller, client_address, errors
from core.errors import ServiceError


class DeactivationSerializer(serializers.Serializer):
    username = serializers.CharField()
    was_active = serializers.BooleanField(help_text="False when the user was already inactive.")
    tokens_deleted = serializers.IntegerField()
    sessions_ended = serializers.IntegerField()
    requests_cancelled = serializers.ListField(
        child=serializers.IntegerField(), help_text="The pending requests cancelled."
    )
    grants_revoked = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The grants whose revoke started; the worker removes them from AWS.",
    )


@extend_schema(
    summary="Deactivate a user (platform admins): tokens, sessions, requests and grants end",
    description="Idempotent: calling it again for an inactive user answers 200 with what was "
    "left to do (usually nothing).",
    request=None,
    responses={200: DeactivationSerializer, **errors(403, 404)},
)
class UserDeactivateView(APIView):
    def post(self, request: Request, username: str) -> Response:
        admin = caller(request)
        if not admin.is_superuser:  # before the lookup: no probing for usernames
            raise ServiceError(
                "Only platform admins deactivate users.", kind=ServiceError.FORBIDDEN
            )
        if "\x00" in username:  # PostgreSQL's text holds no NUL: no such user, not a 500
            raise Http404
        user = get_object_or_404(get_user_model(), username=username)
        done = user_deactivate(
            user=user, actor=admin, via="api", client_address=client_address(request)
        )
        return Response(asdict(done))
