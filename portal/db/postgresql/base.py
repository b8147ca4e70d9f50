"""Django's PostgreSQL backend, with a health check that costs no round trip on a healthy idle
connection (DATABASES ENGINE "portal.db.postgresql", set by settings.base.database_config).

With CONN_HEALTH_CHECKS on, Django checks a persistent connection before the first query of every
request with `SELECT 1`: one more round trip on every request (the credentials call's is four). A
connection the server closed (a restart, pg_terminate_backend, idle_session_timeout, a pooler
that dropped it) has something to read: PostgreSQL's FATAL message, then the end of the stream.
So the socket is polled first, without waiting; only a connection with something to read, not
idle, or after an error gets Django's `SELECT 1`, which then decides as before.
https://docs.djangoproject.com/en/5.2/ref/databases/#caching-connections
https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-ASYNC"""

import select
from typing import Any

from django.db.backends.postgresql import base
from psycopg import Connection, pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed or self.connection.broken:
            return False
        if self.errors_occurred or not _idle_and_quiet(self.connection):
            return super().is_usable()
        return True


def _idle_and_quiet(connection: Connection[Any]) -> bool:
    """Whether the connection is outside any transaction and its socket has nothing to read (no
    message from the server, no end of stream), polled without waiting."""
    if connection.info.transaction_status != pq.TransactionStatus.IDLE:
        return False
    try:
        poller = select.poll()
        poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except (AttributeError, OSError, ValueError):  # no poll() here, or no socket: ask
        return False
