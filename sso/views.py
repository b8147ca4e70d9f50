"""The SSO sign-in's two steps (to the provider and back) and the API tokens page."""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.generic import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from api.services import api_token_create, api_token_revoke, api_tokens_visible_to
from core.errors import ServiceError
from core.http import AuthenticatedHttpRequest, client_address, flash_error
from sso.backends import SsoRefused, library_setting, redirect_uri
from sso.discovery import provider_config, sso_enabled

logger = logging.getLogger(__name__)

UNVERIFIED = (
    "Single sign-on failed: the identity provider's answer did not pass the portal's checks. "
    "Try again; if it keeps failing, tell a platform admin."
)


def sso_refused(request: HttpRequest, message: str) -> HttpResponse:
    """Back to the sign-in page with the reason; password sign-in stays available there."""
    messages.error(request, message)
    return redirect(settings.LOGIN_URL)


class SsoStartView(OIDCAuthenticationRequestView):
    """GET /oidc/authenticate/: to the provider's authorization endpoint with a fresh state,
    nonce and PKCE (S256) challenge, kept in the session for the callback."""

    get_settings = staticmethod(library_setting)

    def __init__(self, **kwargs) -> None:
        # The library reads the endpoint when the view is built; here it is read when used.
        View.__init__(self, **kwargs)

    @property
    def OIDC_OP_AUTH_ENDPOINT(self) -> str:  # noqa: N802 (the library's attribute names)
        return provider_config().authorization_endpoint

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:  # noqa: N802
        return settings.PORTAL_OIDC_CLIENT_ID

    def get(self, request: HttpRequest) -> HttpResponse:
        if not sso_enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            return super().get(request)
        except ServiceError as error:
            return sso_refused(request, error.message)

    def get_extra_params(self, request: HttpRequest) -> dict[str, str]:
        # Applied after the library's own parameters: the registered redirect URI replaces the
        # one it builds from the request's Host header.
        return {"redirect_uri": redirect_uri()}


class SsoCallbackView(OIDCAuthenticationCallbackView):
    """GET /oidc/callback/: the state must be one this browser's session started; the code is
    exchanged with the PKCE verifier, the ID token checked (sso.backends), the user signed in."""

    get_settings = staticmethod(library_setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not sso_enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            issuer = provider_config().issuer
            # RFC 9207: a provider that names itself in the answer must name the configured one.
            if "iss" in request.GET and request.GET["iss"] != issuer:
                raise SsoRefused(f"authorization response from issuer {request.GET['iss']!r}")
            if request.GET.get("error"):
                return self.provider_error(request)
            return super().get(request)
        except ServiceError as error:
            logger.warning("SSO sign-in refused: %s", error.message)
            return sso_refused(request, error.message)
        except (SsoRefused, SuspiciousOperation) as error:
            logger.warning("SSO sign-in refused: %s", error)
            return sso_refused(request, UNVERIFIED)

    def provider_error(self, request: HttpRequest) -> HttpResponse:
        """The provider said no (the person cancelled, is not assigned to the portal, ...). The
        state is spent; unlike the library, whoever is signed in stays signed in: a link to
        /oidc/callback/?error=x must not sign people out."""
        states = request.session.get("oidc_states")
        if isinstance(states, dict) and states.pop(request.GET.get("state", ""), None):
            request.session.modified = True
        return self.login_failure()

    def login_failure(self) -> HttpResponse:
        error = self.request.GET.get("error", "")
        reason = f" (the identity provider answered {error[:64]})" if error else ""
        logger.warning("SSO sign-in failed%s", reason)
        return sso_refused(self.request, f"Single sign-on did not complete{reason}. Try again.")


@never_cache
@login_required
def account_tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The person's API token: its prefix and date, or a button to make one. Making one shows
    the key on this response only (never cached); afterwards only the prefix."""
    token = api_tokens_visible_to(user=request.user).filter(user=request.user).first()
    context: dict = {"token": token, "key": None, "base_url": settings.PORTAL_BASE_URL}
    status = 200
    if request.method == "POST":
        try:
            token = api_token_create(user=request.user, client_address=client_address(request))
        except ServiceError as error:
            context["refusal"] = error.message
            status = 409
        else:
            context.update(token=token, key=token.key)
    return render(request, "sso/tokens.html", context, status=status)


@require_POST
@login_required
def account_token_revoke(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        api_token_revoke(
            actor=request.user, owner=request.user, client_address=client_address(request)
        )
    except ServiceError as error:
        flash_error(request, error)
    else:
        messages.success(request, "Token revoked: scripts and portal-cli logins using it stop now.")
    return redirect("account_tokens")
