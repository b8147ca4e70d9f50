from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from audit.models import AuditEvent


def audit_events_visible_to(*, user: AbstractBaseUser) -> QuerySet[AuditEvent]:
    """Admins see every event; everyone else sees the events they caused."""
    events = AuditEvent.objects.select_related("actor")
    if user.is_superuser:
        return events
    return events.filter(actor=user)
