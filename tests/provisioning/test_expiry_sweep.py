"""The expiry sweep moves due grants in chunks: each once, with the audit event of the status it
had, counted in the metrics, its revoke queued."""

from datetime import timedelta

import pytest
from django.utils import timezone

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from audit.models import AuditEvent
from core import metrics
from provisioning import expiry
from provisioning.models import Grant
from tests.factories import submitted
from tests.support import redis_queue_clear


@pytest.fixture
def no_worker(celery_worker_process, worker_env):
    """No worker provisions the approved grants meanwhile (they expire while still approved); the
    tasks they queued are dropped after, and the next test that needs the session's worker starts
    it again."""
    celery_worker_process.stop()
    yield
    redis_queue_clear(worker_env["TEST_REDIS_URL"], worker_env["PORTAL_TASK_QUEUE"])


def revoking_counted() -> float:
    return metrics.REQUESTS.labels(status="revoking")._value.get()


@pytest.mark.django_db(transaction=True)
def test_due_grants_move_once_in_chunks_with_their_audit_events(demo, monkeypatch, no_worker):
    queued: list[list[int]] = []
    monkeypatch.setattr(expiry, "grants_revoke_enqueue", queued.append)
    requests = [submitted(demo) for _ in range(5)]
    for access_request in requests:
        access_request_approve(access_request=access_request, approver=demo.bob)
    later = submitted(demo)
    access_request_approve(access_request=later, approver=demo.bob)
    Grant.objects.exclude(access_request=later).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    before = revoking_counted()

    assert expiry.grants_expire(chunk=2) == 5
    assert expiry.grants_expire(chunk=2) == 0  # beat late, or twice

    assert sorted(sum(queued, [])) == sorted(
        Grant.objects.exclude(access_request=later).values_list("pk", flat=True)
    )
    assert [len(chunk) for chunk in queued] == [2, 2, 1]
    assert set(
        AccessRequest.objects.filter(pk__in=[r.pk for r in requests]).values_list(
            "status", flat=True
        )
    ) == {"revoking"}
    assert AccessRequest.objects.get(pk=later.pk).status == "approved"
    ended = Grant.objects.exclude(access_request=later).values_list("end_status", flat=True)
    assert set(ended) == {"expired"}
    events = AuditEvent.objects.filter(verb="grant.expiry_started")
    assert sorted(events.values_list("access_request_id", flat=True)) == sorted(
        r.pk for r in requests
    )
    for event in events:
        assert event.before == {"status": "approved"}
        assert event.after == {"status": "revoking"}
        assert event.object_type == "access_requests.accessrequest"
        assert event.object_id == str(event.access_request_id)
        assert event.actor is None and event.created_at is not None
    assert revoking_counted() - before == 5
