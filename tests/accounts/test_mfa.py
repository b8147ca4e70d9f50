"""The second factor for local password accounts that approve or administer, as a person goes
through it: sign in with the password, land on enrolment, scan (here: read the key off the page),
type the code the app would show (computed with django-otp's own RFC 6238 TOTP), and go on.

The hole this closes: an approver's or admin's password alone let anyone approve access to
production accounts and change every setting in /admin/.
"""

import re
import time
from base64 import b32decode

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent

PASSWORDS = {"alice": "alice-demo", "bob": "bob-demo", "admin": "admin-demo"}


def code(secret: str, *, drift: int = 0) -> str:
    """What an authenticator app shows for `secret` now (or `drift` steps of 30 s later)."""
    key = b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key, drift=drift):06d}"


def signed_in(username: str) -> Client:
    """A browser signed in through the sign-in form with the password alone."""
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": username, "password": PASSWORDS[username]}
    )
    assert response.status_code == 302, response.content[:500]
    return client


def secret_on(page: bytes) -> str:
    found = re.search(rb'id="mfa-secret">([A-Z2-7]+)<', page)
    assert found, page[:2000]
    return found.group(1).decode()


def enrolled(username: str) -> tuple[Client, str]:
    """Sign in, enrol from the page, and return the verified browser and the app's key."""
    client = signed_in(username)
    page = client.get("/accounts/mfa/setup/")
    secret = secret_on(page.content)
    response = client.post("/accounts/mfa/setup/", {"token": code(secret), "next": "/requests/"})
    assert response.status_code == 302 and response["Location"] == "/requests/"
    return client, secret


@pytest.fixture
def required(settings):
    settings.PORTAL_REQUIRE_MFA = True


def test_an_approver_enrols_with_a_real_code(demo, required):
    client = signed_in("bob")
    response = client.get("/requests/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/mfa/setup/?next=%2Frequests%2F"

    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert '<figure class="qr"' in body and "<svg" in body and "<path" in body
    secret = secret_on(page.content)
    device = TOTPDevice.objects.get(user=demo.bob)
    assert not device.confirmed and f"secret={secret}" in device.config_url
    assert "issuer=Access%20portal" in device.config_url
    assert client.get("/accounts/mfa/setup/").content.decode().count(secret) == 1  # same key

    wrong = f"{(int(code(secret)) + 1) % 1_000_000:06d}"
    refused = client.post("/accounts/mfa/setup/", {"token": wrong, "next": "/requests/"})
    assert refused.status_code == 400 and b"That code is not right" in refused.content
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get("/requests/").status_code == 302

    # django-otp makes a device wait 1 s after one wrong code (2 s, 4 s, ...; tested below):
    # here, as if that second had passed.
    TOTPDevice.objects.get(pk=device.pk).throttle_reset()
    response = client.post("/accounts/mfa/setup/", {"token": code(secret), "next": "/requests/"})
    assert response.status_code == 302 and response["Location"] == "/requests/"
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get("/requests/").status_code == 200
    assert AuditEvent.objects.filter(verb="mfa.enrolled", actor=demo.bob).count() == 1


def test_every_sign_in_asks_for_the_code(demo, required):
    _, secret = enrolled("bob")
    client = signed_in("bob")
    response = client.get("/inbox/")
    assert response["Location"] == "/accounts/mfa/verify/?next=%2Finbox%2F"
    # With a device, enrolment is closed until the code is given: a stolen password cannot
    # swap in another app.
    swap = client.get("/accounts/mfa/setup/")
    assert swap.status_code == 302 and swap["Location"].startswith("/accounts/mfa/verify/")
    assert TOTPDevice.objects.filter(user=demo.bob).count() == 1

    page = client.get(response["Location"])
    assert page.status_code == 200 and b"Type the 6-digit code" in page.content
    wrong = f"{(int(code(secret, drift=1)) + 1) % 1_000_000:06d}"
    refused = client.post("/accounts/mfa/verify/", {"token": wrong, "next": "/inbox/"})
    assert refused.status_code == 400
    assert client.get("/inbox/").status_code == 302
    # Right after a wrong code, even the right one waits (django-otp's throttle)...
    early = client.post("/accounts/mfa/verify/", {"token": code(secret, drift=1), "next": "/"})
    assert early.status_code == 400
    time.sleep(2.1)
    # ...then it works; the next step's code, since the enrolment used this step's.
    response = client.post(
        "/accounts/mfa/verify/", {"token": code(secret, drift=1), "next": "/inbox/"}
    )
    assert response.status_code == 302 and response["Location"] == "/inbox/"
    assert client.get("/inbox/").status_code == 200


def test_the_code_page_sends_only_to_this_site(demo, required):
    _, secret = enrolled("bob")
    client = signed_in("bob")
    response = client.post(
        "/accounts/mfa/verify/",
        {"token": code(secret, drift=1), "next": "https://evil.example.com/"},
    )
    assert response.status_code == 302 and response["Location"] == "/"


def test_not_asked_when_mfa_is_not_required(demo, settings):
    settings.PORTAL_REQUIRE_MFA = False
    for username in ("bob", "admin"):
        assert signed_in(username).get("/requests/").status_code == 200


@pytest.mark.parametrize(
    ("username", "asked"),
    [("alice", False), ("bob", True), ("admin", True)],
)
def test_who_is_asked(demo, required, username, asked):
    """Approvers (bob) and platform admins are asked; a developer who approves nothing is not."""
    response = signed_in(username).get("/requests/")
    assert (response.status_code == 302) is asked
    if asked:
        assert response["Location"].startswith("/accounts/mfa/setup/")


def test_single_sign_on_users_are_not_asked(demo, required):
    """No usable password: their identity provider asks for its own second factor."""
    bob = User.objects.get(username="bob")
    bob.set_unusable_password()
    bob.save()
    client = Client()
    client.force_login(bob)
    assert client.get("/requests/").status_code == 200


def test_the_admin_and_session_api_wait_for_the_code(demo, required):
    admin = signed_in("admin")
    response = admin.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/mfa/setup/")
    bob = signed_in("bob")
    response = bob.get("/api/v1/requests/")
    assert response.status_code == 403 and "second factor" in response.json()["detail"]
    assert bob.post("/accounts/logout/").status_code == 302  # signing out always works


def test_the_admin_never_shows_a_users_authenticator_key(demo, client):
    """A platform admin deletes a lost device in /admin/; the key of one in use (its QR code, its
    hex) would let them make the person's codes, so it is never shown."""
    device = TOTPDevice.objects.create(user=demo.bob, name="app", confirmed=True)
    client.force_login(demo.admin)
    base = f"/admin/otp_totp/totpdevice/{device.pk}"

    change = client.get(f"{base}/change/")

    assert change.status_code == 200 and device.key not in change.content.decode()
    assert client.get(f"{base}/config/").status_code == 403
    assert client.get(f"{base}/qrcode/").status_code == 403
