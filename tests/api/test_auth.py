"""Tokens: issued for a password, revocable, listed for admins by prefix only; rate limits."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.test import override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from accounts.management.commands.seed_demo import demo_database_seed
from api.authentication import TokenAuthentication
from api.services import KEY_PREFIX_LENGTH
from audit.models import AuditEvent
from provisioning.models import Grant
from tests.api.conftest import api_for
from tests.factories import submitted


def token_for(username, password):
    return APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
    )


def rates(**changes):
    return override_settings(
        REST_FRAMEWORK={
            **api_settings.user_settings,
            "DEFAULT_THROTTLE_RATES": {**api_settings.DEFAULT_THROTTLE_RATES, **changes},
        }
    )


def test_a_password_gets_a_token_that_authenticates(demo):
    response = token_for("alice", "alice-demo")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get("/api/v1/requests/").status_code == 200


def test_a_wrong_password_is_a_400_that_says_nothing_more(demo):
    response = token_for("alice", "wrong")
    assert response.status_code == 400
    assert response.json() == {"detail": "Wrong username or password."}
    assert token_for("nobody", "x").json() == {"detail": "Wrong username or password."}


def test_the_caller_revokes_their_own_token(demo):
    key = token_for("alice", "alice-demo").json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.delete("/api/v1/auth/token/").status_code == 204
    assert client.get("/api/v1/requests/").status_code == 401
    assert not Token.objects.filter(key=key).exists()


def test_a_token_of_a_deactivated_user_or_with_a_nul_is_a_401(demo):
    key = token_for("alice", "alice-demo").json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    demo.alice.is_active = False
    demo.alice.save(update_fields=["is_active"])
    assert client.get("/api/v1/requests/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Token abc\x00def")
    assert client.get("/api/v1/requests/").status_code == 401


def test_the_token_check_answers_the_users_and_tokens_rows_as_the_orm_reads_them(demo):
    """The check reads both rows in one plain statement: every field as the ORM has it."""
    key = token_for("alice", "alice-demo").json()["token"]
    demo.alice.last_login = timezone.now()
    demo.alice.save(update_fields=["last_login"])
    user, token = TokenAuthentication().authenticate_credentials(key)
    stored = Token.objects.select_related("user").get(key=key)
    assert not user._state.adding and not token._state.adding
    for field in get_user_model()._meta.concrete_fields:
        mine, theirs = getattr(user, field.attname), getattr(stored.user, field.attname)
        assert mine == theirs and type(mine) is type(theirs), field.attname
    assert (token.key, token.user_id, token.created) == (key, stored.user_id, stored.created)
    assert token.user is user
    with pytest.raises(AuthenticationFailed):
        TokenAuthentication().authenticate_credentials(key[:-1])


def test_admins_list_tokens_by_prefix_and_revoke_them(demo):
    alice_key = token_for("alice", "alice-demo").json()["token"]
    admin = api_for(demo.admin)
    listed = admin.get("/api/v1/auth/tokens/").json()["results"]
    alice_row = next(row for row in listed if row["user"] == "alice")
    assert alice_row["prefix"] == alice_key[:6]
    assert alice_key not in str(listed)
    assert admin.delete(f"/api/v1/auth/tokens/{alice_row['id']}/").status_code == 204
    assert not Token.objects.filter(user=demo.alice).exists()
    assert admin.delete(f"/api/v1/auth/tokens/{alice_row['id']}/").status_code == 404


def test_others_see_and_revoke_only_their_own_token(demo):
    token_for("alice", "alice-demo")
    bob = api_for(demo.bob)
    assert [row["user"] for row in bob.get("/api/v1/auth/tokens/").json()["results"]] == ["bob"]
    assert bob.delete(f"/api/v1/auth/tokens/{demo.alice.pk}/").status_code == 404
    assert Token.objects.filter(user=demo.alice).exists()


def test_the_token_endpoint_is_rate_limited_per_username(demo):
    with rates(auth_token="3/min"):
        for _ in range(3):
            assert token_for("alice", "wrong").status_code == 400
        response = token_for("alice", "alice-demo")
        assert response.status_code == 429
        assert response.json()["detail"].startswith("Too many token requests")
        assert int(response["Retry-After"]) > 0
        # Another person's login is not held up by guesses at alice's password.
        assert token_for("bob", "bob-demo").status_code == 200


def test_a_numeric_username_sent_as_a_json_number_counts_against_that_username(demo):
    """The serializer takes 100234 for "100234": guesses spread over many addresses must still
    count against the one person (employee numbers make such usernames)."""
    get_user_model().objects.create_user("100234", password="employee-number-pw")
    with rates(auth_token="3/min"):
        for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
            guess = APIClient(REMOTE_ADDR=address).post(
                "/api/v1/auth/token/", {"username": 100234, "password": "wrong"}, format="json"
            )
            assert guess.status_code == 400
        response = APIClient(REMOTE_ADDR="192.0.2.4").post(
            "/api/v1/auth/token/",
            {"username": 100234, "password": "employee-number-pw"},
            format="json",
        )
        assert response.status_code == 429
        assert token_for("100234", "employee-number-pw").status_code == 429


def test_the_credentials_endpoint_is_rate_limited_per_user(demo):
    access_request = submitted(demo)
    api_for(demo.bob).post(f"/api/v1/requests/{access_request.pk}/approve/")
    grant = Grant.objects.get()
    # Not active yet: each call is a 409, which still counts against the rate.
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now())
    alice = api_for(demo.alice)
    with rates(credentials="2/min"):
        assert alice.post(f"/api/v1/grants/{grant.pk}/credentials/").status_code == 409
        assert alice.post(f"/api/v1/grants/{grant.pk}/credentials/").status_code == 409
        response = alice.post(f"/api/v1/grants/{grant.pk}/credentials/")
        assert response.status_code == 429
        assert "Too many credential requests" in response.json()["detail"]


@pytest.mark.parametrize("body", [{}, {"username": "alice"}, {"username": ["a"], "password": 1}])
def test_token_requests_without_credentials_are_400(db, body):
    response = APIClient().post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 400


def test_the_admin_shows_no_token_keys_and_makes_no_tokens_for_others(demo, client):
    """A platform admin sees others' tokens by prefix only (GET /api/v1/auth/tokens/) and revokes
    them; DRF's own token admin would show every key whole and make one for anyone, so one admin
    could act, unaudited, as each of a request's approvers in turn."""
    key = Token.objects.create(user=demo.bob).key
    client.force_login(demo.admin)

    listing = client.get("/admin/authtoken/tokenproxy/")
    made = client.post("/admin/authtoken/tokenproxy/add/", {"user": demo.carol.pk})

    assert listing.status_code == 404 and key.encode() not in listing.content
    assert made.status_code == 404
    assert not Token.objects.filter(user=demo.carol).exists()
    assert b"tokenproxy" not in client.get("/admin/").content


