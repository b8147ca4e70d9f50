"""A stand-in for the portal's API: a local http.server in a thread that answers from a table."""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Call:
    method: str
    path: str
    headers: dict
    body: object


@dataclass
class StubApi:
    """`routes[(method, path)]` is a (status, body) pair, or a list of them answered in turn; a
    3xx whose body has a `location` sends it as the Location header."""

    routes: dict = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    url: str = ""
    # Seconds each answer waits: a slow portal, for races between clients.
    delay: float = 0.0

    def answer(self, method: str, path: str) -> tuple[int, object]:
        route = self.routes.get((method, path), (404, {"detail": "Not found."}))
        if isinstance(route, list):
            return route.pop(0) if len(route) > 1 else route[0]
        return route


def stub_start() -> tuple[StubApi, ThreadingHTTPServer]:
    api = StubApi()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            api.calls.append(Call(self.command, self.path, dict(self.headers), body))
            if api.delay:
                time.sleep(api.delay)
            status, answer = api.answer(self.command, self.path)
            data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            self.send_response(status)
            kind = "text/html" if isinstance(answer, bytes) else "application/json"
            self.send_header("Content-Type", kind)
            if 300 <= status < 400 and isinstance(answer, dict) and "location" in answer:
                self.send_header("Location", answer["location"])
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return api, server
