"""API tokens: issue, revoke, and the admin's list. One token per user (DRF's authtoken); its key is
shown once, when it is issued, and only a prefix afterwards."""

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from rest_framework.authtoken.models import Token

from audit.services import audit_record
from core.errors import ServiceError

KEY_PREFIX_LENGTH = 6


@transaction.atomic
def api_token_issue(*, user: User, client_address: str | None = None) -> Token:
    """The user's token, created on first use. Logging in again returns the same token until it
    is revoked, so a second machine's login does not break the first."""
    token, created = Token.objects.get_or_create(user=user)
    if created:
        audit_record(
            actor=user,
            verb="api_token.created",
            obj=user,
            after={"prefix": token.key[:KEY_PREFIX_LENGTH]},
            client_address=client_address,
        )
    return token


@transaction.atomic
def api_token_revoke(
    *,
    actor: User,
    owner: User,
    client_address: str | None = None,
) -> None:
    """Revoke `owner`'s token: their own, or anyone's for a platform admin."""
    if actor.pk != owner.pk and not actor.is_superuser:
        raise ServiceError(
            "Only platform admins revoke others' tokens.", kind=ServiceError.FORBIDDEN
        )
    if not _token_delete(owner, actor=actor, client_address=client_address):
        raise ServiceError(f"{owner.get_username()} has no API token.", kind=ServiceError.NOT_FOUND)


def _token_delete(
    owner: User, *, actor: User | None, client_address: str | None = None, **after: str
) -> bool:
    """Delete `owner`'s token, audited (`after` says why when the portal did it); False when they
    have none. In the caller's transaction."""
    token = Token.objects.select_for_update().filter(user=owner).first()
    if token is None:
        return False
    prefix = token.key[:KEY_PREFIX_LENGTH]
    token.delete()
    audit_record(
        actor=actor,
        verb="api_token.revoked",
        obj=owner,
        before={"prefix": prefix},
        after=after or None,
        client_address=client_address,
    )
    return True


@transaction.atomic
def api_token_end_for_new_password(*, user: User) -> None:
    """A new password ends the API token got with the old one, as Django ends the user's other
    web sessions: whoever changes a password they fear was taken cuts off what it let in."""
    _token_delete(user, actor=None, reason="password changed")


def password_saved(sender, instance: User, created: bool, **kwargs) -> None:
    """post_save of the user model. User.set_password keeps the new password in `_password` until
    the save after it; a hash renewed at sign-in (check_password's setter) clears it before
    saving, and is no password change (django/contrib/auth/base_user.py)."""
    if not created and getattr(instance, "_password", None) is not None:
        api_token_end_for_new_password(user=instance)


def api_tokens_visible_to(*, user: User) -> QuerySet[Token]:
    tokens = Token.objects.select_related("user").order_by("-created")
    return tokens if user.is_superuser else tokens.filter(user=user)


@transaction.atomic
def api_token_create(*, user: User, client_address: str | None = None) -> Token:
    """A new token for a user who has none, made on the API tokens page (SSO users have no
    password for POST /auth/token/). Its key is shown on that page once, so a second one while
    the first lives is refused rather than showing the first key again."""
    if Token.objects.select_for_update().filter(user=user).exists():
        raise ServiceError(
            "You already have an API token. Revoke it first to make a new one.",
            kind=ServiceError.CONFLICT,
        )
    return api_token_issue(user=user, client_address=client_address)


def api_tokens_delete(*, user: User) -> int:
    """Every API token of `user` deleted (a leaver's); how many. The caller records it."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted
