"""Approving from Slack, on real parts: the worker posts the Block Kit message to a local stand-in
for Slack's Web API, clicks come back signed exactly as Slack signs them, and the same decision
service as the web records (or refuses) them; the message is then updated in place."""

import json
import re
import time
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import reverse

from access_requests.models import AccessRequest, Approval
from accounts.profiles import UserProfile
from notifications import slack, slack_blocks
from notifications.models import SlackMessage
from tests.blockkit_html import message_html
from tests.factories import TABLE_ARN, submitted
from tests.slack_standin import (
    BOT_TOKEN,
    SIGNING_SECRET,
    click,
    form_body,
    reject_submission,
    signed_headers,
)
from tests.support import wait_until

CHANNEL = "C0DATAAPPR"
BOB, CAROL, ALICE, STRANGER = "U0BOB", "U0CAROL", "U0ALICE", "U0NOBODY"
URL = "/integrations/slack/interactions/"


@pytest.fixture
def slack_world(demo, slack_standin):
    """The data account's approvers' channel is CHANNEL; bob, carol and alice are linked to
    their Slack member ids; this process talks to the stand-in as the worker does."""
    demo.data.slack_channel_id = CHANNEL
    demo.data.save(update_fields=["slack_channel_id"])
    for user, member in ((demo.bob, BOB), (demo.carol, CAROL), (demo.alice, ALICE)):
        UserProfile.objects.create(user=user, slack_user_id=member)
    with override_settings(
        PORTAL_SLACK_API_URL=slack_standin.url,
        PORTAL_SLACK_BOT_TOKEN=BOT_TOKEN,
        PORTAL_SLACK_SIGNING_SECRET=SIGNING_SECRET,
    ):
        yield demo


def _posted(standin, access_request):
    """The approval message the worker posted for the request, as the stand-in received it."""
    call = standin.wait_for(
        "chat.postMessage",
        lambda c: f"#{access_request.pk}:" in c.arguments["text"],
        channel=CHANNEL,
    )
    # The worker records the message's address once Slack has answered: a moment later.
    row = wait_until(
        lambda: SlackMessage.objects.filter(access_request=access_request).first(),
        timeout=10,
        what="the message's address",
    )
    return call.arguments, row


def _send(client, payload: dict, **headers):
    body = form_body(payload)
    return client.post(
        URL,
        data=body,
        content_type="application/x-www-form-urlencoded",
        **(headers or signed_headers(body)),
    )


def _told(standin, row, member: str, access_request):
    """The answer only `member` sees, about this request (the stand-in serves the session)."""
    return standin.wait_for(
        "chat.postEphemeral",
        lambda c: re.search(rf"#{access_request.pk}\b", c.arguments["text"]),
        channel=row.channel,
        user=member,
    )


def _updated(standin, row, text: str):
    def shows(call) -> bool:
        return text in json.dumps(call.arguments["blocks"])

    return standin.wait_for("chat.update", shows, channel=row.channel, ts=row.ts)


@pytest.mark.django_db(transaction=True)
def test_a_signed_click_by_bob_approves_and_the_message_shows_it(
    slack_world, worker, slack_standin, client
):
    access_request = submitted(slack_world)
    message, row = _posted(slack_standin, access_request)
    blocks = message["blocks"]
    actions = next(block for block in blocks if block["type"] == "actions")
    assert [e.get("value") for e in actions["elements"][:2]] == [str(access_request.pk)] * 2
    assert actions["block_id"] == f"decide:{access_request.documents_hash}"
    assert "`dynamodb:GetItem`" in json.dumps(blocks)
    assert "Read MyTable for the report" in json.dumps(blocks)

    answer = _send(
        client, click(message, channel=row.channel, ts=row.ts, user=BOB, action_id="approve")
    )

    assert answer.status_code == 200
    approval = Approval.objects.get(access_request=access_request)
    assert (approval.approver, approval.decision) == (slack_world.bob, "approve")
    assert approval.documents_hash == access_request.documents_hash
    access_request.refresh_from_db()
    assert access_request.status != "pending"  # data needs one approval: approved, provisioning
    update = _updated(slack_standin, row, "*Approved* by bob")
    assert not any(block["type"] == "actions" for block in update.arguments["blocks"])
    told = _told(slack_standin, row, BOB, access_request)
    assert told.arguments["text"] == f"You approved request #{access_request.pk}."


