from datetime import datetime
from functools import cache, partial
from typing import Any, Protocol

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection, transaction
from django.db.models.options import Options
from psycopg import sql
from psycopg.types.json import Jsonb

from audit.models import AuditEvent
from core import metrics, request_ids

_REQUEST_LABEL = "access_requests.accessrequest"


class Recordable(Protocol):
    """What an event is about: a model instance (or the Protocol of one a lower app uses for a
    model above it); the event keeps its label and primary key."""

    @property
    def pk(self) -> Any: ...
    @property
    def _meta(self) -> "Options[Any]": ...


def audit_record(
    *,
    actor: User | AnonymousUser | None,
    verb: str,
    obj: Recordable,
    access_request_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    client_address: str | None = None,
) -> AuditEvent:
    """Append one event, with the request id of the work that records it. Call it inside the
    transaction of the change it records. A request's event that moves its status counts in
    `portal_requests_total` once the transaction commits."""
    object_type = obj._meta.label_lower
    status = (after or {}).get("status")
    if object_type == _REQUEST_LABEL and status and status != (before or {}).get("status"):
        transaction.on_commit(partial(metrics.request_status_reached, str(status)))
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        verb=verb,
        object_type=object_type,
        object_id=str(obj.pk),
        access_request_id=access_request_id,
        before=before or {},
        after=after or {},
        client_address=client_address,
        request_id=request_ids.current(),
    )


def audit_records(events: list[dict[str, Any]]) -> list[AuditEvent]:
    """Append many events by the portal itself (no actor) in one INSERT: a sweep's. Each dict
    holds `verb`, `object_type`, `object_id` and optionally `access_request_id`, `before`,
    `after`. Call it inside the transaction of the changes; statuses count as `audit_record`'s."""
    for event in events:
        status = event.get("after", {}).get("status")
        moved = status and status != event.get("before", {}).get("status")
        if event["object_type"] == _REQUEST_LABEL and moved:
            transaction.on_commit(partial(metrics.request_status_reached, str(status)))
    request_id = request_ids.current()
    return AuditEvent.objects.bulk_create(
        [AuditEvent(actor=None, request_id=request_id, **event) for event in events],
        batch_size=1000,
    )


def audit_status_moves(*, verb: str, model: Any, ids: list[int], to: str) -> int:
    """Record that the portal (no actor) moves the rows `ids` of `model` (a request model, whose
    events carry `access_request`) to status `to`: one event each, with the status it had. Call it
    inside the transaction, before the move. On PostgreSQL one `INSERT ... SELECT` writes them all
    (the events' JSON built by the database: a sweep's 500 events in one round trip, none through
    Python); elsewhere they are read and inserted in bulk."""
    if not ids:
        return 0
    object_type = model._meta.label_lower
    request_id = request_ids.current()
    if connection.vendor == "postgresql":
        # The tables' names as identifiers (psycopg.sql), every value a parameter.
        statement = sql.SQL(
            "INSERT INTO {events} (actor_id, verb, object_type, object_id, access_request_id,"
            " before, after, client_address, created_at, request_id)"
            " SELECT NULL, %s, %s, id::text, id, jsonb_build_object('status', status),"
            " jsonb_build_object('status', %s::text), NULL, statement_timestamp(), %s"
            " FROM {moved} WHERE id = ANY(%s)"
        ).format(
            events=sql.Identifier(AuditEvent._meta.db_table),
            moved=sql.Identifier(model._meta.db_table),
        )
        with connection.cursor() as cursor:
            cursor.cursor.execute(statement, [verb, object_type, to, request_id, ids])
            written = cursor.rowcount
    else:
        rows = model._default_manager.filter(pk__in=ids).values_list("pk", "status")
        written = len(
            audit_records(
                [
                    {
                        "verb": verb,
                        "object_type": object_type,
                        "object_id": str(pk),
                        "access_request_id": pk,
                        "before": {"status": status},
                        "after": {"status": to},
                    }
                    for pk, status in rows
                ]
            )
        )
        return written
    if object_type == _REQUEST_LABEL:
        transaction.on_commit(partial(metrics.REQUESTS.labels(status=to).inc, written))
    return written


@cache
def _with_insert(insert: str, vendor: str) -> str:
    """audit_record_with_insert's statement around `insert`, written once per process (`vendor`
    keys the cache): composing it cost a tenth of a millisecond a call."""
    events = connection.ops.quote_name(AuditEvent._meta.db_table)
    return (
        # `insert` is the caller's statement; the events' table name from the model.
        f"WITH subject AS ({insert}) INSERT INTO {events} (actor_id, verb, object_type,"  # noqa: S608  # nosec B608
        " object_id, access_request_id, before, after, client_address, request_id, created_at)"
        " SELECT %s, %s, %s, subject.id::text, %s, '{}'::jsonb, %s, %s::inet, %s, %s"
        " FROM subject RETURNING object_id"
    )


def audit_record_with_insert(
    *,
    insert: str,
    params: list[Any],
    actor: User,
    verb: str,
    object_type: str,
    access_request_id: int | None,
    after: dict[str, Any],
    client_address: str | None,
    at: datetime,
) -> int:
    """Insert one row (`insert`: an `INSERT ... RETURNING id` with `params`, its names quoted and
    every value a parameter; one string per caller, as the statement is kept per string) and the
    event that records it in ONE statement, on PostgreSQL: a data-modifying `WITH` writes both or
    neither, in one round trip and without BEGIN and COMMIT of their own (the credential issue's,
    on the path of every session vended). Returns the new row's id. The event is
    `audit_record`'s, for an object that moves no request status.
    https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING"""
    statement = _with_insert(insert, connection.vendor)
    values = [
        *params,
        actor.pk,
        verb,
        object_type,
        access_request_id,
        Jsonb(after),
        client_address,
        request_ids.current(),
        at,
    ]
    with connection.cursor() as cursor:
        cursor.execute(statement, values)
        row = cursor.fetchone()
    if row is None:
        raise RuntimeError("the insert wrote no row")
    return int(row[0])
