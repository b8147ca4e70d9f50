"""Production: secrets without defaults, so a missing one stops the boot; `check --deploy` clean."""

from .base import *  # noqa: F403
from .base import database_config, env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": database_config(env.db("DATABASE_URL"))}
REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL
PORTAL_DEMO_ALLOWED = False

SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Links in notifications must point at the real address.
PORTAL_BASE_URL = env("PORTAL_BASE_URL").rstrip("/")
# Approvers and admins with a local password give a second factor, unless turned off on purpose.
PORTAL_REQUIRE_MFA = env.bool("PORTAL_REQUIRE_MFA", default=True)
