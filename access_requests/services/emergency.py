"""Emergency revoke: cut a person or an account off at once, whatever state their access is in."""

from django.contrib.auth.models import User
from django.db import transaction

from access_requests.models import AccessRequest
from access_requests.services.decisions import locked_request, request_decided
from notifications.services import notify
from provisioning.services import bulk_revoke_check, grants_revoke_all


def access_revoke_all(
    *,
    admin: User,
    requester: User | None = None,
    account_id: str = "",
    client_address: str | None = None,
) -> tuple[list[int], list[int]]:
    """Every grant of `requester` (or into or out of `account_id`) that may have written or may
    still write is revoked, and the requester's pending requests are cancelled, so no approver
    can start a new grant afterwards. The pending ones go first: a request approved meanwhile is
    then a grant the revoke finds. Admins only. Returns the grants being revoked and the requests
    cancelled."""
    bulk_revoke_check(admin=admin)  # before anything is cancelled
    cancelled: list[int] = []
    if requester is not None:
        pending = AccessRequest.objects.filter(
            requester=requester, status=AccessRequest.Status.PENDING
        )
        for access_request in pending.order_by("pk"):
            with transaction.atomic():
                locked = locked_request(access_request)
                if not locked.is_pending:
                    continue  # decided meanwhile: a grant, if any, is revoked below
                request_decided(
                    locked,
                    AccessRequest.Status.CANCELLED,
                    actor=admin,
                    verb="request.cancelled",
                    client_address=client_address,
                    reason="emergency revoke",
                )
                notify(event="request.cancelled", access_request_id=locked.pk)
            cancelled.append(locked.pk)
    started = grants_revoke_all(
        admin=admin, requester=requester, account_id=account_id, client_address=client_address
    )
    return started, cancelled
