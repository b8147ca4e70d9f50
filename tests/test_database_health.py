"""The portal's PostgreSQL backend (portal/db/postgresql): a persistent connection is checked by a
look at its socket, and Django's `SELECT 1` is only asked when the server has said something. A
connection the server ended is found out, and the next request reconnects and answers."""

import select
import time

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.db.backends.postgresql import base as django_backend
from django.test import RequestFactory
from rest_framework.authtoken.models import Token

from portal.db.postgresql.base import DatabaseWrapper


@pytest.fixture
def web_connection(transactional_db):
    """The web's rules (settings.base.DATABASE_CONNECTION): the connection is kept between
    requests and checked before it is used again. The tests' own settings open one per request."""
    saved = {key: connection.settings_dict[key] for key in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS")}
    connection.close()
    connection.settings_dict.update(CONN_MAX_AGE=60, CONN_HEALTH_CHECKS=True)
    yield
    connection.close()
    connection.settings_dict.update(saved)


@pytest.fixture
def selects(monkeypatch) -> list[bool]:
    """Each `SELECT 1` check of Django's own backend, with its answer."""
    answers: list[bool] = []
    django_check = django_backend.DatabaseWrapper.is_usable

    def counted(self) -> bool:
        answers.append(django_check(self))
        return answers[-1]

    monkeypatch.setattr(django_backend.DatabaseWrapper, "is_usable", counted)
    return answers


def _served(path: str, token: str) -> str:
    """GET `path` through Django's WSGI handler as gunicorn calls it: request_started before
    (the connection's age and health checked), request_finished when the response is closed."""
    environ = RequestFactory().get(path, HTTP_AUTHORIZATION=f"Token {token}").environ
    statuses: list[str] = []
    response = WSGIHandler()(environ, lambda status, headers, *_: statuses.append(status))
    b"".join(response)
    response.close()
    return statuses[0]


def _other_connection() -> psycopg.Connection:
    params = connection.settings_dict
    return psycopg.connect(
        dbname=params["NAME"],
        user=params["USER"],
        password=params["PASSWORD"],
        host=params["HOST"],
        port=params["PORT"] or 5432,
        autocommit=True,
    )


def _terminated(pid: int) -> None:
    with _other_connection() as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
        deadline = time.monotonic() + 10
        while other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
            assert time.monotonic() < deadline, "the backend did not end"
            time.sleep(0.01)


def test_a_connection_the_server_ended_is_replaced_before_the_next_request(
    web_connection, selects, demo
):
    assert isinstance(connections["default"], DatabaseWrapper)
    token = Token.objects.create(user=demo.alice).key
    connection.close()
    assert _served("/api/v1/requests/", token) == "200 OK"
    pid = connection.connection.info.backend_pid
    # Kept, and checked without a round trip: nothing to read on a healthy idle connection.
    assert _served("/api/v1/requests/", token) == "200 OK"
    assert connection.connection.info.backend_pid == pid
    assert selects == []
    _terminated(pid)
    assert _served("/api/v1/requests/", token) == "200 OK"
    # The server's goodbye was on the socket: Django's check asked, failed, and Django reconnected.
    assert selects == [False]
    assert connection.connection.info.backend_pid != pid


def test_the_check_asks_postgresql_when_there_is_something_to_read(web_connection, selects):
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    assert connection.is_usable() and selects == []
    # A notification waits on the socket: Django's SELECT 1 decides, and the connection is fine.
    connection.connection.execute("LISTEN portal_health_test")
    with _other_connection() as other:
        other.execute("NOTIFY portal_health_test")
    assert select.select([connection.connection.fileno()], [], [], 5)[0]
    assert connection.is_usable() and selects == [True]
    # Inside a transaction, or after an error, Django's check too.
    connection.set_autocommit(False)
    connection.connection.execute("SELECT 1")
    assert connection.is_usable() and selects == [True, True]
    connection.rollback()
    connection.set_autocommit(True)
    connection.errors_occurred = True
    assert connection.is_usable() and selects == [True, True, True]
    connection.errors_occurred = False
    assert connection.connection.info.backend_pid == pid
    _terminated(pid)
    assert not connection.is_usable() and selects[-1] is False
