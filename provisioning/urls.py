from django.urls import path

from provisioning import views

urlpatterns = [
    path("grants/<int:pk>/session/", views.grant_session, name="grant_session"),
    path("grants/<int:pk>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("grants/<int:pk>/retry/", views.grant_retry, name="grant_retry"),
]
