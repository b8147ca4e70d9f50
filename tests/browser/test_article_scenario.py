"""The article's first scenario as people live it in the browser: alice asks for MyTable, bob
approves, the worker provisions, alice takes a session and reads the table with its credentials."""

import json
import re

import boto3
import pytest
from playwright.sync_api import Page, expect

from access_requests.models import AccessRequest
from tests.browser.conftest import login, screenshot
from tests.factories import TABLE_ARN, submitted

pytestmark = pytest.mark.django_db(transaction=True)

WRONG_TABLE_ARN = "arn:aws:dynamodb:eu-central-1:999999999999:table:MyTable"  # the article's typo
LIVE_UPDATE = 30_000  # ms: a worker provisions within seconds; the page polls every 1.5 s

TABS = [
    "bash / zsh",
    "fish",
    "PowerShell",
    "~/.aws/credentials",
    "credential_process",
    "~/.aws/config profile",
]


def status_badge(page: Page):
    return page.locator("h1 .badge")


def fill_request(page: Page, *, actions: str, resources: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Request access").click()
    expect(page.get_by_role("heading", name="Request access", level=1)).to_be_visible()
    page.get_by_label("Source account").select_option("111111111111")
    page.get_by_label("Target account").select_option("999999999999")
    page.get_by_label("Actions").fill(actions)
    page.get_by_label("Resources").fill(resources)
    page.get_by_label("Justification").fill("Read MyTable for the quarterly report")


def document(scope, title: str):
    """The JSON of one policy document, found by its heading."""
    section = scope.locator("section.document").filter(
        has=scope.page.get_by_role("heading", name=title)
    )
    return section.locator("pre.json")


def documents(scope) -> dict[str, dict]:
    """Every policy document shown in `scope`, parsed, by its heading (without the account)."""
    shown = {}
    sections = scope.locator("section.document")
    for index in range(sections.count()):
        section = sections.nth(index)
        title = section.locator("h3").inner_text().split("·")[0].strip()
        shown[title] = json.loads(section.locator("pre.json").inner_text())
    return shown


def field_errors(page: Page, field_id: str):
    """The error messages shown in the field box of one input: next to it, not only at the top."""
    return page.locator(".field", has=page.locator(f"#{field_id}")).locator(".error")


def bash_exports(text: str) -> dict[str, str]:
    return dict(re.findall(r"^export (\w+)=(\S+)$", text, flags=re.MULTILINE))


def test_request_approve_session_get_item(portal, new_page, emulator):
    alice = new_page()
    alice.goto("/")
    expect(alice).to_have_url(re.compile(r"/accounts/login/"))
    screenshot(alice, "login")
    login(alice, "alice")

    fill_request(alice, actions="dynamodb:GetItem", resources=TABLE_ARN)
    preview = alice.locator("#preview")
    trust = document(preview, "Trust policy")
    expect(trust).to_contain_text("sts:AssumeRole")
    # A portal session's role trusts the broker, for alice alone.
    expect(trust).to_contain_text("arn:aws:iam::111111111111:role/PortalBroker")
    expect(trust).to_contain_text('"sts:SourceIdentity": "alice"')
    permission = document(preview, "Permission policy")
    expect(permission).to_contain_text("dynamodb:GetItem")
    expect(permission).to_contain_text(TABLE_ARN)
    source_side = document(preview, "Source-side identity policy")
    expect(source_side).to_contain_text("sts:AssumeRole")
    expect(source_side).to_contain_text("arn:aws:iam::999999999999:role/")
    expect(preview.locator(".msg-error")).to_have_count(0)
    screenshot(alice, "request-form")

    alice.get_by_role("button", name="Submit request").click()
    expect(alice).to_have_url(re.compile(r"/requests/\d+/$"))
    expect(status_badge(alice)).to_have_text("Pending approval")
    request_id = int(re.search(r"/requests/(\d+)/", alice.url).group(1))
    assert AccessRequest.objects.get(pk=request_id).requester == portal.alice

    bob = new_page()
    login(bob, "bob")
    bob.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
    expect(bob.get_by_role("heading", name="Waiting for your approval")).to_be_visible()
    card = bob.locator(".inbox-item").filter(has=bob.get_by_role("link", name=f"#{request_id}"))
    expect(card).to_contain_text("alice")
    expect(card).to_contain_text("dynamodb:GetItem")
    expect(card).to_contain_text("only a role can be assumed")
    screenshot(bob, "approvals")

    dialogs: list[str] = []

    def accept(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    bob.on("dialog", accept)
    card.get_by_role("button", name="Approve").click()
    expect(bob.get_by_text("Your approval is recorded.")).to_be_visible()
    assert dialogs and dialogs[0].startswith(f"Approve #{request_id}? The portal will write:")
    assert "Trust policy (999999999999)" in dialogs[0]

    # alice never reloads: her page polls the status and reloads itself.
    expect(status_badge(alice)).to_have_text("Active", timeout=LIVE_UPDATE)
    grant = alice.locator("#grant")
    expect(grant).to_contain_text(
        f"arn:aws:iam::999999999999:role/portal/portal-access-{request_id}"
    )
    expect(grant).to_contain_text("every document matches what was approved")
    screenshot(alice, "request-active")

    with alice.expect_response(lambda r: r.url.endswith("/session/")) as session_get:
        alice.get_by_role("link", name="Start session").click()
    assert "no-store" in session_get.value.headers["cache-control"]
    with alice.expect_response(
        lambda r: r.url.endswith("/session/") and r.request.method == "POST"
    ) as session_post:
        alice.get_by_role("button", name="Start session").click()
    assert session_post.value.status == 200
    assert "no-store" in session_post.value.headers["cache-control"]

    tabs = alice.get_by_role("tab")
    expect(tabs).to_have_text(TABS)
    expect(alice.get_by_role("tab", name="bash / zsh")).to_have_attribute("aria-selected", "true")
    expect(alice.locator(".session-summary")).to_contain_text("assumed-role")
    expect(alice.locator(".session-summary .countdown")).to_have_text(re.compile(r"\d\d:\d\d:\d\d"))
    screenshot(alice, "session")

    alice.bring_to_front()  # the clipboard serves the focused page only, as in a real browser
    bash = alice.get_by_role("tabpanel", name="bash / zsh")
    copy = bash.locator("button.copy")  # found by its class: its name changes to "Copied"
    expect(copy).to_have_text("Copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    exports_text = alice.locator("#cred-bash").inner_text()
    assert alice.evaluate("navigator.clipboard.readText()") == exports_text
    exports = bash_exports(exports_text)

    session = boto3.Session(
        aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=exports["AWS_SESSION_TOKEN"],
        region_name=exports["AWS_REGION"],
    )
    identity = session.client("sts", endpoint_url=emulator.url).get_caller_identity()
    assert identity["Account"] == "999999999999"
    assert ":assumed-role/" in identity["Arn"] and identity["Arn"].endswith("/alice")
    item = session.client(
        "dynamodb", endpoint_url=emulator.url, region_name="eu-central-1"
    ).get_item(TableName="MyTable", Key={"id": {"S": "1"}})
    assert item["Item"]["id"] == {"S": "1"}


def test_the_preview_is_what_is_written(aws_demo, page):
    """The requester's live preview shows exactly the documents the approver sees and the portal
    writes, up to the request number that only exists after submitting."""
    login(page, "alice")
    fill_request(page, actions="dynamodb:GetItem", resources=TABLE_ARN)
    expect(document(page.locator("#preview"), "Permission policy")).to_contain_text(TABLE_ARN)
    previewed = documents(page.locator("#preview"))
    assert set(previewed) == {"Trust policy", "Permission policy", "Source-side identity policy"}

    page.get_by_role("button", name="Submit request").click()
    expect(status_badge(page)).to_have_text("Pending approval")
    request_id = int(re.search(r"/requests/(\d+)/", page.url).group(1))
    written = documents(page.locator("main"))
    expected = json.loads(json.dumps(previewed).replace("<id>", str(request_id)))
    assert set(written) == set(expected)
    for title, document_written in written.items():
        assert document_written == expected[title], (
            f"The {title} previewed differs from the one written.\n"
            f"Previewed: {json.dumps(expected[title], sort_keys=True)}\n"
            f"Written:   {json.dumps(document_written, sort_keys=True)}"
        )


def test_bad_action_and_wrong_arn_are_shown_next_to_their_fields(portal, page):
    login(page, "alice")
    fill_request(page, actions="dynamodb:GetItemz", resources=WRONG_TABLE_ARN)
    with page.expect_response(lambda r: r.url.endswith("/requests/new/")) as response:
        page.get_by_role("button", name="Submit request").click()
    assert response.value.status == 400
    screenshot(page, "request-errors")

    expect(field_errors(page, "id_actions")).not_to_have_count(0)
    expect(field_errors(page, "id_actions").first).to_contain_text("dynamodb:GetItemz")
    expect(field_errors(page, "id_resources")).to_contain_text(f"Did you mean {TABLE_ARN}?")
    # What she typed is kept, so she can correct it.
    expect(page.get_by_label("Actions")).to_have_value("dynamodb:GetItemz")
    expect(page.get_by_label("Resources")).to_have_value(WRONG_TABLE_ARN)
    assert not AccessRequest.objects.exists()


def test_rejection_with_a_reason(portal, new_page):

    access_request = submitted(portal, justification="Read MyTable")
    alice = new_page()
    login(alice, "alice")
    alice.goto(f"/requests/{access_request.pk}/")
    expect(status_badge(alice)).to_have_text("Pending approval")

    bob = new_page()
    login(bob, "bob")
    bob.goto(f"/requests/{access_request.pk}/")
    reason = "Use the reporting replica instead of MyTable"
    bob.get_by_label("Reason for rejecting").fill(reason)
    bob.get_by_role("button", name="Reject").click()
    expect(bob.get_by_text("The request is rejected.")).to_be_visible()

    expect(status_badge(alice)).to_have_text("Rejected", timeout=LIVE_UPDATE)
    expect(alice.locator("main")).to_contain_text(reason)
    expect(alice.get_by_role("link", name="Start session")).to_have_count(0)


def test_revoke_updates_the_page_live(active_request, page):
    login(page, "alice")
    page.goto(f"/requests/{active_request.pk}/")
    expect(status_badge(page)).to_have_text("Active")

    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("Revoking: the portal removes exactly what it wrote.")).to_be_visible()
    expect(status_badge(page)).to_have_text("Revoked", timeout=LIVE_UPDATE)
    assert dialogs and dialogs[0].startswith("Revoke this grant?")
    expect(page.get_by_role("link", name="Start session")).to_have_count(0)
    expect(page.get_by_role("button", name="Revoke")).to_have_count(0)


def test_session_tabs_work_with_the_keyboard(active_request, page):
    login(page, "alice")
    page.goto(f"/grants/{active_request.grant.pk}/session/")
    page.get_by_role("button", name="Start session").click()

    bash = page.get_by_role("tab", name="bash / zsh")
    fish = page.get_by_role("tab", name="fish")
    config = page.get_by_role("tab", name="~/.aws/config profile")
    bash.focus()
    page.keyboard.press("ArrowRight")
    expect(fish).to_be_focused()
    expect(fish).to_have_attribute("aria-selected", "true")
    expect(bash).to_have_attribute("aria-selected", "false")
    expect(page.locator("#panel-fish")).to_be_visible()
    expect(page.locator("#panel-bash")).to_be_hidden()
    expect(page.locator("#cred-fish")).to_contain_text("set -gx AWS_ACCESS_KEY_ID ")

    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")  # wraps around to the last tab
    expect(config).to_be_focused()
    expect(config).to_have_attribute("aria-selected", "true")
    # The role trusts the broker for alice only: the profile asks the portal for sessions.
    expect(page.locator("#cred-config")).to_contain_text(
        f"credential_process = portal-cli creds --grant {active_request.grant.pk} --format process"
    )
    # Only the selected tab is in the Tab order (the WAI-ARIA tabs pattern).
    expect(page.locator("[role=tab][tabindex='0']")).to_have_count(1)
