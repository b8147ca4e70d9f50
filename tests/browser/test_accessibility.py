"""axe-core (pinned in package.json, installed by scripts/ensure-node-deps.sh) run inside Chromium
on the main pages: no violation of impact serious or critical, at laptop and at phone width."""

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, login
from tests.factories import submitted

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


@pytest.fixture
def axe_page(browser: Browser, live_server) -> Iterator[Callable[..., Page]]:
    """Pages whose Content-Security-Policy lets the injected axe script run (bypass_csp): the
    portal's own policy allows only its own scripts, as it should."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run scripts/ensure-node-deps.sh (npm ci), then rerun.")
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def make(*, viewport: dict | None = None) -> Page:
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport or DESKTOP, bypass_csp=True
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors in the pages: {errors}"


def axe_violations(page: Page) -> list[dict]:
    """Run axe on the page as it is now; the serious and critical violations."""
    page.wait_for_load_state("load")
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        """() => axe.run(document, {
            resultTypes: ["violations"],
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                            "best-practice"]},
        })"""
    )
    return [v for v in results["violations"] if v["impact"] in BLOCKING]


def readable(url: str, violations: list[dict]) -> str:
    lines = [f"{url}: {len(violations)} serious or critical accessibility violation(s)"]
    for violation in violations:
        lines.append(f"- [{violation['impact']}] {violation['id']}: {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        for node in violation["nodes"][:5]:
            lines.append(f"  at {json.dumps(node['target'])}: {node['html'][:160]}")
            summary = node.get("failureSummary", "").replace("\n", " ")
            lines.append(f"    {summary[:300]}")
    return "\n".join(lines)


def assert_accessible(page: Page) -> None:
    violations = axe_violations(page)
    assert not violations, readable(page.url, violations)


def pending_request(portal):
    return submitted(portal, justification="Read MyTable for the report")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["laptop", "phone"])
def test_main_pages_have_no_serious_violations(portal, axe_page, active_request, viewport):
    pending = pending_request(portal)
    alice = axe_page(viewport=viewport)
    alice.goto("/accounts/login/")
    assert_accessible(alice)
    login(alice, "alice")
    for url in (
        "/dashboard/",
        "/requests/",
        "/requests/?scope=all&q=zzz-nothing",  # the empty state
        "/requests/new/",
        f"/requests/{pending.pk}/",
        f"/requests/{active_request.pk}/",
        "/audit/",
        "/why-denied/",
        "/accounts/mfa/setup/",  # the QR code and the key
    ):
        alice.goto(url)
        expect(alice.locator("h1")).to_be_visible()
        assert_accessible(alice)

    alice.goto(f"/grants/{active_request.grant.pk}/session/")
    assert_accessible(alice)
    alice.get_by_role("button", name="Start session").click()
    expect(alice.get_by_role("tab", name="fish")).to_be_visible()
    assert_accessible(alice)

    alice.goto("/account/tokens/")
    assert_accessible(alice)
    alice.get_by_role("button", name="Create a token").click()
    expect(alice.locator("#token-key")).to_be_visible()
    assert_accessible(alice)

    bob = axe_page(viewport=viewport)
    login(bob, "bob")
    for url in ("/inbox/", f"/requests/{pending.pk}/", "/requests/?scope=awaiting"):
        bob.goto(url)
        expect(bob.locator("h1")).to_be_visible()
        assert_accessible(bob)


def test_resource_policy_diff_and_admin_pages_have_no_serious_violations(portal, axe_page):
    diff_request = submitted(
        portal,
        actions=["s3:GetObject"],
        resources=["arn:aws:s3:::mybucket/*"],
        access_via="own_identity",
        justification="Load the partner files",
    )
    admin = axe_page()
    login(admin, "admin")
    for url in (
        f"/requests/{diff_request.pk}/",
        "/grants/emergency-revoke/",
        "/audit/?verb=request.",
        "/inbox/",
    ):
        admin.goto(url)
        expect(admin.locator("h1")).to_be_visible()
        assert_accessible(admin)