@pytest.mark.django_db(transaction=True)
def test_alice_clicking_approve_on_her_own_request_records_nothing(
    slack_world, worker, slack_standin, client
):
    access_request = submitted(slack_world)
    message, row = _posted(slack_standin, access_request)

    answer = _send(
        client, click(message, channel=row.channel, ts=row.ts, user=ALICE, action_id="approve")
    )

    assert answer.status_code == 200
    assert not Approval.objects.filter(access_request=access_request).exists()
    assert AccessRequest.objects.get(pk=access_request.pk).status == "pending"
    told = _told(slack_standin, row, ALICE, access_request)
    assert "You cannot decide on your own request." in told.arguments["text"]


@pytest.mark.django_db(transaction=True)
def test_an_unknown_slack_member_is_told_and_nothing_is_recorded(
    slack_world, worker, slack_standin, client
):
    access_request = submitted(slack_world)
    message, row = _posted(slack_standin, access_request)

    answer = _send(
        client,
        click(message, channel=row.channel, ts=row.ts, user=STRANGER, action_id="approve"),
    )

    assert answer.status_code == 200
    assert not Approval.objects.filter(access_request=access_request).exists()
    told = slack_standin.wait_for("chat.postEphemeral", channel=row.channel, user=STRANGER)
    assert "not linked to a portal user" in told.arguments["text"]


@pytest.mark.django_db(transaction=True)
def test_reject_opens_the_modal_and_its_submission_rejects_with_the_reason(
    slack_world, worker, slack_standin, client
):
    access_request = submitted(slack_world)
    message, row = _posted(slack_standin, access_request)
    trigger = click(message, channel=row.channel, ts=row.ts, user=CAROL, action_id="reject")

    assert _send(client, trigger).status_code == 200
    opened = slack_standin.wait_for(
        "views.open", lambda c: c.arguments["trigger_id"] == trigger["trigger_id"]
    )
    view = opened.arguments["view"]
    assert json.loads(view["private_metadata"])["request"] == access_request.pk
    assert not Approval.objects.filter(access_request=access_request).exists()

    empty = _send(client, reject_submission(view, user=CAROL, reason="  "))
    assert empty.json() == {
        "response_action": "errors",
        "errors": {"reason": "Say why you reject the request."},
    }
    assert AccessRequest.objects.get(pk=access_request.pk).status == "pending"

    done = _send(client, reject_submission(view, user=CAROL, reason="Use the replica table."))
    assert done.status_code == 200 and done.content == b""
    access_request.refresh_from_db()
    assert access_request.status == "rejected"
    assert Approval.objects.get(access_request=access_request).comment == "Use the replica table."
    _updated(slack_standin, row, "*Rejected* by carol")


@pytest.mark.django_db(transaction=True)
def test_a_click_on_a_message_about_changed_documents_is_refused(
    slack_world, worker, slack_standin, client
):
    from access_requests.services import access_request_edit

    access_request = submitted(slack_world)
    message, row = _posted(slack_standin, access_request)
    access_request_edit(
        access_request=access_request,
        user=slack_world.alice,
        actions=["dynamodb:GetItem"],
        resources=[TABLE_ARN],
        duration=7200,
        justification="Read MyTable for the report",
    )

    _send(client, click(message, channel=row.channel, ts=row.ts, user=BOB, action_id="approve"))

    assert not Approval.objects.filter(access_request=access_request).exists()
    told = _told(slack_standin, row, BOB, access_request)
    assert "changed since" in told.arguments["text"]


