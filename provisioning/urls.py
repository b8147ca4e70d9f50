from django.urls import path

from provisioning import views

urlpatterns = [
    path("grants/<int:pk>/session/", views.grant_session, name="grant_session"),
    path("grants/<int:pk>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("grants/<int:pk>/retry/", views.grant_retry, name="grant_retry"),
    path("grants/<int:pk>/extend/", views.grant_extend, name="grant_extend"),
    path("grants/<int:pk>/reapply/", views.grant_reapply, name="grant_reapply"),
    path("grants/emergency-revoke/", views.grants_emergency_revoke, name="grants_emergency_revoke"),
    path("why-denied/", views.why_denied, name="why_denied"),
]
