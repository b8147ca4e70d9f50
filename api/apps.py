from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API for automation (/api/v1/): thin views over the same services as the pages."""

    name = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save

        from api.services import password_saved

        # A password change (the web form, a reset, the admin, changepassword) ends the token.
        post_save.connect(password_saved, sender=get_user_model(), dispatch_uid="api_password")
