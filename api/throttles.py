"""Per-user rate limits on the token and credential endpoints, counted in the shared cache.

The rates are read on every request (not once at import, as DRF's own classes do), so settings
can change them, e.g. in tests."""

import hashlib

import redis
from django.conf import settings
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
            # As the serializer's CharField reads it: a JSON number is its digits (100234 is
            # "100234"), so guesses sent as numbers count against that username too.
            if isinstance(value, int | float) and not isinstance(value, bool):
                value = str(value)
            username = value.strip().lower()[:150] if isinstance(value, str) else ""
        if username:
            ident = "user-" + hashlib.sha256(username.encode()).hexdigest()[:32]
        else:
            ident = f"addr-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class CredentialsRateThrottle(_SettingsRate, SimpleRateThrottle):
    """Sessions per authenticated user, in one Redis round trip a call (it sits on the path of
    every credential vended): a sliding-window counter, this window's count and the last
    window's, weighted by how much of it still overlaps the last `duration` seconds. Every call
    counts, a refused one too (as DRF's own throttles count the ones they let through)."""

    scope = "credentials"
    # Set by SimpleRateThrottle.__init__ from the rate (missing from the DRF stubs).
    duration: int
    num_requests: int
    wait_seconds: float | None = None

    def get_cache_key(self, request, view) -> str | None:
        if not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        limit, window = self.num_requests, self.duration
        now = self.timer()
        current = int(now // window)
        prefix = f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:{key}:"
        pipeline = _redis().pipeline(transaction=False)
        pipeline.incr(prefix + str(current))
        pipeline.expire(prefix + str(current), 2 * window)
        pipeline.get(prefix + str(current - 1))
        count, _, previous = pipeline.execute()
        overlap = 1 - (now % window) / window
        estimate = int(previous or 0) * overlap + int(count)
        self.wait_seconds = window - now % window
        return estimate <= limit

    def wait(self) -> float | None:
        return self.wait_seconds


_clients: dict[str, redis.Redis] = {}


def _redis() -> redis.Redis:
    """One client (and connection pool) per process for the cache's Redis."""
    url = settings.CACHES["default"]["LOCATION"]
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    return _clients[url]


# Words for messages, not passwords (bandit B105 reads "token" as one).
RATE_WORDS = {"auth_token": "token requests", "credentials": "credential requests"}  # nosec B105
