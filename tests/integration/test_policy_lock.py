"""Two workers granting on one bucket at once keep both statements, and two revoking at once
remove only their own: the per-policy lock (core.locks.policy_lock) holds each read-modify-write
of the bucket policy together.

Two real worker processes take one grant each. The proxy in front of the emulator orders their
bucket-policy calls the way a lost update needs them: a write waits until both workers have read
the policy (or a few seconds pass), then the first write goes through at once and the other one
a moment later. Without the lock both read the same policy, the first write is verified and goes
active, and the second, made from the older reading, drops it (the grant shows active with no
statement behind it). With the lock the second worker cannot read before the first has written
and read back, so the first write finds only one reading and goes on after the wait.
"""

import json
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from aws import emulator_client
from provisioning.services import grant_revoke_request
from tests.factories import submitted
from tests.support import FaultProxy, Worker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

ANALYST = "arn:aws:iam::111111111111:role/DataAnalyst"
# How long a write waits for the other worker's reading, and how long the later write is held.
WAIT_FOR_READS = 4.0
HOLD_LATER_WRITE = 2.0


class BucketPolicyRace:
    """Called by the proxy before each request: holds PutBucketPolicy on `bucket` until two
    GetBucketPolicy were seen (or WAIT_FOR_READS passed), then lets the first write through at
    once and every later one HOLD_LATER_WRITE seconds later."""

    def __init__(self, bucket: str) -> None:
        self.path = f"/{bucket}"
        self.reads = 0
        self.writes = 0
        self.two_reads = threading.Event()
        # Per write, in order: whether both workers had read the policy before it went out.
        self.after_two_reads: list[bool] = []
        self.lock = threading.Lock()

    def __call__(self, method: str, path: str, body: bytes) -> None:
        parts = urlsplit(path)
        if parts.path != self.path or "policy" not in parse_qs(parts.query, True):
            return
        if method == "GET":
            with self.lock:
                self.reads += 1
                if self.reads >= 2:
                    self.two_reads.set()
        elif method in ("PUT", "DELETE"):
            seen = self.two_reads.wait(WAIT_FOR_READS)
            with self.lock:
                self.writes += 1
                later = self.writes > 1
                self.after_two_reads.append(seen)
            if later:
                time.sleep(HOLD_LATER_WRITE)


@pytest.fixture
def two_workers(celery_worker_process, worker_env, emulator, transactional_db):
    """Two worker processes on this run's queue, their AWS calls through one proxy."""
    celery_worker_process.stop()  # the `worker` fixture starts it again for the next test
    proxy = FaultProxy(emulator.port)
    env = worker_env | {"AWS_ENDPOINT_URL": proxy.url}
    started = [Worker(env, name=f"policy-lock-{n}").start() for n in ("a", "b")]
    yield proxy
    for worker in started:
        worker.stop()
    proxy.stop()


def _statuses(requests: list[AccessRequest]) -> list[str]:
    return list(
        AccessRequest.objects.filter(pk__in=[r.pk for r in requests])
        .order_by("pk")
        .values_list("status", flat=True)
    )


def _sids(s3) -> list[str]:
    return [
        s.get("Sid")
        for s in json.loads(s3.get_bucket_policy(Bucket="mybucket")["Policy"])["Statement"]
    ]


def test_two_workers_granting_on_one_bucket_at_once_keep_both_statements(
    aws_demo, two_workers, capsys
):
    s3 = emulator_client("s3", account_id="999999999999", region="eu-central-1")
    original = s3.get_bucket_policy(Bucket="mybucket")["Policy"]
    requests = [
        submitted(
            aws_demo,
            access_via="own_identity",
            source_principal=ANALYST,
            actions=["s3:GetObject"],
            resources=[f"arn:aws:s3:::mybucket/lock-{n}/*"],
            justification="two at once",
        )
        for n in ("a", "b")
    ]
    try:
        race = BucketPolicyRace("mybucket")
        two_workers.before = race
        started = time.monotonic()
        for access_request in requests:
            access_request_approve(access_request=access_request, approver=aws_demo.bob)
        wait_until(
            lambda: set(_statuses(requests)) <= {"active", "failed"},
            timeout=90,
            what="both grants",
        )
        provisioned = time.monotonic() - started
        assert _statuses(requests) == ["active", "active"]
        assert race.writes == 2
        sids = _sids(s3)
        assert {f"PortalAccess{r.pk}" for r in requests} <= set(sids), sids
        assert "AuditorsReadReports" in sids
        # The lock kept the second worker from reading before the first had written.
        assert race.after_two_reads[0] is False

        race = BucketPolicyRace("mybucket")
        two_workers.before = race
        started = time.monotonic()
        for access_request in requests:
            grant_revoke_request(grant=access_request.grant, user=aws_demo.alice)
        wait_until(
            lambda: _statuses(requests) == ["revoked", "revoked"], timeout=90, what="both revokes"
        )
        revoked = time.monotonic() - started
        # Neither revoke wrote the other's statement back.
        assert json.loads(s3.get_bucket_policy(Bucket="mybucket")["Policy"]) == json.loads(original)
        assert race.after_two_reads[0] is False
        with capsys.disabled():
            print(
                f"\nTwo workers on mybucket: both grants active in {provisioned:.1f} s with both "
                f"statements, both revoked in {revoked:.1f} s leaving the policy as it was; the "
                f"first write of each pair went out alone after waiting {WAIT_FOR_READS} s for a "
                "second reading the lock held back"
            )
    finally:
        two_workers.before = None
        s3.put_bucket_policy(Bucket="mybucket", Policy=original)
