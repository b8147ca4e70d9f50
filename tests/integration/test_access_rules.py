"""Access rules end to end (SPEC 10.2) with the real worker, the emulator and real SMTP: alice's
sandbox read is active with no human; what no rule allows is refused before any AWS call and
leaves nothing behind; alice's prod break-glass is active at once, announced, and reviewed by bob.
"""

import pytest

from access_requests.models import AccessRequest, Approval
from audit.models import AuditEvent
from aws import emulator_client
from provisioning.models import Grant
from tests.api.conftest import api_for
from tests.support import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

SANDBOX = "555555555555"
PROD = "222222222222"
SCRATCH = f"arn:aws:dynamodb:eu-central-1:{SANDBOX}:table/Scratch"
ORDERS = f"arn:aws:dynamodb:eu-central-1:{PROD}:table/Orders"
HOUR = 3600


def _body(**overrides) -> dict:
    return {
        "source_account": "111111111111",
        "target_account": SANDBOX,
        "actions": ["dynamodb:GetItem", "dynamodb:Query"],
        "resources": [SCRATCH],
        "duration": HOUR,
        "justification": "Try a query shape",
    } | overrides


def _active(pk: int) -> AccessRequest:
    wait_until(
        lambda: AccessRequest.objects.get(pk=pk).status in ("active", "failed"),
        timeout=60,
        what="provisioning",
    )
    return AccessRequest.objects.get(pk=pk)


def _mails(smtp_server, subject: str, *, count: int):
    return wait_until(
        lambda: (found := smtp_server.matching(subject)) and len(found) >= count and found,
        timeout=60,
        what=f"{count} mail(s) with {subject!r}",
    )


