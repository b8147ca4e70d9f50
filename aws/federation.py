"""The AWS federation endpoint: a role session exchanged for a console sign-in token, and the
sign-in URL that opens the console with it ("custom identity broker" access).

https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_enable-console-custom-url.html
- `Action=getSigninToken`, `Session` = JSON `{"sessionId", "sessionKey", "sessionToken"}` (the
  session's access key id, secret key and token), optional `SessionDuration` (seconds, 900 to
  43200: the console session's length); the answer is JSON `{"SigninToken": "..."}`. The token
  is good for 15 minutes.
- `Action=login&Issuer=<the portal>&Destination=<a console URL>&SigninToken=<token>`: the URL
  the person opens. Issuer is where the console sends them when the session ends.
Each partition has its own endpoint and console.
"""

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode, urlsplit

from aws.core import AwsError, Credentials

TIMEOUT = 10
FEDERATION_ENDPOINTS = {
    "aws": "https://signin.aws.amazon.com/federation",
    "aws-cn": "https://signin.amazonaws.cn/federation",
    "aws-us-gov": "https://signin.amazonaws-us-gov.com/federation",
}
CONSOLES = {
    "aws": "https://console.aws.amazon.com/",
    "aws-cn": "https://console.amazonaws.cn/",
    "aws-us-gov": "https://console.amazonaws-us-gov.com/",
}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """The session goes to the configured endpoint only, never where a redirect points."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def federation_endpoint(partition: str, configured: str = "") -> str:
    return configured or FEDERATION_ENDPOINTS.get(partition, FEDERATION_ENDPOINTS["aws"])


def console_destination(partition: str, region: str) -> str:
    """The console's home page in `region`."""
    console = CONSOLES.get(partition, CONSOLES["aws"])
    return f"{console}console/home?{urlencode({'region': region})}"


def signin_token(credentials: Credentials, *, endpoint: str, session_duration: int) -> str:
    """Exchange a role session for a sign-in token (AwsError when the endpoint refuses or does not
    answer). The secret travels to the endpoint only; nothing here logs it."""
    if urlsplit(endpoint).scheme not in ("https", "http"):
        raise AwsError("the federation endpoint is not an http(s) URL")
    session = json.dumps(
        {
            "sessionId": credentials.access_key_id,
            "sessionKey": credentials.secret_access_key,
            "sessionToken": credentials.session_token,
        }
    )
    query = urlencode(
        {"Action": "getSigninToken", "SessionDuration": session_duration, "Session": session}
    )
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        f"{endpoint}?{query}", headers={"User-Agent": "access-portal"}
    )
    try:
        with _opener.open(request, timeout=TIMEOUT) as response:
            body = response.read(64 * 1024)
    except urllib.error.HTTPError as error:
        error.close()
        raise AwsError(
            f"the federation endpoint answered HTTP {error.code}",
            retryable=error.code >= 500,
        ) from None
    except OSError as error:
        raise AwsError(f"the federation endpoint did not answer: {error}", retryable=True) from None
    try:
        token = json.loads(body)["SigninToken"]
    except (ValueError, KeyError, TypeError):
        raise AwsError("the federation endpoint gave no sign-in token") from None
    if not isinstance(token, str) or not token:
        raise AwsError("the federation endpoint gave no sign-in token")
    return token


def login_url(*, endpoint: str, token: str, destination: str, issuer: str) -> str:
    query = urlencode(
        {"Action": "login", "Issuer": issuer, "Destination": destination, "SigninToken": token}
    )
    return f"{endpoint}?{query}"
