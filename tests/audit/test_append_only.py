"""The audit trail cannot be changed or deleted: not through the model, not with raw SQL."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError

from audit.models import AuditEvent
from audit.services import audit_record
from tests.factories import submitted

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger is PostgreSQL's"
)


def recorded(demo) -> AuditEvent:
    return audit_record(actor=demo.alice, verb="test.recorded", obj=demo.data, after={"n": 1})


def test_the_model_refuses_to_change_or_delete_an_event(demo):
    event = recorded(demo)
    event.verb = "test.tampered"
    with pytest.raises(TypeError, match="append-only"):
        event.save()
    with pytest.raises(TypeError, match="append-only"):
        event.delete()
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).update(verb="test.tampered")
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).verb == "test.recorded"


@postgresql_only
def test_raw_sql_update_is_refused_by_the_database(demo):
    event = recorded(demo)
    with (
        pytest.raises(DatabaseError, match="Audit events are append-only: UPDATE"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE audit_auditevent SET verb = %s, after = %s WHERE id = %s",
            ["test.tampered", "{}", event.pk],
        )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.verb, stored.after) == ("test.recorded", {"n": 1})


@postgresql_only
def test_raw_sql_delete_is_refused_by_the_database(demo):
    event = recorded(demo)
    with (
        pytest.raises(DatabaseError, match="Audit events are append-only: DELETE"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@postgresql_only
def test_inserting_still_works_with_raw_sql_too(demo):
    """The trigger blocks rewriting history, not writing it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (verb, object_type, object_id, before, after, created_at)"
            " VALUES ('test.raw', 'accounts.account', '1', '{}', '{}', now())"
        )
    assert AuditEvent.objects.filter(verb="test.raw").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_can_still_empty_the_table_afterwards(demo):
    """Django empties the tables after this test with TRUNCATE on PostgreSQL, which the row trigger
    does not see. If that ever became a DELETE, this test's teardown would fail."""
    recorded(demo)
    assert AuditEvent.objects.count() == 1


def test_deleting_a_user_or_request_with_events_is_refused(demo):
    access_request = submitted(demo, justification="Read MyTable")
    assert AuditEvent.objects.filter(access_request=access_request).exists()
    with pytest.raises(ProtectedError), transaction.atomic():
        access_request.delete()
    with pytest.raises(ProtectedError), transaction.atomic():
        demo.alice.delete()
    assert AuditEvent.objects.filter(access_request=access_request, actor=demo.alice).exists()
