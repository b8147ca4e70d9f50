"""Small helpers shared by the HTML views."""

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest

from core.errors import ServiceError


class AuthenticatedHttpRequest(HttpRequest):
    """The request of a view behind login_required, whose user is signed in (django-stubs'
    pattern: an annotation only, nothing checks it at run time)."""

    user: User


def client_address(request: HttpRequest) -> str | None:
    """The peer address. Behind a proxy, configure it to set REMOTE_ADDR (e.g. gunicorn's
    --forwarded-allow-ips); X-Forwarded-For is not trusted here because anyone can send it."""
    return request.META.get("REMOTE_ADDR") or None


def flash_error(request: HttpRequest, error: ServiceError) -> None:
    messages.error(request, error.message)
    for field_messages in error.field_errors.values():
        for message in field_messages:
            messages.error(request, message)
