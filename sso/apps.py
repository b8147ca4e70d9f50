from django.apps import AppConfig
from django.core import checks


class SsoConfig(AppConfig):
    name = "sso"
    verbose_name = "Single sign-on"

    def ready(self) -> None:
        from sso.checks import sso_settings_check

        checks.register(sso_settings_check, checks.Tags.security)
