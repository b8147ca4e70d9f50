"""Prometheus metrics of every process (web, workers, beat), scraped at `/metrics` (SPEC 10.7).

prometheus-client's multiprocess mode: each process writes its counters and histograms to memory-
mapped files in one directory (`PROMETHEUS_MULTIPROC_DIR`, by default `var/metrics/`), and the web
process that answers a scrape adds up every file there, so a worker's AWS calls and provisioning
times show in the web's answer. The directory is emptied when the processes start (`make run`
does) and must be shared by the processes of one host.
https://prometheus.github.io/client_python/multiprocess/

The only module that imports prometheus_client: the variable has to be set before its first import.
"""

import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _directory() -> str:
    try:
        return str(settings.PORTAL_METRICS_DIR)
    except (ImproperlyConfigured, AttributeError):  # a script without the portal's settings
        return str(Path(__file__).resolve().parent.parent / "var" / "metrics")


os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", _directory())
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

import prometheus_client  # noqa: E402 (after the variable it reads at import)
from prometheus_client import (  # noqa: E402
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402
from prometheus_client.registry import Collector  # noqa: E402

# Something imported prometheus_client before the variable was set: take the multiprocess values.
values.ValueClass = values.get_value_class()

CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST

REQUESTS = Counter(
    "portal_requests",
    "Access requests that reached a status (submitted requests count under pending).",
    ["status"],
)
PROVISIONING_SECONDS = Histogram(
    "portal_provisioning_seconds",
    "Seconds a worker took to provision a grant: written, read back and verified.",
    ["mechanism"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
AWS_CALLS = Counter(
    "portal_aws_calls",
    "AWS API calls the portal made, by service, operation and outcome (ok, or the error code).",
    ["service", "operation", "outcome"],
)
TASK_FAILURES = Counter(
    "portal_task_failures",
    "Celery tasks that failed for good (raised, or gave up after their retries).",
    ["task"],
)
HTTP_REQUESTS = Histogram(
    "portal_http_request_seconds",
    "Seconds the web took to answer, by method and status class (2xx, 4xx, ...).",
    ["method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def request_status_reached(status: str) -> None:
    REQUESTS.labels(status=status).inc()


def aws_call_counted(*, service: str, operation: str, outcome: str) -> None:
    AWS_CALLS.labels(service=service, operation=operation, outcome=outcome).inc()


def task_failed(task: str) -> None:
    TASK_FAILURES.labels(task=task).inc()


_DECLARED = (REQUESTS, PROVISIONING_SECONDS, AWS_CALLS, TASK_FAILURES, HTTP_REQUESTS)


class _EveryProcess(Collector):
    """Every process's files added up; a declared metric nobody has touched yet is still named
    (HELP and TYPE, no sample), so dashboards and alerts find every series from the start."""

    def __init__(self) -> None:
        self.files = multiprocess.MultiProcessCollector(None)

    def collect(self):
        seen = set()
        for family in self.files.collect():
            seen.add(family.name)
            yield family
        for metric in _DECLARED:
            for family in metric.describe():
                if family.name not in seen:
                    yield family


class _Figures(Collector):
    """Gauges read at scrape time from the database, through `figures()` (a few index probes)."""

    def __init__(self, figures) -> None:
        self.figures = figures

    def collect(self):
        for name, documentation, value in self.figures():
            yield GaugeMetricFamily(name, documentation, value=value)


def exposition(figures=None) -> bytes:
    """The text format of every process's metrics, plus the gauges `figures()` yields as
    (name, help, value)."""
    registry = CollectorRegistry()
    registry.register(_EveryProcess())
    if figures is not None:
        registry.register(_Figures(figures))
    return generate_latest(registry)


def process_gone(pid: int) -> None:
    """A process of a long-lived server ended (gunicorn's child_exit): its live gauges go."""
    multiprocess.mark_process_dead(pid)
