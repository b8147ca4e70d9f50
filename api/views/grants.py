"""/api/v1/grants/: list, one grant, credentials, revoke, extend."""

import logging

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access_requests.models import AccessRequest, Mechanism
from access_requests.services import grant_extension_request
from api.serializers.common import ACCOUNT_ID_REGEX
from api.serializers.grants import (
    CredentialProcessSerializer,
    ExtendSerializer,
    GrantDetailSerializer,
    GrantListSerializer,
)
from api.serializers.requests import AccessRequestDetailSerializer
from api.throttles import CredentialsRateThrottle
from api.views.common import (
    caller,
    client_address,
    errors,
    grants_visible,
    valid_id,
    visible_grant,
)
from api.views.requests import _detail
from core.errors import ServiceError
from provisioning import console, services, sessions
from provisioning.models import Grant

logger = logging.getLogger(__name__)


class GrantFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=AccessRequest.Status.values, required=False)
    source_account = serializers.RegexField(ACCOUNT_ID_REGEX, required=False)
    target_account = serializers.RegexField(ACCOUNT_ID_REGEX, required=False)
    requester = serializers.CharField(max_length=150, required=False)
    mechanism = serializers.ChoiceField(choices=Mechanism.values, required=False)


GRANT_FILTER_PARAMETERS = [
    OpenApiParameter("status", str, enum=AccessRequest.Status.values, description="e.g. active"),
    OpenApiParameter("source_account", str, pattern=ACCOUNT_ID_REGEX),
    OpenApiParameter("target_account", str, pattern=ACCOUNT_ID_REGEX),
    OpenApiParameter("requester", str, description="A username."),
    OpenApiParameter("mechanism", str, enum=Mechanism.values),
]


@extend_schema_view(
    get=extend_schema(
        summary="Grants of the requests the caller can see",
        parameters=GRANT_FILTER_PARAMETERS,
        responses={200: GrantListSerializer(many=True), **errors(400, 404)},
    )
)
class GrantListView(generics.ListAPIView):
    serializer_class = GrantListSerializer

    def get_queryset(self):
        filters = GrantFilters(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        values = filters.validated_data
        grants = grants_visible(self.request)
        if "status" in values:
            grants = grants.filter(access_request__status=values["status"])
        if "source_account" in values:
            grants = grants.filter(
                access_request__source_account__account_id=values["source_account"]
            )
        if "target_account" in values:
            grants = grants.filter(
                access_request__target_account__account_id=values["target_account"]
            )
        if "requester" in values:
            grants = grants.filter(access_request__requester__username=values["requester"])
        if "mechanism" in values:
            grants = grants.filter(access_request__mechanism=values["mechanism"])
        return grants.order_by("-created_at", "-id")


@extend_schema(summary="One grant", responses={200: GrantDetailSerializer, **errors(404)})
class GrantDetailView(APIView):
    def get(self, request: Request, pk: int) -> Response:
        return Response(GrantDetailSerializer(visible_grant(request, pk)).data)


@extend_schema(
    summary="Start a session: short-lived STS credentials (credential_process format)",
    description="For the requester of an active role grant. The secret and the token exist only "
    "in this response (Cache-Control: no-store); the audit trail records the access key id.",
    request=None,
    responses={
        200: CredentialProcessSerializer,
        **errors(403, 404, 409, 429, 502),
    },
)
class GrantCredentialsView(APIView):
    throttle_classes = [CredentialsRateThrottle]

    def post(self, request: Request, pk: int) -> Response:
        # Only the grant's requester gets a session, so the happy path reads the grant once, in
        # session_start; the visibility rule decides only what a refusal says.
        grant_id = valid_id(pk)
        try:
            assumed, _issue, _capped_by = sessions.session_start(
                grant_id=grant_id, user=caller(request), client_address=client_address(request)
            )
        except Grant.DoesNotExist:
            raise Http404 from None
        except ServiceError as error:
            if error.kind == ServiceError.UNAVAILABLE:
                logger.warning("session for grant %s: %s", grant_id, error)
                return Response(
                    {"detail": error.message},
                    status=status.HTTP_502_BAD_GATEWAY,
                    headers={"Cache-Control": "no-store"},
                )
            # Refused before any AWS call. Who may not see the grant learns nothing of it: 404.
            visible_grant(request, grant_id)
            raise
        document = sessions.credential_process_document(assumed.credentials)
        return Response(document, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


class ConsoleUrlSerializer(serializers.Serializer):
    url = serializers.URLField(
        help_text="AWS's console sign-in URL (at the federation endpoint): open it within 15 "
        "minutes. It signs in as the granted role, in the region of the grant's resources."
    )


@extend_schema(
    summary="Open the AWS console: a sign-in URL from a fresh session",
    description="For the requester of an active role grant. A fresh session (the same rules, "
    "rate limit and audit as credentials) is exchanged at AWS's federation endpoint for a "
    "sign-in token; the URL carries it (Cache-Control: no-store).",
    request=None,
    responses={200: ConsoleUrlSerializer, **errors(403, 404, 409, 429, 502)},
)
class GrantConsoleView(APIView):
    throttle_classes = [CredentialsRateThrottle]

    def post(self, request: Request, pk: int) -> Response:
        grant_id = valid_id(pk)
        try:
            signed_in = console.console_sign_in(
                grant_id=grant_id, user=caller(request), client_address=client_address(request)
            )
        except Grant.DoesNotExist:
            raise Http404 from None
        except ServiceError as error:
            if error.kind == ServiceError.UNAVAILABLE:
                logger.warning("console for grant %s: %s", grant_id, error)
                return Response(
                    {"detail": error.message},
                    status=status.HTTP_502_BAD_GATEWAY,
                    headers={"Cache-Control": "no-store"},
                )
            visible_grant(request, grant_id)  # who may not see the grant learns nothing: 404
            raise
        return Response(
            {"url": signed_in.url}, headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
        )


@extend_schema(
    summary="Revoke now: the portal removes exactly what it wrote (asynchronously)",
    request=None,
    responses={202: GrantDetailSerializer, **errors(403, 404, 409)},
)
class GrantRevokeView(APIView):
    def post(self, request: Request, pk: int) -> Response:
        grant = visible_grant(request, pk)
        services.grant_revoke_request(
            grant=grant, user=caller(request), client_address=client_address(request)
        )
        return Response(
            GrantDetailSerializer(visible_grant(request, pk)).data, status=status.HTTP_202_ACCEPTED
        )


@extend_schema(
    summary="Ask for more time on an active grant (an extension request, through approval)",
    request=ExtendSerializer,
    responses={201: AccessRequestDetailSerializer, **errors(400, 403, 404, 409, 413, 415)},
)
class GrantExtendView(APIView):
    def post(self, request: Request, pk: int) -> Response:
        grant = visible_grant(request, pk)
        body = ExtendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        extension = grant_extension_request(
            grant=grant,
            user=caller(request),
            duration=body.validated_data["duration"],
            justification=body.validated_data["justification"],
            client_address=client_address(request),
        )
        return Response(_detail(extension, request), status=status.HTTP_201_CREATED)
