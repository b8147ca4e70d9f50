"""The benchmark's own processes (emulator, Celery workers, gunicorn), ports and database.

Every child runs in its own process group and is stopped with everything it forked when the bench
ends, fails, or is interrupted (Ctrl-C, SIGTERM, SIGHUP).
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOG_DIR = ROOT / "var" / "bench" / "log"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float = 30.0, interval: float = 0.05, what: str = "it"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"waited {timeout}s for {what}")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _terminate_on_signals() -> None:
    """SIGTERM and SIGHUP unwind like Ctrl-C, so the `finally` blocks stop the children."""

    def handler(signum, _frame):
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, handler)


class Processes:
    """The children of one bench run; `with Processes() as procs:` stops them all at the end."""

    def __init__(self, log_dir: Path = LOG_DIR) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> "Processes":
        _terminate_on_signals()
        return self

    def __exit__(self, *_exc) -> None:
        for _name, process in reversed(self.children):
            self.stop(process)

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        with open(self.log_path(name), "ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
            log.flush()
            process = subprocess.Popen(  # noqa: S603 (our own venv's programs)
                argv,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.children.append((name, process))
        return process

    def stop(self, process: subprocess.Popen, timeout: float = 20.0) -> None:
        """SIGTERM to the child's process group (a Celery worker finishes its task), then
        SIGKILL what is left."""
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # pool children that outlived their parent
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
        self.children = [(n, p) for n, p in self.children if p is not process]

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.log_path(name)
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class Emulator:
    """The moto server on a free port, as `make run` and the tests start it."""

    def __init__(self, procs: Processes) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = procs.start(
            "emulator",
            [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            env=os.environ.copy(),
        )
        wait_until(lambda: port_open(self.port), timeout=30, what="the emulator")

    def reset(self) -> None:
        """Forget every emulated resource (moto's reset endpoint)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")  # noqa: S310
        urllib.request.urlopen(request, timeout=30).close()  # noqa: S310 (http://127.0.0.1)


def database_ensure(url: str, name: str) -> None:
    """CREATE DATABASE `name` on the server of `url` unless it exists (the bench's own)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, dbname="postgres", autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def http_ready(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).close()  # noqa: S310 (http://127.0.0.1)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True
