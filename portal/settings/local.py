"""`make run`: the zero-config demo on SQLite, the local Redis and the embedded emulator."""

from .base import *  # noqa: F403
from .base import DATABASES, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)

# `make run` writes to SQLite from gunicorn and Celery processes at once. Wait for the lock instead
# of failing at once, take the write lock when a transaction begins (a deferred transaction that
# upgrades from reading to writing fails with "database is locked" without waiting), and let
# readers run beside the writer (WAL).
# https://docs.djangoproject.com/en/5.2/ref/databases/#database-is-locked-errors
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
        }
    )
