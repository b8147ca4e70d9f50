"""The request wizard in Chromium: alice refreshes the target account's inventory, picks MyTable
with the keyboard (which adds no action), adds its common reads with one click and one more by
type-ahead, watches the preview and submits."""

import re

import pytest
from playwright.sync_api import Page, expect

from access_requests.models import AccessRequest
from tests.browser.conftest import PHONE, login, screenshot
from tests.factories import TABLE_ARN

pytestmark = pytest.mark.django_db(transaction=True)

SYNC = 30_000  # ms: the worker lists six kinds of resources in the emulator within seconds


def open_wizard(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Request access").click()
    expect(page.get_by_role("heading", name="Request access", level=1)).to_be_visible()
    page.get_by_label("Source account").select_option("111111111111")
    page.get_by_label("Target account").select_option("999999999999")


def refresh_inventory(page: Page) -> None:
    """The on-demand refresh: queued for the real worker, which lists the account through its
    provisioner role; the page follows until the sync time appears."""
    state = page.locator("#inventory-state")
    expect(state).to_contain_text("has not been synced yet")
    page.get_by_role("button", name="Refresh inventory").click()
    expect(state).to_contain_text("synced just now", timeout=SYNC)


def pick_table_with_the_keyboard(page: Page) -> None:
    search = page.get_by_role("combobox", name="Find in the inventory")
    search.fill("MyT")
    listbox = page.get_by_role("listbox", name="Inventory suggestions")
    expect(listbox).to_be_visible()
    option = listbox.get_by_role("option").filter(has_text="MyTable")
    expect(option).to_have_count(1)
    expect(option).to_contain_text(TABLE_ARN)
    expect(search).to_have_attribute("aria-expanded", "true")
    search.press("ArrowDown")
    expect(search).to_have_attribute("aria-activedescendant", option.get_attribute("id"))
    search.press("Enter")
    expect(listbox).to_be_hidden()
    expect(page.get_by_label("Resources")).to_have_value(TABLE_ARN)


def test_alice_requests_mytable_through_the_wizard(portal, page):
    login(page, "alice")
    open_wizard(page)
    page.get_by_label("Justification").fill("Read and fix items in MyTable")
    refresh_inventory(page)
    pick_table_with_the_keyboard(page)

    # Least privilege by default: picking the table adds no action; its three common reads are
    # one click, not all 15 Read actions of DynamoDB.
    actions = page.get_by_label("Actions")
    common = page.get_by_role("button", name=re.compile(r"^Add the common reads"))
    expect(common).to_have_text(
        "Add the common reads: dynamodb:BatchGetItem, dynamodb:GetItem, dynamodb:Query"
    )
    expect(actions).to_have_value("")
    common.click()
    expect(actions).to_have_value("dynamodb:BatchGetItem\ndynamodb:GetItem\ndynamodb:Query")
    expect(page.get_by_role("button", name="Common reads added")).to_be_disabled()
    common_reads = actions.input_value().split()

    search = page.get_by_role("combobox", name="Find an IAM action")
    search.fill("PutI")
    listbox = page.get_by_role("listbox", name="Catalog suggestions")
    write = listbox.get_by_role("group", name="Write")
    put_item = write.get_by_role("option", name=re.compile(r"^dynamodb:PutItem\b"))
    expect(put_item).to_have_attribute("aria-selected", "false")
    search.press("ArrowDown")
    search.press("Enter")  # adds it; the list stays open for more
    expect(put_item).to_have_attribute("aria-selected", "true")
    expect(actions).to_have_value(re.compile(r"^dynamodb:PutItem$", re.MULTILINE))

    preview = page.locator("#preview")
    permission = preview.locator("section.document").filter(
        has=page.get_by_role("heading", name="Permission policy")
    )
    expect(permission).to_contain_text("dynamodb:PutItem")
    expect(permission).to_contain_text("dynamodb:GetItem")
    expect(permission).to_contain_text(TABLE_ARN)
    expect(preview.locator(".recommendation")).to_contain_text("Recommended: Assume role")
    expect(preview.locator(".recommendation li").first).to_be_visible()
    verdict = preview.get_by_role("region", name="Will this work?")
    expect(verdict).to_contain_text("Yes: allowed")
    screenshot(page, "wizard")

    search.press("Escape")
    expect(listbox).to_be_hidden()
    page.get_by_role("button", name="Submit request").click()
    expect(page).to_have_url(re.compile(r"/requests/\d+/$"))
    expect(page.locator("h1 .badge")).to_have_text("Pending approval")
    request = AccessRequest.objects.get(pk=int(re.search(r"/requests/(\d+)/", page.url).group(1)))
    assert request.resources == [TABLE_ARN]
    assert set(request.actions) == {*common_reads, "dynamodb:PutItem"}


def test_the_wizard_at_phone_width(portal, new_page):
    from accounts.inventory import inventory_sync

    inventory_sync(account_id=portal.data.pk)
    page = new_page(viewport=PHONE)
    login(page, "alice")
    page.goto("/requests/new/")
    page.get_by_label("Target account").select_option("999999999999")
    expect(page.locator("#inventory-state")).to_contain_text("Inventory of data synced")
    search = page.get_by_role("combobox", name="Find in the inventory")
    search.fill("my")
    listbox = page.get_by_role("listbox", name="Inventory suggestions")
    expect(listbox.get_by_role("option")).to_have_count(6)
    screenshot(page, "wizard-phone")
    search.press("End")
    search.press("Enter")
    expect(page.get_by_label("Resources")).not_to_have_value("")
    search.fill("nothing-like-this")
    expect(listbox).to_contain_text("Nothing in the inventory matches")
    search.press("Enter")  # never submits the form from the search box
    search.press("Escape")
    expect(listbox).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/requests/new/$"))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways at phone width ({width}px)"


@pytest.fixture
def axe_page(browser, live_server):
    """A page that lets the injected axe script run (the portal's CSP allows its own only)."""
    context = browser.new_context(base_url=live_server.url, bypass_csp=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_the_open_suggestion_lists_are_accessible(portal, axe_page):
    from accounts.inventory import inventory_sync
    from tests.browser.test_accessibility import assert_accessible

    inventory_sync(account_id=portal.data.pk)
    page = axe_page
    login(page, "alice")
    page.goto("/requests/new/")
    page.get_by_label("Source account").select_option("111111111111")
    page.get_by_label("Target account").select_option("999999999999")
    search = page.get_by_role("combobox", name="Find in the inventory")
    search.fill("my")
    expect(page.get_by_role("listbox", name="Inventory suggestions")).to_be_visible()
    search.press("ArrowDown")
    assert_accessible(page)
    search.press("Enter")
    actions = page.get_by_role("combobox", name="Find an IAM action")
    actions.fill("Get")
    expect(page.get_by_role("listbox", name="Catalog suggestions")).to_be_visible()
    actions.press("ArrowDown")
    actions.press("Enter")
    assert_accessible(page)


def test_without_javascript_the_textareas_still_make_the_request(portal, browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        login(page, "alice")
        page.goto("/requests/new/")
        expect(page.locator("#resource-picker")).to_be_hidden()
        expect(page.locator("#action-picker")).to_be_hidden()
        page.get_by_label("Source account").select_option("111111111111")
        page.get_by_label("Target account").select_option("999999999999")
        page.get_by_label("Resources").fill(TABLE_ARN)
        page.get_by_label("Actions").fill("dynamodb:GetItem")
        page.get_by_label("Justification").fill("Read MyTable")
        page.get_by_role("button", name="Submit request").click()
        expect(page).to_have_url(re.compile(r"/requests/\d+/$"))
        expect(page.locator("h1 .badge")).to_have_text("Pending approval")
    finally:
        context.close()
