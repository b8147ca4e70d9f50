"""The broker restarting or freezing, on a private redis-server (the machine's Redis stays up):
queued work survives a restart with append-only persistence, a frozen broker cannot hang an
approval, and work the broker lost is queued again by the requeue sweep."""

import json
import subprocess
import time

import pytest
import redis

from provisioning.models import Grant
from provisioning.queue import QUEUE_ERROR
from tests.faults.conftest import status, submit_role
from tests.support import RedisServer, python_run, wait_until

# The enqueueing side runs as its own process, as the web process would, with the private Redis
# as its broker.
APPROVE = """
import json, sys, time, django
django.setup()
from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from django.contrib.auth import get_user_model
bob = get_user_model().objects.get(username="bob")
timings = []
for pk in json.loads(sys.argv[1]):
    began = time.monotonic()
    access_request_approve(access_request=AccessRequest.objects.get(pk=pk), approver=bob)
    timings.append(time.monotonic() - began)
print(json.dumps(timings))
"""
REQUEUE = """
import datetime, django
django.setup()
from provisioning.queue import grants_requeue_stalled
print(grants_requeue_stalled(older_than=datetime.timedelta(0)))
"""


def _portal(env: dict[str, str], code: str, *args: str) -> subprocess.CompletedProcess:
    process = python_run(["-c", code, *args], env=env)
    assert process.returncode == 0, process.stderr[-3000:]
    return process


@pytest.fixture
def private_redis(tmp_path):
    servers: list[RedisServer] = []

    def start(*, appendonly: bool) -> RedisServer:
        server = RedisServer(tmp_path, appendonly=appendonly).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _queued(url: str, queue: str) -> int:
    """Messages waiting in the queue: its list and its lower-priority lists (the notifications
    wait in kombu's priority-9 list, behind the grants)."""
    client = redis.Redis.from_url(url)
    return sum(client.llen(name) for name in (queue, *(f"{queue}\x06\x16{p}" for p in (3, 6, 9))))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("appendonly", [True, False], ids=["aof", "no-persistence"])
def test_queued_tasks_survive_a_redis_restart(
    aws_demo, workers, worker_env, private_redis, capsys, appendonly
):
    broker = private_redis(appendonly=appendonly)
    env = worker_env | {"TEST_REDIS_URL": broker.url}
    queue = env["PORTAL_TASK_QUEUE"]
    requests = [submit_role(aws_demo, approve=False) for _ in range(5)]
    _portal(env, APPROVE, json.dumps([r.pk for r in requests]))
    queued = _queued(broker.url, queue)
    assert queued >= 2 * len(requests)  # provisioning, and the notifications

    broker.stop()  # SIGTERM, as systemd or a container runtime stops it
    broker.start()  # the same directory: it reads its append-only file back
    survived = _queued(broker.url, queue)
    requeued = 0
    if appendonly:
        assert survived == queued
    else:
        assert survived == 0  # every queued message is gone...
        # ...and the requeue sweep (beat, every 5 minutes) queues the stalled grants again.
        requeued = int(_portal(env, REQUEUE).stdout.split()[-1])
        assert requeued == len(requests)

    workers(f"faults-redis-{'aof' if appendonly else 'plain'}", TEST_REDIS_URL=broker.url)
    wait_until(lambda: all(status(r) == "active" for r in requests), timeout=90, what="the grants")
    with capsys.disabled():
        if appendonly:
            print(
                f"\nRedis restart with --appendonly yes: {queued} messages queued, {survived} "
                f"after the restart, {len(requests)}/{len(requests)} grants active, 0 lost"
            )
        else:
            print(
                f"\nRedis restart without persistence: {queued} messages queued, {survived} after "
                f"the restart; the requeue sweep queued {requeued} grants again, "
                f"{len(requests)}/{len(requests)} active (the notifications were lost)"
            )


@pytest.mark.django_db(transaction=True)
def test_a_frozen_redis_cannot_hang_an_approval(
    aws_demo, workers, worker_env, private_redis, capsys
):
    broker = private_redis(appendonly=True)
    env = worker_env | {"TEST_REDIS_URL": broker.url}
    access_request = submit_role(aws_demo, approve=False)
    broker.freeze()  # SIGSTOP: connections open, nothing answers
    try:
        began = time.monotonic()
        approved = _portal(env, APPROVE, json.dumps([access_request.pk]))
        elapsed = time.monotonic() - began
    finally:
        broker.thaw()
    (approve_seconds,) = json.loads(approved.stdout.split("\n")[-2])
    assert "grant_provision_task for grant" in approved.stderr  # the failed enqueue is logged
    # The approval stands; the grant waits, recorded, for the sweep.
    assert status(access_request) == "approved"
    grant = Grant.objects.get(access_request=access_request)
    assert grant.attempts == 0
    assert grant.last_error.startswith(QUEUE_ERROR)

    requeued = int(_portal(env, REQUEUE).stdout.split()[-1])
    assert requeued == 1
    workers("faults-redis-frozen", TEST_REDIS_URL=broker.url)
    wait_until(lambda: status(access_request) == "active", timeout=60, what="the grant")
    error = next(line for line in approved.stderr.splitlines() if "not queued" in line)
    with capsys.disabled():
        print(
            f"\nFrozen Redis (SIGSTOP): the approval returned after {approve_seconds:.1f} s "
            f"(process {elapsed:.1f} s) instead of hanging; approved, enqueue failure logged "
            f"({error.split('not queued: ')[-1].strip()}); the requeue sweep queued it again: "
            "active"
        )


@pytest.mark.django_db
def test_the_requeue_sweep_leaves_moving_and_errored_grants_alone(demo):
    """Only grants stalled past the threshold with no recorded AWS error are queued again."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from access_requests.models import AccessRequest
    from provisioning.queue import grants_requeue_stalled

    access_request = submit_role(demo)
    assert status(access_request) == "approved"
    hour = timedelta(hours=1)
    assert grants_requeue_stalled(older_than=hour) == 0  # just approved: its task is on its way
    AccessRequest.objects.filter(pk=access_request.pk).update(updated_at=timezone.now() - 2 * hour)
    Grant.objects.filter(access_request=access_request).update(
        last_error="writing role portal-access-1: AccessDenied: not allowed"
    )
    assert grants_requeue_stalled(older_than=hour) == 0  # waits for a person's retry
    schedule = settings.CELERY_BEAT_SCHEDULE["requeue-stalled-grants"]
    assert schedule["task"] == "provisioning.tasks.grants_requeue_task"
    assert schedule["schedule"] < settings.PORTAL_TASK_REQUEUE_AFTER
