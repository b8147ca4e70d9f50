from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API for automation (/api/v1/): thin views over the same services as the pages."""

    name = "api"
    verbose_name = "REST API"
