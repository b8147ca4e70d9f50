"""Signing in through a real OpenID provider (oidc-provider): the user made at the first sign-in,
the sign-in page, and what is refused."""

from django.contrib.auth import get_user_model

from audit.models import AuditEvent
from sso.discovery import provider_config_forget
from sso.models import SsoIdentity
from tests.sso.provider import sso_sign_in
from tests.support import free_port


def test_first_sign_in_creates_the_user(sso, demo, client):
    response = sso_sign_in(client, sso, "erin")

    assert response.status_code == 302 and response["Location"] == "/"
    erin = get_user_model().objects.get(username="erin")
    assert (erin.email, erin.first_name, erin.has_usable_password()) == (
        "erin@example.com",
        "Erin",
        False,
    )
    identity = SsoIdentity.objects.get(user=erin)
    assert (identity.issuer, identity.subject) == (sso.issuer, "erin")
    assert client.get("/dashboard/").context["user"] == erin
    created = AuditEvent.objects.get(verb="user.created", object_id=str(erin.pk))
    assert created.after == {
        "username": "erin",
        "email": "erin@example.com",
        "via": "sso",
        "issuer": sso.issuer,
    }


def test_the_sign_in_page_offers_sso_only_when_an_issuer_is_set(client, settings, sso):
    page = client.get("/accounts/login/?next=/requests/")
    assert b"Sign in with SSO" in page.content
    assert b'href="/oidc/authenticate/?next=/requests/"' in page.content
    assert b'name="password"' in page.content  # local sign-in stays (break-glass, the demo)

    settings.PORTAL_OIDC_ISSUER = ""
    page = client.get("/accounts/login/")
    assert b"Sign in with SSO" not in page.content and b'name="password"' in page.content
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/", {"code": "c", "state": "s"}).status_code == 404


def test_sign_in_returns_to_the_page_asked_for(sso, demo, client):
    response = sso_sign_in(client, sso, "erin", start="/oidc/authenticate/?next=/requests/")

    assert response["Location"] == "/requests/"


def test_a_local_account_is_never_taken_over(sso, demo, client):
    """The provider has an `admin` too: the portal's break-glass admin (a password account)
    stays out of its reach, and keeps its rights."""
    response = sso_sign_in(client, sso, "admin")

    assert response["Location"] == "/accounts/login/"
    page = client.get(response["Location"])
    assert b"A portal account named admin already exists" in page.content
    assert client.get("/dashboard/").status_code == 302
    demo.admin.refresh_from_db()
    assert demo.admin.is_superuser and not SsoIdentity.objects.filter(user=demo.admin).exists()


def test_an_account_without_password_is_linked_at_the_first_sign_in(sso, demo, client):
    """An admin made erin's account ahead (no password): her first SSO sign-in becomes it."""
    erin = get_user_model().objects.create_user("erin")  # no password: unusable
    response = sso_sign_in(client, sso, "erin")

    assert response["Location"] == "/"
    assert SsoIdentity.objects.get(subject="erin").user == erin
    assert AuditEvent.objects.filter(verb="user.sso_linked", object_id=str(erin.pk)).exists()


def test_a_deactivated_user_cannot_sign_in(sso, demo, client):
    sso_sign_in(client, sso, "erin")
    client.post("/accounts/logout/")
    get_user_model().objects.filter(username="erin").update(is_active=False)

    response = sso_sign_in(client, sso, "erin")

    assert response["Location"] == "/accounts/login/"
    assert b"Your portal account is deactivated" in client.get("/accounts/login/").content
    assert client.get("/dashboard/").status_code == 302


def test_a_deactivated_users_sso_session_ends_at_the_next_request(sso, demo, client):
    """Django checks `is_active` for every request's session user; mozilla-django-oidc's backend
    does not (its get_user skips the check), the portal's does."""
    sso_sign_in(client, sso, "erin")
    assert client.get("/dashboard/").status_code == 200

    get_user_model().objects.filter(username="erin").update(is_active=False)

    assert client.get("/dashboard/").status_code == 302


def test_an_unreachable_provider_leaves_password_sign_in_working(settings, demo, client):
    settings.PORTAL_OIDC_ISSUER = f"http://127.0.0.1:{free_port()}"
    settings.PORTAL_OIDC_CLIENT_ID, settings.PORTAL_OIDC_CLIENT_SECRET = "id", "secret"
    provider_config_forget()

    response = client.get("/oidc/authenticate/")

    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert b"The identity provider cannot be reached" in client.get("/accounts/login/").content
    client.post("/accounts/login/", {"username": "alice", "password": "alice-demo"})
    assert client.get("/dashboard/").status_code == 200


def test_sign_in_never_returns_to_another_site(sso, demo, client):
    response = sso_sign_in(
        client, sso, "erin", start="/oidc/authenticate/?next=https://evil.example/"
    )

    assert response["Location"] == "/"


def test_a_link_to_the_callback_with_an_error_signs_nobody_out(sso, demo, client):
    """The library signs the current user out on an error answer; a link anyone can send must
    not, any more than a GET to the sign-out page does."""
    client.force_login(demo.alice)

    response = client.get("/oidc/callback/", {"error": "access_denied", "state": "whatever"})

    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 200
