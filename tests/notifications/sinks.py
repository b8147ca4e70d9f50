"""Real local receivers for notification tests: an SMTP server (aiosmtpd) and an HTTP webhook
endpoint (http.server), each on a free port of 127.0.0.1 in a thread of the test process."""

import email
import email.policy
import json
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        return self.message.get_content()


class SmtpSink:
    """An SMTP server that keeps every message, and refuses a recipient once when told to."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.received: list[Received] = []
        self.refuse_once: set[str] = set()
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self._lock:
            if address in self.refuse_once:
                self.refuse_once.discard(address)
                return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def matching(self, text: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if text in r.subject]

    def stop(self) -> None:
        self.controller.stop()


class WebhookSink:
    """An HTTP endpoint that records every POST body; answers `failures` 500s first."""

    def __init__(self, *, failures: int = 0) -> None:
        sink = self
        self.bodies: list[dict] = []
        self.failures = failures

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with sink._lock:
                    failing = sink.failures > 0
                    if failing:
                        sink.failures -= 1
                    else:
                        sink.bodies.append(body)
                self.send_response(500 if failing else 200)
                self.end_headers()
                self.wfile.write(b"no" if failing else b"ok")

            def log_message(self, format, *args) -> None:  # noqa: A002
                pass

        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/secret-token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def texts(self) -> list[str]:
        with self._lock:
            return [body.get("text", "") for body in self.bodies]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
