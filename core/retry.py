"""How long a task waits before its next try: exponential, jittered, and always far below the
broker's visibility timeout, or Redis hands the waiting message to another worker and the task
runs twice."""

import random

from django.conf import settings

MAX_COUNTDOWN = 120


def retry_countdown(retries: int) -> float:
    ceiling = min(MAX_COUNTDOWN, settings.CELERY_VISIBILITY_TIMEOUT / 4)
    return min(ceiling, 2 ** (retries + 1)) * random.uniform(0.5, 1.0)  # nosec B311  # noqa: S311 (jitter)
