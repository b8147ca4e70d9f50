"""The OpenID Connect authentication backend: mozilla-django-oidc's code flow, configured from
the discovery document, with the ID token checks the library leaves to its users.

mozilla-django-oidc does the authorization code exchange, keeps state, nonce and the PKCE verifier
in the session and checks the nonce and the signature (the key from the provider's JWKS, matched
by `kid`). It checks neither the audience nor the issuer (it decodes with `verify_aud` off) and
does not require `exp`; this backend decodes with all of them required (OpenID Connect Core 1.0,
section 3.1.3.7), and turns every failure into a refusal the sign-in page shows instead of a
400 or 500 page.
"""

import logging
from typing import Any
from urllib.parse import quote

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from core.http import client_address
from sso.discovery import TIMEOUT_SECONDS, provider_config, sso_enabled
from sso.services import sso_sign_in

logger = logging.getLogger(__name__)

SIGNING_ALGORITHM = "RS256"
# Clock skew allowed between the provider and the portal when checking exp and iat.
LEEWAY_SECONDS = 60
# Django's own settings the library reads, and the library's choices made here once; nothing
# else is configurable: the portal is set up with the PORTAL_OIDC_* variables only.
LIBRARY_SETTINGS: dict[str, Any] = {
    "OIDC_USE_NONCE": True,
    "OIDC_USE_PKCE": True,
    "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
    "OIDC_ALLOW_UNSECURED_JWT": False,
    "OIDC_VERIFY_SSL": True,
    "OIDC_TIMEOUT": TIMEOUT_SECONDS,
    "OIDC_PROXY": None,
    "OIDC_STORE_ACCESS_TOKEN": False,  # nosec B105 (a flag, not a password)
    "OIDC_STORE_ID_TOKEN": False,
    "OIDC_CREATE_USER": True,
    "OIDC_AUTHENTICATION_CALLBACK_URL": "oidc_callback",
    "OIDC_REDIRECT_FIELD_NAME": "next",
}


class SsoRefused(Exception):
    """The provider's answer did not pass a check; the message is for the log, not the user."""


def library_setting(name: str, *default: Any) -> Any:
    """mozilla-django-oidc's `get_settings`, answered from the portal's configuration."""
    if name == "OIDC_RP_SCOPES":
        return sso_scopes()
    if name == "LOGIN_REDIRECT_URL_FAILURE":
        return settings.LOGIN_URL
    if name in LIBRARY_SETTINGS:
        return LIBRARY_SETTINGS[name]
    if name == "LOGIN_REDIRECT_URL":
        return settings.LOGIN_REDIRECT_URL
    if default:
        return default[0]
    raise ImproperlyConfigured(f"sso: no value for {name}")


def sso_scopes() -> str:
    """openid, email and profile; and the groups claim's name as a scope when the provider
    offers one of that name (Okta's `groups`): a scope it does not offer would be refused
    (Entra ID and Google put groups, if any, in the token without a scope)."""
    scopes = ["openid", "email", "profile"]
    claim = settings.PORTAL_OIDC_GROUPS_CLAIM
    if claim and claim in provider_config().scopes_supported:
        scopes.append(claim)
    return " ".join(scopes)


def redirect_uri() -> str:
    """<PORTAL_BASE_URL>/oidc/callback/, registered with the provider (SPEC 10.3). Built from the
    setting, not from the request's Host header, which the client chooses."""
    return settings.PORTAL_BASE_URL + reverse("oidc_callback")


