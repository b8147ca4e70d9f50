"""What notification emails and webhook messages say, and what they never say."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from access_requests.models import AccessRequest
from accounts.models import Account
from notifications import messages
from provisioning.models import Grant
from tests.factories import TABLE_ARN

BASE = "https://portal.example.com"
EXTERNAL_ID = "3f1e0c0ffee0ddba11deadbeef123456"
NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def _request(**overrides) -> AccessRequest:
    fields = {
        "pk": 42,
        "requester": User(username="alice", email="alice@example.com"),
        "source_account": Account(account_id="111111111111", name="dev"),
        "source_principal": "arn:aws:iam::111111111111:root",
        "target_account": Account(account_id="999999999999", name="data"),
        "actions": ["dynamodb:GetItem", "dynamodb:Query"],
        "resources": [TABLE_ARN],
        "mechanism": "assume_role",
        "duration": 7200,
        "justification": "Monthly report <b>Q2</b> & more",
        "ticket": "OPS-7",
        "third_party": True,
        "external_id": EXTERNAL_ID,
        "documents": {"trust_policy": {"document": {"Condition": {"sts:ExternalId": EXTERNAL_ID}}}},
        "status": "pending",
    }
    return AccessRequest(**(fields | overrides))


def _grant(**overrides) -> Grant:
    fields = {
        "pk": 7,
        "access_request_id": 42,
        "external_id": EXTERNAL_ID,
        "expires_at": NOW + timedelta(minutes=45),
        "last_error": f"AccessDenied: trust policy with ExternalId {EXTERNAL_ID} refused",
        "drift": [
            {
                "what": "inline policy extra added to the role",
                "expected": {"sts:ExternalId": EXTERNAL_ID},
                "found": "arn:aws:iam::999999999999:policy/Leaked",
            }
        ],
        "written": {"trust_policy": {"sts:ExternalId": EXTERNAL_ID}},
    }
    return Grant(**(fields | overrides))


def _facts(access_request=None, grant=None, reason="Too broad for a report") -> messages.Facts:
    access_request = access_request or _request()
    grant = grant if grant is not None else _grant()
    return messages.facts_from(access_request, grant=grant, reason=reason, now=NOW)


@pytest.mark.parametrize("event", sorted(messages.EVENTS))
def test_every_event_names_the_request_links_to_it_and_leaks_nothing(event):
    if event.startswith("extension."):
        number = 43  # an extension is a request of its own, linked to the grant it extends
        facts = _facts(_request(pk=number, extends=_grant(access_request_id=41)))
    else:
        number = 42
        facts = _facts()
    email = messages.email(event, facts, base_url=BASE)
    payload = messages.webhook_payload(event, facts, base_url=BASE)
    everything = email.subject + email.body + json.dumps(payload)

    assert email.subject.startswith("[Access portal] ")
    assert f"#{number}" in email.subject
    assert "None" not in everything
    assert "\n" not in email.subject
    assert f"{BASE}/requests/{number}/" in email.body
    for fact in (
        "dev (111111111111)",
        "data (999999999999)",
        "Assume role",
        "dynamodb:GetItem",
        "dynamodb:Query",
        TABLE_ARN,
        "alice",
        "OPS-7",
        "2 hours",
    ):
        assert fact in email.body, fact
    assert EXTERNAL_ID not in everything
    assert "ExternalId" not in everything.replace("ExternalId [redacted]", "")
    assert "Leaked" not in everything
    assert "SecretAccessKey" not in everything
    assert f"<{BASE}/requests/{number}/|Request #{number}>" in payload["text"]


def test_submitted_asks_the_approvers_to_decide():
    email = messages.email("request.submitted", _facts(), base_url=BASE)
    assert email.subject == (
        "[Access portal] Request #42 awaits your approval: alice to data (999999999999)"
    )
    assert "alice asks for access to data (999999999999) from dev (111111111111)" in email.body
    assert "Monthly report <b>Q2</b> & more" in email.body  # plain text: shown as typed


def test_what_the_requester_typed_cannot_pass_for_a_line_of_the_email():
    """A justification or ticket holding a line of the email's own (its link, a field) is quoted
    or kept on one line: the link to the request is the portal's, once."""
    forged = "Open the request: https://portal.example.com.evil.test/requests/42/"
    access_request = _request(
        justification=f"Monthly report\n\n{forged}\nSource account: prod",
        ticket=f"OPS-7\n{forged}",
    )
    body = messages.email("request.submitted", _facts(access_request), base_url=BASE).body
    lines = body.splitlines()
    assert [line for line in lines if line.startswith("Open the request:")] == [
        f"Open the request: {BASE}/requests/42/"
    ]
    assert [line for line in lines if line.startswith("Source account:")] == [
        "Source account: dev (111111111111)"
    ]
    assert f"> {forged}" in lines
    assert f"Ticket: OPS-7 {forged}" in lines


