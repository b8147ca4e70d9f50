"""Leavers: deactivating a user ends everything they can still do, at once.

One service for the three ways in (the user admin, `POST /api/v1/users/{username}/deactivate/`,
and an identity provider's SCIM `PATCH /scim/v2/Users/{id}`). It lives here, at the top, because
it reaches the API's tokens and the requests app below it.
"""

from dataclasses import asdict, dataclass

from django.contrib.auth.models import User
from django.db import transaction

from access_requests.services import user_access_end
from accounts.sessions import user_sessions_end
from api.services import api_tokens_delete
from audit.services import audit_record
from core.errors import ServiceError


@dataclass(frozen=True)
class Deactivation:
    """What a deactivation did, as the API answers and the audit trail records it."""

    username: str
    was_active: bool
    tokens_deleted: int
    sessions_ended: int
    requests_cancelled: list[int]
    grants_revoked: list[int]


def user_deactivate(
    *, user: User, actor: User | None, via: str, client_address: str | None = None
) -> Deactivation:
    """Deactivate `user` and cut them off, in this order: inactive (nothing new signs in); API
    tokens deleted and web sessions ended (nothing signed in stays, even if the user is
    reactivated later); pending requests cancelled, then every grant that may have written or
    may still write revoked through the normal revocation tasks (cancelling first, so a request
    approved meanwhile is a grant the revoke finds). Idempotent: a second call finds nothing left
    to do and says so. `actor` is a platform admin, or None for the SCIM client (`via` says which
    way it came: "admin", "api", "scim")."""
    if actor is not None and not actor.is_superuser:
        raise ServiceError("Only platform admins deactivate users.", kind=ServiceError.FORBIDDEN)
    if actor is not None and actor.pk == user.pk:
        raise ServiceError("You cannot deactivate yourself.", kind=ServiceError.FORBIDDEN)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        was_active = locked.is_active
        if was_active:
            locked.is_active = False
            locked.save(update_fields=["is_active"])
        tokens = api_tokens_delete(user=locked)
        sessions = user_sessions_end(user=locked)
    user.is_active = False
    grants, requests = user_access_end(user=locked, actor=actor, client_address=client_address)
    done = Deactivation(
        username=locked.get_username(),
        was_active=was_active,
        tokens_deleted=tokens,
        sessions_ended=sessions,
        requests_cancelled=requests,
        grants_revoked=grants,
    )
    with transaction.atomic():
        audit_record(
            actor=actor,
            verb="user.deactivated",
            obj=locked,
            before={"is_active": was_active},
            after={"is_active": False, "via": via, **asdict(done)},
            client_address=client_address,
        )
    return done


def user_reactivate(*, user: User, actor: User | None, via: str, client_address=None) -> bool:
    """Let a deactivated user sign in again (an identity provider re-enabling them). Nothing of
    what the deactivation ended comes back: no token, session, request or grant. Whether the user
    was inactive."""
    if actor is not None and not actor.is_superuser:
        raise ServiceError("Only platform admins reactivate users.", kind=ServiceError.FORBIDDEN)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.is_active:
            return False
        locked.is_active = True
        locked.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            verb="user.reactivated",
            obj=locked,
            before={"is_active": False},
            after={"is_active": True, "via": via},
            client_address=client_address,
        )
    user.is_active = True
    return True
