"""GET /metrics (SPEC 10.7): Prometheus text for the holder of PORTAL_METRICS_TOKEN only, with the
named series, the database gauges from index probes, and the counters of every process."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access_requests.services import access_request_reject
from portal.observability import _FIGURES_KEY
from tests.factories import submitted

TOKEN = "metrics-test-token-5b1f"  # noqa: S105 (a test's own token)


@pytest.fixture
def metrics_on(settings):
    settings.PORTAL_METRICS_TOKEN = TOKEN
    cache.delete(_FIGURES_KEY)
    yield
    cache.delete(_FIGURES_KEY)


def scrape(client) -> str:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def value(text: str, series: str) -> float:
    """The value of one series (name with its labels as printed), 0 when it is not there."""
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


@pytest.mark.django_db
def test_no_token_is_401_and_a_wrong_one_403(client, metrics_on):
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Token {TOKEN}").status_code == 401
    assert b"portal_" not in client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope").content


@pytest.mark.django_db
def test_without_a_configured_token_metrics_are_off(client, settings):
    settings.PORTAL_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 401


@pytest.mark.django_db
def test_a_signed_in_admin_is_no_scraper(client, metrics_on, demo):
    client.force_login(demo.admin)
    assert client.get("/metrics").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_the_named_series_and_the_request_figures(client, metrics_on, demo):
    before = scrape(client)
    for name in (
        "portal_requests_total",
        "portal_grants_active",
        "portal_pending_request_oldest_seconds",
        "portal_provisioning_seconds",
        "portal_aws_calls_total",
        "portal_task_failures_total",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in before, name

    pending = submitted(demo)
    rejected = submitted(demo)
    access_request_reject(access_request=rejected, approver=demo.bob, reason="not now")
    cache.delete(_FIGURES_KEY)
    after = scrape(client)
    series = 'portal_requests_total{status="%s"}'
    assert value(after, series % "pending") - value(before, series % "pending") == 2
    assert value(after, series % "rejected") - value(before, series % "rejected") == 1
    assert value(after, "portal_pending_request_oldest_seconds") >= 0
    assert value(after, "portal_grants_active") == 0
    assert pending.status == "pending"


@pytest.mark.django_db
def test_the_database_figures_are_two_index_probes_and_cached(client, metrics_on, demo):
    submitted(demo)
    with CaptureQueriesContext(connection) as first:
        scrape(client)
    figures = [
        q["sql"] for q in first.captured_queries if "access_requests_accessrequest" in q["sql"]
    ]
    assert len(figures) == 2
    assert all('"status"' in sql and "WHERE" in sql for sql in figures)
    with CaptureQueriesContext(connection) as second:
        scrape(client)
    assert not any("access_requests_accessrequest" in q["sql"] for q in second.captured_queries)


@pytest.mark.django_db
def test_the_oldest_pending_request_is_an_index_scan(demo):
    """EXPLAIN of the oldest-pending probe: PostgreSQL reads the status and creation index."""
    from access_requests.models import AccessRequest

    plan = (
        AccessRequest.objects.filter(status="pending")
        .order_by("created_at")
        .values_list("created_at", flat=True)[:1]
        .explain()
    )
    assert "access_requ_status_created_idx" in plan


@pytest.mark.django_db
def test_a_made_up_http_method_adds_no_series(client, metrics_on):
    """The method is the caller's to choose (any token of letters): as a label it would let an
    anonymous caller add series without end, each a file entry every scrape reads back."""
    for method in ("BLOWUPAAA", "BLOWUPAAB"):
        client.generic(method, "/no-such-page/")
    client.get("/no-such-page/")
    text = scrape(client)
    assert "BLOWUP" not in text
    assert 'portal_http_request_seconds_count{method="other"' in text
    assert 'portal_http_request_seconds_count{method="GET"' in text
