"""The request id (SPEC 10.7): one id follows a piece of work from the web request through the
Celery tasks it enqueues, their log lines and the audit events they record.

An incoming `X-Request-ID` of letters, digits, `-`, `_` and `.`, up to 64 characters, is kept (a
load balancer's or a client's id); anything else is replaced by a new one."""

import contextvars
import re
import uuid

HEADER = "X-Request-ID"
# The Celery message header that carries it to the worker.
TASK_HEADER = "request_id"
_VALID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def valid(candidate: str | None) -> bool:
    return bool(candidate) and _VALID.fullmatch(candidate or "") is not None


def new() -> str:
    return uuid.uuid4().hex


def current() -> str:
    """The id of the work this code runs for; empty outside any (a shell, a test)."""
    return _current.get()


def begin(candidate: str | None = None) -> tuple[str, contextvars.Token[str]]:
    """Make `candidate` (when valid) or a new id the current one; `end(token)` puts back the
    previous."""
    request_id = candidate if candidate and valid(candidate) else new()
    return request_id, _current.set(request_id)


def end(token: contextvars.Token[str]) -> None:
    _current.reset(token)
