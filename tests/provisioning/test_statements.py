"""What provisioning and a notification cost in SQL statements: a fixed number, whatever the
number of live grants (make bench counts them; tests never time them)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.models import Notification
from notifications.services import notification_deliver
from provisioning import services
from tests.provisioning.test_services import approved_grant, status_of

# Two short transactions (lock both rows in one statement, one write per table, an audit event
# each) and one read of the SCP levels of both accounts. Transaction control (BEGIN, COMMIT, and
# the savepoints a test's transactions become) is not counted.
PROVISION_STATEMENTS = 9
# The request with its grant, the rows of this delivery (inserted, then read back), the send.
NOTIFICATION_STATEMENTS = 4


def _sql(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT"))
    ]


def test_provisioning_a_grant_takes_the_same_few_statements_however_many_are_live(aws_demo):
    counts = []
    for _ in range(3):
        grant = approved_grant(aws_demo)
        with CaptureQueriesContext(connection) as queries:
            services.grant_provision(grant_id=grant.pk)
        assert status_of(grant) == "active"
        counts.append(len(_sql(queries)))
    assert counts == [PROVISION_STATEMENTS] * 3, _sql(queries)
    locks = [sql for sql in _sql(queries) if "FOR UPDATE" in sql]
    assert len(locks) == 2  # one per transaction, the grant and its request together
    assert all(
        'FOR UPDATE OF "provisioning_grant", "access_requests_accessrequest"' in sql
        for sql in locks
    )


def test_a_notification_takes_four_statements_and_a_second_delivery_sends_nothing(
    aws_demo, mailoutbox
):
    grant = approved_grant(aws_demo)
    services.grant_provision(grant_id=grant.pk)
    mailoutbox.clear()
    with CaptureQueriesContext(connection) as queries:
        notification_deliver(
            key="k1", event="grant.activated", access_request_id=grant.access_request_id
        )
    assert len(_sql(queries)) == NOTIFICATION_STATEMENTS, _sql(queries)
    assert [message.to for message in mailoutbox] == [[aws_demo.alice.email]]
    notification_deliver(
        key="k1", event="grant.activated", access_request_id=grant.access_request_id
    )
    assert len(mailoutbox) == 1
    row = Notification.objects.get(key="k1")
    assert row.sent_at is not None and row.attempts == 1
