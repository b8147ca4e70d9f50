"""Revoke and emergency revoke reach every state a grant can write from.

The hole this closes: an approved grant (its provisioning task still queued) could not be
revoked, and an emergency revoke skipped it and left the person's pending requests open, so with a
backlogged worker the grant went active after the emergency revoke.
"""

from access_requests.models import AccessRequest
from access_requests.services import access_revoke_all
from audit.models import AuditEvent
from provisioning.models import Grant
from provisioning.services import grant_revoke_request
from tests.factories import submitted
from tests.faults.conftest import iam, status, submit_role
from tests.support import wait_until


def _role_exists(access_request: AccessRequest) -> bool:
    names = {role["RoleName"] for role in iam("999999999999").list_roles()["Roles"]}
    return f"portal-access-{access_request.pk}" in names


def test_an_emergency_revoke_during_a_backlog_leaves_no_grant_active(aws_demo, workers):
    demo = aws_demo
    # No worker runs: each approval's provisioning task waits in the queue (a backlog).
    approved = [submit_role(demo) for _ in range(2)]
    waiting = submitted(demo, justification="still waiting for an approver")
    assert [status(r) for r in approved] == ["approved", "approved"]

    started, cancelled = access_revoke_all(admin=demo.admin, requester=demo.alice)
    assert sorted(started) == sorted(Grant.objects.get(access_request=r).pk for r in approved)
    assert cancelled == [waiting.pk]
    assert [status(r) for r in approved] == ["revoking", "revoking"]

    # The worker comes back and drains the queue: provisioning finds the grants revoking and
    # writes nothing; the revokes end them.
    workers("after-backlog")
    wait_until(
        lambda: [status(r) for r in approved] == ["revoked", "revoked"],
        timeout=60,
        what="the backlog to drain",
    )
    assert status(waiting) == "cancelled"
    assert not any(_role_exists(r) for r in approved)
    activated = AuditEvent.objects.filter(
        verb="grant.activated", access_request__in=[r.pk for r in approved]
    )
    assert not activated.exists()


def test_the_requester_revokes_an_approved_grant_before_it_is_written(aws_demo, workers):
    demo = aws_demo
    access_request = submit_role(demo)
    grant = Grant.objects.get(access_request=access_request)
    grant_revoke_request(grant=grant, user=demo.alice)
    assert status(access_request) == "revoking"

    workers("after-revoke")
    wait_until(lambda: status(access_request) == "revoked", timeout=60, what="the revoke")
    assert not _role_exists(access_request)
