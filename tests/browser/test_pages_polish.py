"""The request page's timeline and resource policy diff, live updates without a reload, and the
session page's copy buttons, countdown and role-chaining message, as people see them."""

import json
import re

import pytest
from playwright.sync_api import Page, expect

from access_requests.services import access_request_approve
from aws import emulator_client
from provisioning.services import grant_revoke_request
from tests.browser.conftest import PHONE, login, screenshot
from tests.factories import submitted

pytestmark = pytest.mark.django_db(transaction=True)

LIVE_UPDATE = 30_000  # ms
BUCKET_OBJECTS = "arn:aws:s3:::mybucket/*"
ORDERS_ARN = "arn:aws:dynamodb:eu-central-1:222222222222:table/Orders"


def csp_violations(page: Page) -> list[str]:
    """Collects what the Content-Security-Policy blocked on this page (inline script or style)."""
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return blocked


def timeline(page: Page):
    return page.locator("ol.timeline > li")


def bucket_request(portal):
    """The article's second scenario: alice's own identity reads mybucket's objects, through
    a statement in the bucket policy beside the existing AuditorsReadReports."""
    return submitted(
        portal,
        actions=["s3:GetObject"],
        resources=[BUCKET_OBJECTS],
        access_via="own_identity",
        justification="Load the partner files into the warehouse",
    )


def diff_lines(page: Page) -> list[str]:
    """Every line of the first diff, in order, each with the sign a person sees."""
    return page.locator("pre.diff").first.locator("ins, del, .d-same").all_inner_texts()


def documents_of(lines: list[str]) -> tuple[dict, dict]:
    """The documents before (unchanged and removed lines) and after (unchanged and added)."""
    before = "\n".join(line[2:] for line in lines if line[0] in " -")
    after = "\n".join(line[2:] for line in lines if line[0] in " +")
    return json.loads(before), json.loads(after)


def test_resource_policy_diff_and_timeline_update_live(portal, new_page):
    access_request = bucket_request(portal)
    statement = access_request.documents["resource_policy:arn:aws:s3:::mybucket"]["document"]
    sid = statement["Sid"]
    alice = new_page()
    blocked = csp_violations(alice)
    login(alice, "alice")
    alice.goto(f"/requests/{access_request.pk}/")
    expect(alice.locator("h1 .badge")).to_have_text("Pending approval")

    # The timeline: submitted by alice, then what comes next.
    expect(timeline(alice).first).to_contain_text("Submitted by alice")
    expect(timeline(alice).last).to_contain_text("Waiting for approval")
    expect(timeline(alice).last).to_contain_text("Waiting for 1 more approval of data")

    # The whole bucket policy names who else has access: alice sees only her statement.
    expect(alice.get_by_role("heading", name="Resource policy: before and after")).to_have_count(0)

    # bob, who decides, sees the whole bucket policy: the statement already there unchanged, the
    # portal's added, and each added line carries a "+" sign, not only a colour.
    bob = new_page()
    login(bob, "bob")
    bob.goto(f"/requests/{access_request.pk}/")
    diff = bob.get_by_role("heading", name=re.compile("Resource policy: before and after"))
    expect(diff).to_be_visible()
    lines = diff_lines(bob)
    assert all(line[:2] in ("+ ", "- ", "  ") for line in lines), lines
    added = [line for line in lines if line.startswith("+")]
    assert added and not [line for line in lines if line.startswith("-")]
    assert any(f'"Sid": "{sid}"' in line for line in added)
    assert not any("AuditorsReadReports" in line for line in added)
    # Before: the bucket policy as AWS holds it; after: the same, plus the portal's statement.
    before, after = documents_of(lines)
    assert [s["Sid"] for s in before["Statement"]] == ["AuditorsReadReports"]
    assert after["Statement"][0] == before["Statement"][0]
    assert after["Statement"][1:] == [statement]
    expect(bob.locator(".policy-diff")).to_contain_text(
        "The statement already there stays as it is"
    )
    screenshot(bob, "resource-policy-diff")

    bob.get_by_label("Comment").fill("Fine for the quarter")
    bob.on("dialog", lambda dialog: dialog.accept())
    bob.get_by_role("button", name="Approve").click()
    expect(bob.get_by_text("Your approval is recorded.")).to_be_visible()

    # alice's page follows by itself: approval with its approver and comment, provisioning,
    # verification, active, and the time left.
    expect(alice.locator("h1 .badge")).to_have_text("Active", timeout=LIVE_UPDATE)
    entries = timeline(alice)
    expect(entries.filter(has_text="Approved by bob")).to_contain_text("Fine for the quarter")
    titles = [t.split(" by ")[0] for t in alice.locator("ol.timeline .tl-title").all_inner_texts()]
    assert titles == [
        "Submitted",
        "Approved",
        "Approval complete",
        "Provisioning started",
        "Verified",
        "Active",
    ], titles
    expect(alice.locator(".time-left .countdown")).to_have_text(re.compile(r"^00:5\d:\d\d$"))
    screenshot(alice, "request-timeline")
    # Active: bob's diff now reads the policy AWS holds, with the portal's statement in it.
    bob.reload()
    expect(bob.locator("h1 .badge")).to_have_text("Active")
    before, after = documents_of(diff_lines(bob))
    assert [s["Sid"] for s in before["Statement"]] == ["AuditorsReadReports"]
    assert after["Statement"][1:] == [statement]

    # The request list: both of alice's requests with their status, searchable.
    submitted(
        portal,
        target_account=portal.prod,
        resources=[ORDERS_ARN],
        justification="Check one order",
        ticket="OPS-7",
    )
    alice.get_by_role("navigation", name="Main").get_by_role("link", name="Requests").click()
    expect(alice.get_by_role("link", name="Requests")).to_have_attribute("aria-current", "page")
    rows = alice.locator("table.list tbody tr")
    expect(rows).to_have_count(2)
    screenshot(alice, "request-list")
    alice.get_by_label("Search").fill("OPS-7")
    alice.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Pending approval")
    assert not blocked, blocked

    # Revoked, the bucket policy is again exactly the one AWS held before: the portal takes out
    # only its own statement (and later tests find mybucket as the demo world made it).
    access_request.refresh_from_db()
    grant_revoke_request(grant=access_request.grant, user=portal.bob)
    alice.goto(f"/requests/{access_request.pk}/")
    expect(alice.locator("h1 .badge")).to_have_text("Revoked", timeout=LIVE_UPDATE)
    s3 = emulator_client("s3", account_id=portal.data.account_id)
    assert json.loads(s3.get_bucket_policy(Bucket="mybucket")["Policy"]) == before


