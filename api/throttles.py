"""Per-user rate limits on the token and credential endpoints, counted in the shared cache.

The rates are read on every request (not once at import, as DRF's own classes do), so settings
can change them, e.g. in tests."""

import hashlib

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class _SettingsRate:
    scope = ""

    def get_rate(self) -> str | None:
        # The DRF stubs type the rates as numbers; DRF's are strings such as "10/minute".
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)  # type: ignore[return-value]


class TokenRateThrottle(_SettingsRate, SimpleRateThrottle):
    """Logins per username (so guessing one person's password is slow wherever it comes from);
    a body without a username counts against the client address."""

    scope = "auth_token"

    def get_cache_key(self, request, view) -> str:
        username = ""
        if isinstance(request.data, dict):
            value = request.data.get("username")
            username = value.strip().lower()[:150] if isinstance(value, str) else ""
        if username:
            ident = "user-" + hashlib.sha256(username.encode()).hexdigest()[:32]
        else:
            ident = f"addr-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class CredentialsRateThrottle(_SettingsRate, SimpleRateThrottle):
    """Sessions per authenticated user."""

    scope = "credentials"

    def get_cache_key(self, request, view) -> str | None:
        if not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


# Words for messages, not passwords (bandit B105 reads "token" as one).
RATE_WORDS = {"auth_token": "token requests", "credentials": "credential requests"}  # nosec B105
