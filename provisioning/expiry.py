"""Expiry: grants end on time, once, and their requesters hear of it first."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record, audit_status_moves
from notifications.services import notify
from provisioning.models import Grant, Lifecycle
from provisioning.queue import grants_revoke_enqueue
from provisioning.services import REVOCABLE

Status = Lifecycle


def grants_expire(*, chunk: int = 500) -> int:
    """Start revoking every grant past its expiry in a state that may have written something or
    may still write (approved, provisioning, active, failed). Safe to run late or twice, and at
    once with itself: each grant is moved once, under its row locks.

    In chunks of `chunk` grants, each one transaction (the grants and their requests locked in
    primary-key order, one UPDATE each, the audit events inserted together) and one connection
    to the broker for its revoke tasks: 10,000 grants in a few seconds, not one round trip per
    statement per grant."""
    due = list(
        Grant.objects.filter(access_request__status__in=REVOCABLE, expires_at__lte=timezone.now())
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    started = 0
    for start in range(0, len(due), chunk):
        started += _expire_chunk(due[start : start + chunk])
    return started


def _expire_chunk(grant_ids: list[int]) -> int:
    with transaction.atomic():
        locked = [
            (grant.pk, grant.access_request_id)
            for grant in Grant.objects.select_for_update(of=("self", "access_request"))
            .select_related("access_request")
            .only("pk", "access_request__status")
            .filter(pk__in=grant_ids, access_request__status__in=REVOCABLE)
            .order_by("pk")
        ]
        if not locked:
            return 0
        ids = [grant_id for grant_id, _ in locked]
        request_ids = [request_id for _, request_id in locked]
        requests = Grant._meta.get_field("access_request").related_model
        # The events first: they record the status each request had.
        audit_status_moves(
            verb="grant.expiry_started", model=requests, ids=request_ids, to=Status.REVOKING.value
        )
        Grant.objects.filter(pk__in=ids).update(end_status=Grant.EndStatus.EXPIRED)
        requests._default_manager.filter(pk__in=request_ids).update(
            status=Status.REVOKING, updated_at=timezone.now()
        )
        transaction.on_commit(lambda: grants_revoke_enqueue(ids))
    return len(ids)


def grants_expiry_notify(*, before: timedelta = timedelta(hours=1)) -> int:
    """Tell requesters their grant ends soon: an hour before, or a fifth of its length for short
    grants. Once per grant (an extension re-arms it)."""
    now = timezone.now()
    notified = 0
    due = Grant.objects.filter(
        access_request__status=Status.ACTIVE,
        expiry_notice_at__isnull=True,
        expires_at__lte=now + before,
        expires_at__gt=now,
    ).select_related("access_request")
    for grant in due:
        lead = min(before, (grant.expiry - grant.activation) / 5)
        if grant.expiry - now > lead:
            continue
        with transaction.atomic():
            if Grant.objects.filter(pk=grant.pk, expiry_notice_at__isnull=True).update(
                expiry_notice_at=now
            ):
                audit_record(
                    actor=None,
                    verb="grant.expiring",
                    obj=grant,
                    access_request_id=grant.access_request_id,
                    after={"expires_at": grant.expiry.isoformat()},
                )
                notify(event="grant.expiring", access_request_id=grant.access_request_id)
                notified += 1
    return notified
