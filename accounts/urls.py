"""/accounts/mfa/: the second-factor pages (accounts/mfa_views.py)."""

from django.urls import path

from accounts import mfa_views

urlpatterns = [
    path("setup/", mfa_views.mfa_setup, name="mfa_setup"),
    path("verify/", mfa_views.mfa_verify, name="mfa_verify"),
]
