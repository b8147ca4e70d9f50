from django.urls import path

from sso import views

urlpatterns = [
    # The redirect URI registered with the identity provider is <PORTAL_BASE_URL>/oidc/callback/.
    path("oidc/authenticate/", views.SsoStartView.as_view(), name="oidc_authenticate"),
    path("oidc/callback/", views.SsoCallbackView.as_view(), name="oidc_callback"),
    path("account/tokens/", views.account_tokens, name="account_tokens"),
    path("account/tokens/revoke/", views.account_token_revoke, name="account_token_revoke"),
]