def _bob_click(demo) -> tuple[AccessRequest, bytes]:
    """A click by bob on the message of a fresh request, built as the worker would post it."""
    access_request = submitted(demo)
    message = slack.message_for(AccessRequest.objects.get(pk=access_request.pk))
    payload = click(message, channel=CHANNEL, ts="1700000000.000100", user=BOB, action_id="approve")
    return access_request, form_body(payload)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(
            lambda body: signed_headers(body, secret="not-the-secret"), id="bad-signature"
        ),
        pytest.param(
            lambda body: signed_headers(body, timestamp=int(time.time()) - 301), id="replay-5min"
        ),
        pytest.param(
            lambda body: signed_headers(body, timestamp=int(time.time()) + 301), id="future"
        ),
        pytest.param(lambda body: {}, id="unsigned"),
        pytest.param(
            lambda body: {**signed_headers(body), "HTTP_X_SLACK_REQUEST_TIMESTAMP": "soon"},
            id="bad-timestamp",
        ),
        pytest.param(
            lambda body: {**signed_headers(body), "HTTP_X_SLACK_SIGNATURE": "v0=été"},
            id="non-ascii-signature",
        ),
    ],
)
def test_a_click_not_signed_by_slack_within_five_minutes_is_a_401_and_records_nothing(
    slack_world, client, headers
):
    access_request, body = _bob_click(slack_world)

    answer = client.post(
        URL, data=body, content_type="application/x-www-form-urlencoded", **headers(body)
    )

    assert answer.status_code == 401
    assert not Approval.objects.filter(access_request=access_request).exists()


def test_a_tampered_body_under_a_valid_signature_is_a_401(slack_world, client):
    access_request, body = _bob_click(slack_world)
    headers = signed_headers(body)
    tampered = body.replace(b"U0BOB", b"U0CAROL")

    answer = client.post(
        URL, data=tampered, content_type="application/x-www-form-urlencoded", **headers
    )

    assert answer.status_code == 401
    assert not Approval.objects.filter(access_request=access_request).exists()


def test_a_signed_click_is_accepted_within_the_window(slack_world, client):
    """The same click, signed 4 minutes ago: inside Slack's five minutes, it counts."""
    access_request, body = _bob_click(slack_world)

    answer = client.post(
        URL,
        data=body,
        content_type="application/x-www-form-urlencoded",
        **signed_headers(body, timestamp=int(time.time()) - 240),
    )

    assert answer.status_code == 200
    assert Approval.objects.get(access_request=access_request).approver == slack_world.bob


def test_signed_garbage_is_a_400_and_no_secret_means_404(slack_world, client):
    body = b"payload=not-json"
    answer = client.post(
        URL, data=body, content_type="application/x-www-form-urlencoded", **signed_headers(body)
    )
    assert answer.status_code == 400
    for payload in (
        {"type": "block_actions", "actions": [{"action_id": "approve"}]},
        {"type": "block_actions", "actions": []},
        {"type": "block_actions", "actions": [{"action_id": "approve", "value": "x"}]},
        {"type": "view_submission", "view": {"callback_id": "reject", "private_metadata": "{"}},
        {"type": "view_submission", "view": {"callback_id": "reject"}},
    ):
        odd = form_body(payload)
        answer = client.post(
            URL, data=odd, content_type="application/x-www-form-urlencoded", **signed_headers(odd)
        )
        assert answer.status_code == 400, payload
    with override_settings(PORTAL_SLACK_SIGNING_SECRET=""):
        assert client.post(URL, data=body, content_type="text/plain").status_code == 404
    assert client.get(URL).status_code == 405
    assert reverse("slack_interactions") == URL


def test_the_message_escapes_what_people_typed(slack_world):
    access_request = submitted(slack_world, justification="Ping <!channel> & <https://x.test|y>")
    message = slack.message_for(AccessRequest.objects.get(pk=access_request.pk))
    text = json.dumps(message["blocks"])
    assert "<!channel>" not in text
    assert "&lt;!channel&gt; &amp; &lt;https://x.test|y&gt;" in text


def test_what_people_typed_cannot_pass_for_a_line_of_the_message(slack_world):
    """mrkdwn has no escape for *bold*, so the justification is quoted line by line and the
    ticket kept on one line: a requester cannot write "*Approved* by carol" under its own
    heading, nor a fake field."""
    access_request = submitted(
        slack_world,
        justification="Need it.\n\n:white_check_mark: *Approved* by carol\n*Ticket*\nOPS-9",
        ticket="OPS-1\n*Approved by* carol",
    )
    message = slack.message_for(AccessRequest.objects.get(pk=access_request.pk))
    texts = [
        line
        for block in message["blocks"]
        for text in [block.get("text", {}), *block.get("fields", [])]
        if text.get("type") == "mrkdwn"
        for line in text["text"].split("\n")
    ]
    assert ">:white_check_mark: *Approved* by carol" in texts
    assert ">*Ticket*" in texts
    assert ":white_check_mark: *Approved* by carol" not in texts
    assert "OPS-1 *Approved by* carol" in texts
    assert "*Approved by* carol" not in texts