def test_a_password_change_ends_the_api_token(demo, client):
    """Someone who changes a password they fear was taken cuts off what it let in: Django ends
    their other web sessions, and the API token got with that password ends too."""
    key = token_for("alice", "alice-demo").json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/requests/").status_code == 200

    client.force_login(demo.alice)
    changed = client.post(
        "/accounts/password_change/",
        {
            "old_password": "alice-demo",
            "new_password1": "a-new-long-password-91",
            "new_password2": "a-new-long-password-91",
        },
    )
    assert changed.status_code == 302

    assert api.get("/api/v1/requests/").status_code == 401
    assert not Token.objects.filter(user=demo.alice).exists()
    event = AuditEvent.objects.get(verb="api_token.revoked", object_id=str(demo.alice.pk))
    assert event.before == {"prefix": key[:KEY_PREFIX_LENGTH]}
    assert event.after == {"reason": "password changed"}


def test_an_admin_setting_a_password_ends_the_token_and_a_rehash_does_not(demo):
    key = token_for("alice", "alice-demo").json()["token"]
    # A hash the hasher wants to renew (a short salt): the next sign-in stores a new hash of the
    # same password, which is no password change.
    demo.alice.password = make_password("alice-demo", salt="ab", hasher="md5")
    demo.alice.save(update_fields=["password"])
    assert token_for("alice", "alice-demo").json()["token"] == key
    demo.alice.refresh_from_db()
    assert demo.alice.password != make_password("alice-demo", salt="ab", hasher="md5")
    assert Token.objects.filter(key=key).exists()

    alice = get_user_model().objects.get(pk=demo.alice.pk)
    alice.set_password("set-by-an-admin-77")
    alice.save()
    assert not Token.objects.filter(key=key).exists()


def test_seeding_the_demo_again_keeps_a_demo_users_token(demo):
    """`make run` seeds at every start: the demo passwords are set again only where they differ,
    so a demo user's portal-cli login survives a restart."""
    key = token_for("alice", "alice-demo").json()["token"]
    demo_database_seed()
    assert Token.objects.filter(key=key).exists()
    demo.bob.set_password("not-the-demo-one-5")
    demo.bob.save()
    demo_database_seed()
    assert get_user_model().objects.get(username="bob").check_password("bob-demo")
