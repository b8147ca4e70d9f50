"""Tasks are queued only after the commit, a task for a vanished id does nothing, and expiry run
late and several times at once revokes each grant once."""

import re
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from access_requests.services import access_request_approve
from audit.models import AuditEvent
from notifications.models import Notification
from provisioning import expiry
from provisioning.models import Grant
from provisioning.tasks import grant_provision_task, grant_revoke_task, grants_expire_task
from tests.faults.conftest import iam, status, submit_role
from tests.support import wait_until

EXPIRE_RUN = re.compile(r"grants_expire_task\[[0-9a-f-]+\] succeeded in [\d.]+s: (\d+)")
RECEIVED = re.compile(r"Task provisioning\.tasks\.(\w+)\[[0-9a-f-]+\] received")


class Rollback(Exception):
    pass


def _received(worker, task: str) -> int:
    return sum(1 for name in RECEIVED.findall(worker.log()) if name == task)


def _portal_roles() -> set[str]:
    return {r["RoleName"] for r in iam("999999999999").list_roles(PathPrefix="/portal/")["Roles"]}


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_approval_queues_nothing_and_a_vanished_id_is_a_no_op(
    aws_demo, workers, capsys
):
    worker = workers("faults-rollback")
    pending = submit_role(aws_demo, approve=False)
    # An approval whose transaction rolls back after the enqueue point...
    with pytest.raises(Rollback), transaction.atomic():
        access_request_approve(access_request=pending, approver=aws_demo.bob)
        rolled_back_grant = Grant.objects.get(access_request=pending).pk
        raise Rollback
    # ...and a request submitted and approved in a transaction that rolls back: it never existed.
    with pytest.raises(Rollback), transaction.atomic():
        vanished = submit_role(aws_demo)
        vanished_request, vanished_grant = (
            vanished.pk,
            Grant.objects.get(access_request=vanished).pk,
        )
        raise Rollback
    assert status(pending) == "pending"
    assert not Grant.objects.filter(pk__in=[rolled_back_grant, vanished_grant]).exists()

    # One committed approval after them: once it is active, the worker has taken everything that
    # was queued before it (one worker, one queue, in order).
    witness = submit_role(aws_demo)
    wait_until(lambda: status(witness) == "active", timeout=60, what="the committed approval")
    assert _received(worker, "grant_provision_task") == 1
    roles = _portal_roles()
    assert f"portal-access-{witness.pk}" in roles
    assert not {f"portal-access-{pending.pk}", f"portal-access-{vanished_request}"} & roles

    # A message for an id that is gone (a broker may still hold one): logged, nothing else.
    grant_provision_task.delay(vanished_grant)
    grant_revoke_task.delay(rolled_back_grant)
    wait_until(
        lambda: (
            _received(worker, "grant_revoke_task") == 1
            and "succeeded" in worker.log().split("grant_revoke_task")[-1]
        ),
        timeout=60,
        what="the tasks for vanished ids",
    )
    log = worker.log()
    assert f"provisioning grant {vanished_grant}: there is no such grant; nothing to do" in log
    assert f"revoking grant {rolled_back_grant}: there is no such grant; nothing to do" in log
    assert "Traceback" not in log
    assert _portal_roles() == roles
    assert status(witness) == "active"
    with capsys.disabled():
        print(
            "\nRollback after the enqueue point: 2 rolled-back approvals, 0 tasks queued for them "
            "(1 provisioning task received, the committed one's); 2 tasks for vanished ids: "
            "no-ops, logged, 0 AWS writes"
        )


@pytest.mark.django_db(transaction=True)
def test_expiry_late_and_three_times_at_once_revokes_each_grant_once(aws_demo, workers, capsys):
    first, second = workers("faults-expiry-a"), workers("faults-expiry-b")
    requests = [submit_role(aws_demo) for _ in range(4)]
    wait_until(lambda: all(status(r) == "active" for r in requests), timeout=90, what="four grants")
    # Beat was down for a day: every grant is long past its expiry.
    Grant.objects.filter(access_request__in=requests).update(
        expires_at=timezone.now() - timedelta(days=1)
    )
    # Then it fires twice at once (two beats, or a late tick and the next), taken by two workers,
    # while a third run happens here.
    grants_expire_task.delay()
    grants_expire_task.delay()
    started: list[int] = []

    def expire_here() -> None:
        try:
            started.append(expiry.grants_expire())
        finally:
            connection.close()

    here = threading.Thread(target=expire_here)
    here.start()
    here.join(60)
    wait_until(
        lambda: all(status(r) == "expired" for r in requests), timeout=90, what="the expiries"
    )
    wait_until(
        lambda: (
            Notification.objects.filter(access_request__in=requests, event="grant.expired")
            .values("access_request")
            .distinct()
            .count()
            == len(requests)
        ),
        timeout=60,
        what="the expiry notifications",
    )
    runs = [
        int(n)
        for w in (first, second)
        for n in re.findall(
            r"grants_expire_task\[[0-9a-f-]+\] succeeded in [\d.]+s: (\d+)", w.log()
        )
    ]
    assert len(runs) == 2
    assert sum(runs) + sum(started) == len(requests)

    for verb in ("grant.expiry_started", "grant.expired"):
        events = Counter(
            AuditEvent.objects.filter(access_request__in=requests, verb=verb).values_list(
                "access_request_id", flat=True
            )
        )
        assert events == Counter({r.pk: 1 for r in requests}), verb
    keys = Counter(
        Notification.objects.filter(access_request__in=requests, event="grant.expired")
        .values_list("access_request_id", "key")
        .distinct()
        .values_list("access_request_id", flat=True)
    )
    assert keys == Counter({r.pk: 1 for r in requests})
    assert not {f"portal-access-{r.pk}" for r in requests} & _portal_roles()
    with capsys.disabled():
        print(
            f"\nExpiry a day late, run 3 times at once: revokes started {sorted(runs + started)} "
            f"(total {sum(runs) + sum(started)} for {len(requests)} grants); each grant expired "
            "once: 1 expiry audit event, 1 notification, its role gone"
        )
