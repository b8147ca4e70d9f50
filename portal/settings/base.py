"""Every setting, with a safe development default. Production overrides in production.py."""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from core.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Django --------------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Development only; production.py reads it without a default.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-not-secret-3f9c2a7e1b")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    # TOTP second factor for local accounts that approve or administer (accounts/mfa.py).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "portal.security.PortalSecurityConfig",
    "accounts",
    "access_requests",
    "provisioning",
    "audit",
    "notifications",
    "api",
]

MIDDLEWARE = [
    # First: the request id (X-Request-ID) for every log line, task and audit event of the request,
    # and the request's time in the metrics.
    "portal.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(), then: a user who needs a second factor has given one.
    "django_otp.middleware.OTPMiddleware",
    "accounts.mfa.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: it answers for a sign-in that django-axes locked out (pages and the API token view).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.navigation",
                "sso.context_processors.sso",
            ],
        },
    },
]

# Persistent connections: a web process keeps its PostgreSQL connection for up to
# DJANGO_CONN_MAX_AGE seconds (0: a new one per request) and checks it is still alive before
# reusing it. DATABASE_URL's own ?conn_max_age=... wins. Celery workers follow the same rules
# around each task (portal.celery). On PostgreSQL the check is the portal's backend's
# (portal/db/postgresql): a look at the socket, and Django's `SELECT 1` only when the server has
# said something (it closed the connection) instead of a round trip before every request.
DATABASE_CONNECTION = {
    "CONN_MAX_AGE": env.int("DJANGO_CONN_MAX_AGE", default=60),
    "CONN_HEALTH_CHECKS": env.bool("DJANGO_CONN_HEALTH_CHECKS", default=True),
}
# Prepared statements on PostgreSQL: a query run more than this many times on one connection is
# planned once and kept (psycopg's prepare_threshold; it needs server-side parameter binding).
# The list's page query spends 1.5 ms in PostgreSQL's planner and 0.4 ms running. Empty turns
# them off: needed behind a pooler in transaction mode (PgBouncer without
# max_prepared_statements), which cannot keep a session's statements.
# https://www.psycopg.org/psycopg3/docs/advanced/prepare.html
# https://docs.djangoproject.com/en/5.2/ref/databases/#server-side-parameters-binding
DATABASE_PREPARE_THRESHOLD = env("DJANGO_DB_PREPARE_THRESHOLD", default="5")


def database_config(url_config: dict, *, persistent: bool = True) -> dict:
    """A DATABASES entry from env.db(...): the connection rules above (`persistent`), and on
    PostgreSQL the portal's backend (Django's, with the cheaper health check) and server-side
    binding with prepared statements unless turned off. The URL's own options win."""
    config = {**(DATABASE_CONNECTION if persistent else {}), **url_config}
    if config["ENGINE"] == "django.db.backends.postgresql":
        config["ENGINE"] = "portal.db.postgresql"
    if config["ENGINE"] == "portal.db.postgresql" and DATABASE_PREPARE_THRESHOLD:
        config["OPTIONS"] = {
            "server_side_binding": True,
            "prepare_threshold": int(DATABASE_PREPARE_THRESHOLD),
            **config.get("OPTIONS", {}),
        }
    return config


