"""The ID token checks, against an issuer whose key the test holds (tests/sso/issuer.py): a
well-formed token signs erin in; each token below differs from it in one way, and is refused
with nothing created and nobody signed in."""

import base64
import hashlib
import json
import time
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from jwt.algorithms import RSAAlgorithm

from audit.models import AuditEvent
from sso.discovery import provider_config_forget
from tests.sso.issuer import TokenIssuer, basic_credentials, rsa_key
from tests.sso.provider import CLIENT_ID, CLIENT_SECRET

PORTAL = "http://testserver"


@pytest.fixture(scope="module")
def token_issuer():
    issuer = TokenIssuer().start()
    yield issuer
    issuer.stop()


@pytest.fixture
def issuer(token_issuer, settings, db):
    settings.PORTAL_OIDC_ISSUER = token_issuer.url
    settings.PORTAL_OIDC_CLIENT_ID = CLIENT_ID
    settings.PORTAL_OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.PORTAL_OIDC_GROUPS_CLAIM = "groups"
    settings.PORTAL_OIDC_ADMIN_GROUPS = ["portal-admins"]
    settings.PORTAL_BASE_URL = PORTAL
    provider_config_forget()
    token_issuer.exchanges.clear()
    token_issuer.other_keys.clear()
    return token_issuer


def authorization_request(client) -> dict[str, str]:
    """What the portal sends the person's browser to the issuer with."""
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    return dict(parse_qsl(location.query))


def callback(client, issuer: TokenIssuer, state: str, id_token: str):
    return client.get("/oidc/callback/", {"code": issuer.code_for(id_token), "state": state})


def signed_in(client) -> bool:
    return client.get("/dashboard/").status_code == 200


def refused(client, response) -> list[str]:
    """The callback sent the person back to the sign-in page: the messages shown there."""
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_a_well_formed_token_signs_erin_in(issuer, client):
    request = authorization_request(client)

    response = callback(
        client, issuer, request["state"], issuer.sign(issuer.claims(nonce=request["nonce"]))
    )

    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in(client)
    assert get_user_model().objects.get(username="erin").sso_identity.subject == "erin-at-issuer"


