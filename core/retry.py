"""How a task tries again: after an exponential, jittered wait that stays far below the broker's
visibility timeout (or Redis hands the waiting message to another worker and the task runs twice),
and only for failures that waiting can cure."""

import random

from celery import Task
from django.conf import settings

from core.errors import ExternalError

MAX_COUNTDOWN = 120


def retry_countdown(retries: int) -> float:
    ceiling = min(MAX_COUNTDOWN, settings.CELERY_VISIBILITY_TIMEOUT / 4)
    return min(ceiling, 2 ** (retries + 1)) * random.uniform(0.5, 1.0)  # nosec B311  # noqa: S311 (jitter)


def retry_later(task: Task, *, cause: BaseException | None = None) -> None:
    """Schedule the running (bound) task again, if it has retries left (max_retries None: no
    limit): raises celery's Retry. Returns when the retries are used up, for the caller to record
    the failure."""
    if task.max_retries is None or task.request.retries < task.max_retries:
        raise task.retry(countdown=retry_countdown(task.request.retries)) from cause


def retry_if_transient(task: Task, error: ExternalError) -> None:
    """`retry_later` for a failure outside the portal that waiting can cure (throttling, an
    outage, a lock another task holds); returns at once for a refusal, which no retry changes."""
    if error.retryable:
        retry_later(task, cause=error)
