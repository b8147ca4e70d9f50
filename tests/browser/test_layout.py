"""What the pages look like: nothing runs off the side of a phone screen."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, login, screenshot
from tests.factories import TABLE_ARN

pytestmark = pytest.mark.django_db(transaction=True)


def assert_fits(page: Page) -> None:
    """Nothing makes the page scroll sideways; on failure, name the elements that stick out."""
    page.wait_for_load_state("load")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        culprits = page.evaluate(
            """() => Array.from(document.querySelectorAll("body *"))
                .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
                .slice(0, 8)
                .map((el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}`
                    + `${el.className ? "." + String(el.className).replace(/ /g, ".") : ""}`
                    + ` right=${Math.round(el.getBoundingClientRect().right)}`)"""
        )
        raise AssertionError(f"{page.url} is {overflow}px wider than the screen: {culprits}")


def test_request_form_and_request_page_fit_a_phone(aws_demo, live_server, new_page):
    page = new_page(viewport=PHONE)
    login(page, "alice")
    assert_fits(page)
    page.goto("/requests/new/")
    page.get_by_label("Source account").select_option("111111111111")
    page.get_by_label("Target account").select_option("999999999999")
    page.get_by_label("Actions").fill("dynamodb:GetItem\ndynamodb:Query")
    page.get_by_label("Resources").fill(TABLE_ARN)
    page.get_by_label("Justification").fill("Read MyTable for the quarterly report")
    expect(page.locator("#preview")).to_contain_text(TABLE_ARN)
    assert_fits(page)
    # The policy documents scroll inside their own box instead of widening the page.
    submit = page.get_by_role("button", name="Submit request")
    box = submit.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    screenshot(page, "request-form-phone")

    submit.click()
    expect(page.locator("h1 .badge")).to_have_text("Pending approval")
    assert_fits(page)
