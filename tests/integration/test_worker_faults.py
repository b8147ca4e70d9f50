"""A worker killed with SIGKILL in the middle of provisioning loses nothing and writes nothing
twice: the task is acknowledged late and handed back, and every AWS write is idempotent."""

import os
import random
import signal
import time

import pytest

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from audit.models import AuditEvent
from aws import emulator_client
from provisioning.models import Grant
from provisioning.services import grant_revoke_request
from tests.factories import TABLE_ARN, approved_at_once, submitted
from tests.support import SlowProxy, Worker, wait_until


def _iam(emulator, account_id: str):
    return emulator_client("iam", account_id=account_id, region="us-east-1")


def _status(access_request: AccessRequest) -> str:
    access_request.refresh_from_db()
    return access_request.status


def _approved_request(demo) -> AccessRequest:
    access_request = submitted(
        demo, actions=["dynamodb:GetItem", "dynamodb:Query"], justification="fault test"
    )
    access_request_approve(access_request=access_request, approver=demo.bob)
    return access_request


def _assert_written_exactly_once(emulator, access_request: AccessRequest) -> None:
    name = f"portal-access-{access_request.pk}"
    target = _iam(emulator, "999999999999")
    roles = [r["RoleName"] for r in target.list_roles(PathPrefix="/portal/")["Roles"]]
    assert roles.count(name) == 1
    assert target.list_role_policies(RoleName=name)["PolicyNames"] == [name]
    broker = _iam(emulator, "111111111111").list_role_policies(RoleName="PortalBroker")
    assert broker["PolicyNames"].count(name) == 1
    activations = AuditEvent.objects.filter(access_request=access_request, verb="grant.activated")
    assert activations.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kill", ["whole_worker", "pool_process"])
def test_worker_killed_while_provisioning_ends_active_exactly_once(
    aws_demo, celery_worker_process, worker_env, emulator, kill
):
    celery_worker_process.stop()  # this test runs its own workers on the same queue
    proxy = SlowProxy(emulator.port, delay=0.15)
    env = worker_env | {"AWS_ENDPOINT_URL": proxy.url}
    victim = Worker(env, name=f"victim-{kill}").start()
    try:
        access_request = _approved_request(aws_demo)
        wait_until(lambda: _status(access_request) == "provisioning", what="provisioning to start")
        # Somewhere among its AWS calls (each held 0.15 s by the proxy).
        time.sleep(random.uniform(0.2, 1.2))
        if kill == "whole_worker":
            victim.kill()
        else:
            children = victim.children()
            assert children, "the prefork pool has a process"
            os.kill(children[0], signal.SIGKILL)
        assert _status(access_request) == "provisioning"

        if kill == "whole_worker":
            victim = Worker(env, name=f"victim-{kill}").start()
        wait_until(
            lambda: _status(access_request) == "active",
            timeout=60,
            what="the redelivered task to finish provisioning",
        )
    finally:
        victim.stop()
        proxy.stop()

    grant = Grant.objects.get(access_request=access_request)
    assert grant.attempts >= 2, "the task ran again after the kill"
    _assert_written_exactly_once(emulator, access_request)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("target", ["data", "prod"])
def test_two_approvers_at_the_same_instant_provision_once(aws_demo, worker, emulator, target):
    """bob and carol approve in two threads released together: one grant, written once."""

    demo = aws_demo
    account = getattr(demo, target)
    resource = (
        TABLE_ARN if target == "data" else "arn:aws:dynamodb:eu-central-1:222222222222:table/Orders"
    )
    access_request = submitted(
        demo, target_account=account, resources=[resource], justification="race"
    )
    outcomes = approved_at_once(access_request, [demo.bob, demo.carol])

    wait_until(lambda: _status(access_request) == "active", timeout=30, what="activation")
    assert Grant.objects.filter(access_request=access_request).count() == 1
    assert Grant.objects.get(access_request=access_request).attempts == 1
    if target == "data":
        assert sorted(outcomes.values()) == ["approved", "conflict"]
    else:
        assert sorted(outcomes.values()) == ["approved", "approved"]
    name = f"portal-access-{access_request.pk}"
    roles = _iam(emulator, account.account_id).list_roles(PathPrefix="/portal/")["Roles"]
    assert [r["RoleName"] for r in roles].count(name) == 1
    approvals = AuditEvent.objects.filter(access_request=access_request, verb="request.approved")
    assert approvals.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_revoke_that_lands_during_provisioning_wins(
    aws_demo, celery_worker_process, worker_env, emulator
):
    """The revoke arrives while the worker is still writing: it ends revoked, nothing left."""
    celery_worker_process.stop()
    proxy = SlowProxy(emulator.port, delay=0.1)
    slow = Worker(worker_env | {"AWS_ENDPOINT_URL": proxy.url}, name="slow").start()
    try:
        access_request = _approved_request(aws_demo)
        wait_until(lambda: _status(access_request) == "provisioning", what="provisioning to start")
        grant_revoke_request(grant=access_request.grant, user=aws_demo.alice)
        wait_until(lambda: _status(access_request) == "revoked", timeout=60, what="the revoke")
    finally:
        slow.stop()
        proxy.stop()
    name = f"portal-access-{access_request.pk}"
    roles = _iam(emulator, "999999999999").list_roles(PathPrefix="/portal/")["Roles"]
    assert name not in [r["RoleName"] for r in roles]
    broker = _iam(emulator, "111111111111").list_role_policies(RoleName="PortalBroker")
    assert name not in broker["PolicyNames"]
    assert not AuditEvent.objects.filter(access_request=access_request, verb="grant.activated")
