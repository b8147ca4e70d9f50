"""A lock per AWS policy document, so two workers never read-modify-write the same bucket (or
queue, topic, key...) policy at once and lose each other's statement. Kept in the broker's Redis,
which every worker already reaches."""

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache

import redis
from django.conf import settings

from core.errors import ExternalError

# Longer than a read-modify-write takes, short enough that a SIGKILLed worker's lock frees itself
# (settings.PORTAL_POLICY_LOCK_SECONDS, 60 by default; the fault tests shorten it).
WAIT_SECONDS = 30


class LockBusy(ExternalError):
    """Another task holds the lock: nothing failed, the task tries again later."""


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=5)


@contextmanager
def policy_lock(name: str) -> Iterator[None]:
    lock = _redis().lock(f"portal:policy-lock:{name}", timeout=settings.PORTAL_POLICY_LOCK_SECONDS)
    if not lock.acquire(blocking_timeout=WAIT_SECONDS):
        raise LockBusy(f"Another task holds the policy of {name}; trying again.", retryable=True)
    try:
        yield
    finally:
        # If it expired meanwhile, release() refuses: nobody else's lock is touched.
        with suppress(redis.exceptions.LockError):
            lock.release()