def test_an_approval_short_of_the_quorum_shows_up_without_a_reload(portal, new_page):
    """prod needs two approvals: bob's first one does not change the status, yet alice's page
    shows it in the timeline by itself."""
    access_request = submitted(
        portal, target_account=portal.prod, resources=[ORDERS_ARN], justification="Check one order"
    )
    alice = new_page()
    login(alice, "alice")
    alice.goto(f"/requests/{access_request.pk}/")
    expect(timeline(alice).last).to_contain_text("Waiting for approval")
    expect(timeline(alice).filter(has_text="Approved by bob")).to_have_count(0)

    access_request_approve(access_request=access_request, approver=portal.bob, comment="One of two")
    expect(timeline(alice).filter(has_text="Approved by bob")).to_contain_text(
        "One of two", timeout=LIVE_UPDATE
    )
    expect(alice.locator("h1 .badge")).to_have_text("Pending approval")


def test_rejection_reason_and_revocation_are_in_the_timeline(portal, new_page, active_request):

    alice = new_page()
    login(alice, "alice")
    alice.goto(f"/requests/{active_request.pk}/")
    expect(alice.locator("h1 .badge")).to_have_text("Active")
    grant_revoke_request(grant=active_request.grant, user=portal.bob)
    expect(alice.locator("h1 .badge")).to_have_text("Revoked", timeout=LIVE_UPDATE)
    expect(timeline(alice).filter(has_text="Revoke asked by bob")).to_have_count(1)
    revoked = timeline(alice).filter(has_text="Revoked")
    expect(revoked).to_contain_text(f"portal-access-{active_request.pk}")


