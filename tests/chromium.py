"""One Chromium for the whole test session, shared by every test that drives a browser.

Playwright's sync API keeps an event loop running in the test thread while it is open, so a
second `sync_playwright()` in the same session fails: every browser test takes the `browser`
fixture instead (the root conftest registers this module as a plugin).
"""

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

# With that loop in the thread, Django would refuse the tests' own ORM calls (and the fixtures'
# seeding), which are still plain synchronous code.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: the browser tests need it. "
            "Run scripts/ensure-chromium.sh (as root it installs it with apt-get), then rerun."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
