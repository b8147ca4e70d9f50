import pytest

from tests.sso.provider import ACCOUNTS, OidcProvider

# Django's test client is http://testserver; this provider sends people back there.
PORTAL = "http://testserver"
ADMIN_GROUPS = ["portal-admins"]


@pytest.fixture(scope="session")
def oidc_provider():
    """One real OpenID provider for the session, the portal registered with it."""
    provider = OidcProvider(redirect_uris=[f"{PORTAL}/oidc/callback/"])
    yield provider
    provider.stop()


@pytest.fixture
def sso(oidc_provider, settings):
    """The portal configured for SSO against the provider, its people as ACCOUNTS says."""
    oidc_provider.accounts_set(ACCOUNTS)
    oidc_provider.settings_apply(settings, base_url=PORTAL, admin_groups=ADMIN_GROUPS)
    return oidc_provider
