"""API tokens for people who need a second factor: with PORTAL_REQUIRE_MFA on, an approver or
admin with a password gets a token only with the current code of their app in `otp`. Otherwise a
password alone would get around the code the web pages ask for."""

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient


def token_for(username: str, password: str, **extra: str):
    body = {"username": username, "password": password, **extra}
    return APIClient().post("/api/v1/auth/token/", body, format="json")


def current(device: TOTPDevice, *, drift: int = 0) -> str:
    return f"{totp(device.bin_key, drift=drift):06d}"


@pytest.fixture
def required(settings):
    settings.PORTAL_REQUIRE_MFA = True


def test_an_approver_without_a_device_is_told_to_enrol(demo, required):
    response = token_for("bob", "bob-demo")
    assert response.status_code == 400
    assert "/accounts/mfa/setup/" in response.json()["otp"][0]


def test_an_approver_needs_the_code(demo, required):
    device = TOTPDevice.objects.create(user=demo.bob, name="app", confirmed=True)
    missing = token_for("bob", "bob-demo")
    assert missing.status_code == 400 and "otp" in missing.json()
    wrong = token_for("bob", "bob-demo", otp=f"{(int(current(device)) + 1) % 10**6:06d}")
    assert wrong.status_code == 400 and "not right" in wrong.json()["otp"][0]
    device.refresh_from_db()
    device.throttle_reset()
    response = token_for("bob", "bob-demo", otp=current(device))
    assert response.status_code == 200 and response.json()["token"]
    # A wrong password with a right code is still a wrong password.
    bad = token_for("bob", "wrong", otp=current(device, drift=1))
    assert bad.json() == {"detail": "Wrong username or password."}


def test_a_developer_and_everyone_when_not_required_need_no_code(demo, settings):
    settings.PORTAL_REQUIRE_MFA = True
    assert token_for("alice", "alice-demo").status_code == 200
    settings.PORTAL_REQUIRE_MFA = False
    assert token_for("bob", "bob-demo").status_code == 200


def test_a_token_from_before_the_second_factor_was_needed_decides_nothing_until_enrolment(
    demo, settings
):
    """bob got his token with his password alone, before the portal asked approvers for a second
    factor (or before he joined an approver group). With PORTAL_REQUIRE_MFA on, that token must
    not approve or reject for someone who never enrolled one: the web and the token endpoint
    refuse him until he has."""
    from access_requests.models import Approval
    from tests.api.conftest import api_for
    from tests.factories import submitted

    settings.PORTAL_REQUIRE_MFA = False
    api = api_for(demo.bob)
    access_request = submitted(demo)
    settings.PORTAL_REQUIRE_MFA = True

    approve = api.post(f"/api/v1/requests/{access_request.pk}/approve/", {}, format="json")
    reject = api.post(
        f"/api/v1/requests/{access_request.pk}/reject/", {"reason": "no"}, format="json"
    )

    for refused in (approve, reject):
        assert refused.status_code == 403
        assert "two-factor authentication" in refused.json()["detail"]
    assert not Approval.objects.filter(access_request=access_request).exists()
    TOTPDevice.objects.create(user=demo.bob, name="app", confirmed=True)
    approved = api.post(f"/api/v1/requests/{access_request.pk}/approve/", {}, format="json")
    assert approved.status_code == 200
    assert Approval.objects.get(access_request=access_request).approver == demo.bob
