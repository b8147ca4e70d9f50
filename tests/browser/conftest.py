"""Real Chromium through Playwright against the in-process live server.

The live server uses this process's settings (so the emulator's endpoint), and the `worker`
fixture's Celery process shares the test database: browser tests are transactional and commit.
"""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.chromium import DESKTOP, PHONE  # noqa: F401  (the browser tests import them from here)
from tests.factories import submitted

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORDS = {
    "alice": "alice-demo",
    "bob": "bob-demo",
    "carol": "carol-demo",
    "admin": "admin-demo",
}

expect.set_options(timeout=10_000)


@pytest.fixture
def new_page(browser: Browser, live_server) -> Iterator[Callable[..., Page]]:
    """Pages in fresh contexts (one per person: separate cookies), closed after the test.

    An uncaught JavaScript error on any of them fails the test."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def make(*, viewport: dict | None = None) -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            viewport=viewport or DESKTOP,
            permissions=["clipboard-read", "clipboard-write"],
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


@pytest.fixture
def page(new_page) -> Page:
    return new_page()


def login(page: Page, username: str) -> None:
    """Sign in through the login form, as a person would."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".topbar .who")).to_have_text(username)


def screenshot(page: Page, name: str) -> Path:
    """A full-page PNG for docs/screenshots (the README shows them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.wait_for_load_state("load")  # the stylesheet applied, or the shot is of raw HTML
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path


@pytest.fixture
def portal(aws_demo, worker, live_server):
    """The whole portal: demo data, the emulator, a Celery worker and the live server."""
    return aws_demo


@pytest.fixture
def active_request(portal):
    """alice's MyTable request, approved by bob through the services and provisioned by the
    worker: for tests about what happens after activation."""
    from access_requests.services import access_request_approve
    from tests.support import wait_until

    access_request = submitted(portal, justification="Read MyTable for the report")
    access_request_approve(access_request=access_request, approver=portal.bob)

    def active() -> bool:
        access_request.refresh_from_db()
        assert access_request.status not in ("failed", "rejected"), access_request.status
        return access_request.status == "active"

    wait_until(active, timeout=30, what="the grant to be active")
    return access_request