def test_the_authorization_request_carries_state_nonce_and_a_pkce_s256_challenge(issuer, client):
    request = authorization_request(client)
    callback(client, issuer, request["state"], issuer.sign(issuer.claims(nonce=request["nonce"])))

    assert request["response_type"] == "code"
    assert request["client_id"] == CLIENT_ID
    assert request["redirect_uri"] == f"{PORTAL}/oidc/callback/"
    assert request["scope"] == "openid email profile"  # this issuer offers no `groups` scope
    assert len(request["state"]) >= 32 and len(request["nonce"]) >= 32
    assert request["code_challenge_method"] == "S256"
    [exchange] = issuer.exchanges
    verifier = exchange["form"]["code_verifier"]
    digest = hashlib.sha256(verifier.encode()).digest()
    assert request["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert exchange["form"]["redirect_uri"] == f"{PORTAL}/oidc/callback/"
    assert exchange["form"]["grant_type"] == "authorization_code"
    # client_secret_basic: the secret travels in the header, not in the body.
    assert basic_credentials(exchange["authorization"]) == (CLIENT_ID, CLIENT_SECRET)
    assert "client_secret" not in exchange["form"]


def _tampered(issuer: TokenIssuer, nonce: str) -> str:
    """A valid token whose payload was changed afterwards: erin made herself an admin."""
    header, payload, signature = issuer.sign(issuer.claims(nonce=nonce)).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["groups"] = ["data-approvers", "portal-admins"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _unsigned(issuer: TokenIssuer, nonce: str) -> str:
    return jwt.encode(
        issuer.claims(nonce=nonce), None, algorithm="none", headers={"kid": "test-issuer-1"}
    )


BAD_TOKENS = {
    "tampered payload": _tampered,
    "signed by another key": lambda issuer, nonce: issuer.sign(
        issuer.claims(nonce=nonce), key=rsa_key()
    ),
    "wrong audience": lambda issuer, nonce: issuer.sign(
        issuer.claims(nonce=nonce, aud="another-app")
    ),
    "wrong nonce": lambda issuer, nonce: issuer.sign(
        issuer.claims(nonce="a-nonce-of-another-sign-in")
    ),
    "no nonce": lambda issuer, nonce: issuer.sign(issuer.claims(nonce=None)),
    "expired": lambda issuer, nonce: issuer.sign(
        issuer.claims(nonce=nonce, exp=int(time.time()) - 600, iat=int(time.time()) - 900)
    ),
    "no expiry": lambda issuer, nonce: issuer.sign(issuer.claims(nonce=nonce, exp=None)),
    "another issuer": lambda issuer, nonce: issuer.sign(
        issuer.claims(nonce=nonce, iss="https://evil.example")
    ),
    "another authorized party": lambda issuer, nonce: issuer.sign(
        issuer.claims(nonce=nonce, aud=[CLIENT_ID, "other"], azp="other")
    ),
    "HS256 keyed with the client secret": lambda issuer, nonce: issuer.sign(
        issuer.claims(nonce=nonce), key=CLIENT_SECRET.encode(), algorithm="HS256"
    ),
    "alg none": _unsigned,
}


@pytest.mark.parametrize("make", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_a_bad_id_token_is_refused(issuer, client, make):
    request = authorization_request(client)

    response = callback(client, issuer, request["state"], make(issuer, request["nonce"]))

    assert refused(client, response) == [
        "Single sign-on failed: the identity provider's answer did not pass the portal's checks. "
        "Try again; if it keeps failing, tell a platform admin."
    ]
    assert not signed_in(client)
    assert not get_user_model().objects.filter(username="erin").exists()
    assert not AuditEvent.objects.exists()


def test_a_code_is_good_for_the_sign_in_that_asked_for_it_only(issuer, client, django_user_model):
    """The state is used once; a callback with a state this session never made is refused."""
    request = authorization_request(client)
    token = issuer.sign(issuer.claims(nonce=request["nonce"]))
    assert callback(client, issuer, request["state"], token)["Location"] == "/"
    client.post("/accounts/logout/")

    replayed = callback(client, issuer, request["state"], token)
    forged = callback(client, issuer, "a-state-nobody-made", token)

    assert refused(client, replayed) and refused(client, forged)
    assert not signed_in(client)


def test_an_answer_naming_another_issuer_is_refused(issuer, client):
    """RFC 9207: the authorization response's `iss`, when sent, is the configured issuer."""
    request = authorization_request(client)
    code = issuer.code_for(issuer.sign(issuer.claims(nonce=request["nonce"])))

    response = client.get(
        "/oidc/callback/", {"code": code, "state": request["state"], "iss": "https://evil.example"}
    )

    assert refused(client, response)
    assert issuer.exchanges == []  # the code was never sent anywhere
    assert not signed_in(client)


def test_the_providers_error_is_shown_and_nobody_signed_in(issuer, client):
    request = authorization_request(client)

    response = client.get("/oidc/callback/", {"error": "access_denied", "state": request["state"]})

    assert refused(client, response) == [
        "Single sign-on did not complete (the identity provider answered access_denied). Try again."
    ]
    assert not signed_in(client)


def test_a_token_without_key_id_needs_a_jwks_of_one_key(issuer, client):
    """Core 1.0, section 10.1: `kid` may be left out only when the JWKS has one key."""
    request = authorization_request(client)
    token = issuer.sign(issuer.claims(nonce=request["nonce"]), kid=None)
    assert callback(client, issuer, request["state"], token)["Location"] == "/"
    client.post("/accounts/logout/")

    other = RSAAlgorithm.to_jwk(rsa_key().public_key(), as_dict=True)
    issuer.other_keys.append({**other, "kid": "test-issuer-2", "alg": "RS256", "use": "sig"})
    request = authorization_request(client)
    token = issuer.sign(issuer.claims(nonce=request["nonce"]), kid=None)

    assert refused(client, callback(client, issuer, request["state"], token))
    assert not signed_in(client)
