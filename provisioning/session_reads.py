"""The grant a session starts on, with its request and both accounts, in one plain statement: on
the path of every session vended (the API's credentials, the session page, the console).

The statement is the one `select_related("access_request__source_account",
"access_request__target_account").only(...)` would run, written once per process: compiling that
queryset cost 1.5 ms a call, more than running it. The instances are the ORM's (core.rows) and are
linked as select_related links them, so everything the session path reads costs no query; a
field left out is deferred, still read if some caller asks for it, at the cost of a query."""

from functools import cache
from typing import NamedTuple

from django.db import connection

from core.rows import Columns, link, related_model, table
from provisioning.models import Grant

# What a session reads: session_may_start, session_duration, _settle_for, the credential issue
# and its audit event; the console the request's resources and the target account's partition.
GRANT_COLUMNS = (
    "id",
    "access_request_id",
    "role_arn",
    "external_id",
    "max_session_duration",
    "activated_at",
    "expires_at",
)
REQUEST_COLUMNS = (
    "id",
    "requester_id",
    "source_account_id",
    "target_account_id",
    "mechanism",
    "access_via",
    "status",
    "resources",
)
ACCOUNT_COLUMNS = ("id", "broker_role_arn", "provisioner_role_arn")


class _Read(NamedTuple):
    statement: str
    grant: Columns
    request: Columns
    source: Columns
    target: Columns


@cache
def _read(vendor: str) -> _Read:
    """The statement and its columns, for the default database (`vendor` keys the cache)."""
    request_model = related_model(Grant, "access_request")
    account_model = related_model(request_model, "source_account")
    grant = Columns(Grant, GRANT_COLUMNS, alias="g")
    request = Columns(request_model, REQUEST_COLUMNS, alias="r")
    source = Columns(account_model, ACCOUNT_COLUMNS, alias="s")
    target = Columns(account_model, ACCOUNT_COLUMNS, alias="t")
    accounts = table(account_model)
    statement = (
        # Names from the models, quoted by the backend; the id is a bound parameter.
        f"SELECT {grant.sql}, {request.sql}, {source.sql}, {target.sql}"  # noqa: S608  # nosec B608
        f" FROM {table(Grant)} g"
        f" INNER JOIN {table(request_model)} r"
        f" ON {request.column('id')} = {grant.column('access_request_id')}"
        f" INNER JOIN {accounts} s ON {source.column('id')} = {request.column('source_account_id')}"
        f" INNER JOIN {accounts} t ON {target.column('id')} = {request.column('target_account_id')}"
        f" WHERE {grant.column('id')} = %s"
    )
    return _Read(statement, grant, request, source, target)


def session_grant(grant_id: int) -> Grant:
    """The grant `grant_id` as it is now, with its request (`grant.access_request`) and the
    request's source and target accounts; Grant.DoesNotExist when there is none."""
    read = _read(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(read.statement, [grant_id])
        row = cursor.fetchone()
    if row is None:
        raise Grant.DoesNotExist(f"{Grant._meta.object_name} matching query does not exist.")
    grant = read.grant.instance(row)
    start = read.grant.width
    access_request = read.request.instance(row, start)
    start += read.request.width
    source = read.source.instance(row, start)
    target = read.target.instance(row, start + read.source.width)
    # As select_related links them: both ways across the one-to-one, one way to the accounts.
    link(grant, "access_request", access_request, both_ways=True)
    link(access_request, "source_account", source)
    link(access_request, "target_account", target)
    return grant
