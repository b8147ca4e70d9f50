"""Changing the access rules as code: the API's PUT and `manage.py access_rules apply` replace
the whole set, checked whole first, audited with the diff."""

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection, transaction

from accounts.access_rules import AccessRule
from accounts.mfa import second_factor_enrolment_check
from accounts.rules import rule_normalized, rules_errors
from audit.services import audit_record
from core.errors import ServiceError


def access_rules_list() -> list[dict[str, Any]]:
    return [rule.as_dict() for rule in AccessRule.objects.order_by("name")]


def _rules_lock() -> None:
    """One replacement at a time, until its transaction ends: two at once would each delete only
    the rules they saw, and leave the union of both sets (more than either admin wrote), a 500 on
    the unique name, and an audit diff against a set that was no longer there. Readers are not
    blocked (EXCLUSIVE still lets plain SELECTs through)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{AccessRule._meta.db_table}" IN EXCLUSIVE MODE')


def _diff(
    before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the rules that were added, removed or changed, by name: before and after."""
    old = {rule["name"]: rule for rule in before}
    new = {rule["name"]: rule for rule in after}
    names = sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))
    return (
        {name: old.get(name) for name in names},
        {name: new.get(name) for name in names},
    )


@transaction.atomic
def access_rules_write(rules: Any) -> list[dict[str, Any]]:
    """Check the whole set, then replace every rule with it; unaudited, for the demo seed, which
    writes its accounts and users without events too. Everyone else calls
    access_rules_replace."""
    _rules_lock()
    errors = rules_errors(rules)
    if errors:
        raise ServiceError("The rule set has errors; nothing was changed.", field_errors=errors)
    checked = [rule_normalized(rule) for rule in rules]
    AccessRule.objects.all().delete()
    AccessRule.objects.bulk_create([AccessRule(**rule) for rule in checked])
    return access_rules_list()


@transaction.atomic
def access_rules_replace(
    rules: Any, *, actor: User | AnonymousUser | None, client_address: str | None = None
) -> list[dict[str, Any]]:
    """Replace every rule with these. A set with any error changes nothing (400 per field).
    `actor` is a platform admin whose second factor is enrolled, or None for the operator's
    `manage.py access_rules apply` (the shell is the authority there)."""
    if actor is not None:
        if not actor.is_superuser:
            raise ServiceError(
                "Only platform admins change the access rules.", kind=ServiceError.FORBIDDEN
            )
        second_factor_enrolment_check(actor)  # a token from before the factor was needed
    _rules_lock()  # before the read, so the audit's "before" is what is replaced
    before = access_rules_list()
    after = access_rules_write(rules)
    old, new = _diff(before, after)
    if old or new:
        audit_record(
            actor=actor,
            verb="access_rules.replaced",
            obj=AccessRule(name="access-rules"),
            before={"rules": old},
            after={"rules": new, "count": len(after)},
            client_address=client_address,
        )
    return after
