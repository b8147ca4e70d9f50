"""What an SSO sign-in changes, in one transaction: the user (made at the first sign-in), their
portal groups and their platform-admin flag, from the identity provider's verified claims; every
change audited.

The provider is the source of truth for its people: a claimed group whose name equals a portal
group (approver groups, requester groups: any Django group) makes the user a member, a portal
group no longer claimed is left, and names the portal does not know are ignored. With
PORTAL_OIDC_ADMIN_GROUPS set, being in one of them makes a platform admin and leaving them all
unmakes one. Local password accounts (break-glass admins, the demo) never change here.
"""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from core.errors import ServiceError
from sso.models import SsoIdentity

USERNAME_MAX = 150


def claimed_username(claims: Mapping[str, Any]) -> str:
    """`preferred_username`, else the e-mail address (SPEC 10.3), if Django can keep it. An
    e-mail address becomes a name only when the provider says it verified it (`email_verified`):
    an address anyone can type into their provider profile would let them sign in under a
    colleague's name, or be linked to the account an admin made ahead for that colleague (OpenID
    Connect Core 1.0, section 5.7: the address alone identifies no one)."""
    username = claims.get("preferred_username")
    if not username and claims.get("email"):
        if claims.get("email_verified") not in (True, "true"):
            raise ServiceError(
                "The identity provider sent no preferred_username and has not verified the "
                "e-mail address; the portal cannot tell who you are. Ask a platform admin.",
                kind=ServiceError.FORBIDDEN,
            )
        username = claims.get("email")
    valid = isinstance(username, str) and 0 < len(username) <= USERNAME_MAX
    try:
        if valid:
            UnicodeUsernameValidator()(username)
    except ValidationError:
        valid = False
    if not valid:
        raise ServiceError(
            "The identity provider sent no usable username (preferred_username or email: at most "
            "150 letters, digits and @ . + - _).",
            kind=ServiceError.FORBIDDEN,
        )
    return str(username)


def claimed_groups(claims: Mapping[str, Any]) -> list[str] | None:
    """The groups the provider says the person is in; None when the portal takes no groups from
    it (PORTAL_OIDC_GROUPS_CLAIM empty: groups are managed in /admin/). A missing claim means no
    groups: Okta, for one, leaves the claim out when none of the person's groups matches."""
    name = settings.PORTAL_OIDC_GROUPS_CLAIM
    if not name:
        return None
    if name in (claims.get("_claim_names") or {}):
        # Entra ID's "groups overage": over 200 groups, the claim is a reference to Graph.
        raise ServiceError(
            f"The identity provider sent the {name} claim by reference (too many groups). "
            "Have it send only the groups assigned to the portal (docs/sso.md).",
            kind=ServiceError.FORBIDDEN,
        )
    value = claims.get(name, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ServiceError(
            f"The identity provider's {name} claim is not a list of group names.",
            kind=ServiceError.FORBIDDEN,
        )
    return value


@transaction.atomic
def sso_sign_in(
    *, issuer: str, claims: Mapping[str, Any], client_address: str | None = None
) -> User:
    """The portal user for verified ID token (and userinfo) claims, with groups and admin flag
    set from them. Refused (ServiceError) for a deactivated user, a name taken by a local
    account, or claims the portal cannot use."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise ServiceError("The identity provider sent no subject.", kind=ServiceError.FORBIDDEN)
    identity = (
        SsoIdentity.objects.select_for_update()
        .select_related("user")
        .filter(issuer=issuer, subject=subject)
        .first()
    )
    if identity is None:
        user = sso_user_link(
            issuer=issuer, subject=subject, claims=claims, client_address=client_address
        )
        identity = SsoIdentity.objects.create(user=user, issuer=issuer, subject=subject)
    user = identity.user
    if not user.is_active:
        raise ServiceError(
            "Your portal account is deactivated. Ask a platform admin.",
            kind=ServiceError.FORBIDDEN,
        )
    sso_user_access_sync(user=user, claims=claims, client_address=client_address)
    identity.last_sign_in_at = timezone.now()
    identity.save(update_fields=["last_sign_in_at"])
    return user


def sso_user_link(
    *, issuer: str, subject: str, claims: Mapping[str, Any], client_address: str | None
) -> User:
    """The user a first SSO sign-in becomes: a new one, or an existing one without a password
    and without an identity (made by an admin or by provisioning for this person). A local
    account with a password is never taken over: a provider that names someone `admin` does not
    get the break-glass admin's account."""
    username = claimed_username(claims)
    existing = User.objects.select_for_update().filter(username=username).first()
    if existing is None:
        user = User(
            username=username,
            email=_claim(claims, "email", 254),
            first_name=_claim(claims, "given_name", 150),
            last_name=_claim(claims, "family_name", 150),
        )
        user.set_unusable_password()
        user.save()
        audit_record(
            actor=user,
            verb="user.created",
            obj=user,
            after={"username": username, "email": user.email, "via": "sso", "issuer": issuer},
            client_address=client_address,
        )
        return user
    if existing.has_usable_password() or SsoIdentity.objects.filter(user=existing).exists():
        raise ServiceError(
            f"A portal account named {username} already exists and is not linked to your "
            "identity provider's account. Ask a platform admin.",
            kind=ServiceError.FORBIDDEN,
        )
    audit_record(
        actor=existing,
        verb="user.sso_linked",
        obj=existing,
        after={"issuer": issuer, "subject": subject},
        client_address=client_address,
    )
    return existing


def sso_user_access_sync(
    *, user: User, claims: Mapping[str, Any], client_address: str | None = None
) -> None:
    """Portal groups and the platform-admin flag as the claims say; one audit event
    `user.groups_synced` with before and after when anything changed."""
    claimed = claimed_groups(claims)
    if claimed is None:
        return
    before = access_snapshot(user)
    user.groups.set(Group.objects.filter(name__in=[name for name in claimed if _storable(name)]))
    admin_groups = set(settings.PORTAL_OIDC_ADMIN_GROUPS)
    if admin_groups:
        admin = bool(admin_groups.intersection(claimed))
        if (user.is_superuser, user.is_staff) != (admin, admin):
            user.is_superuser = user.is_staff = admin
            user.save(update_fields=["is_superuser", "is_staff"])
    after = access_snapshot(user)
    if after != before:
        audit_record(
            actor=user,
            verb="user.groups_synced",
            obj=user,
            before=before,
            after=after,
            client_address=client_address,
        )


def access_snapshot(user: User) -> dict[str, Any]:
    """What the claims decide of a user: their portal groups and whether they are an admin."""
    return {
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "platform_admin": user.is_superuser,
    }


def _storable(value: str) -> bool:
    """PostgreSQL's text holds no NUL, and UTF-8 no lone surrogate (JSON carries both)."""
    return "\x00" not in value and not any("\ud800" <= char <= "\udfff" for char in value)


def _claim(claims: Mapping[str, Any], name: str, limit: int) -> str:
    """A profile claim to keep (people edit their own names at many providers), or ""."""
    value = claims.get(name)
    return value[:limit] if isinstance(value, str) and _storable(value) else ""
