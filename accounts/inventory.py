"""The resource inventory of managed accounts, for the request wizard's resource picker.

A sync reads the account's resources through its provisioner role and replaces the portal's copy:
resources that vanished are removed, the others are upserted by ARN (their ids stay), so running it
twice changes nothing. A sync that fails keeps the last good copy and records why, for the page.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

import aws
from accounts.models import Account, Resource

logger = logging.getLogger(__name__)

# An on-demand refresh of an account is queued at most this often, however often people click.
REFRESH_INTERVAL = timedelta(seconds=30)
SEARCH_LIMIT = 20
MAX_ERROR = 1000


@dataclass(frozen=True)
class InventorySync:
    account_id: int
    added: int = 0
    removed: int = 0
    kept: int = 0
    error: str = ""
    retryable: bool = False


def accounts_requestable() -> QuerySet[Account]:
    """The accounts anyone may request access into (the request form's target accounts)."""
    return Account.objects.filter(managed=True)


def _error_record(account: Account, message: str) -> None:
    Account.objects.filter(pk=account.pk).update(inventory_error=message[:MAX_ERROR])


def inventory_sync(*, account_id: int) -> InventorySync:
    """Read one account's resources from AWS and replace the portal's copy with them."""
    account = Account.objects.get(pk=account_id)
    if not account.managed or not account.provisioner_role_arn:
        message = f"{account} has no provisioner role: the portal cannot list its resources."
        _error_record(account, message)
        return InventorySync(account_id=account.pk, error=message)
    try:  # no transaction is open across the AWS calls
        credentials = aws.role_credentials(account.provisioner_role_arn)
        items = aws.account_inventory(
            credentials, account_id=account.account_id, regions=list(settings.PORTAL_REGIONS)
        )
    except aws.AwsError as error:
        logger.warning("inventory of %s: %s", account.account_id, error)
        _error_record(account, str(error))
        return InventorySync(account_id=account.pk, error=str(error), retryable=error.retryable)
    now = timezone.now()
    arns = [item.arn for item in items]
    with transaction.atomic():
        Account.objects.select_for_update().filter(pk=account.pk).get()
        existing = set(
            Resource.objects.filter(account=account, arn__in=arns).values_list("arn", flat=True)
        )
        removed, _ = Resource.objects.filter(account=account).exclude(arn__in=arns).delete()
        Resource.objects.bulk_create(
            [
                Resource(
                    account=account,
                    kind=item.kind,
                    arn=item.arn,
                    name=item.name[:512],
                    region=item.region,
                    seen_at=now,
                )
                for item in items
            ],
            update_conflicts=True,
            unique_fields=["account", "arn"],
            update_fields=["kind", "name", "region", "seen_at"],
        )
        Account.objects.filter(pk=account.pk).update(inventory_synced_at=now, inventory_error="")
    return InventorySync(
        account_id=account.pk,
        added=len(arns) - len(existing),
        removed=removed,
        kept=len(existing),
    )


def inventory_sync_error(*, account_id: int, message: str) -> None:
    """Record a failure the sync itself could not (an unexpected error in the task)."""
    Account.objects.filter(pk=account_id).update(inventory_error=message[:MAX_ERROR])


def inventory_refresh(*, account: Account) -> bool:
    """Queue a sync of this account now, unless one was queued in the last REFRESH_INTERVAL.
    True when queued. The task is sent after the transaction commits."""
    from accounts.tasks import inventory_sync_task

    now = timezone.now()
    queued = (
        Account.objects.filter(pk=account.pk, managed=True)
        .filter(
            Q(inventory_requested_at__isnull=True)
            | Q(inventory_requested_at__lt=now - REFRESH_INTERVAL)
        )
        .update(inventory_requested_at=now)
    )
    if queued:
        inventory_sync_task.delay_on_commit(account.pk)
    return bool(queued)


def inventories_sync_queue() -> int:
    """Queue one sync per managed account (the periodic sync); the number queued."""
    from accounts.tasks import inventory_sync_task

    ids = list(
        Account.objects.filter(managed=True)
        .exclude(provisioner_role_arn="")
        .values_list("pk", flat=True)
    )
    for pk in ids:
        inventory_sync_task.delay_on_commit(pk)
    return len(ids)


def resources_search(*, account: Account, query: str, limit: int = SEARCH_LIMIT) -> list[Resource]:
    """The account's resources whose name or ARN contains `query`, names starting with it first;
    at most `limit` (one query)."""
    resources = Resource.objects.filter(account=account)
    query = query.strip()
    if "\x00" in query:  # PostgreSQL's text holds no NUL: nothing matches (not a 500)
        return []
    if query:
        resources = resources.filter(Q(name__icontains=query) | Q(arn__icontains=query))
    rows = list(resources.order_by("name", "arn")[: limit * 5])
    lowered = query.lower()
    rows.sort(key=lambda r: (not r.name.lower().startswith(lowered), r.name.lower(), r.arn))
    return rows[:limit]
