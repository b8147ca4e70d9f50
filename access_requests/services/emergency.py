"""Emergency revoke: cut a person or an account off at once, whatever state their access is in.
A leaver's deactivation (api/leavers.py) ends their access the same way."""

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet

from access_requests.models import AccessRequest
from access_requests.services.decisions import locked_request, request_decided
from core.errors import ServiceError
from notifications.services import notify
from provisioning.services import bulk_revoke_check, grants_revoke_all, grants_revoke_of


def access_revoke_all(
    *,
    admin: User,
    requester: User | None = None,
    account_id: str = "",
    client_address: str | None = None,
) -> tuple[list[int], list[int]]:
    """Every grant of `requester` (or into or out of `account_id`) that may have written or may
    still write is revoked, and the requester's pending requests (or those into or out of the
    account) are cancelled, so no approver can start a new grant afterwards. The pending ones go
    first: a request approved meanwhile is then a grant the revoke finds. Admins only. Returns
    the grants being revoked and the requests cancelled."""
    bulk_revoke_check(admin=admin)  # before anything is cancelled
    if (requester is None) == (not account_id):
        raise ServiceError("Name either a user or an account.")
    pending = AccessRequest.objects.filter(status=AccessRequest.Status.PENDING)
    if requester is not None:
        pending = pending.filter(requester=requester)
    else:
        pending = pending.filter(
            Q(target_account__account_id=account_id) | Q(source_account__account_id=account_id)
        )
    cancelled = _cancel_each(
        pending, actor=admin, reason="emergency revoke", client_address=client_address
    )
    started = grants_revoke_all(
        admin=admin, requester=requester, account_id=account_id, client_address=client_address
    )
    return started, cancelled


def user_access_end(
    *, user: User, actor: User | None, client_address: str | None = None
) -> tuple[list[int], list[int]]:
    """A leaver's access, ended as an emergency revoke ends it (pending requests cancelled first,
    then every revocable grant revoked by the normal revocation tasks), for the deactivation that
    records it as one event. `actor` is the platform admin who deactivated the user, or None for
    an identity provider's SCIM client. Returns the grants being revoked and the requests
    cancelled."""
    cancelled = requests_cancel_pending(
        requester=user, actor=actor, reason="user deactivated", client_address=client_address
    )
    started = grants_revoke_of(requester=user, actor=actor, client_address=client_address)
    return started, cancelled


def requests_cancel_pending(
    *, requester: User, actor: User | None, reason: str, client_address: str | None = None
) -> list[int]:
    """Cancel every pending request of `requester`. The ids cancelled."""
    pending = AccessRequest.objects.filter(requester=requester, status=AccessRequest.Status.PENDING)
    return _cancel_each(pending, actor=actor, reason=reason, client_address=client_address)


def _cancel_each(
    pending: QuerySet[AccessRequest],
    *,
    actor: User | None,
    reason: str,
    client_address: str | None,
) -> list[int]:
    """Cancel these pending requests, each under its own row lock (one decided meanwhile is left
    to the grant revoke). The ids cancelled."""
    cancelled: list[int] = []
    for access_request in pending.order_by("pk"):
        with transaction.atomic():
            locked = locked_request(access_request)
            if not locked.is_pending:
                continue  # decided meanwhile: a grant, if any, is revoked afterwards
            request_decided(
                locked,
                AccessRequest.Status.CANCELLED,
                actor=actor,
                verb="request.cancelled",
                client_address=client_address,
                reason=reason,
            )
            notify(event="request.cancelled", access_request_id=locked.pk)
        cancelled.append(locked.pk)
    return cancelled
