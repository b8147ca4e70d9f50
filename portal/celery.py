"""The Celery app: configured from Django settings (CELERY_*), tasks discovered in the apps."""

import os

from celery import Celery
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    before_task_publish,
    task_failure,
    task_postrun,
    task_prerun,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def database_connections_tidy(task=None, **_kwargs) -> None:
    """Before and after each task, what Django does around each web request: close a database
    connection that is broken, in error or older than CONN_MAX_AGE (checked again before its next
    use with CONN_HEALTH_CHECKS), and keep the others. Celery's own Django fixup would close every
    connection around every task (a new PostgreSQL connection per task: about a third of a
    grant's provisioning time) unless CELERY_DB_REUSE_MAX says otherwise; settings set it high,
    so these rules decide. A task run eagerly (inside a caller's transaction) is left alone."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@before_task_publish.connect
def request_id_sent(headers=None, **_kwargs) -> None:
    """A task enqueued for a web request (or by a task) carries its request id in its headers."""
    from core import request_ids

    if headers is not None and request_ids.current():
        headers.setdefault(request_ids.TASK_HEADER, request_ids.current())


@task_prerun.connect
def request_id_taken(task=None, **_kwargs) -> None:
    """The task runs under the request id it was sent with (a scheduled task, which was sent for
    no request: under its own task id); its log lines and audit events carry it."""
    from core import request_ids

    if task is None:
        return
    sent = getattr(task.request, request_ids.TASK_HEADER, None) or (
        (task.request.headers or {}).get(request_ids.TASK_HEADER)
        if isinstance(task.request.headers, dict)
        else None
    )
    _, token = request_ids.begin(sent or request_ids.current() or task.request.id)
    task.request._portal_request_id_token = token


@task_postrun.connect
def request_id_dropped(task=None, **_kwargs) -> None:
    from core import request_ids

    token = getattr(task.request, "_portal_request_id_token", None) if task else None
    if token is not None:
        request_ids.end(token)
        task.request._portal_request_id_token = None


@task_failure.connect
def task_failure_counted(sender=None, **_kwargs) -> None:
    """A task that raised (and will not be retried) counts in portal_task_failures_total."""
    from core import metrics

    metrics.task_failed(getattr(sender, "name", "unknown"))


@after_setup_logger.connect
@after_setup_task_logger.connect
def worker_logs_adapted(logger=None, **_kwargs) -> None:
    """Celery sets up its worker's own log handlers: they get the request id, and JSON lines when
    PORTAL_LOG_FORMAT=json."""
    from django.conf import settings

    from core.logs import handler_adapt

    for handler in logger.handlers if logger is not None else []:
        handler_adapt(handler, log_format=settings.PORTAL_LOG_FORMAT)
