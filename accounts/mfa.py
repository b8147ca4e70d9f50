"""A second factor (TOTP, django-otp) for local password accounts that approve or administer.

Who needs one: a user with a usable password who is a platform admin, staff, or a member of any
account's approver group. Single sign-on users have no usable password: their identity provider
asks for its own second factor. With PORTAL_REQUIRE_MFA on, such a user gives a code after the
password before any page or decision (SecondFactorMiddleware), and with the password when asking
for an API token. Enrolment is by the user, once: a QR code (and the secret, to type in), then one
code to confirm it. A lost device is deleted by an admin in /admin/ (TOTP devices); the user then
enrols again.
"""

from base64 import b32encode
from collections.abc import Callable
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import audit_record
from core.errors import ServiceError

DEVICE_NAME = "Authenticator app"


def second_factor_needed(user: User | AnonymousUser) -> bool:
    """A local password account that approves or administers (one query at most)."""
    if not user.is_authenticated or not user.has_usable_password():
        return False
    if user.is_superuser or user.is_staff:
        return True
    return user.groups.filter(approved_accounts__isnull=False).exists()


def second_factor_required(user: User | AnonymousUser) -> bool:
    """Needed, and PORTAL_REQUIRE_MFA is on."""
    return settings.PORTAL_REQUIRE_MFA and second_factor_needed(user)


def totp_device_confirmed(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def second_factor_enrolment_check(user: User) -> None:
    """ServiceError (403) for a user who needs a second factor and has never enrolled one. The web
    and the token endpoint ask for the code; this catches what they do not see: a token got with
    a password before the factor was needed, and Slack's clicks. Every decision, review and rule
    change asks it."""
    if second_factor_required(user) and totp_device_confirmed(user) is None:
        raise ServiceError(
            "Set up two-factor authentication in the portal first (/accounts/mfa/setup/).",
            kind=ServiceError.FORBIDDEN,
        )


def totp_enrolment_device(user: User) -> TOTPDevice:
    """The device being enrolled: the unconfirmed one already shown, so reloading the page keeps
    the secret the user may have scanned; a new one otherwise."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def totp_secret(device: TOTPDevice) -> str:
    """The key as authenticator apps take it typed in: base32, without padding."""
    return b32encode(device.bin_key).decode().rstrip("=")


def totp_qr_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// URI as an inline SVG QR code (no image file, no script)."""
    image = qrcode.make(
        device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2
    )
    return str(image.to_string(encoding="unicode"))


@transaction.atomic
def totp_enrolment_confirm(
    *, request: HttpRequest, user: User, device: TOTPDevice, token: str
) -> bool:
    """The first code from the app proves the enrolment: the device is confirmed (any other
    device of the user's removed) and this session counts as verified. False for a wrong code."""
    if not device.verify_token(token.strip()):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    otp_login(request, device)
    audit_record(
        actor=user,
        verb="mfa.enrolled",
        obj=user,
        after={"device": device.name},
        client_address=request.META.get("REMOTE_ADDR") or None,
    )
    return True


def totp_verify(*, user: User, token: str) -> TOTPDevice | None:
    """The user's confirmed device if `token` is its current code (django-otp throttles repeated
    failures); None otherwise."""
    device = totp_device_confirmed(user)
    if device is None or not token or not device.verify_token(token.strip()):
        return None
    return device


def second_factor_url(user: User, next_path: str) -> str:
    """Where an unverified user goes: the code page, or enrolment if they have no device."""
    name = "mfa_verify" if totp_device_confirmed(user) is not None else "mfa_setup"
    return f"{reverse(name)}?{urlencode({'next': next_path})}"


# Reached before the second factor: the pages that ask for it, signing out, static files.
EXEMPT_PREFIXES = ("/accounts/mfa/", "/accounts/logout/", "/accounts/login/", "/static/")
EXEMPT_PATHS = ("/healthz",)


class SecondFactorMiddleware:
    """With PORTAL_REQUIRE_MFA on, a signed-in user who needs a second factor and has not given
    one this session reaches nothing but the code pages: pages redirect there, the API (session
    calls) answers 403. API token calls are not signed in here; the token was only issued with a
    code (api/views/auth.py). Goes after django-otp's OTPMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        path = request.path_info
        if (
            settings.PORTAL_REQUIRE_MFA
            and user.is_authenticated
            and not user.is_verified()  # type: ignore[attr-defined]  # OTPMiddleware's
            and not path.startswith(EXEMPT_PREFIXES)
            and path not in EXEMPT_PATHS
            and second_factor_needed(user)
        ):
            if path.startswith("/api/"):
                return JsonResponse(
                    {"detail": "Give your second factor first: sign in again on the web page."},
                    status=403,
                )
            return redirect(second_factor_url(user, request.get_full_path()))
        return self.get_response(request)