def test_alices_sandbox_read_is_active_with_no_human(aws_demo, worker, smtp_server):
    response = api_for(aws_demo.alice).post("/api/v1/requests/", _body(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] in ("approved", "provisioning", "active")  # the worker is quick
    assert body["approved_by_rule"] == "sandbox-read"
    assert body["approvals"] == [] and body["review_status"] == ""

    access_request = _active(body["id"])
    grant = Grant.objects.get(access_request=access_request)
    assert access_request.status == "active", grant.last_error
    assert not Approval.objects.filter(access_request=access_request).exists()
    [event] = AuditEvent.objects.filter(
        access_request_id=access_request.pk, verb="request.auto_approved"
    )
    assert event.actor is None  # no human
    assert event.after["rule"] == "sandbox-read" and event.after["status"] == "approved"
    # The role is really in the sandbox account, with what was asked for.
    iam = emulator_client("iam", account_id=SANDBOX)
    assert iam.get_role(RoleName=grant.role_name)["Role"]["Arn"] == grant.role_arn
    mails = _mails(
        smtp_server, f"Request #{access_request.pk} approved by rule sandbox-read", count=1
    )
    assert mails[0].rcpt_tos == ["alice@example.com"]
    assert "without a human" in mails[0].body


def _portal_roles(account_id: str) -> set[str]:
    iam = emulator_client("iam", account_id=account_id)
    return {role["RoleName"] for role in iam.list_roles(PathPrefix="/portal/")["Roles"]}


REFUSED = {
    "put-item-on-the-sandbox": (
        "alice",
        _body(actions=["dynamodb:GetItem", "dynamodb:PutItem"]),
        400,
        "actions",
        ["No rule lets you ask for dynamodb:PutItem in sandbox (555555555555)", "sandbox-read"],
    ),
    "eight-hours-on-the-sandbox": (
        "alice",
        _body(duration=8 * HOUR),
        400,
        "duration",
        ["at most 4 h (sandbox-read)"],
    ),
    "dave-on-the-sandbox": (
        "dave",
        _body(),
        403,
        "",
        ["No access rule lets dave (in no requester group) ask for access to sandbox"],
    ),
    "dave-on-data": (
        "dave",
        _body(
            target_account="999999999999",
            resources=["arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"],
        ),
        403,
        "",
        ["No access rule lets dave (in no requester group) ask for access to data"],
    ),
    "alice-break-glass-on-the-sandbox": (
        "alice",
        _body(break_glass=True),
        403,
        "",
        ["ask for break-glass access to sandbox"],
    ),
    "alice-break-glass-beyond-an-hour": (
        "alice",
        _body(target_account=PROD, resources=[ORDERS], duration=2 * HOUR, break_glass=True),
        400,
        "duration",
        ["at most 1 h (prod-breakglass)"],
    ),
}


@pytest.mark.parametrize(("who", "body", "status", "field", "says"), REFUSED.values(), ids=REFUSED)
def test_what_no_rule_allows_is_refused_and_nothing_is_written(
    aws_demo, worker, who, body, status, field, says
):
    roles_before = _portal_roles(body["target_account"])
    response = api_for(getattr(aws_demo, who)).post("/api/v1/requests/", body, format="json")
    assert response.status_code == status, response.content
    answer = response.json()
    text = " ".join(answer[field]) if field else answer["detail"]
    for phrase in says:
        assert phrase in text, text
    assert not AccessRequest.objects.exists()
    assert not Grant.objects.exists()
    assert not AuditEvent.objects.filter(verb__startswith="request.").exists()
    assert _portal_roles(body["target_account"]) == roles_before


OBJECT = "arn:aws:s3:::mybucket/README.txt"  # S3 ARNs carry no account: its owner is looked up


OBJECT = "arn:aws:s3:::mybucket/README.txt"  # S3 ARNs carry no account: its owner is looked up


@pytest.mark.parametrize("who", ["alice", "dave"])
def test_the_refusal_comes_before_any_aws_call(demo, settings, who):
    """With AWS unreachable (a closed port), the rules still answer, and only they: they made no
    AWS call. An S3 request the rules allow needs AWS (the bucket's owner is looked up), so the
    port is really closed."""
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"
    if who == "alice":  # a write to the sandbox: sandbox-read has Read and List only
        refused = _body(actions=["s3:PutObject"], resources=[OBJECT])
    else:
        refused = _body(target_account="999999999999", actions=["s3:GetObject"], resources=[OBJECT])
    response = api_for(getattr(demo, who)).post("/api/v1/requests/", refused, format="json")
    assert response.status_code == (400 if who == "alice" else 403), response.content
    assert "rule" in response.content.decode() and "AWS" not in response.content.decode()
    allowed = _body(target_account="999999999999", actions=["s3:GetObject"], resources=[OBJECT])
    answer = api_for(demo.alice).post("/api/v1/requests/", allowed, format="json")
    assert answer.status_code == 400 and "AWS did not answer" in answer.json()["resources"][0]
    assert not AccessRequest.objects.exists()


def test_alices_prod_break_glass_is_active_at_once_announced_and_reviewed_by_bob(
    aws_demo, worker, smtp_server
):
    body = _body(
        target_account=PROD,
        resources=[ORDERS],
        actions=["dynamodb:GetItem"],
        break_glass=True,
        justification="INC-42: orders stuck",
    )
    response = api_for(aws_demo.alice).post("/api/v1/requests/", body, format="json")
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["status"] in ("approved", "provisioning", "active")
    assert answer["break_glass"] is True
    assert answer["approved_by_rule"] == "prod-breakglass"
    assert answer["review_status"] == "pending_review"
    pk = answer["id"]
    access_request = _active(pk)
    assert access_request.status == "active", access_request.grant.last_error
    assert not Approval.objects.filter(access_request_id=pk).exists()  # prod's two: none needed
    assert AuditEvent.objects.filter(access_request_id=pk, verb="request.break_glass").exists()

    # Approvers and admins are told at once, by mail.
    mails = _mails(smtp_server, f"Break-glass: alice in prod ({PROD}) (request #{pk})", count=3)
    assert sorted(to for mail in mails for to in mail.rcpt_tos) == [
        "admin@example.com",
        "bob@example.com",
        "carol@example.com",
    ]
    # It waits in bob's inbox under "to review", and on his dashboard.
    client = _web(aws_demo.bob)
    inbox = client.get("/inbox/").content.decode()
    assert "To review" in inbox and f"/requests/{pk}/" in inbox
    assert "Break-glass to review" in client.get("/dashboard/").content.decode()

    # alice cannot review her own; dave sees nothing of it; bob reviews.
    assert api_for(aws_demo.alice).post(f"/api/v1/requests/{pk}/review/").status_code == 403
    assert api_for(aws_demo.dave).post(f"/api/v1/requests/{pk}/review/").status_code == 404
    reviewed = api_for(aws_demo.bob).post(
        f"/api/v1/requests/{pk}/review/", {"comment": "INC-42 confirmed"}, format="json"
    )
    assert reviewed.status_code == 200, reviewed.content
    assert reviewed.json()["review_status"] == "reviewed"
    assert reviewed.json()["reviewed_by"] == "bob"
    again = api_for(aws_demo.carol).post(f"/api/v1/requests/{pk}/review/")
    assert again.status_code == 409
    [event] = AuditEvent.objects.filter(access_request_id=pk, verb="request.reviewed")
    assert event.actor == aws_demo.bob and event.after["comment"] == "INC-42 confirmed"
    assert f"/requests/{pk}/" not in client.get("/inbox/").content.decode()
    assert AccessRequest.objects.get(pk=pk).status == "active"  # reviewed, still running


def _web(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client
