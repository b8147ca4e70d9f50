from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from access_requests import dashboard
from accounts.password_reset import LimitedPasswordResetView
from api import slack
from portal.observability import metrics_view
from portal.security import ApiDocsView
from provisioning import health

urlpatterns = [
    # First: the API is what automation calls often, and Django tries the patterns in order.
    path("api/", include("api.urls")),
    path("", include("access_requests.urls")),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("audit/", include("audit.urls")),
    path("accounts/mfa/", include("accounts.urls")),
    # Before Django's own: the reset page, held to a few e-mails an hour
    # (accounts/password_reset.py).
    path("accounts/password_reset/", LimitedPasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("sso.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api_schema"), name="api_docs"),
    path("healthz", health.healthz, name="healthz"),
    # Prometheus: bearer token PORTAL_METRICS_TOKEN, no session.
    path("metrics", metrics_view, name="metrics"),
    # Identity providers' deprovisioning (SCIM 2.0): bearer token, no session.
    path("scim/v2/", include("api.scim.urls")),
    # Slack's interactivity request URL: Approve, Reject and the reason modal (signed by Slack).
    path("integrations/slack/interactions/", slack.interactions, name="slack_interactions"),
]
