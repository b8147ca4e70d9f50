"""The benchmark's settings: the portal's own (base.py) on its own PostgreSQL database, Redis
database and queue, with the bench's URL conf (the portal's URLs plus the framework-floor view).

Never used by the portal itself. PORTAL_TEST_RUN separates two bench runs in one checkout (the
smoke test's and `make bench`), as it separates test runs.
"""

import hashlib

from portal.settings.base import *  # noqa: F403
from portal.settings.base import (
    BASE_DIR,
    DATABASE_CONNECTION,
    REST_FRAMEWORK,
    database_config,
    env,
)

_CHECKOUT = hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:8] + env(
    "PORTAL_TEST_RUN", default=""
)
BENCH_DATABASE_NAME = f"portal_bench_{_CHECKOUT}"

DEBUG = False
ROOT_URLCONF = "bench.urls"
DATABASES = {
    "default": database_config(
        env.db(
            "PORTAL_BENCH_DATABASE_URL",
            default=f"postgres://postgres@127.0.0.1:5432/{BENCH_DATABASE_NAME}",
        )
    )
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# The portal's own default (persistent connections) unless asked, to compare (0: a new
# connection per request).
DATABASES["default"]["CONN_MAX_AGE"] = env.int(
    "PORTAL_BENCH_CONN_MAX_AGE", default=DATABASE_CONNECTION["CONN_MAX_AGE"]
)
# Redis database 13: `make run` uses 0 and the tests 14.
REDIS_URL = env("PORTAL_BENCH_REDIS_URL", default="redis://127.0.0.1:6379/13")
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_DEFAULT_QUEUE = f"portal-bench-{_CHECKOUT}"
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"bench-{_CHECKOUT}",
    }
}
# The credential benchmark asks for hundreds of sessions a minute as one user: the limit stays in
# place (it is counted on every call, as in production) but high enough not to answer 429.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "credentials": "1000000/min",
    },
}
# Notifications are built and "sent" by the worker as in production, to nowhere.
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Serve static files from the apps' folders (no collectstatic in a fresh clone), as the tests do.
WHITENOISE_USE_FINDERS = True