DATABASES = {
    "default": database_config(
        env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")
    ),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    # Django's other defaults: the throttle slows guessing, and a common password is guessed first.
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out username+address before a password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Sent by portal.security.SecurityHeadersMiddleware on every response: no inline script or style
# anywhere (the templates load portal.js and portal.css; /api/docs/ loads its script as a file).
PORTAL_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

# Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username from
# one address, that pair is refused for AXES_COOLOFF_TIME, on the sign-in page and on
# POST /api/v1/auth/token/ alike. The failures are kept in the database (admin: Axes).
AXES_FAILURE_LIMIT = env.int("PORTAL_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("PORTAL_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portal.security.lockout_response"
# The address is REMOTE_ADDR, never X-Forwarded-For (anyone can send that): see client_address.
AXES_CLIENT_IP_CALLABLE = "core.http.client_address"

EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = env("DJANGO_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("DJANGO_EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="access-portal@localhost")

# One line a record on standard error, each with the request id of the work it belongs to
# (core.request_ids): `plain` text, or `json` (one JSON object a line) for a log store.
PORTAL_LOG_FORMAT = env.str("PORTAL_LOG_FORMAT", default="plain")
if PORTAL_LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("PORTAL_LOG_FORMAT is plain or json.")
LOGGING = logging_config(
    log_format=PORTAL_LOG_FORMAT, level=env("PORTAL_LOG_LEVEL", default="INFO")
)
# The audit page links each event's request id to its log lines here: a URL of the log store
# with `{request_id}` where the id goes (e.g. a Grafana Explore or Kibana search). Empty: the page
# shows the id and links to the other events of the same id.
PORTAL_LOG_SEARCH_URL = env("PORTAL_LOG_SEARCH_URL", default="")

# --- Metrics (/metrics, Prometheus text format; docs/operations.md) -------------------------------
# The bearer token a Prometheus scraper presents. Empty: /metrics is off (every call 401).
PORTAL_METRICS_TOKEN = env("PORTAL_METRICS_TOKEN", default="")
# Where every process of this host writes its metrics (prometheus-client's multiprocess mode);
# emptied when the processes start. prometheus-client's own variable wins.
PORTAL_METRICS_DIR = env("PROMETHEUS_MULTIPROC_DIR", default=str(VAR_DIR / "metrics"))
# How long the database figures of a scrape (active grants, the oldest pending request) are
# kept in the cache, so scrapes from several Prometheus servers cost one look.
PORTAL_METRICS_CACHE_SECONDS = env.int("PORTAL_METRICS_CACHE_SECONDS", default=10)

# --- Celery --------------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# A SIGKILLed worker must not lose its task: acknowledge after the task ran, and hand the message
# back when the worker process dies (both are needed on Redis).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection around every task unless this is set; it
# then closes it only every this many tasks. portal.celery applies Django's own rules instead
# (CONN_MAX_AGE, CONN_HEALTH_CHECKS, a broken connection is dropped) before and after each task.
CELERY_DB_REUSE_MAX = 100_000
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = env("PORTAL_TASK_QUEUE", default="portal")
# Every retry countdown stays far below the visibility timeout, or Redis redelivers the task while
# it waits and it runs several times. socket_timeout keeps a frozen Redis from blocking .delay().
CELERY_VISIBILITY_TIMEOUT = env.int("PORTAL_BROKER_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "socket_timeout": 5,
    "socket_connect_timeout": 5,
    # How often a worker looks for messages of a dead worker whose visibility timeout ran out.
    "unacked_restore_interval": env.int("PORTAL_BROKER_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": 1,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Grants whose task was lost (broker down at enqueue, a Redis restarted without its AOF) are queued
# again after this long without moving: above the longest retry chain (about 6 minutes).
PORTAL_TASK_REQUEUE_AFTER = env.int("PORTAL_TASK_REQUEUE_AFTER_SECONDS", default=900)
# How long a lock on one AWS policy document (core.locks) outlives a SIGKILLed holder.
PORTAL_POLICY_LOCK_SECONDS = env.int("PORTAL_POLICY_LOCK_SECONDS", default=60)
# IAM is eventually consistent: how long an AccessDenied to AssumeRole on a role just created or
# re-trusted is asked again (with backoff) before it counts.
PORTAL_IAM_SETTLE_SECONDS = env.float("PORTAL_IAM_SETTLE_SECONDS", default=10.0)
CELERY_BEAT_SCHEDULE = {
    "expire-grants": {"task": "provisioning.tasks.grants_expire_task", "schedule": 30.0},
    "expiry-notices": {"task": "provisioning.tasks.grants_expiry_notice_task", "schedule": 60.0},
    "requeue-stalled-grants": {"task": "provisioning.tasks.grants_requeue_task", "schedule": 300.0},
    "scp-sync": {"task": "provisioning.tasks.scps_sync_task", "schedule": 3600.0},
    "organization-sync": {"task": "provisioning.tasks.organization_sync_task", "schedule": 3600.0},
    "inventory-sync": {"task": "accounts.tasks.inventories_sync_task", "schedule": 900.0},
    "change-counter-fold": {"task": "api.tasks.change_counter_fold_task", "schedule": 3600.0},
    "drift-checks": {
        "task": "provisioning.tasks.grants_drift_check_task",
        "schedule": env.float("PORTAL_DRIFT_CHECK_SECONDS", default=300.0),
    },
}
# The drift sweep's calls to one AWS account per second (provisioning.drift_sweep): it reads an
# account's roles a page of 1,000 at a time, well below IAM's throttling.
PORTAL_DRIFT_ACCOUNT_CALLS_PER_SECOND = env.float(
    "PORTAL_DRIFT_ACCOUNT_CALLS_PER_SECOND", default=5.0
)

# --- Cache: Redis, shared by every web replica (the API's rate limits count there) ----------------
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "portal",
    }
}

# --- REST API (/api/v1/) -------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first, so an anonymous call gets 401 with WWW-Authenticate; session auth enforces CSRF.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only, at most API_MAX_BODY_BYTES, nesting bounded: bad bodies get a 4xx, never a 500.
    "DEFAULT_PARSER_CLASSES": ["api.parsers.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PagePagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "auth_token": env("PORTAL_API_TOKEN_RATE", default="10/min"),
        "credentials": env("PORTAL_API_CREDENTIALS_RATE", default="30/min"),
    },
}
API_MAX_BODY_BYTES = env.int("PORTAL_API_MAX_BODY_BYTES", default=256 * 1024)
SPECTACULAR_SETTINGS = {
    "TITLE": "Cross-account access portal API",
    "DESCRIPTION": "Ask for, approve and use cross-account AWS access. Authenticate with "
    "`Authorization: Token <token>` (POST /api/v1/auth/token/) or a browser session with CSRF.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI's files come from the drf-spectacular-sidecar package: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "MechanismEnum": "access_requests.models.Mechanism",
        "RequestedMechanismEnum": "access_requests.models.AccessRequest.RequestedMechanism",
        "RequestStatusEnum": "access_requests.models.AccessRequest.Status",
    },
}

