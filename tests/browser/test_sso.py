"""Single sign-on as erin lives it, in Chromium, through a real OpenID provider (oidc-provider in
node): she clicks "Sign in with SSO", types her login on the provider's page and lands back signed
in; she approves as a member of data-approvers by the provider's groups claim; when the claim
loses the group and she signs in again, she approves nothing; when the provider's SCIM client
deactivates her, her session ends at its next request and her grant is revoked."""

import re
import time

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from aws import emulator_client
from tests.browser.conftest import screenshot
from tests.factories import submitted
from tests.sso.provider import PASSWORD, OidcProvider
from tests.support import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
SCIM_TOKEN = "scim-" + "0123456789abcdef" * 2


@pytest.fixture
def idp(live_server, settings):
    """The provider, with the live server's callback registered, and the portal set up for it."""
    provider = OidcProvider(redirect_uris=[f"{live_server.url}/oidc/callback/"])
    provider.settings_apply(settings, base_url=live_server.url, admin_groups=["portal-admins"])
    yield provider
    provider.stop()


def sso_click(page: Page) -> None:
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Sign in with SSO").click()


def role(page: Page):
    return page.locator(".topbar .role")


def test_erin_signs_in_through_the_provider_and_approves_only_while_the_claim_says(
    portal, idp, new_page, settings
):
    first = submitted(portal, justification="Read MyTable for the report")
    erin = new_page()

    erin.goto("/")
    expect(erin).to_have_url(re.compile(r"/accounts/login/"))
    screenshot(erin, "sign-in-sso")
    started = time.monotonic()
    erin.get_by_role("link", name="Sign in with SSO").click()
    expect(erin).to_have_url(re.compile(rf"^{re.escape(idp.issuer)}/interaction/"))
    to_provider = time.monotonic() - started
    erin.get_by_placeholder("Enter any login").fill("erin")
    erin.get_by_placeholder("and password").fill(PASSWORD)
    started = time.monotonic()
    erin.get_by_role("button", name="Sign-in").click()
    expect(erin.locator(".topbar .who")).to_have_text("erin")
    back_signed_in = time.monotonic() - started
    expect(erin).to_have_url(re.compile(r"/dashboard/$"))
    expect(role(erin)).to_have_text("approver")
    print(f"\nSSO: to the provider's page {to_provider:.2f} s; signed in {back_signed_in:.2f} s")

    erin.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
    card = erin.locator(".inbox-item").filter(has=erin.get_by_role("link", name=f"#{first.pk}"))
    expect(card).to_contain_text("alice")
    erin.on("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Approve").click()
    expect(erin.get_by_text("Your approval is recorded.")).to_be_visible()
    first.refresh_from_db()
    assert [approval.approver.username for approval in first.approvals.all()] == ["erin"]
    assert first.status in (AccessRequest.Status.APPROVED, "provisioning", "active")

    # erin's own grant, which a deactivation would revoke (below).
    erin_user = first.approvals.get().approver
    own = submitted(portal, requester=erin_user, justification="erin reads MyTable")
    access_request_approve(access_request=own, approver=portal.bob)

    def own_active() -> bool:
        own.refresh_from_db()
        assert own.status not in ("failed", "rejected"), own.status
        return own.status == "active"

    wait_until(own_active, timeout=30, what="erin's grant to be active")

    # The provider drops data-approvers from her groups claim; she signs in again. The
    # provider still knows her (its session): no login page this time.
    idp.groups_set("erin", [])
    second = submitted(portal, justification="Read MyTable again")
    erin.get_by_role("button", name="Sign out").click()
    expect(erin).to_have_url(re.compile(r"/accounts/login/"))
    started = time.monotonic()
    erin.get_by_role("link", name="Sign in with SSO").click()
    expect(erin.locator(".topbar .who")).to_have_text("erin")
    print(f"SSO again (the provider's session): signed in {time.monotonic() - started:.2f} s")

    expect(role(erin)).to_have_text("developer")
    nav = erin.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Approvals")).to_have_count(0)
    assert erin.goto(f"/requests/{second.pk}/").status == 404
    assert erin.goto("/inbox/").ok
    expect(erin.locator(".inbox-item")).to_have_count(0)
    second.refresh_from_db()
    assert second.status == AccessRequest.Status.PENDING and not second.approvals.exists()

    # Leavers (issue 16, item 3): the provider's SCIM client deactivates erin. Her open page is
    # signed out at its next request, and the worker revokes her grant in the emulator.
    scim = Client(HTTP_AUTHORIZATION=f"Bearer {SCIM_TOKEN}")
    settings.PORTAL_SCIM_TOKEN = SCIM_TOKEN
    started = time.monotonic()
    answer = scim.patch(
        f"/scim/v2/Users/{erin_user.pk}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}],
        },
        content_type="application/scim+json",
    )
    assert answer.status_code == 200, answer.content
    erin.goto("/dashboard/")
    expect(erin).to_have_url(re.compile(r"/accounts/login/"))

    def own_revoked() -> bool:
        own.refresh_from_db()
        return own.status == "revoked"

    wait_until(own_revoked, timeout=30, what="erin's grant to be revoked")
    revoked_in = time.monotonic() - started
    iam = emulator_client("iam", account_id="999999999999", region="us-east-1")
    roles = {r["RoleName"] for r in iam.list_roles(PathPrefix="/portal/")["Roles"]}
    assert own.grant.role_name not in roles
    print(f"SCIM deactivation: signed out at the next request, grant revoked {revoked_in:.2f} s")
