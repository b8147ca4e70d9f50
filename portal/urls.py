from django.contrib import admin
from django.urls import include, path

from portal import dashboard, health

urlpatterns = [
    path("", include("access_requests.urls")),
    path("", include("provisioning.urls")),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("audit/", include("audit.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
]