# --- AWS -----------------------------------------------------------------------------------------
# Unset means real AWS. `make run` points it at the embedded emulator.
AWS_ENDPOINT_URL = env("AWS_ENDPOINT_URL", default=None) or None
AWS_REGION = env("AWS_REGION", default="eu-central-1")
# The regions the resource inventory lists (comma-separated); AWS_REGION alone by default.
PORTAL_REGIONS = env.list("PORTAL_REGIONS", default=[AWS_REGION])
# A role in the organization's management account that may read AWS Organizations; unset, the
# SCPs are kept by hand in /admin/.
PORTAL_ORGANIZATIONS_ROLE_ARN = env("PORTAL_ORGANIZATIONS_ROLE_ARN", default="")
# The tooling account whose credentials the portal runs with (boto3's default chain).
PORTAL_TOOLING_ACCOUNT_ID = env("PORTAL_TOOLING_ACCOUNT_ID", default="123456789012")

# --- Portal --------------------------------------------------------------------------------------
PORTAL_ROLE_PATH = env("PORTAL_ROLE_PATH", default="/portal/")
# The demo world (users with known passwords) may be seeded only where this is true.
PORTAL_DEMO_ALLOWED = env.bool("PORTAL_DEMO_ALLOWED", default=True)
# Where people open the portal: the links in notification emails and webhook messages.
PORTAL_BASE_URL = env("PORTAL_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- Where people already work: Slack approvals, the AWS console (docs/slack.md)
# The Slack app's bot token (xoxb-…): approval messages with Approve and Reject buttons. Empty:
# nothing goes to Slack. The signing secret checks every click Slack sends to
# /integrations/slack/interactions/ (empty: that endpoint answers 404).
PORTAL_SLACK_BOT_TOKEN = env("PORTAL_SLACK_BOT_TOKEN", default="")
PORTAL_SLACK_SIGNING_SECRET = env("PORTAL_SLACK_SIGNING_SECRET", default="")
# Slack's Web API; a test points it at a local stand-in.
PORTAL_SLACK_API_URL = env("PORTAL_SLACK_API_URL", default="https://slack.com/api/")
# AWS's federation endpoint, which turns a session into a console sign-in token. Empty: the
# endpoint of the grant's partition (aws, aws-cn, aws-us-gov); a test points it at a stand-in.
PORTAL_FEDERATION_URL = env("PORTAL_FEDERATION_URL", default="")

# --- Single sign-on: OpenID Connect (docs/sso.md) -------------------------------------------------
# Unset issuer: no SSO (the sign-in page offers passwords only, nothing is fetched). Set: the
# endpoints and keys come from <issuer>/.well-known/openid-configuration; the redirect URI to
# register with the provider is <PORTAL_BASE_URL>/oidc/callback/.
PORTAL_OIDC_ISSUER = env("PORTAL_OIDC_ISSUER", default="")
PORTAL_OIDC_CLIENT_ID = env("PORTAL_OIDC_CLIENT_ID", default="")
PORTAL_OIDC_CLIENT_SECRET = env("PORTAL_OIDC_CLIENT_SECRET", default="")
# The claim listing a person's groups; those named like a portal group make them a member at
# every sign-in. Empty: groups are not taken from the provider (managed in /admin/).
PORTAL_OIDC_GROUPS_CLAIM = env("PORTAL_OIDC_GROUPS_CLAIM", default="groups")
# Members of any of these provider groups are platform admins; leaving them all ends it.
PORTAL_OIDC_ADMIN_GROUPS = env.list("PORTAL_OIDC_ADMIN_GROUPS", default=[])
INSTALLED_APPS += ["sso"]
AUTHENTICATION_BACKENDS += ["sso.backends.OidcBackend"]

# --- Identity: leavers and the second factor -----------------------------------------------------
# The bearer token an identity provider's SCIM client presents at /scim/v2/ to find users and
# deactivate leavers. Empty: SCIM is off (every call 401). Make it long: openssl rand -hex 32.
PORTAL_SCIM_TOKEN = env("PORTAL_SCIM_TOKEN", default="")
# Local password accounts that approve or administer must give a TOTP code after their password
# (pages) and with it (POST /api/v1/auth/token/). Off for `make run`; production.py turns it on.
PORTAL_REQUIRE_MFA = env.bool("PORTAL_REQUIRE_MFA", default=False)
# The name authenticator apps show beside the account.
OTP_TOTP_ISSUER = env("PORTAL_MFA_ISSUER", default="Access portal")
# django-otp's device admin shows no key of a device in use (nor its QR code): an admin who could
# read it could make that person's codes. Admins delete a lost device; the person enrols again.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
