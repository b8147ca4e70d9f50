"""The API token page: people who sign in with SSO have no password for POST /api/v1/auth/token/,
so they make (and revoke) their token here; its key is shown once."""

import re

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.sso.provider import sso_sign_in

KEY = re.compile(rb'<pre id="token-key"[^>]*>([0-9a-f]{40})</pre>')


def _api(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def test_an_sso_user_makes_a_token_sees_it_once_and_revokes_it(sso, demo, client):
    sso_sign_in(client, sso, "erin")
    page = client.get("/account/tokens/")
    assert b"You have no API token." in page.content

    made = client.post("/account/tokens/")

    assert made.status_code == 200 and "no-store" in made["Cache-Control"]
    key = KEY.search(made.content)[1].decode()
    token = Token.objects.get(user__username="erin")
    assert token.key == key
    assert _api(key).get("/api/v1/auth/token/").json()["username"] == "erin"
    assert _api(key).get("/api/v1/requests/").status_code == 200

    again = client.get("/account/tokens/")
    assert key.encode() not in again.content and key[:6].encode() in again.content
    second = client.post("/account/tokens/")
    assert second.status_code == 409 and key.encode() not in second.content
    assert b"Revoke it first" in second.content

    revoked = client.post("/account/tokens/revoke/", follow=True)

    assert b"Token revoked" in revoked.content
    assert not Token.objects.filter(user__username="erin").exists()
    assert _api(key).get("/api/v1/requests/").status_code == 401
    verbs = AuditEvent.objects.filter(verb__startswith="api_token.").values_list("verb", flat=True)
    assert sorted(verbs) == ["api_token.created", "api_token.revoked"]


def test_the_token_page_is_for_signed_in_people_and_shows_only_their_own(client, demo):
    from tests.api.conftest import api_for

    api_for(demo.alice)  # alice has a token
    assert client.get("/account/tokens/").status_code == 302
    client.force_login(demo.bob)

    page = client.get("/account/tokens/")

    assert b"You have no API token." in page.content
    revoked = client.post("/account/tokens/revoke/", follow=True)
    assert b"bob has no API token." in revoked.content
    assert Token.objects.filter(user=demo.alice).exists()
