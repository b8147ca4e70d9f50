"""/scim/v2/: included by portal/urls.py (SCIM clients expect the path at the base URL)."""

from django.urls import path

from api.scim.views import ScimUserListView, ScimUserView

urlpatterns = [
    path("Users", ScimUserListView.as_view(), name="scim_users"),
    path("Users/<str:pk>", ScimUserView.as_view(), name="scim_user"),
]
