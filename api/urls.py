"""/api/v1/: the REST API for automation (portal-cli, CI jobs, scripts)."""

from django.urls import path

from api.views import accounts, audit, auth, grants, onboarding, policies, requests, rules, users

urlpatterns = [
    path("v1/auth/token/", auth.TokenView.as_view(), name="api_token"),
    path("v1/auth/tokens/", auth.TokenListView.as_view(), name="api_tokens"),
    path("v1/auth/tokens/<int:pk>/", auth.TokenRevokeView.as_view(), name="api_token_revoke"),
    path("v1/accounts/", accounts.AccountListView.as_view(), name="api_accounts"),
    path("v1/accounts/sync/", accounts.AccountSyncView.as_view(), name="api_accounts_sync"),
    path("v1/requests/", requests.RequestListView.as_view(), name="api_requests"),
    path("v1/requests/<int:pk>/", requests.RequestDetailView.as_view(), name="api_request"),
    path(
        "v1/requests/<int:pk>/approve/",
        requests.RequestApproveView.as_view(),
        name="api_request_approve",
    ),
    path(
        "v1/requests/<int:pk>/reject/",
        requests.RequestRejectView.as_view(),
        name="api_request_reject",
    ),
    path(
        "v1/requests/<int:pk>/cancel/",
        requests.RequestCancelView.as_view(),
        name="api_request_cancel",
    ),
    path(
        "v1/requests/<int:pk>/review/",
        requests.RequestReviewView.as_view(),
        name="api_request_review",
    ),
    path("v1/access-rules/", rules.AccessRulesView.as_view(), name="api_access_rules"),
    path("v1/grants/", grants.GrantListView.as_view(), name="api_grants"),
    path("v1/grants/<int:pk>/", grants.GrantDetailView.as_view(), name="api_grant"),
    path(
        "v1/grants/<int:pk>/credentials/",
        grants.GrantCredentialsView.as_view(),
        name="api_grant_credentials",
    ),
    path(
        "v1/grants/<int:pk>/console/", grants.GrantConsoleView.as_view(), name="api_grant_console"
    ),
    path("v1/grants/<int:pk>/revoke/", grants.GrantRevokeView.as_view(), name="api_grant_revoke"),
    path("v1/grants/<int:pk>/extend/", grants.GrantExtendView.as_view(), name="api_grant_extend"),
    path("v1/policies/validate/", policies.PolicyValidateView.as_view(), name="api_validate"),
    path("v1/policies/simulate/", policies.PolicySimulateView.as_view(), name="api_simulate"),
    path("v1/audit/", audit.AuditListView.as_view(), name="api_audit"),
    path(
        "v1/onboarding/member-template/",
        onboarding.MemberTemplateView.as_view(),
        name="api_member_template",
    ),
    path(
        "v1/users/<str:username>/deactivate/",
        users.UserDeactivateView.as_view(),
        name="api_user_deactivate",
    ),
]