APP_ROLE = "arn:aws:iam::999999999999:role/SomeAppRole"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _picture(browser, blocks: list, name: str) -> None:
    """The message as the stand-in received it, rendered like Slack shows it, for the docs."""
    page = browser.new_page(viewport={"width": 800, "height": 600})
    try:
        page.set_content(message_html(blocks))
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    finally:
        page.close()


@pytest.mark.django_db(transaction=True)
def test_an_escalation_needs_an_admins_click_too_and_the_message_shows_each_vote(
    slack_world, worker, slack_standin, client, browser
):
    UserProfile.objects.create(user=slack_world.admin, slack_user_id="U0ADMIN")
    access_request = submitted(
        slack_world,
        actions=["dynamodb:GetItem", "iam:PassRole"],
        resources=[TABLE_ARN, APP_ROLE],
        justification="Deploy the report job: it runs as SomeAppRole",
    )
    message, row = _posted(slack_standin, access_request)
    text = json.dumps(message["blocks"])
    assert "Privilege escalation: a platform admin must approve as well." in text
    assert "*Findings*" in text and "iam:PassRole" in text
    _picture(browser, message["blocks"], "slack-approval")

    _send(client, click(message, channel=row.channel, ts=row.ts, user=BOB, action_id="approve"))

    assert AccessRequest.objects.get(pk=access_request.pk).status == "pending"
    waiting = _updated(slack_standin, row, "Approved so far by bob")
    assert any(block["type"] == "actions" for block in waiting.arguments["blocks"])

    _send(
        client, click(message, channel=row.channel, ts=row.ts, user="U0ADMIN", action_id="approve")
    )

    assert AccessRequest.objects.get(pk=access_request.pk).status != "pending"
    done = _updated(slack_standin, row, "*Approved* by bob and admin")
    _picture(browser, done.arguments["blocks"], "slack-approved")


def test_a_platform_admin_links_a_slack_member_in_the_admin_and_it_is_audited(demo, client):
    from audit.models import AuditEvent
    from tests.audit.test_admin_changes import form_of, save

    client.force_login(demo.admin)
    url = f"/admin/auth/user/{demo.bob.pk}/change/"
    data = form_of(client, url)
    assert "profile-0-slack_user_id" in data

    data["profile-0-slack_user_id"] = ["not an id"]
    refused = client.post(url, {**data, "_save": "Save"})
    assert refused.status_code == 200 and "Slack member id looks like" in refused.content.decode()
    assert not UserProfile.objects.exists()

    data["profile-0-slack_user_id"] = [BOB]
    save(client, url, data)

    assert UserProfile.objects.get(user=demo.bob).slack_user_id == BOB
    event = AuditEvent.objects.get(verb="admin.user.slack_user_id_changed")
    assert (event.actor, event.before, event.after) == (
        demo.admin,
        {"slack_user_id": None},
        {"slack_user_id": BOB},
    )
    from accounts.selectors import user_by_slack_id

    assert user_by_slack_id(BOB) == demo.bob
    demo.bob.is_active = False
    demo.bob.save(update_fields=["is_active"])
    assert user_by_slack_id(BOB) is None  # a leaver's clicks count as no one's


@pytest.mark.django_db(transaction=True)
def test_decisions_made_in_the_portal_update_the_slack_message_too(
    slack_world, worker, slack_standin
):
    from access_requests.services import access_request_approve, access_request_cancel

    approved = submitted(slack_world)
    _message, row = _posted(slack_standin, approved)
    access_request_approve(access_request=approved, approver=slack_world.carol)
    _updated(slack_standin, row, "*Approved* by carol")

    cancelled = submitted(slack_world)
    _message, row = _posted(slack_standin, cancelled)
    access_request_cancel(access_request=cancelled, user=slack_world.alice)
    _updated(slack_standin, row, "*Cancelled* by alice")


