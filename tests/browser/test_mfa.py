"""A person turns on two-factor authentication in Chromium: the QR code shows (inline SVG under
the portal's strict Content-Security-Policy), the key can be typed instead, and the code the app
shows lets them in."""

from base64 import b32decode

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, login
from tests.browser.test_layout import assert_fits

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_approver_turns_on_two_factor_in_the_browser(demo, live_server, new_page, settings):
    settings.PORTAL_REQUIRE_MFA = True
    page = new_page(viewport=PHONE)
    login(page, "bob")
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    qr = page.locator("figure.qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 200 and box["height"] >= 200
    assert_fits(page)
    secret = page.locator("#mfa-secret").inner_text()
    key = b32decode(secret + "=" * (-len(secret) % 8))
    page.get_by_label("Code from the app").fill(f"{totp(key):06d}")
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_text("Two-factor authentication is on for your account.")).to_be_visible()
    page.goto("/inbox/")
    expect(page).to_have_url(f"{live_server.url}/inbox/")
