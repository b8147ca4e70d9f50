"""The request id (SPEC 10.7) follows an approval from the web request into the worker's JSON log
lines, the audit events and back to the caller; the worker's provisioning and AWS calls show in
the web's /metrics."""

import io
import json
import logging
import re

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from audit.models import AuditEvent
from core.logs import handler_adapt
from portal.observability import _FIGURES_KEY
from tests.factories import submitted
from tests.support import Worker, wait_until

TOKEN = "metrics-test-token-7c2e"  # noqa: S105 (a test's own token)


@pytest.fixture
def web_json_log():
    """The web's log lines as PORTAL_LOG_FORMAT=json writes them (the same formatter and filter),
    collected from the root logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler_adapt(handler, log_format="json")
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def scrape(client) -> str:
    cache.delete(_FIGURES_KEY)
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return response.content.decode()


def total(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's series whose labels include `labels`."""
    found = 0.0
    for line in text.splitlines():
        match = re.match(rf"{re.escape(name)}\{{(.*)\}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            found += float(match.group(2))
    return found


@pytest.mark.django_db
def test_a_well_formed_request_id_is_kept_and_any_other_replaced(client):
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="lb-1234.abc_DEF")
    assert kept["X-Request-ID"] == "lb-1234.abc_DEF"
    for bad in ("a b", "x" * 65, "<script>", "id;drop"):
        made = client.get("/healthz", HTTP_X_REQUEST_ID=bad)["X-Request-ID"]
        assert made != bad
        assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert client.get("/healthz")["X-Request-ID"] != client.get("/healthz")["X-Request-ID"]


@pytest.mark.django_db
def test_a_path_cannot_write_a_log_line_of_its_own(client, caplog):
    """The request line logs the path as it came on the wire: a `%0A` in it stays `%0A`, so a
    caller cannot end the line and forge the next one in the plain log."""
    with caplog.at_level(logging.INFO, logger="portal.requests"):
        client.get("/nothing%0D%0AINFO portal.requests GET /admin/ 200 1.0 ms")
    [line] = [r.getMessage() for r in caplog.records if r.name == "portal.requests"]
    assert "\n" not in line and "\r" not in line
    assert line.startswith("GET /nothing%0D%0AINFO%20portal.requests%20GET%20/admin/%20200")


@pytest.mark.django_db
def test_the_audit_page_links_an_event_to_its_log_lines(client, demo, settings):
    settings.PORTAL_LOG_SEARCH_URL = "https://logs.example.test/search?q=request_id:{request_id}"
    client.force_login(demo.alice)
    response = client.post(
        "/api/v1/requests/",
        data={
            "source_account": "111111111111",
            "target_account": "999999999999",
            "actions": ["dynamodb:GetItem"],
            "resources": ["arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"],
            "duration": 3600,
            "justification": "traced",
        },
        content_type="application/json",
        HTTP_X_REQUEST_ID="submit-trace-42",
    )
    assert response.status_code == 201, response.content
    event = AuditEvent.objects.get(verb="request.submitted")
    assert event.request_id == "submit-trace-42"
    page = client.get("/audit/").content.decode()
    assert 'href="https://logs.example.test/search?q=request_id:submit-trace-42"' in page
    assert 'href="?trace=submit-trace-42"' in page
    filtered = client.get("/audit/", {"trace": "submit-trace-42"}).content.decode()
    assert "request.submitted" in filtered
    assert "request.submitted" not in client.get("/audit/", {"trace": "other"}).content.decode()
    assert client.get("/audit/", {"trace": "no spaces"}).status_code == 400
    export = json.loads(b"".join(client.get("/audit/export.json").streaming_content))
    assert export[0]["trace"] == "submit-trace-42"


@pytest.mark.django_db(transaction=True)
def test_an_approvals_request_id_reaches_the_worker_logs_audit_and_metrics(
    aws_demo, celery_worker_process, worker_env, web_json_log, settings
):
    """bob approves through the API with an X-Request-ID; a worker logging JSON provisions the
    grant. The id is on the web's JSON lines, the worker's, and the audit events of both; the
    worker's provisioning time and CreateRole call show in the web's /metrics."""
    settings.PORTAL_METRICS_TOKEN = TOKEN
    demo = aws_demo
    access_request = submitted(demo)
    web = APIClient()
    before = scrape(web)
    # The session's worker steps aside for one that writes JSON (the next test's `worker`
    # fixture starts it again).
    celery_worker_process.stop()
    json_worker = Worker({**worker_env, "PORTAL_LOG_FORMAT": "json"}, name="worker-json").start()
    try:
        web.force_authenticate(demo.bob)
        response = web.post(
            f"/api/v1/requests/{access_request.pk}/approve/",
            {},
            format="json",
            HTTP_X_REQUEST_ID="approve-trace-1",
        )
        assert response.status_code == 200, response.content
        assert response["X-Request-ID"] == "approve-trace-1"

        def active() -> bool:
            access_request.refresh_from_db()
            return access_request.status == "active"

        wait_until(active, timeout=60, what="the grant to be active")
        worker_lines = wait_until(
            lambda: [
                line
                for line in json_lines(json_worker.log())
                if line.get("request_id") == "approve-trace-1"
            ],
            timeout=10,
            what="the worker's JSON lines of the approval",
        )
    finally:
        json_worker.stop()

    web_lines = [line for line in json_lines(web_json_log.getvalue()) if line.get("request_id")]
    approve_lines = [line for line in web_lines if line["request_id"] == "approve-trace-1"]
    assert any("/approve/" in line["message"] for line in approve_lines)
    assert {"time", "level", "logger", "message"} <= approve_lines[0].keys()
    assert any(
        f"grant {access_request.grant.pk} active" in line["message"] for line in worker_lines
    )
    traced = set(
        AuditEvent.objects.filter(request_id="approve-trace-1").values_list("verb", flat=True)
    )
    assert {"request.approved", "grant.activated"} <= traced

    after = scrape(web)
    provisioned = "portal_provisioning_seconds_count"
    assert total(after, provisioned, mechanism="assume_role") > total(
        before, provisioned, mechanism="assume_role"
    )
    created = {"service": "iam", "operation": "CreateRole", "outcome": "ok"}
    assert total(after, "portal_aws_calls_total", **created) > total(
        before, "portal_aws_calls_total", **created
    )
    active_now = total(after + "\n", "portal_grants_active") or float(
        re.search(r"^portal_grants_active (\S+)$", after, re.MULTILINE).group(1)
    )
    assert active_now >= 1
