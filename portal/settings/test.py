"""`make test`: PostgreSQL and the local Redis, as in production."""

import hashlib
import os
import shutil
from pathlib import Path

from .base import *  # noqa: F403
from .base import BASE_DIR, database_config, env


def metrics_directory_fresh(directory: Path) -> str:
    """The test process empties its metrics directory once; the worker processes it starts find
    the variable set, and share the directory."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    return os.environ["PROMETHEUS_MULTIPROC_DIR"]


# Two checkouts on one machine (a developer's and CI's) each get their own test database and
# queue, so their test runs never drop each other's tables or take each other's tasks.
# PORTAL_TEST_RUN separates two runs in one checkout (e.g. two people's at once).
_CHECKOUT = hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:8] + env(
    "PORTAL_TEST_RUN", default=""
)

# Server-side binding and prepared statements as in production (so every query of the suite runs
# with them); a connection per request, as Django's test tools expect.
DATABASES = {
    "default": database_config(
        env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/test"), persistent=False
    ),
}
DATABASES["default"]["TEST"] = {"NAME": f"test_portal_{_CHECKOUT}"}
# This run's metrics (every process of it: the test process and its workers) in a directory of
# its own, emptied at the start; the workers inherit the variable.
PORTAL_METRICS_DIR = metrics_directory_fresh(BASE_DIR / "var" / "metrics" / f"test-{_CHECKOUT}")
# Tests run their own Redis database and queue so `make run` on the same machine is left alone.
REDIS_URL = env("TEST_REDIS_URL", default="redis://127.0.0.1:6379/14")
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_DEFAULT_QUEUE = f"portal-test-{_CHECKOUT}"
# Tests never reach real AWS: unless a test starts the emulator, AWS calls go to a closed port.
AWS_ENDPOINT_URL = env("AWS_ENDPOINT_URL", default="http://127.0.0.1:9")
# Nor Slack, nor AWS's federation endpoint: the tests that use them start local stand-ins.
PORTAL_SLACK_API_URL = env("PORTAL_SLACK_API_URL", default="http://127.0.0.1:9/api/")
PORTAL_FEDERATION_URL = env("PORTAL_FEDERATION_URL", default="http://127.0.0.1:9/federation")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files from the apps' folders, without a collectstatic run.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# The API's rate limits count in this run's own keys, in the tests' Redis database.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"test-{_CHECKOUT}",
    }
}
# Off unless a test turns it on (settings.PORTAL_REQUIRE_MFA = True), whatever the environment.
PORTAL_REQUIRE_MFA = False
