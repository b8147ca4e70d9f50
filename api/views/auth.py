"""/api/v1/auth/: get and revoke a token; admins list and revoke anyone's."""

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import User
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.mfa import second_factor_required, totp_device_confirmed, totp_verify
from api.services import KEY_PREFIX_LENGTH, api_token_issue, api_token_revoke, api_tokens_visible_to
from api.throttles import TokenRateThrottle
from api.views.common import BIGINT_MAX, caller, client_address, errors


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=1024, trim_whitespace=False)
    otp = serializers.CharField(
        max_length=16,
        required=False,
        allow_blank=True,
        help_text="The current code of the user's authenticator app: needed when "
        "PORTAL_REQUIRE_MFA is on and the user approves or administers.",
    )


TokenSerializer = inline_serializer(name="Token", fields={"token": serializers.CharField()})
OwnTokenSerializer = inline_serializer(
    name="OwnToken",
    fields={
        "username": serializers.CharField(),
        "prefix": serializers.CharField(help_text="The first characters of the key only."),
        "created": serializers.DateTimeField(),
    },
)


class TokenListSerializer(serializers.Serializer):
    id = serializers.IntegerField(
        source="user_id", help_text="The token's id: its owner's user id (one token per user)."
    )
    user = serializers.CharField(source="user.username")
    prefix = serializers.SerializerMethodField(help_text="The first characters of the key only.")
    created = serializers.DateTimeField()

    def get_prefix(self, token) -> str:
        return token.key[:KEY_PREFIX_LENGTH]


@extend_schema_view(
    post=extend_schema(
        summary="Get an API token for a username and password",
        description="Send it as `Authorization: Token <token>`. Rate limited per username. "
        "With PORTAL_REQUIRE_MFA on, a user with a password who approves or administers also "
        "sends `otp`, the current code of their authenticator app.",
        request=TokenRequestSerializer,
        responses={200: TokenSerializer, **errors(400, 413, 415, 429)},
        auth=[],
    ),
    get=extend_schema(
        summary="Who the caller's token belongs to (portal-cli login --token checks a token so)",
        responses={200: OwnTokenSerializer, **errors(404)},
    ),
    delete=extend_schema(
        summary="Revoke the caller's own token",
        responses={204: None, **errors(404)},
    ),
)
class TokenView(APIView):
    throttle_classes = [TokenRateThrottle]

    def get_authenticators(self):
        # Logging in needs no credentials, and a browser session must not make it a CSRF target.
        if self.request is not None and self.request.method == "POST":
            return []
        return super().get_authenticators()

    def get_permissions(self):
        if self.request is not None and self.request.method == "POST":
            return [AllowAny()]
        return super().get_permissions()

    def get_throttles(self):
        return super().get_throttles() if self.request.method == "POST" else []

    def post(self, request: Request) -> Response:
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=body.validated_data["username"],
            password=body.validated_data["password"],
        )
        if user is None or not user.is_active:
            # 400 as DRF's own ObtainAuthToken answers: the body was wrong, not a credential sent.
            return Response(
                {"detail": "Wrong username or password."}, status=status.HTTP_400_BAD_REQUEST
            )
        refusal = _second_factor_refusal(user, body.validated_data.get("otp", ""))
        if refusal:
            return Response({"detail": refusal, "otp": [refusal]}, status=400)
        token = api_token_issue(user=user, client_address=client_address(request))
        response = Response({"token": token.key})
        response["Cache-Control"] = "no-store"
        return response

    def get(self, request: Request) -> Response:
        user = caller(request)
        token = api_tokens_visible_to(user=user).filter(user=user).first()
        if token is None:
            raise Http404("You have no API token.")
        return Response(
            {
                "username": user.get_username(),
                "prefix": token.key[:KEY_PREFIX_LENGTH],
                "created": token.created,
            }
        )

    def delete(self, request: Request) -> Response:
        user = caller(request)
        api_token_revoke(actor=user, owner=user, client_address=client_address(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _second_factor_refusal(user: User, otp: str) -> str:
    """Why a user who needs a second factor gets no token (accounts/mfa.py), or "" when they
    need none or gave the right code."""
    if not second_factor_required(user):
        return ""
    if totp_device_confirmed(user) is None:
        return "Set up two-factor authentication on the web first (/accounts/mfa/setup/)."
    if not otp:
        return "Give the code of your authenticator app as `otp`."
    if totp_verify(user=user, token=otp) is None:
        return "That code is not right (or too many tries: wait a little and try again)."
    return ""


@extend_schema_view(
    get=extend_schema(
        summary="API tokens (admins: everyone's; others: their own), by prefix only",
        responses={200: TokenListSerializer(many=True), **errors(404)},
    )
)
class TokenListView(generics.ListAPIView):
    serializer_class = TokenListSerializer

    def get_queryset(self):
        return api_tokens_visible_to(user=caller(self.request))


@extend_schema(
    summary="Revoke a user's token (admins; anyone for their own)",
    responses={204: None, **errors(403, 404)},
)
class TokenRevokeView(APIView):
    def delete(self, request: Request, pk: int) -> Response:
        if not 0 < pk <= BIGINT_MAX:
            raise Http404
        visible = api_tokens_visible_to(user=caller(request)).filter(user_id=pk).first()
        if visible is None:
            raise Http404
        owner = get_user_model().objects.get(pk=pk)
        api_token_revoke(actor=caller(request), owner=owner, client_address=client_address(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
