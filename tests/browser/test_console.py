""" "Open the AWS console" on the session page, in Chromium: the link AWS's federation endpoint (a
local stand-in that checks the session with the emulator) signed for alice's grant."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.federation_standin import FederationStandIn

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_session_page_opens_the_aws_console(portal, emulator, page, active_request):
    standin = FederationStandIn(emulator_url=emulator.url)
    try:
        with override_settings(PORTAL_FEDERATION_URL=standin.url):
            login(page, "alice")
            page.goto(f"/grants/{active_request.grant.pk}/session/")
            page.get_by_role("button", name="Open the AWS console").click()

            link = page.get_by_role("link", name="Open the AWS console")
            expect(link).to_have_attribute("target", "_blank")
            screenshot(page, "console-link")
            url = urlsplit(link.get_attribute("href") or "")
            query = parse_qs(url.query)
            (sign_in,) = standin.sign_ins
            assert query["SigninToken"] == [sign_in.token]
            assert query["Destination"] == [
                "https://console.aws.amazon.com/console/home?region=eu-central-1"
            ]
            assert sign_in.caller_arn.endswith(f"/portal-access-{active_request.pk}/alice")
    finally:
        standin.stop()
