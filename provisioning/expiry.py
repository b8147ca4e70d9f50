"""Expiry: grants end on time, once, and their requesters hear of it first."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from notifications.services import notify
from provisioning.models import Grant, Lifecycle
from provisioning.services import REVOCABLE, revoke_start

Status = Lifecycle


def grants_expire() -> int:
    """Start revoking every grant past its expiry in a state that may have written something or
    may still write (approved, provisioning, active, failed). Safe to run late or twice."""
    due = Grant.objects.filter(
        access_request__status__in=REVOCABLE, expires_at__lte=timezone.now()
    ).values_list("pk", flat=True)
    return sum(
        revoke_start(grant_id=grant_id, user=None, end_status=Grant.EndStatus.EXPIRED)
        for grant_id in due
    )


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
