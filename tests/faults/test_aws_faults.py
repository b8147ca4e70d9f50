"""AWS down, throttling or answering 503 (a proxy in front of the emulator): tasks retry with
backoff; past the retry budget the grant shows why it stopped, and a retry succeeds once AWS is
back."""

import re

import pytest

from provisioning.models import Grant
from provisioning.services import grant_retry, grant_revoke_request
from provisioning.tasks import MAX_RETRIES
from tests.faults.conftest import iam, status, submit_role
from tests.support import FaultProxy, wait_until

RETRY = re.compile(r"(grant_\w+_task)\[[0-9a-f-]+\] retry: Retry in ([\d.]+)s")


def _countdowns(worker, task: str) -> list[float]:
    return [round(float(s), 1) for name, s in RETRY.findall(worker.log()) if name == task]


def _role_names() -> set[str]:
    return {r["RoleName"] for r in iam("999999999999").list_roles(PathPrefix="/portal/")["Roles"]}


@pytest.fixture
def proxy(emulator):
    proxy = FaultProxy(emulator.port)
    yield proxy
    proxy.stop()


@pytest.mark.django_db(transaction=True)
def test_aws_down_fails_with_a_reason_and_a_retry_succeeds_once_it_is_back(
    aws_demo, workers, proxy, capsys
):
    worker = workers("faults-aws-down", AWS_ENDPOINT_URL=proxy.url)
    proxy.down()
    access_request = submit_role(aws_demo)
    wait_until(lambda: status(access_request) == "failed", timeout=120, what="the retry budget")
    grant = Grant.objects.get(access_request=access_request)
    assert grant.attempts == MAX_RETRIES + 1
    assert "AWS did not answer" in grant.last_error
    assert "Traceback" not in grant.last_error
    provision_backoff = _countdowns(worker, "grant_provision_task")
    assert len(provision_backoff) == MAX_RETRIES
    reason = grant.last_error

    proxy.up()
    grant_retry(grant=grant, user=aws_demo.alice)
    wait_until(lambda: status(access_request) == "active", timeout=60, what="the retried grant")
    grant.refresh_from_db()
    assert grant.last_error == ""
    assert f"portal-access-{access_request.pk}" in _role_names()

    # Revoking while every AWS call answers 503: the grant keeps its status and says why.
    proxy.fault, proxy.fail_next = "unavailable", 10_000
    grant_revoke_request(grant=grant, user=aws_demo.alice)
    wait_until(
        lambda: Grant.objects.get(pk=grant.pk).last_error, timeout=120, what="the revoke to stop"
    )
    grant.refresh_from_db()
    assert status(access_request) == "revoking"
    assert "ServiceUnavailable" in grant.last_error
    revoke_backoff = _countdowns(worker, "grant_revoke_task")
    assert len(revoke_backoff) == MAX_RETRIES
    answered_503 = proxy.injected
    proxy.fail_next = 0
    grant_retry(grant=grant, user=aws_demo.alice)
    wait_until(lambda: status(access_request) == "revoked", timeout=60, what="the retried revoke")
    assert f"portal-access-{access_request.pk}" not in _role_names()
    with capsys.disabled():
        print(
            f"\nAWS unreachable: {MAX_RETRIES + 1} tries (backoff {provision_backoff} s), "
            f"then failed: {reason!r}; retry once back: active. AWS answering 503 "
            f"({answered_503} answers): {MAX_RETRIES + 1} revoke tries (backoff "
            f"{revoke_backoff} s), then 'revoking' with {grant.last_error!r}; retry: revoked"
        )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fault", ["throttling", "unavailable"])
def test_a_short_burst_of_throttling_or_503_is_ridden_out(aws_demo, workers, proxy, capsys, fault):
    worker = workers(f"faults-aws-{fault}", AWS_ENDPOINT_URL=proxy.url)
    proxy.fault, proxy.fail_next = fault, 8
    access_request = submit_role(aws_demo)
    wait_until(lambda: status(access_request) == "active", timeout=90, what="the grant")
    grant = Grant.objects.get(access_request=access_request)
    backoff = _countdowns(worker, "grant_provision_task")
    assert proxy.injected == 8
    assert grant.attempts == len(backoff) + 1 >= 2
    with capsys.disabled():
        print(
            f"\nAWS {fault} for 8 requests: botocore retried each call up to 3 times, the task "
            f"ran {grant.attempts} times (backoff {backoff} s), grant active, no person needed"
        )
