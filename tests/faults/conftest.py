"""Fault tests run their own workers (killed, restarted, pointed at a private Redis or a faulty
proxy) on this run's queue, so the session's shared worker is stopped first."""

import pytest

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from aws import emulator_client
from tests.factories import submitted
from tests.support import Worker, redis_queue_clear

ANALYST = "arn:aws:iam::111111111111:role/DataAnalyst"


@pytest.fixture
def workers(celery_worker_process, worker_env, transactional_db):
    """Start workers with extra environment; every one is stopped at the end of the test."""
    celery_worker_process.stop()
    started: list[Worker] = []

    def start(name: str, **env: str) -> Worker:
        worker = Worker(worker_env | {"PORTAL_POLICY_LOCK_SECONDS": "3"} | env, name=name)
        started.append(worker.start())
        return worker

    yield start
    for worker in started:
        worker.stop()
    redis_queue_clear(worker_env["TEST_REDIS_URL"], worker_env["PORTAL_TASK_QUEUE"])


def status(access_request: AccessRequest) -> str:
    access_request.refresh_from_db()
    return access_request.status


def iam(account_id: str):
    return emulator_client("iam", account_id=account_id, region="us-east-1")


def s3(account_id: str = "999999999999"):
    return emulator_client("s3", account_id=account_id, region="eu-central-1")


def submit_role(demo, *, approve: bool = True) -> AccessRequest:
    """alice's assume-role request for MyTable, approved by bob unless told otherwise."""
    access_request = submitted(
        demo, actions=["dynamodb:GetItem", "dynamodb:Query"], justification="fault test"
    )
    if approve:
        access_request_approve(access_request=access_request, approver=demo.bob)
    return access_request