class OidcBackend(OIDCAuthenticationBackend):
    """Signs in SSO users; inert (returns None) for every other authenticate() call."""

    get_settings = staticmethod(library_setting)
    OIDC_RP_SIGN_ALGO = SIGNING_ALGORITHM
    OIDC_RP_IDP_SIGN_KEY = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Django builds a backend for every authenticate() and every request's session user;
        # the library's __init__ would read every endpoint then. They are read when used.
        self.UserModel = get_user_model()

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:  # noqa: N802 (the library's attribute names)
        return provider_config().token_endpoint

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str | None:  # noqa: N802
        return provider_config().userinfo_endpoint

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:  # noqa: N802
        return provider_config().jwks_uri

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:  # noqa: N802
        return settings.PORTAL_OIDC_CLIENT_ID

    @property
    def OIDC_RP_CLIENT_SECRET(self) -> str:  # noqa: N802
        return settings.PORTAL_OIDC_CLIENT_SECRET

    def authenticate(self, request, **kwargs):
        """Only the callback view's call (it passes the PKCE verifier) reaches the flow."""
        if request is None or "code_verifier" not in kwargs or not sso_enabled():
            return None
        try:
            return super().authenticate(request, **kwargs)
        except (SuspiciousOperation, jwt.PyJWTError, requests.RequestException) as error:
            raise SsoRefused(f"{error.__class__.__name__}: {error}") from error
        except (KeyError, TypeError, ValueError) as error:  # a malformed answer
            raise SsoRefused(f"malformed answer: {error.__class__.__name__}: {error}") from error

    def get_user(self, user_id):
        """Django's own rule, which the library drops: a deactivated user's session ends."""
        return ModelBackend.get_user(self, user_id)

    def get_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The code exchange, with the registered redirect URI and the client authenticated the
        way the provider supports: HTTP Basic with the id and secret form-encoded first (RFC
        6749, section 2.3.1), else in the body."""
        payload = {**payload, "redirect_uri": redirect_uri()}
        auth = None
        if "client_secret_basic" in provider_config().token_endpoint_auth_methods:
            client_id, secret = payload.pop("client_id"), payload.pop("client_secret")
            auth = (quote(client_id, safe=""), quote(secret, safe=""))
        response = requests.post(
            self.OIDC_OP_TOKEN_ENDPOINT, data=payload, auth=auth, timeout=TIMEOUT_SECONDS
        )
        self.raise_token_response_error(response)
        answer: dict[str, Any] = response.json()
        if not isinstance(answer.get("id_token"), str):
            raise SuspiciousOperation("The token response has no ID token.")
        return answer

    def _verify_jws(self, payload: str, key: Any) -> dict[str, Any]:
        """The ID token's signature (RS256 only: no `none`, no HMAC keyed with the client
        secret), audience, issuer, expiry and issue time; `azp` when present names this client."""
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != SIGNING_ALGORITHM:
            raise SuspiciousOperation(f"ID token algorithm {header.get('alg')!r} refused.")
        client_id = settings.PORTAL_OIDC_CLIENT_ID
        claims: dict[str, Any] = jwt.decode(
            payload,
            key,
            algorithms=[SIGNING_ALGORITHM],
            audience=client_id,
            issuer=provider_config().issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "sub", "aud", "exp", "iat"], "verify_signature": True},
        )
        if "azp" in claims and claims["azp"] != client_id:
            raise SuspiciousOperation("ID token authorized party is another client.")
        return claims

    def retrieve_matching_jwk(self, token: str) -> Any:
        """The provider's key for this token, by `kid`; a token without one only when the JWKS
        holds a single RSA signing key (Core 1.0, section 10.1: with several, `kid` is a MUST)."""
        if jwt.get_unverified_header(token).get("kid"):
            return super().retrieve_matching_jwk(token)
        response = requests.get(self.OIDC_OP_JWKS_ENDPOINT, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
        keys = [
            key
            for key in response.json()["keys"]
            if key.get("kty") == "RSA"
            and key.get("use", "sig") == "sig"
            and key.get("alg", SIGNING_ALGORITHM) == SIGNING_ALGORITHM
        ]
        if len(keys) != 1:
            raise SuspiciousOperation("ID token has no key id and the JWKS has several keys.")
        return jwt.PyJWK(keys[0])

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]):
        """The user for the verified ID token, its claims completed by the userinfo endpoint
        (where providers put profile and groups claims for the code flow) for the same `sub`
        (Core 1.0, section 5.3.4)."""
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT and access_token:
            userinfo = self.get_userinfo(access_token, id_token, payload)
            if not isinstance(userinfo, dict) or userinfo.get("sub") != payload["sub"]:
                raise SsoRefused("userinfo is about another subject")
            protected = {key: payload[key] for key in ("iss", "aud", "sub") if key in payload}
            claims.update(userinfo, **protected)
        return sso_sign_in(
            issuer=provider_config().issuer,
            claims=claims,
            client_address=client_address(self.request),
        )
