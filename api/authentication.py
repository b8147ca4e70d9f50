"""The API token check, on every API call: DRF's TokenAuthentication in one plain statement.

No models imported here: DRF imports authentication classes before the apps are ready."""

from functools import cache
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from api import changes
from core.rows import Columns, link, table


class _Check(NamedTuple):
    statement: str
    user: Columns
    token: Columns
    counts: bool  # the statement also reads the change counter (its last column)


@cache
def _check(token_model: type, vendor: str) -> _Check:
    """The statement, written once per process (`vendor` keys the cache): the user's every column
    and the token's creation time, by key."""
    user_model = get_user_model()
    user = Columns(
        user_model, [field.attname for field in user_model._meta.concrete_fields], alias="u"
    )
    token = Columns(token_model, ["key", "user_id", "created"], alias="t")
    # On PostgreSQL the same statement reads the change counter (api/changes.py): a conditional
    # GET is then answered from this one round trip.
    counts = vendor == "postgresql"
    counter = f", {changes.COUNTER_COLUMN}" if counts else ""
    statement = (
        # The models' own names, quoted by the backend; the key is a bound parameter.
        f"SELECT {user.sql}, {token.sql}{counter} FROM {table(token_model)} t"  # noqa: S608  # nosec B608
        f" INNER JOIN {table(user_model)} u ON {user.column('id')} = {token.column('user_id')}"
        f" WHERE {token.column('key')} = %s"
    )
    return _Check(statement, user, token, counts)


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's check (`Authorization: Token <key>`; a missing token or an inactive user is a 401),
    with the token and its user read by one plain statement written once per process, instead of
    a queryset compiled on every call. The token is still read from the database on every call,
    so a revoked token fails on the very next one."""

    def authenticate_credentials(self, key: str):
        if "\x00" in key:  # PostgreSQL's text holds no NUL: no such token
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        check = _check(self.get_model(), connection.vendor)
        with connection.cursor() as cursor:
            cursor.execute(check.statement, [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = check.user.instance(row)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = check.token.instance(row, check.user.width)
        link(token, "user", user)
        if check.counts:
            token.changes_counted = int(row[-1])
        return user, token
