"""The second-factor pages: enrol an authenticator app (QR code, then one code), and give a code
after signing in. Both send the user on to `next` (a path of this site only)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from accounts.mfa import (
    second_factor_needed,
    totp_device_confirmed,
    totp_enrolment_confirm,
    totp_enrolment_device,
    totp_qr_svg,
    totp_secret,
    totp_verify,
)
from core.http import AuthenticatedHttpRequest


def _next(request: AuthenticatedHttpRequest) -> str:
    """Where to go afterwards: `next` when it is a path of this site, else the start page."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


def _to(name: str, next_path: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': next_path})}"


@login_required
@require_http_methods(["GET", "POST"])
def mfa_setup(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Enrol: shown once per device. A user who already has one must give its code first (then
    may replace it), so a stolen password alone cannot swap in an attacker's app."""
    user = request.user
    if totp_device_confirmed(user) is not None and not user.is_verified():  # type: ignore[attr-defined]
        return redirect(_to("mfa_verify", request.get_full_path()))
    device = totp_enrolment_device(user)
    error = ""
    if request.method == "POST":
        token = request.POST.get("token", "")
        if totp_enrolment_confirm(request=request, user=user, device=device, token=token):
            messages.success(request, "Two-factor authentication is on for your account.")
            return redirect(_next(request))
        error = "That code is not right. Check the app shows the portal's entry, and try again."
    context = {
        "needed": second_factor_needed(user),
        "qr_svg": totp_qr_svg(device),
        "secret": totp_secret(device),
        "error": error,
        "next": _next(request),
    }
    return render(request, "registration/mfa_setup.html", context, status=400 if error else 200)


@login_required
@require_http_methods(["GET", "POST"])
def mfa_verify(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The code from the authenticator app, once per sign-in."""
    user = request.user
    if totp_device_confirmed(user) is None:
        return redirect(_to("mfa_setup", _next(request)))
    error = ""
    if request.method == "POST":
        device = totp_verify(user=user, token=request.POST.get("token", ""))
        if device is not None:
            otp_login(request, device)
            return redirect(_next(request))
        error = "That code is not right (or too many tries: wait a little and try again)."
    context = {"error": error, "next": _next(request)}
    return render(request, "registration/mfa_verify.html", context, status=400 if error else 200)
