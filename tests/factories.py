"""The one way tests make a standard request: alice (dev, 111111111111) asks to read the article's
MyTable in data (999999999999) for an hour. Tests change only what they are about."""

import threading
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve, access_request_submit
from accounts.access_rules import AccessRule
from core.errors import ServiceError
from provisioning.models import Grant

TABLE_ARN = "arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"


def submitted(demo, **overrides) -> AccessRequest:
    """alice's request for dynamodb:GetItem on MyTable, submitted; `overrides` replace any field
    of `access_request_submit`."""
    fields = {
        "requester": demo.alice,
        "source_account": demo.dev,
        "target_account": demo.data,
        "actions": ["dynamodb:GetItem"],
        "resources": [TABLE_ARN],
        "duration": 3600,
        "justification": "Read MyTable for the report",
    }
    return access_request_submit(**(fields | overrides))


def active_without_aws(demo) -> Grant:
    """alice's grant into data, approved by bob and made active for one more hour the way the
    worker does, without AWS (extensions and decisions write nothing there)."""
    access_request = submitted(demo)
    access_request_approve(access_request=access_request, approver=demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    now = timezone.now()
    grant.activated_at, grant.expires_at = now, now + timedelta(hours=1)
    grant.save()
    AccessRequest.objects.filter(pk=access_request.pk).update(status="active")
    grant.refresh_from_db()
    return grant


def developers_may_ask(account_id: str) -> AccessRule:
    """An access rule for an account a test adds (the demo's rules name the demo's accounts):
    developers may ask for anything there, for up to a day, with the account's approvals."""
    return AccessRule.objects.create(
        name=f"developers-{account_id}",
        accounts=[account_id],
        requester_groups=["developers"],
        max_duration=24 * 3600,
        approval=AccessRule.Approval.ACCOUNT,
    )


def approved_at_once(access_request: AccessRequest, users) -> dict[str, str]:
    """`users` approve the request at the same moment (threads released by a barrier, each on its
    own database connection); what each got: "approved" or the ServiceError's kind."""
    barrier = threading.Barrier(len(users))
    outcomes: dict[str, str] = {}

    def approve(user) -> None:
        barrier.wait()
        try:
            access_request_approve(access_request=access_request, approver=user)
            outcomes[user.username] = "approved"
        except ServiceError as error:
            outcomes[user.username] = error.kind
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes
