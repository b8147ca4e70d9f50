from django.http import HttpRequest

from sso.discovery import sso_enabled


def sso(request: HttpRequest) -> dict:
    """Whether the sign-in page offers "Sign in with SSO" (an issuer is configured)."""
    return {"sso_enabled": sso_enabled()}
