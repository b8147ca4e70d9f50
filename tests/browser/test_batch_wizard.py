"""The wizard for several accounts in Chromium: alice asks for MyTable in data and prod at once,
sees each account's documents, submits, and finds the two requests side by side."""

import re

import pytest
from playwright.sync_api import expect

from access_requests.models import AccessRequest
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.django_db(transaction=True)

IN_EACH = "arn:aws:dynamodb:eu-central-1:${Account}:table/MyTable"


def test_alice_asks_for_two_accounts_and_sees_them_together(aws_demo, live_server, page):
    login(page, "alice")
    page.goto("/requests/new/")
    page.get_by_label("Source account").select_option("111111111111")
    page.get_by_label("Target account").select_option("999999999999")
    more = page.get_by_role("group", name="Also in these accounts")
    more.get_by_label("prod (222222222222)").check()
    page.get_by_label("Resources").fill(IN_EACH)
    page.get_by_label("Actions").fill("dynamodb:GetItem")
    page.get_by_label("Justification").fill("Read MyTable in data and prod")

    preview = page.locator("#preview")
    data = preview.get_by_role("heading", name="data (999999999999): what will be written")
    prod = preview.get_by_role("heading", name="prod (222222222222): what will be written")
    expect(data).to_be_visible()
    expect(prod).to_be_visible()
    expect(preview.locator("#preview-222222222222")).to_contain_text(
        "arn:aws:dynamodb:eu-central-1:222222222222:table/MyTable"
    )
    expect(preview.locator("#preview-999999999999")).to_contain_text(
        "arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"
    )
    screenshot(page, "wizard-accounts")

    page.get_by_role("button", name="Submit request").click()
    expect(page).to_have_url(re.compile(r"/requests/\d+/$"))
    first, second = AccessRequest.objects.order_by("id")
    assert first.batch == second.batch is not None
    together = page.get_by_role("region", name="Submitted together")
    expect(together).to_contain_text("prod")
    together.get_by_role("link", name=f"#{second.pk}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Request #{second.pk}")
    expect(page.get_by_role("region", name="Submitted together")).to_contain_text(f"#{first.pk}")


def test_a_picked_resource_stands_for_each_account_once_more_are_ticked(
    aws_demo, live_server, page
):
    """With prod ticked, the inventory's MyTable goes in as ${Account}'s MyTable, and its common
    reads are still one click away."""
    from accounts.inventory import inventory_sync

    inventory_sync(account_id=aws_demo.data.pk)
    login(page, "alice")
    page.goto("/requests/new/")
    page.get_by_label("Source account").select_option("111111111111")
    page.get_by_label("Target account").select_option("999999999999")
    page.get_by_role("group", name="Also in these accounts").get_by_label(
        "prod (222222222222)"
    ).check()
    search = page.get_by_role("combobox", name="Find in the inventory")
    search.fill("MyT")
    option = page.get_by_role("listbox", name="Inventory suggestions").get_by_role("option")
    expect(option.filter(has_text="MyTable")).to_have_count(1)
    search.press("ArrowDown")
    search.press("Enter")
    expect(page.get_by_label("Resources")).to_have_value(IN_EACH)
    page.get_by_role("button", name="Add the common reads").click()
    expect(page.get_by_label("Actions")).to_have_value(re.compile(r"dynamodb:GetItem"))
    page.get_by_label("Justification").fill("Read MyTable in data and prod")
    expect(page.locator("#preview-222222222222")).to_contain_text(
        "arn:aws:dynamodb:eu-central-1:222222222222:table/MyTable"
    )
