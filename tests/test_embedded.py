"""scripts/embedded.py, which `make run` and `make test` go through: it starts an embedded Redis or
PostgreSQL when asked to (or when the machine has none), hands the command its URL and stops the
server afterwards; a URL that is set is left alone."""

import json
import os
import signal
import socket
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from tests.support import ROOT, python_run

EMBEDDED = str(ROOT / "scripts" / "embedded.py")
# What the command sees: the URLs it was given, and whether the servers answer.
PROBE = """
import json, os, sys, psycopg, redis
urls = {name: os.environ.get(name) for name in sys.argv[1:]}
answers = {}
if "TEST_REDIS_URL" in urls:
    answers["redis"] = redis.Redis.from_url(urls["TEST_REDIS_URL"], socket_timeout=2).ping()
if "DATABASE_URL" in urls:
    with psycopg.connect(urls["DATABASE_URL"], connect_timeout=2) as connection:
        answers["postgres"] = connection.execute("select 6 * 7").fetchone()[0]
print(json.dumps({"urls": urls, "answers": answers}))
"""


def _port(url: str) -> int:
    return urlsplit(url.strip()).port


def _refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _leftovers(pid: int) -> list[str]:
    return [path.name for path in (ROOT / "var" / "embedded").glob(f"*-{pid}")]


@pytest.fixture
def env():
    """This environment without the URLs `make test` may have been given."""
    names = {"REDIS_URL", "TEST_REDIS_URL", "DATABASE_URL", "PORTAL_EMBEDDED"}
    return {key: value for key, value in os.environ.items() if key not in names}


def test_forced_embedded_servers_answer_and_are_stopped_afterwards(env):
    done = python_run(
        [EMBEDDED, "--redis", "TEST_REDIS_URL", "--postgres", "DATABASE_URL", "--"]
        + [sys.executable, "-c", PROBE, "TEST_REDIS_URL", "DATABASE_URL", "REDIS_URL"],
        env=env | {"PORTAL_EMBEDDED": "1"},
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["answers"] == {"redis": True, "postgres": 42}
    redis_port, postgres_port = (_port(seen["urls"][n]) for n in ("TEST_REDIS_URL", "DATABASE_URL"))
    # Not the machine's servers, even though those may be running.
    assert redis_port != 6379 and postgres_port != 5432
    assert seen["urls"]["TEST_REDIS_URL"].endswith("/14")
    assert seen["urls"]["REDIS_URL"] == seen["urls"]["TEST_REDIS_URL"][: -len("14")] + "0"
    assert "Embedded redis on" in done.stderr and "Embedded postgres on" in done.stderr
    assert _refused(redis_port) and _refused(postgres_port)


def test_a_set_url_wins_and_the_exit_code_is_the_commands(env):
    done = python_run(
        [EMBEDDED, "--redis", "TEST_REDIS_URL", "--"]
        + [
            sys.executable,
            "-c",
            "import os, sys; print(os.environ['TEST_REDIS_URL']); sys.exit(3)",
        ],
        env=env | {"TEST_REDIS_URL": "redis://127.0.0.1:9/14"},
    )
    assert done.returncode == 3
    assert done.stdout.strip() == "redis://127.0.0.1:9/14"
    assert "Embedded" not in done.stderr


def test_sigterm_stops_the_command_and_the_server(env):
    wrapper = subprocess.Popen(
        [sys.executable, EMBEDDED, "--redis", "TEST_REDIS_URL", "--"]
        + [
            sys.executable,
            "-c",
            "import os, time; print(os.environ['TEST_REDIS_URL'], flush=True); time.sleep(60)",
        ],
        cwd=ROOT,
        env=env | {"PORTAL_EMBEDDED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    port = _port(wrapper.stdout.readline())
    assert not _refused(port)
    wrapper.send_signal(signal.SIGTERM)
    assert wrapper.wait(30) == 128 + signal.SIGTERM  # the command was passed the signal
    assert _refused(port)
    assert not _leftovers(wrapper.pid)
