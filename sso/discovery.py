"""The identity provider's configuration, read from its discovery document and cached.

The portal is configured with the issuer alone (PORTAL_OIDC_ISSUER); the endpoints and the signing
keys' address come from `<issuer>/.well-known/openid-configuration` (OpenID Connect Discovery 1.0,
section 4), fetched at the first SSO sign-in and kept for an hour per process, so a provider that
moves an endpoint is followed without a restart and `make run` without a provider fetches nothing.
"""

import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings

from core.errors import ServiceError

CACHE_SECONDS = 3600
TIMEOUT_SECONDS = 10
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")

_cache: dict[str, tuple[float, "ProviderConfig"]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class ProviderConfig:
    """What the sign-in needs of the provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    scopes_supported: tuple[str, ...]
    token_endpoint_auth_methods: tuple[str, ...]


def sso_enabled() -> bool:
    """Whether the portal offers single sign-on: an issuer is configured."""
    return bool(settings.PORTAL_OIDC_ISSUER)


def issuer_url_check(url: str) -> str:
    """The issuer's URL, which must be https: the discovery document it serves decides where the
    portal sends people and whose keys it trusts. Plain http only on this machine (the tests)."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
        return url
    raise ServiceError(
        "Single sign-on is misconfigured: PORTAL_OIDC_ISSUER must be an https:// URL.",
        kind=ServiceError.UNAVAILABLE,
    )


def provider_config() -> ProviderConfig:
    """The configured provider's discovery document, from the cache when it is fresh."""
    issuer = settings.PORTAL_OIDC_ISSUER
    now = time.monotonic()
    with _lock:
        cached = _cache.get(issuer)
        if cached and now - cached[0] < CACHE_SECONDS:
            return cached[1]
    config = provider_config_fetch(issuer)
    with _lock:
        _cache[issuer] = (now, config)
    return config


def provider_config_forget() -> None:
    """Drop the cached documents (tests that start a new provider; a rotated configuration)."""
    with _lock:
        _cache.clear()


def provider_config_fetch(issuer: str) -> ProviderConfig:
    """Fetch and check the discovery document. Its `issuer` must be the configured one (section
    4.3: otherwise another provider's document could be served under this address); a trailing
    slash is the only difference forgiven, and the document's spelling is what ID tokens carry."""
    url = issuer_url_check(issuer).rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise ServiceError(
            f"The identity provider cannot be reached ({error.__class__.__name__}). "
            "Try again in a moment, or sign in with a password.",
            kind=ServiceError.UNAVAILABLE,
        ) from error
    missing = [key for key in REQUIRED if not isinstance(document.get(key), str)]
    if missing or document["issuer"].rstrip("/") != issuer.rstrip("/"):
        raise ServiceError(
            "Single sign-on is misconfigured: the identity provider's discovery document "
            + (f"lacks {', '.join(missing)}." if missing else "names another issuer."),
            kind=ServiceError.UNAVAILABLE,
        )
    for key in (*REQUIRED, "userinfo_endpoint"):
        if document.get(key):
            issuer_url_check(document[key])
    return ProviderConfig(
        issuer=document["issuer"],
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        userinfo_endpoint=document.get("userinfo_endpoint") or None,
        scopes_supported=tuple(document.get("scopes_supported") or ()),
        # Section 3: when the document says nothing, client_secret_basic is what is supported.
        token_endpoint_auth_methods=tuple(
            document.get("token_endpoint_auth_methods_supported") or ("client_secret_basic",)
        ),
    )
