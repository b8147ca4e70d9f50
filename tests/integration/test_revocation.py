"""Revocation that cannot be blocked, on a real worker and the emulator: a role someone retagged
and hung policies on is still revoked completely, with the deny on its older sessions written
before anything is taken off it; a statement someone added to the bucket policy during the grant
is reported and left in place; and the account's approvers get an email about both.

The worker talks to the emulator through a proxy (tests.support.FaultProxy) that, just before
each of the worker's IAM calls on the role reaches the emulator, reads the role as the emulator
holds it at that moment: the order of the revoke's steps is observed in AWS itself, not in our
code. (The emulator does not enforce aws:TokenIssueTime; what matters is that the deny is on the
role before anything is removed.)"""

import json
import threading
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qs

import pytest
from botocore.exceptions import ClientError

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from audit.models import AuditEvent
from aws import emulator_client
from policy.builders import REVOKE_SESSIONS_POLICY_NAME
from provisioning import sessions
from provisioning.models import Grant
from provisioning.services import grant_revoke_request
from tests.factories import submitted
from tests.support import FaultProxy, Worker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

DATA = "999999999999"
ANALYST = "arn:aws:iam::111111111111:role/DataAnalyst"
APPROVERS = ["bob@example.com", "carol@example.com"]
WIDE = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
# The IAM calls that change the role, as the revoke makes them.
ROLE_WRITES = {
    "PutRolePolicy",
    "DeleteRolePolicy",
    "DetachRolePolicy",
    "RemoveRoleFromInstanceProfile",
    "DeleteRole",
}


@pytest.fixture
def proxied_worker(celery_worker_process, worker_env, emulator, transactional_db):
    """This test's own worker, whose AWS calls go through a proxy the test can watch."""
    celery_worker_process.stop()  # the `worker` fixture starts it again for the next test
    proxy = FaultProxy(emulator.port)
    worker = Worker(worker_env | {"AWS_ENDPOINT_URL": proxy.url}, name="revocation").start()
    yield proxy
    worker.stop()
    proxy.stop()


def _status(access_request: AccessRequest) -> str:
    access_request.refresh_from_db()
    return access_request.status


def _active(demo, **fields) -> AccessRequest:
    access_request = submitted(demo, **({"justification": "revocation on the worker"} | fields))
    access_request_approve(access_request=access_request, approver=demo.bob)
    wait_until(lambda: _status(access_request) in ("active", "failed"), what="provisioning")
    assert _status(access_request) == "active", Grant.objects.get(
        access_request=access_request
    ).last_error
    return access_request


def _revoked(demo, access_request: AccessRequest) -> AuditEvent:
    grant_revoke_request(grant=access_request.grant, user=demo.alice)
    wait_until(lambda: _status(access_request) == "revoked", timeout=60, what="the revoke")
    return AuditEvent.objects.get(access_request=access_request, verb="grant.revoked")


def _approvers_mail(smtp_server, request_id: int) -> list:
    subject = f"Request #{request_id}: removing the grant found changes"
    mails = wait_until(
        lambda: (found := smtp_server.matching(subject)) and len(found) >= 2 and found,
        timeout=60,
        what="the approvers' mail",
    )
    assert sorted(to for mail in mails for to in mail.rcpt_tos) == APPROVERS
    return mails


