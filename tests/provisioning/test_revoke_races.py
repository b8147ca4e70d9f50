"""A revoke that finishes while the worker is still writing the grant into AWS, in-process against
the emulator: nothing the grant wrote may outlive it.

The interleaving is made in AWS itself: the AWS calls go through a proxy (tests.support.FaultProxy)
that, just before the writer's CreateRole reaches the emulator, runs the whole revoke (request and
removal) and only then lets the CreateRole through. The revoke runs on the test's own database
connection, shared with the proxy's thread while the test waits on the proxied call (as Django's
live server shares an in-memory database).

The holes this closes: provisioning and re-apply checked the grant's status before writing, and
after writing only looked for a revoke still in progress. A revoke that had already finished
(nothing written yet to remove) left the role the writer then created, assumable by the source
principal for good.
"""

import threading
from functools import partial
from urllib.parse import parse_qs

import pytest
from botocore.exceptions import ClientError
from django.db import connection, connections

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from audit.models import AuditEvent
from aws import AwsError, emulator_client
from provisioning import drift, failure, services
from provisioning.models import Grant
from tests.factories import submitted
from tests.support import FaultProxy

DATA = "999999999999"
ANALYST = "arn:aws:iam::111111111111:role/DataAnalyst"


def _status(grant: Grant) -> str:
    return AccessRequest.objects.get(pk=grant.access_request_id).status


def _approved(demo) -> Grant:
    """alice's own-identity role grant: her DataAnalyst role assumes the granted role itself."""
    access_request = submitted(
        demo,
        access_via="own_identity",
        source_principal=ANALYST,
        mechanism="assume_role",
        justification="a revoke during the writes",
    )
    access_request_approve(access_request=access_request, approver=demo.bob)
    return Grant.objects.get(access_request=access_request)


@pytest.fixture
def proxy(aws_demo, emulator, settings):
    proxy = FaultProxy(emulator.port)
    settings.AWS_ENDPOINT_URL = proxy.url
    connection.inc_thread_sharing()
    yield proxy
    connection.dec_thread_sharing()
    proxy.stop()


def _revoke_before_create_role(proxy: FaultProxy, grant: Grant, user) -> threading.Event:
    """Before the first CreateRole of the grant's role: the revoke, from start to end."""
    shared = connections["default"]  # the test's own connection, not the per-thread proxy
    done = threading.Event()

    def before(method: str, path: str, body: bytes) -> None:
        params = parse_qs(body.decode(errors="replace"))
        if done.is_set() or params.get("Action") != ["CreateRole"]:
            return
        if params.get("RoleName") != [grant.role_name]:
            return
        connections["default"] = shared
        services.grant_revoke_request(grant=grant, user=user)
        services.grant_revoke(grant_id=grant.pk)
        done.set()

    proxy.before = before
    return done


def _role_exists(role_name: str) -> bool:
    try:
        emulator_client("iam", account_id=DATA, region="us-east-1").get_role(RoleName=role_name)
    except ClientError:
        return False
    return True


def _removed_again(grant: Grant, callbacks) -> None:
    """The writer queued the removal once more (after its commit): run it as the worker does."""
    queued = [c.func.__name__ for c in callbacks if isinstance(c, partial)]
    assert "grant_revoke_again_enqueue" in queued
    services.grant_revoke(grant_id=grant.pk, again=True)


def test_a_revoke_that_finished_before_provisioning_wrote_leaves_no_role(
    aws_demo, proxy, django_capture_on_commit_callbacks
):
    grant = _approved(aws_demo)
    revoked = _revoke_before_create_role(proxy, grant, aws_demo.alice)

    with django_capture_on_commit_callbacks() as callbacks:
        services.grant_provision(grant_id=grant.pk)

    assert revoked.is_set()
    assert _status(grant) == "revoked"
    _removed_again(grant, callbacks)
    assert not _role_exists(grant.role_name)
    event = AuditEvent.objects.get(access_request=grant.access_request, verb="grant.removed_again")
    assert f"arn:aws:iam::{DATA}:role/portal/{grant.role_name}" in event.after["removed"]


def test_a_revoke_that_finished_before_a_re_apply_wrote_leaves_no_role(
    aws_demo, proxy, django_capture_on_commit_callbacks
):
    grant = _approved(aws_demo)
    services.grant_provision(grant_id=grant.pk)
    assert _status(grant) == "active"
    # Someone deleted the role: the grant has drifted, and its re-apply writes the role again.
    iam = emulator_client("iam", account_id=DATA, region="us-east-1")
    iam.delete_role_policy(RoleName=grant.role_name, PolicyName=grant.permission_policy_name)
    iam.delete_role(RoleName=grant.role_name)
    revoked = _revoke_before_create_role(proxy, grant, aws_demo.alice)

    with django_capture_on_commit_callbacks() as callbacks:
        drift.grant_reapply(grant_id=grant.pk)

    assert revoked.is_set()
    assert _status(grant) == "revoked"
    _removed_again(grant, callbacks)
    assert not _role_exists(grant.role_name)
    assert not AuditEvent.objects.filter(
        access_request=grant.access_request, verb="grant.reapplied"
    ).exists()


def _then_fail_the_source_side(proxy, fault: str, *, times: int) -> None:
    """After the proxy's revoke, the writer's source-side call (the identity policy on the
    source principal) fails `times` times with `fault`."""
    revoke_first = proxy.before

    def then_fail(method: str, path: str, body: bytes) -> None:
        revoke_first(method, path, body)
        params = parse_qs(body.decode(errors="replace"))
        if params.get("Action") == ["PutRolePolicy"] and params.get("RoleName") == ["DataAnalyst"]:
            proxy.fault, proxy.fail_next = fault, times

    proxy.before = then_fail


def test_a_provisioning_that_fails_after_writing_behind_a_finished_revoke_leaves_no_role(
    aws_demo, proxy, django_capture_on_commit_callbacks
):
    """The same revoke, then the writer creates the role and fails on the source side: the task
    marks it failed, which a revoked grant no longer becomes, so no rollback would run."""
    grant = _approved(aws_demo)
    revoked = _revoke_before_create_role(proxy, grant, aws_demo.alice)
    _then_fail_the_source_side(proxy, "denied", times=1)
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(AwsError):
            services.grant_provision(grant_id=grant.pk)
        failure.grant_provision_failed(grant_id=grant.pk, message="denied")

    assert revoked.is_set() and _role_exists(grant.role_name)
    assert _status(grant) == "revoked"
    _removed_again(grant, callbacks)
    assert not _role_exists(grant.role_name)


def test_a_provisioning_retried_after_a_revoke_has_the_removal_done_again(
    aws_demo, proxy, django_capture_on_commit_callbacks
):
    """A transient error retries the task, which then finds the grant revoked: the attempt before
    it may have written after the removal, so the removal runs again."""
    grant = _approved(aws_demo)
    revoked = _revoke_before_create_role(proxy, grant, aws_demo.alice)
    _then_fail_the_source_side(proxy, "throttling", times=20)
    with pytest.raises(AwsError):
        services.grant_provision(grant_id=grant.pk)
    proxy.fail_next = 0
    assert revoked.is_set() and _role_exists(grant.role_name)

    with django_capture_on_commit_callbacks() as callbacks:
        services.grant_provision(grant_id=grant.pk)  # the task's retry
    _removed_again(grant, callbacks)
    assert not _role_exists(grant.role_name)
