"""The drift sweep of the assume-role grants: each account's roles read in a few calls, every grant
compared with them, rather than six calls a grant.

Per account (target accounts for the roles, source accounts for the broker's identity policies):
`ListRoles` under the portal's path and `GetAccountAuthorizationDetails`, 1,000 roles a page
(aws.account_roles_read). The calls to one account are paced
(`PORTAL_DRIFT_ACCOUNT_CALLS_PER_SECOND`) so a sweep never trips IAM's throttling there; accounts
are read a few at a time in threads, the database stays on the sweep's own thread. A grant
whose drift state is unchanged and clean is marked checked in one UPDATE with the others; a
change is recorded as a single check records it.
"""

import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

import aws
from provisioning.drift import drift_record
from provisioning.models import Grant, Lifecycle, Mechanism
from provisioning.writers import role, source

THREADS = 8
CHUNK = 1000


@dataclass(frozen=True)
class SweepResult:
    grants: int
    accounts: int
    aws_calls: int
    drifted: int


class AccountPace:
    """At most `per_second` calls a second to each account, across the sweep's threads."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.next_call: dict[str, float] = {}
        self.lock = threading.Lock()

    def wait(self, account_id: str) -> None:
        with self.lock:
            now = time.monotonic()
            at = max(now, self.next_call.get(account_id, now))
            self.next_call[account_id] = at + self.interval
        if at > now:
            time.sleep(at - now)


def _read(
    provisioner_role_arns: dict[str, str], pace: AccountPace
) -> tuple[dict[str, aws.AccountRoles], int]:
    """Every account's roles, a few accounts at a time; the calls it took (the provisioner
    sessions' AssumeRole included, when not cached)."""
    path = settings.PORTAL_ROLE_PATH

    def one(account_id: str) -> tuple[str, aws.AccountRoles]:
        pace.wait(account_id)
        credentials = aws.role_credentials(provisioner_role_arns[account_id])
        return account_id, aws.account_roles_read(
            credentials, path_prefix=path, pace=lambda: pace.wait(account_id)
        )

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        snapshots = dict(pool.map(one, sorted(provisioner_role_arns)))
    return snapshots, sum(snapshot.calls for snapshot in snapshots.values())


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def assume_role_grants_sweep() -> SweepResult:
    """Check every active assume-role grant against its accounts' roles as AWS holds them now."""
    grants = list(
        Grant.objects.filter(
            access_request__status=Lifecycle.ACTIVE,
            access_request__mechanism=Mechanism.ASSUME_ROLE,
        ).select_related(
            "access_request__source_account",
            "access_request__target_account",
            "access_request__requester",
        )
    )
    if not grants:
        return SweepResult(grants=0, accounts=0, aws_calls=0, drifted=0)
    arns: dict[str, str] = {}
    for grant in grants:
        approved = grant.access_request
        arns[approved.target_account.account_id] = approved.target_account.provisioner_role_arn
        if grant.source_policy_name:
            arns[approved.source_account.account_id] = approved.source_account.provisioner_role_arn
    snapshots, calls = _read(arns, AccountPace(settings.PORTAL_DRIFT_ACCOUNT_CALLS_PER_SECOND))

    clean: list[int] = []
    drifted = 0
    for grant in grants:
        approved = grant.access_request
        target = snapshots[approved.target_account.account_id].roles
        differences = role.drift_from(grant, approved, target.get(grant.role_name))
        if grant.source_policy_name:
            broker = snapshots[approved.source_account.account_id].roles.get(grant.source_role_name)
            found = broker[0].inline_policies.get(grant.source_policy_name) if broker else None
            differences += source.drift_from(grant, approved, found)
        if not differences and grant.drifted_at is None:
            clean.append(grant.pk)
            continue
        drifted += bool(differences)
        drift_record(grant_id=grant.pk, access_request_id=approved.pk, differences=differences)
    now = timezone.now()
    for ids in _chunks(clean):
        # Only those still clean: a drift recorded meanwhile by a single check stays.
        Grant.objects.filter(pk__in=ids, drifted_at__isnull=True).update(
            drift=[], drift_checked_at=now
        )
    return SweepResult(
        grants=len(grants), accounts=len(snapshots), aws_calls=calls, drifted=drifted
    )
