"""A local stand-in for Slack's Web API (a threaded http.server on 127.0.0.1) that records every
call the portal makes, and Slack's request signing for the interactions the tests send back.

It answers as Slack documents for each method the portal uses (`ok`, and the `channel` and `ts`
of a posted message: a member id as the channel gives a direct-message channel `D…`), and
refuses a wrong bot token with `invalid_auth`.
https://api.slack.com/methods/chat.postMessage
"""

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlencode

from tests.support import LocalHttpServer, wait_until

BOT_TOKEN = "xoxb-test-bot-token"  # noqa: S105 (a test value the stand-in checks)
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # noqa: S105 (Slack's documented example)


@dataclass
class Call:
    method: str
    arguments: dict


class SlackStandIn:
    def __init__(self, *, token: str = BOT_TOKEN) -> None:
        standin = self
        self.token = token
        self.calls: list[Call] = []
        # method -> how many of its next calls get Slack's rate-limit answer (HTTP 429).
        self.rate_limited: dict[str, int] = {}
        self._lock = threading.Lock()
        self._ts = itertools.count(1)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length).decode()
                if "json" in self.headers.get("Content-Type", ""):
                    arguments = json.loads(raw or "{}")
                else:
                    arguments = dict(parse_qsl(raw))
                method = self.path.rsplit("/", 1)[-1]
                status = 200
                if self.headers.get("Authorization") != f"Bearer {standin.token}":
                    answer = {"ok": False, "error": "invalid_auth"}
                elif standin._limited(method):
                    status, answer = 429, {"ok": False, "error": "ratelimited"}
                else:
                    answer = standin._answer(method, arguments)
                headers = {"Content-Type": "application/json; charset=utf-8"}
                if status == 429:
                    headers["Retry-After"] = "1"
                LocalHttpServer.json_reply(self, status, answer, headers)

            def log_message(self, *args) -> None:
                pass

        self.http = LocalHttpServer(Handler)
        self.port = self.http.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def _limited(self, method: str) -> bool:
        with self._lock:
            if self.rate_limited.get(method, 0) > 0:
                self.rate_limited[method] -= 1
                return True
            return False

    def _answer(self, method: str, arguments: dict) -> dict:
        with self._lock:
            self.calls.append(Call(method, arguments))
            ts = f"{int(time.time())}.{next(self._ts):06d}"
        channel = str(arguments.get("channel", ""))
        if channel.startswith(("U", "W")):
            channel = "D" + channel[1:]  # a member id: the app's direct messages with them
        if method == "chat.postMessage":
            return {"ok": True, "channel": channel, "ts": ts, "message": arguments}
        if method == "chat.update":
            return {"ok": True, "channel": channel, "ts": arguments.get("ts"), "text": ""}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method == "views.open":
            return {"ok": True, "view": {"id": f"V{ts.replace('.', '')}", **arguments["view"]}}
        return {"ok": False, "error": "unknown_method"}

    def of(self, method: str, **match) -> list[Call]:
        with self._lock:
            return [
                call
                for call in self.calls
                if call.method == method
                and all(call.arguments.get(key) == value for key, value in match.items())
            ]

    def wait_for(self, method: str, predicate=lambda call: True, *, timeout: float = 30, **match):
        def found():
            return next((c for c in self.of(method, **match) if predicate(c)), None)

        return wait_until(found, timeout=timeout, what=f"Slack's {method} {match}")

    def stop(self) -> None:
        self.http.stop()


def signed_headers(
    body: bytes, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """The headers Slack sends with `body`: v0 HMAC-SHA256 over `v0:<timestamp>:<body>`.
    https://api.slack.com/authentication/verifying-requests-from-slack"""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": stamp,
        "HTTP_X_SLACK_SIGNATURE": f"v0={digest}",
    }


def form_body(payload: dict) -> bytes:
    """An interaction as Slack posts it: form-encoded, the JSON in `payload`."""
    return urlencode({"payload": json.dumps(payload)}).encode()


def click(message: dict, *, channel: str, ts: str, user: str, action_id: str) -> dict:
    """The block_actions payload of `user` clicking `action_id` on a posted message (its blocks as
    the stand-in received them)."""
    blocks = message["blocks"]
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    actions = next(block for block in blocks if block["type"] == "actions")
    button = next(e for e in actions["elements"] if e.get("action_id") == action_id)
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0PORTAL"},
        "api_app_id": "A0PORTAL",
        "team": {"id": "T0PORTAL", "domain": "example"},
        "container": {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "channel": {"id": channel, "name": "approvers"},
        "message": {"type": "message", "ts": ts, "text": message.get("text"), "blocks": blocks},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": actions["block_id"],
                "value": button.get("value"),
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def reject_submission(view: dict, *, user: str, reason: str) -> dict:
    """The view_submission payload of the reject modal `view` (as views.open received it)."""
    return {
        "type": "view_submission",
        "team": {"id": "T0PORTAL", "domain": "example"},
        "user": {"id": user, "username": user.lower(), "team_id": "T0PORTAL"},
        "api_app_id": "A0PORTAL",
        "trigger_id": "12466734323.1395872398.9098b1a2c3b4d5e6f7a8",
        "view": {
            **view,
            "id": "V0REJECT",
            "state": {
                "values": {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}
            },
        },
    }
