"""Response headers every page gets, and the API docs page in a form that needs no inline script.

Django's SecurityMiddleware and XFrameOptionsMiddleware already send nosniff, the referrer policy,
Cross-Origin-Opener-Policy and X-Frame-Options (settings in base.py); this adds the
Content-Security-Policy: scripts and styles only from the portal's own static files, so markup that
slipped into a page could not run a script even if it were not escaped.
"""

import logging
from collections.abc import Callable

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from drf_spectacular.views import SpectacularSwaggerSplitView

logger = logging.getLogger(__name__)


def demo_users_present() -> list[str]:
    """Users who still sign in with a demo password published in the README (seed_demo's)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import check_password

    from accounts.management.commands.seed_demo import DEMO_USERS

    users = get_user_model().objects.filter(username__in=DEMO_USERS, is_active=True)
    return sorted(
        user.username
        for user in users
        if check_password(DEMO_USERS[user.username][0], user.password)
    )


def demo_users_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """`check --deploy`: where the demo is refused (production), no demo user may exist."""
    if settings.PORTAL_DEMO_ALLOWED:
        return []
    try:
        present = demo_users_present()
    except DatabaseError as error:
        return [checks.Warning(f"Could not look for demo users: {error}", id="portal.W001")]
    if not present:
        return []
    return [
        checks.Error(
            f"Demo users with their published passwords exist: {', '.join(present)}.",
            hint="Delete them, or set new passwords (manage.py changepassword).",
            id="portal.E001",
        )
    ]


class PortalSecurityConfig(AppConfig):
    """Registers the portal's own deploy checks (INSTALLED_APPS names this class)."""

    name = "portal"
    label = "portal_security"
    verbose_name = "Portal security checks"

    def ready(self) -> None:
        checks.register(demo_users_check, checks.Tags.security, deploy=True)


class SecurityHeadersMiddleware:
    """Also the production boot guard: Django builds the middleware when the WSGI application
    loads (gunicorn's start), and a portal where the demo is refused does not start while the demo
    users exist."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        if not settings.PORTAL_DEMO_ALLOWED:
            try:
                present = demo_users_present()
            except DatabaseError as error:  # the database is down: the health check says so
                logger.warning("could not look for demo users at start: %s", error)
                present = []
            if present:
                raise ImproperlyConfigured(
                    f"Refusing to start: demo users with published passwords exist "
                    f"({', '.join(present)}). Delete them or change their passwords."
                )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault(
            "Content-Security-Policy", settings.PORTAL_CONTENT_SECURITY_POLICY
        )
        return response


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI with its start script served as a file (`?script`) instead of inline, and a page
    template without drf-spectacular's inline <style>: the docs work under the strict CSP."""

    template_name = "api_docs.html"


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """django-axes' answer to a locked-out sign-in: 429 with a message a person can act on, as
    JSON for the API (like every API error) and as a page for the sign-in form."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = (
        f"Too many failed sign-ins for this username from your address. Try again in {minutes} "
        "minutes, or ask an administrator to unlock it."
    )
    headers = {"Retry-After": str(minutes * 60), "Cache-Control": "no-store"}
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=429, headers=headers)
    response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    for name, value in headers.items():
        response[name] = value
    return response
