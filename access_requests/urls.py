from django.urls import path
from django.views.generic import RedirectView

from access_requests import grant_views, views, wizard

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="dashboard"), name="home"),
    path("requests/", views.request_list, name="request_list"),
    path("inbox/", views.inbox, name="inbox"),
    path("requests/new/", views.request_new, name="request_new"),
    path("requests/preview/", views.request_preview, name="request_preview"),
    path("requests/wizard/resources/", wizard.wizard_resources, name="wizard_resources"),
    path("requests/wizard/actions/", wizard.wizard_actions, name="wizard_actions"),
    path(
        "requests/wizard/inventory/refresh/",
        wizard.wizard_inventory_refresh,
        name="wizard_inventory_refresh",
    ),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/status/", views.request_status, name="request_status"),
    path(
        "requests/<int:pk>/approve/",
        views.request_decide,
        {"decision": "approve"},
        name="request_approve",
    ),
    path(
        "requests/<int:pk>/reject/",
        views.request_decide,
        {"decision": "reject"},
        name="request_reject",
    ),
    path("requests/<int:pk>/review/", views.request_review, name="request_review"),
    path("requests/<int:pk>/cancel/", views.request_cancel, name="request_cancel"),
    path("requests/<int:pk>/edit/", views.request_edit, name="request_edit"),
    path("grants/<int:pk>/session/", grant_views.grant_session, name="grant_session"),
    path("grants/<int:pk>/console/", grant_views.grant_console, name="grant_console"),
    path("grants/<int:pk>/revoke/", grant_views.grant_revoke, name="grant_revoke"),
    path("grants/<int:pk>/retry/", grant_views.grant_retry, name="grant_retry"),
    path("grants/<int:pk>/extend/", grant_views.grant_extend, name="grant_extend"),
    path("grants/<int:pk>/reapply/", grant_views.grant_reapply, name="grant_reapply"),
    path(
        "grants/emergency-revoke/",
        grant_views.grants_emergency_revoke,
        name="grants_emergency_revoke",
    ),
    path("why-denied/", grant_views.why_denied, name="why_denied"),
]
