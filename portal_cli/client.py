"""A small JSON client for /api/v1/ on urllib; every HTTP or network failure becomes ApiError."""

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence

from portal_cli import __version__

TIMEOUT = 30.0
# Pages of a list endpoint followed at most; a bound, so a server bug cannot loop the CLI forever.
MAX_PAGES = 100


class ApiError(Exception):
    """The API refused (4xx), failed (5xx) or could not be reached; str() is the user's message."""

    def __init__(
        self, message: str, *, status: int | None = None, details: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.details = list(details)

    def lines(self) -> list[str]:
        return [str(self), *(f"  {detail}" for detail in self.details)]


def base_url_check(url: str) -> str:
    """The portal's root URL without a trailing slash; only http and https are accepted."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiError(f"not an http(s) URL: {url!r} (e.g. http://127.0.0.1:8000)")
    return url.strip().rstrip("/")


def error_details(body: object, prefix: str = "") -> list[str]:
    """DRF's error bodies as lines: {"detail": m}, {"field": [m, ...]}, nested objects, lists."""
    if isinstance(body, dict):
        lines = []
        for key, value in body.items():
            field = key not in ("detail", "non_field_errors")
            name = f"{prefix}{key}" if field else prefix.rstrip(".")
            if isinstance(value, dict):
                lines += error_details(value, f"{name}." if name else "")
            else:
                lines += [f"{name}: {text}" if name else text for text in _texts(value)]
        return lines
    label = prefix.rstrip(".")
    return [f"{label}: {text}" if label else text for text in _texts(body)]


def _texts(value: object) -> list[str]:
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    if isinstance(value, dict):
        return [json.dumps(value, sort_keys=True)]
    return [str(value)]


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    """urllib resends every header on a redirect, Authorization too, to whatever host and scheme
    the Location names: the token follows a redirect only on the same scheme and host (as curl
    and requests do)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(new.full_url) != _origin(req.full_url):
            new.remove_header("Authorization")
        return new


_opener = urllib.request.build_opener(_RedirectHandler)


class Client:
    def __init__(self, url: str, token: str | None = None, *, timeout: float = TIMEOUT):
        self.url = base_url_check(url)
        self.token = token
        self.timeout = timeout

    def get(self, path: str) -> object:
        return self.call("GET", path)

    def post(self, path: str, body: dict | None = None) -> object:
        return self.call("POST", path, body if body is not None else {})

    def delete(self, path: str) -> object:
        return self.call("DELETE", path)

    def get_all(self, path: str) -> list:
        """Every item of a list endpoint, following DRF's `next` links (or a bare list)."""
        items: list = []
        page: object = self.get(path)
        for _ in range(MAX_PAGES):
            if isinstance(page, list):
                return items + page
            if not isinstance(page, dict) or "results" not in page:
                raise ApiError("unexpected answer from the API: not a list")
            items += page["results"]
            if not page.get("next"):
                return items
            page = self.call("GET", self.on_portal(str(page["next"])))
        return items

    def on_portal(self, link: str) -> str:
        """A link of an answer, on the configured portal's scheme and host: the token goes
        nowhere else (say a `next` link written as http:// behind a proxy that did not say the
        caller came over https)."""
        own, parts = urllib.parse.urlsplit(self.url), urllib.parse.urlsplit(link)
        return urllib.parse.urlunsplit((own.scheme, own.netloc, parts.path, parts.query, ""))

    def call(self, method: str, path: str, body: dict | None = None) -> object:
        url = path if path.startswith(("http://", "https://")) else f"{self.url}{path}"
        base_url_check(url)
        headers = {"Accept": "application/json", "User-Agent": f"portal-cli/{__version__}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 (scheme checked)
        try:
            # The URL is the configured portal URL, whose scheme base_url checked (http or https).
            with _opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise self._http_error(method, url, error) from None
        except urllib.error.URLError as error:
            raise ApiError(f"cannot reach {self.url}: {error.reason}") from None
        except TimeoutError:
            raise ApiError(f"{self.url} did not answer within {self.timeout:g}s") from None
        except OSError as error:
            raise ApiError(f"cannot reach {self.url}: {error}") from None
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(f"{method} {url}: the answer is not JSON") from None

    @staticmethod
    def _http_error(method: str, url: str, error: urllib.error.HTTPError) -> ApiError:
        try:
            raw = error.read()
        except OSError:
            raw = b""
        try:
            details = error_details(json.loads(raw)) if raw.strip() else []
        except ValueError:
            details = []
        reason = error.reason or ""
        path = urllib.parse.urlsplit(url).path
        message = f"{method} {path} failed: {error.code} {reason}".rstrip()
        if error.code == 401:
            details.append("log in again with `portal-cli login` (or check PORTAL_TOKEN)")
        elif error.code == 429 and error.headers.get("Retry-After"):
            details.append(f"try again in {error.headers['Retry-After']}s")
        return ApiError(message, status=error.code, details=details)
