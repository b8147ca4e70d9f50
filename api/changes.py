"""Conditional GETs of the request list: an ETag that changes whenever anything the list could
show changes, and a `304 Not Modified` answered without reading the list.

The validator is the portal's change counter, kept by PostgreSQL itself
(api/migrations/0001_change_counter.py): a statement-level trigger on every table the list reads
(the requests, their grants and approvals, the accounts, users, groups and group memberships that
decide who sees what; for an UPDATE, of the columns the list reads) adds one to the counter
inside the writing transaction. So the
count and the rows it covers become visible together, whoever wrote them: the ORM, a bulk
`UPDATE`, raw SQL, a shell. Each database connection counts in its own row (its backend's process
id), so writers never wait for each other on the counter; the counter is the sum of the rows.

Read the counter BEFORE the rows it validates. A write that commits in between then shows in the
rows but not in the ETag: the client's next call carries an older count, and gets the newer page.
The other order could pair an older page with a newer count, and a 304 would keep it forever.

What an ETag covers besides the count: the caller (a page is one person's view), the URL (its
links are absolute) and query, and the code that wrote the page (`release`).
tests/api/test_conditional.py checks that every column the list's queries read is watched, so
a new join or field cannot go unnoticed. A sign-in or a drift check changes no ETag.

https://www.rfc-editor.org/rfc/rfc9110#name-if-none-match
"""

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import cache
from pathlib import Path

import django
import rest_framework
from django.conf import settings
from django.db import connection
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags, quote_etag
from rest_framework.request import Request
from rest_framework.response import Response

COUNTER_TABLE = "api_change_counter"
TRIGGER = "api_change_noted"
# What the caller's answer depends on beyond the data: who asks, and how the answer is formed.
VARY = ("Authorization", "Cookie", "Accept")
# Clients and browsers may keep the page, but must ask again each time (with If-None-Match);
# shared caches must not keep one person's view at all.
CACHE_CONTROL = "private, no-cache"


def changes_for(request: Request) -> int | None:
    """The change counter as the caller's token check read it, in its own statement (one round
    trip for a conditional GET; api/authentication.py), or read now (a session's call)."""
    counted = getattr(request.auth, "changes_counted", None)
    return counted if counted is not None else changes_counted()


def changes_counted() -> int | None:
    """The change counter now, or None where there is none (the SQLite demo database): then
    answers carry no ETag and every call reads the list."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(_COUNTER_READ)
        row = cursor.fetchone()
    return int(row[0]) if row else 0


# The counter as a value, for this module's read and the token check's statement. Our own table
# name: no input reaches it.
COUNTER_COLUMN = f"(SELECT coalesce(sum(changes), 0) FROM {COUNTER_TABLE})"  # noqa: S608  # nosec B608
_COUNTER_READ = f"SELECT {COUNTER_COLUMN}"


def etag_for(request: Request, *, changes: int) -> str:
    """The ETag of `request`'s answer while the change counter reads `changes`."""
    user = request.user
    query = sorted(request.query_params.lists())
    # The scheme and host too: a page's `next` and `previous` links are absolute.
    where = f"{request.scheme}://{request.get_host()}{request.path}"
    material = f"{release()}\n{user.pk}\n{where}\n{query!r}\n{changes}"
    return quote_etag(hashlib.sha256(material.encode()).hexdigest()[:40])


def not_modified(request: Request, etag: str) -> Response | None:
    """304 when the request's If-None-Match names `etag` (or `*`), else None."""
    header = request.headers.get("If-None-Match")
    if not header:
        return None
    tags = parse_etags(header)
    # Weak comparison, as RFC 9110 asks of If-None-Match: W/"x" matches "x".
    if "*" in tags or etag in (tag.removeprefix("W/") for tag in tags):
        return validated(Response(status=304), etag)
    return None


def validated(response: Response, etag: str) -> Response:
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    patch_vary_headers(response, VARY)
    return response


class CountsRemembered:
    """The counts of list queries (a page's `count`, PostgreSQL's COUNT(*): 15 ms over 100,000
    requests), remembered in this process while the change counter holds. A key names the caller,
    the filters and the counter read BEFORE counting: a write that commits in between moves the
    counter on, so no one asks for that key again. The last `size` keys are kept."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._counts: OrderedDict[Hashable, int] = OrderedDict()
        self._lock = threading.Lock()

    def count(self, key: Hashable, counting: Callable[[], int]) -> int:
        with self._lock:
            if key in self._counts:
                self._counts.move_to_end(key)
                return self._counts[key]
        counted = counting()
        with self._lock:
            self._counts[key] = counted
            while len(self._counts) > self.size:
                self._counts.popitem(last=False)
        return counted


counts_remembered = CountsRemembered()


@cache
def release() -> str:
    """A fingerprint of the code that writes the answers: the portal's Python sources and the
    framework versions. A deploy that changes how a page is written changes every ETag (replicas
    of one release agree)."""
    digest = hashlib.sha256(f"{django.__version__} {rest_framework.VERSION}".encode())
    root = Path(settings.BASE_DIR)
    packages = [
        top
        for top in sorted(root.iterdir())
        if (top / "__init__.py").is_file() and top.name not in ("tests", "bench")
    ]
    for package in packages:
        for path in sorted(package.rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# Rows of connections that have ended folded into row 0, in one statement: the sum, and so every
# ETag, stays the same. A connection that starts meanwhile under a reused process id adds to its
# row after the fold. (pg_stat_activity lists every backend's pid to every role.)
_FOLD = f"""
    WITH gone AS (
        DELETE FROM {COUNTER_TABLE}
        WHERE backend <> 0 AND backend NOT IN (SELECT pid FROM pg_stat_activity)
        RETURNING changes
    )
    UPDATE {COUNTER_TABLE} SET changes = changes + (SELECT coalesce(sum(changes), 0) FROM gone)
    WHERE backend = 0
"""  # noqa: S608  # nosec B608 (our own table name, no input)


def counter_fold() -> int:
    """Fold the counter rows of connections that have ended (the beat runs it every hour; a busy
    portal opens a few hundred connections an hour). Returns the rows left."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_FOLD)
        cursor.execute(f"SELECT count(*) FROM {COUNTER_TABLE}")  # noqa: S608  # nosec B608
        row = cursor.fetchone()
    return int(row[0]) if row else 0
