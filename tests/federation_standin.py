"""A local stand-in for AWS's federation endpoint (a threaded http.server on 127.0.0.1).

`Action=getSigninToken` takes `Session` (JSON: sessionId, sessionKey, sessionToken) and an optional
`SessionDuration`, as AWS documents; the stand-in proves the session is a real one by calling
sts:GetCallerIdentity with it on the emulator, records who it is, and answers a fresh
`SigninToken`. A session the emulator does not know, or a malformed request, is a 400.
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_enable-console-custom-url.html
"""

import itertools
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import boto3

from tests.support import LocalHttpServer


@dataclass
class SignIn:
    token: str
    session_id: str
    caller_arn: str
    session_duration: str | None


class FederationStandIn:
    def __init__(self, *, emulator_url: str) -> None:
        standin = self
        self.emulator_url = emulator_url
        self.sign_ins: list[SignIn] = []
        self._lock = threading.Lock()
        self._tokens = itertools.count(1)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                query = parse_qs(urlsplit(self.path).query)
                status, answer = standin._answer(query)
                LocalHttpServer.json_reply(
                    self, status, answer, {"Content-Type": "application/json"}
                )

            def log_message(self, *args) -> None:
                pass

        self.http = LocalHttpServer(Handler)
        self.port = self.http.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/federation"

    def _answer(self, query: dict[str, list[str]]) -> tuple[int, dict]:
        if query.get("Action") != ["getSigninToken"] or len(query.get("Session", [])) != 1:
            return 400, {"error": "expected Action=getSigninToken with one Session"}
        try:
            session = json.loads(query["Session"][0])
            identity = boto3.client(
                "sts",
                endpoint_url=self.emulator_url,
                region_name="us-east-1",
                aws_access_key_id=session["sessionId"],
                aws_secret_access_key=session["sessionKey"],
                aws_session_token=session["sessionToken"],
            ).get_caller_identity()
        except Exception as error:
            return 400, {"error": f"not a session: {type(error).__name__}"}
        with self._lock:
            sign_in = SignIn(
                token=f"signin-token-{next(self._tokens)}",
                session_id=session["sessionId"],
                caller_arn=identity["Arn"],
                session_duration=(query.get("SessionDuration") or [None])[0],
            )
            self.sign_ins.append(sign_in)
        return 200, {"SigninToken": sign_in.token}

    def stop(self) -> None:
        self.http.stop()