def test_rejected_gives_the_reason():
    email = messages.email("request.rejected", _facts(reason="Use the replica"), base_url=BASE)
    assert email.subject == "[Access portal] Request #42 rejected"
    assert "Reason: Use the replica" in email.body


def test_failed_gives_the_error_without_the_external_id():
    email = messages.email("grant.failed", _facts(), base_url=BASE)
    assert "Error: AccessDenied: trust policy with ExternalId [redacted] refused" in email.body


def test_activated_and_expiring_give_the_time():
    activated = messages.email("grant.activated", _facts(), base_url=BASE)
    assert "active until 2030-05-01 12:45 UTC" in activated.body
    expiring = messages.email("grant.expiring", _facts(), base_url=BASE)
    assert expiring.subject == "[Access portal] Access ends in 45 minutes: request #42"
    assert "ends at 2030-05-01 12:45 UTC, in 45 minutes" in expiring.body


def test_drifted_lists_what_changed_but_not_the_documents():
    email = messages.email("grant.drifted", _facts(), base_url=BASE)
    assert "  - inline policy extra added to the role" in email.body
    assert "Leaked" not in email.body


def test_changes_found_at_removal_are_listed_for_the_approvers():
    found = [
        "arn:aws:iam::999999999999:role/portal/portal-access-42: managed policy "
        "arn:aws:iam::999999999999:policy/Backdoor attached to the role",
        f"arn:aws:s3:::mybucket: statement Backdoor was added by someone else: {EXTERNAL_ID}",
    ]
    facts = _facts(grant=_grant(removal_found=found))
    email = messages.email("grant.revoke_found_changes", facts, base_url=BASE)
    assert email.subject == (
        "[Access portal] Request #42: removing the grant found changes made outside the portal"
    )
    assert f"  - {found[0]}" in email.body
    assert "statement Backdoor was added by someone else: [redacted]" in email.body
    assert messages.EVENTS["grant.revoke_found_changes"] == messages.APPROVERS


def test_extension_messages_name_the_original_request():
    original = _grant(pk=7, access_request_id=41, expires_at=NOW + timedelta(hours=3))
    extension = _request(pk=43, duration=3600, extends=original)
    facts = messages.facts_from(extension, grant=original, reason="Not now", now=NOW)

    submitted = messages.email("extension.submitted", facts, base_url=BASE)
    assert submitted.subject == (
        "[Access portal] Extension #43 of request #41 awaits your approval"
    )
    assert "asks for 1 hour more on the access of request #41" in submitted.body
    assert f"{BASE}/requests/43/" in submitted.body
    assert f"Original request: {BASE}/requests/41/" in submitted.body

    applied = messages.email("extension.applied", facts, base_url=BASE)
    assert applied.subject == (
        "[Access portal] Extension #43 approved: request #41 now ends 2030-05-01 15:00 UTC"
    )

    rejected = messages.email("extension.rejected", facts, base_url=BASE)
    assert "Reason: Not now" in rejected.body
    assert "keeps running until 2030-05-01 15:00 UTC" in rejected.body


def test_webhook_payload_is_slack_text_with_markup_escaped():
    request = _request(target_account=Account(account_id="999999999999", name="<data & co>"))
    payload = messages.webhook_payload("request.submitted", _facts(request), base_url=BASE)
    assert set(payload) == {"text"}
    text = payload["text"]
    assert text.startswith("Request #42 awaits your approval: alice to &lt;data &amp; co&gt;")
    assert "2 action(s) on 1 resource(s)" in text
    assert "<data" not in text
    assert json.loads(json.dumps(payload)) == payload


def test_a_request_without_a_grant_still_builds():
    facts = messages.facts_from(_request(), grant=None, now=NOW)
    email = messages.email("grant.expiring", facts, base_url=BASE + "/")
    assert email.subject == "[Access portal] Access ends soon: request #42"
    assert "Your access ends soon." in email.body
    assert f"{BASE}/requests/42/" in email.body
    assert facts.drift == ()
    assert facts.last_error == ""


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (30, "less than a minute"),
        (60, "1 minute"),
        (2700, "45 minutes"),
        (3600, "1 hour"),
        (3900, "1 hour 5 minutes"),
        (86400, "1 day"),
        (2 * 86400 + 3 * 3600 + 59, "2 days 3 hours"),
    ],
)
def test_human_duration(seconds, text):
    assert messages.human_duration(seconds) == text


def test_an_unknown_event_is_a_programming_error_in_the_builders():
    with pytest.raises(ValueError, match="unknown notification event"):
        messages.email("request.exploded", _facts(), base_url=BASE)