def test_session_page_copy_countdown_and_role_chaining(active_request, page):
    """A grant of 8 hours: its sessions still last one hour, and the page says why."""
    from datetime import timedelta

    from django.utils import timezone

    from provisioning.models import Grant

    Grant.objects.filter(pk=active_request.grant.pk).update(
        expires_at=timezone.now() + timedelta(hours=8)
    )
    blocked = csp_violations(page)
    login(page, "alice")
    page.goto(f"/grants/{active_request.grant.pk}/session/")
    # Before the session: why it lasts at most an hour.
    expect(page.locator(".session-cap")).to_contain_text("role chaining")
    expect(page.locator(".session-cap")).to_contain_text("1 hour")
    page.get_by_role("button", name="Start session").click()

    expect(page.locator(".session-cap")).to_contain_text("role chaining")
    countdown = page.locator(".session-summary .countdown")
    expect(countdown).to_have_text(re.compile(r"^00:5\d:\d\d$"))
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first)  # it counts down while the page is open

    fish_tab = page.get_by_role("tab", name="fish")
    fish_tab.click()
    fish = page.get_by_role("tabpanel", name="fish")
    copy = fish.locator("button.copy")
    expect(copy).to_have_accessible_name(re.compile("Copy"))
    copy.click()
    expect(copy).to_have_text("Copied")
    expect(page.locator("[aria-live=polite]")).to_have_text("Copied to the clipboard")
    assert (
        page.evaluate("navigator.clipboard.readText()") == page.locator("#cred-fish").inner_text()
    )
    expect(copy).to_have_text(re.compile("^Copy"), timeout=5_000)  # and back

    # Home and End jump to the first and the last tab (the WAI-ARIA tabs pattern).
    fish_tab.focus()
    page.keyboard.press("End")
    expect(page.get_by_role("tab", name="~/.aws/config profile")).to_be_focused()
    expect(page.locator("#panel-config")).to_be_visible()
    page.keyboard.press("Home")
    expect(page.get_by_role("tab", name="bash / zsh")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#panel-bash")).to_be_visible()
    assert not blocked, blocked


def test_request_page_with_timeline_fits_a_phone(portal, new_page, active_request):
    from tests.browser.test_layout import assert_fits

    page = new_page(viewport=PHONE)
    login(page, "alice")
    page.goto(f"/requests/{active_request.pk}/")
    expect(timeline(page).filter(has_text="Verified")).to_have_count(1)
    assert_fits(page)
    for url in ("/dashboard/", "/requests/", "/audit/"):
        page.goto(url)
        assert_fits(page)
    page.goto("/dashboard/")
    screenshot(page, "dashboard-phone")
    page.goto(f"/grants/{active_request.grant.pk}/session/")
    page.get_by_role("button", name="Start session").click()
    assert_fits(page)
    screenshot(page, "session-phone")

    bob = new_page(viewport=PHONE)
    login(bob, "bob")
    submitted(portal, justification="Read MyTable")
    bob.goto("/inbox/")
    expect(bob.locator(".inbox-item")).to_have_count(1)
    assert_fits(bob)


def test_policy_diff_lines_mark_every_line_added_removed_or_kept():
    from access_requests.policy_changes import policy_diff_lines

    kept = {"Sid": "Theirs", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}
    before = {"Version": "2012-10-17", "Statement": [kept, {"Sid": "Old", "Effect": "Deny"}]}
    after = {"Version": "2012-10-17", "Statement": [kept, {"Sid": "New", "Effect": "Allow"}]}
    lines = policy_diff_lines(before, after)
    assert [line.text for line in lines if line.sign in " -"] == json.dumps(
        before, indent=2
    ).splitlines()
    assert [line.text for line in lines if line.sign in " +"] == json.dumps(
        after, indent=2
    ).splitlines()
    removed = [line.text.strip() for line in lines if line.sign == "-"]
    added = [line.text.strip() for line in lines if line.sign == "+"]
    assert removed == ['"Sid": "Old",', '"Effect": "Deny"']
    assert added == ['"Sid": "New",', '"Effect": "Allow"']
    # No policy yet: every line of the new one is added.
    created = policy_diff_lines(None, after)
    assert {line.sign for line in created} == {"+"}


def test_the_diff_says_why_when_the_policy_cannot_be_read(portal, client):
    access_request = bucket_request(portal)
    portal.data.__class__.objects.filter(pk=portal.data.pk).update(managed=False)
    client.force_login(portal.bob)
    html = client.get(f"/requests/{access_request.pk}/").content.decode()
    assert "Resource policy: before and after" in html
    assert "The portal does not manage this account, so it cannot read the policy." in html
    assert 'class="diff"' not in html
