"""The grant and its request as one unit: locked together, and the one place where a request's
status moves once it is approved (with its audit event, in the same transaction)."""

from django.contrib.auth.models import User

from audit.services import audit_record
from provisioning.models import ApprovedRequest, Grant, Lifecycle

# A revoke or an expiry started (and perhaps finished): what a writer still running writes after
# it must be removed again (services.grant_revoke's `again`).
REVOKED_OR_REVOKING = (Lifecycle.REVOKING, Lifecycle.REVOKED, Lifecycle.EXPIRED)


def grant_lock(grant_id: int) -> tuple[Grant, ApprovedRequest]:
    """The grant and its request, both rows locked, in one statement (`FOR UPDATE OF` the two:
    the accounts and the requester come along unlocked). Grant.DoesNotExist if it is gone."""
    grant = (
        Grant.objects.select_for_update(of=("self", "access_request"))
        .select_related(
            "access_request__source_account",
            "access_request__target_account",
            "access_request__requester",
        )
        .get(pk=grant_id)
    )
    return grant, grant.access_request


def grant_read(grant_id: int) -> tuple[Grant, ApprovedRequest]:
    """The grant and its request with both accounts and the requester (whose name the role's tags
    carry), unlocked: to write or remove from, outside any transaction. Grant.DoesNotExist if it
    is gone."""
    grant = Grant.objects.select_related(
        "access_request__source_account",
        "access_request__target_account",
        "access_request__requester",
    ).get(pk=grant_id)
    return grant, grant.access_request


def request_move(
    access_request: ApprovedRequest,
    to: str,
    *,
    actor: User | None,
    verb: str,
    client_address: str | None = None,
    **after: object,
) -> None:
    before = access_request.status
    access_request.status = to
    access_request.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        verb=verb,
        obj=access_request,
        access_request_id=access_request.pk,
        before={"status": before},
        after={"status": to, **after},
        client_address=client_address,
    )
