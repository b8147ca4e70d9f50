"""A system check (run by every manage.py command and at start): an issuer without its client is a
sign-in button that can only fail."""

from django.conf import settings
from django.core import checks

from core.errors import ServiceError
from sso.discovery import issuer_url_check, sso_enabled


def sso_settings_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if not sso_enabled():
        return []
    problems: list[checks.CheckMessage] = []
    try:
        issuer_url_check(settings.PORTAL_OIDC_ISSUER)
    except ServiceError as error:
        problems.append(checks.Error(error.message, id="sso.E001"))
    missing = [
        name
        for name in ("PORTAL_OIDC_CLIENT_ID", "PORTAL_OIDC_CLIENT_SECRET")
        if not getattr(settings, name)
    ]
    if missing:
        problems.append(
            checks.Error(
                f"PORTAL_OIDC_ISSUER is set but {' and '.join(missing)} is not.",
                hint="Register the portal with the identity provider (docs/sso.md).",
                id="sso.E002",
            )
        )
    return problems
