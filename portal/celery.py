"""The Celery app: configured from Django settings (CELERY_*), tasks discovered in the apps."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

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