class RoleWatch:
    """Called by the proxy before each request: for the worker's IAM writes on one role, records
    the call and the inline policies the role holds in the emulator at that moment."""

    def __init__(self, role_name: str) -> None:
        self.role_name = role_name
        self.iam = emulator_client("iam", account_id=DATA, region="us-east-1")
        self.steps: list[dict] = []
        self.lock = threading.Lock()

    def __call__(self, method: str, path: str, body: bytes) -> None:
        params = {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
        if params.get("Action") not in ROLE_WRITES or params.get("RoleName") != self.role_name:
            return
        try:
            holds = self.iam.list_role_policies(RoleName=self.role_name)["PolicyNames"]
        except ClientError:
            holds = None
        with self.lock:
            self.steps.append({**params, "role holds": holds})


def test_a_retagged_role_with_policies_hung_on_it_is_revoked_completely_sessions_denied_first(
    aws_demo, proxied_worker, smtp_server
):
    access_request = _active(aws_demo)
    grant = access_request.grant
    name, arn = grant.role_name, grant.role_arn
    _session, issue, _why = sessions.session_start(grant_id=grant.pk, user=aws_demo.alice)

    iam = emulator_client("iam", account_id=DATA, region="us-east-1")
    iam.tag_role(RoleName=name, Tags=[{"Key": "portal:request-id", "Value": "0"}])
    backdoor = iam.create_policy(
        PolicyName=f"Backdoor-{uuid.uuid4().hex[:8]}", PolicyDocument=WIDE
    )["Policy"]
    iam.attach_role_policy(RoleName=name, PolicyArn=backdoor["Arn"])
    iam.put_role_policy(RoleName=name, PolicyName="added-by-hand", PolicyDocument=WIDE)

    watch = RoleWatch(name)
    proxied_worker.before = watch
    event = _revoked(aws_demo, access_request)
    revoked_at = datetime.now(UTC)

    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.get_role(RoleName=name)
    assert iam.get_policy(PolicyArn=backdoor["Arn"])["Policy"]["AttachmentCount"] == 0

    # The order, as the emulator saw it: the deny first, then everything off the role while the
    # deny is on it, then the deny itself (DeleteRole needs every inline policy gone), the role.
    steps = [(s["Action"], s.get("PolicyName") or s.get("PolicyArn")) for s in watch.steps]
    assert steps[0] == ("PutRolePolicy", REVOKE_SESSIONS_POLICY_NAME), steps
    assert set(steps[1:-2]) == {
        ("DetachRolePolicy", backdoor["Arn"]),
        ("DeleteRolePolicy", name),
        ("DeleteRolePolicy", "added-by-hand"),
    }, steps
    assert steps[-2:] == [("DeleteRolePolicy", REVOKE_SESSIONS_POLICY_NAME), ("DeleteRole", None)]
    for step in watch.steps[1:-1]:
        assert REVOKE_SESSIONS_POLICY_NAME in step["role holds"], step
    assert watch.steps[-1]["role holds"] == []  # DeleteRole on a role with nothing left
    # The deny: everything, for sessions issued before the revoke (alice's among them).
    deny = json.loads(watch.steps[0]["PolicyDocument"])["Statement"][0]
    assert (deny["Effect"], deny["Action"], deny["Resource"]) == ("Deny", "*", "*")
    cutoff = datetime.fromisoformat(deny["Condition"]["DateLessThan"]["aws:TokenIssueTime"])
    assert issue.issued_at < cutoff
    assert cutoff.timestamp() <= revoked_at.timestamp() + 1

    assert event.after["found"] == [
        f"{arn}: inline policy added-by-hand added to the role",
        f"{arn}: managed policy {backdoor['Arn']} attached to the role",
        f"{arn}: tag portal:request-id changed: the portal wrote '{access_request.pk}', found '0'",
    ]
    mails = _approvers_mail(smtp_server, access_request.pk)
    assert f"  - {arn}: managed policy {backdoor['Arn']} attached to the role" in mails[0].body


def test_a_statement_added_to_the_bucket_policy_during_the_grant_is_reported_and_left(
    aws_demo, proxied_worker, smtp_server
):
    s3 = emulator_client("s3", account_id=DATA, region="eu-central-1")
    original = s3.get_bucket_policy(Bucket="mybucket")["Policy"]
    access_request = _active(
        aws_demo,
        access_via="own_identity",
        source_principal=ANALYST,
        actions=["s3:GetObject"],
        resources=["arn:aws:s3:::mybucket/revocation/*"],
    )
    backdoor = {
        "Sid": "Backdoor",
        "Effect": "Allow",
        "Principal": {"AWS": ANALYST},
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::mybucket", "arn:aws:s3:::mybucket/*"],
    }
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket="mybucket")["Policy"])
        s3.put_bucket_policy(
            Bucket="mybucket",
            Policy=json.dumps(policy | {"Statement": [*policy["Statement"], backdoor]}),
        )
        event = _revoked(aws_demo, access_request)

        after = json.loads(s3.get_bucket_policy(Bucket="mybucket")["Policy"])["Statement"]
        assert f"PortalAccess{access_request.pk}" not in [s.get("Sid") for s in after]
        assert backdoor in after  # not the portal's to remove
        (found,) = event.after["found"]
        assert found.startswith(
            "arn:aws:s3:::mybucket: statement Backdoor was added by someone else during the "
            "grant and left in place: "
        )
        assert json.loads(found.split("left in place: ", 1)[1]) == backdoor
        mails = _approvers_mail(smtp_server, access_request.pk)
        assert "statement Backdoor was added by someone else" in mails[0].body
    finally:
        s3.put_bucket_policy(Bucket="mybucket", Policy=original)