@pytest.mark.django_db(transaction=True)
def test_without_a_channel_each_linked_approver_gets_a_direct_message(
    slack_world, worker, slack_standin, client
):
    slack_world.data.slack_channel_id = ""
    slack_world.data.save(update_fields=["slack_channel_id"])
    access_request = submitted(slack_world)

    def posted_to(member: str):
        return slack_standin.wait_for(
            "chat.postMessage",
            lambda c: f"#{access_request.pk}:" in c.arguments["text"],
            channel=member,
        )

    to_bob, _to_carol = posted_to(BOB), posted_to(CAROL)
    # The row is saved once Slack has answered the post: wait for both.
    wait_until(
        lambda: SlackMessage.objects.filter(access_request=access_request).count() == 2,
        what="both messages recorded",
    )
    rows = {row.channel: row for row in SlackMessage.objects.filter(access_request=access_request)}
    assert set(rows) == {"D0BOB", "D0CAROL"}  # the app's direct messages with each approver
    # Never to the requester, though she is linked too.
    assert not slack_standin.of("chat.postMessage", channel=ALICE)

    bob_row = rows["D0BOB"]
    _send(
        client,
        click(
            to_bob.arguments, channel=bob_row.channel, ts=bob_row.ts, user=BOB, action_id="approve"
        ),
    )

    for row in rows.values():  # both copies show it
        _updated(slack_standin, row, "*Approved* by bob")


@pytest.mark.django_db(transaction=True)
def test_slack_rate_limiting_the_message_is_retried_and_never_holds_up_the_request(
    slack_world, worker, slack_standin
):
    from notifications.models import Notification

    slack_standin.rate_limited["chat.postMessage"] = 1
    access_request = submitted(slack_world)
    assert AccessRequest.objects.get(pk=access_request.pk).status == "pending"

    _posted(slack_standin, access_request)

    row = Notification.objects.get(access_request=access_request, channel="slack")
    assert (row.recipient, row.attempts, row.error) == (CHANNEL, 2, "")
    assert row.sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_an_approver_who_must_enrol_a_second_factor_is_told_to_and_nothing_is_recorded(
    slack_world, worker, slack_standin, client, settings
):
    """bob has a password and approves: with PORTAL_REQUIRE_MFA on, the web and the token
    endpoint refuse him until he enrols an authenticator app, and so does Slack."""
    settings.PORTAL_REQUIRE_MFA = True
    access_request = submitted(slack_world)
    message, row = _posted(slack_standin, access_request)

    approve = click(message, channel=row.channel, ts=row.ts, user=BOB, action_id="approve")
    assert _send(client, approve).status_code == 200
    reject = click(message, channel=row.channel, ts=row.ts, user=BOB, action_id="reject")
    assert _send(client, reject).status_code == 200
    facts = slack._facts(AccessRequest.objects.get(pk=access_request.pk))
    modal = slack_blocks.reject_modal(
        facts, documents_hash=access_request.documents_hash, channel=row.channel, ts=row.ts
    )
    submission = _send(client, reject_submission(modal, user=BOB, reason="No."))

    assert "two-factor authentication" in submission.json()["errors"]["reason"]
    assert not Approval.objects.filter(access_request=access_request).exists()
    assert AccessRequest.objects.get(pk=access_request.pk).status == "pending"
    assert not [
        call
        for call in slack_standin.of("views.open")
        if json.loads(call.arguments["view"]["private_metadata"])["request"] == access_request.pk
    ]
    told = _told(slack_standin, row, BOB, access_request)
    assert "Set up two-factor authentication in the portal first" in told.arguments["text"]


def test_an_approver_with_an_enrolled_second_factor_decides_from_slack(
    slack_world, client, settings
):
    """Slack's own sign-in is the factor for a click: an enrolled approver's click counts."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.PORTAL_REQUIRE_MFA = True
    TOTPDevice.objects.create(user=slack_world.bob, name="app", confirmed=True)
    access_request, body = _bob_click(slack_world)

    answer = client.post(
        URL, data=body, content_type="application/x-www-form-urlencoded", **signed_headers(body)
    )

    assert answer.status_code == 200
    assert Approval.objects.get(access_request=access_request).approver == slack_world.bob
