"""Revocation that cannot be blocked, in-process against the emulator over HTTP.

The hole this closes: revoke refused to delete the portal's role once someone retagged it, and
DeleteRole failed once a managed policy was attached or an inline policy added: the grant stayed
`revoking` and its role stayed assumable. Now the role's name and path (the portal's own
namespace) are what make it the portal's: revoke denies its older sessions, takes everything off
it, deletes it, and reports what it found to the account's approvers. Statements others added to
a resource policy during the grant are reported too (and left in place).
"""

import json
import uuid
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError
from django.test import Client
from django.urls import reverse

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from audit.models import AuditEvent
from aws import AwsError, emulator_client
from notifications.services import notification_deliver
from policy import builders
from policy.evaluation import PolicySet, RequestContext, evaluate
from policy.resource_policies import statements_added
from provisioning import drift, failure, services
from provisioning.models import Grant
from tests.factories import submitted

DATA = "999999999999"
ANALYST = "arn:aws:iam::111111111111:role/DataAnalyst"
WIDE = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
)


def _iam():
    return emulator_client("iam", account_id=DATA, region="us-east-1")


def _s3():
    return emulator_client("s3", account_id=DATA, region="eu-central-1")


def _status(grant: Grant) -> str:
    return AccessRequest.objects.get(pk=grant.access_request_id).status


def _active(demo, **fields) -> Grant:
    access_request = submitted(demo, **({"justification": "revocation"} | fields))
    access_request_approve(access_request=access_request, approver=demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    services.grant_provision(grant_id=grant.pk)
    grant.refresh_from_db()
    assert _status(grant) == "active", grant.last_error
    return grant


def _tamper(role_name: str) -> tuple[str, str]:
    """What someone with IAM rights in the target account does to the portal's role: retag it,
    attach a managed policy, add an inline policy, put it in an instance profile. Returns the
    managed policy's ARN and the profile's name (unique: the emulator lives for the session)."""
    iam = _iam()
    unique = uuid.uuid4().hex[:8]
    iam.tag_role(RoleName=role_name, Tags=[{"Key": "portal:request-id", "Value": "0"}])
    arn = iam.create_policy(PolicyName=f"Backdoor-{unique}", PolicyDocument=WIDE)["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=role_name, PolicyArn=arn)
    iam.put_role_policy(RoleName=role_name, PolicyName="added-by-hand", PolicyDocument=WIDE)
    iam.create_instance_profile(InstanceProfileName=f"Profile-{unique}")
    iam.add_role_to_instance_profile(InstanceProfileName=f"Profile-{unique}", RoleName=role_name)
    return arn, f"Profile-{unique}"


def test_a_retagged_role_with_policies_attached_and_added_is_revoked_completely(
    aws_demo, mailoutbox, django_capture_on_commit_callbacks
):
    grant = _active(aws_demo)
    role_arn = f"arn:aws:iam::{DATA}:role/portal/{grant.role_name}"
    backdoor, profile_name = _tamper(grant.role_name)

    services.grant_revoke_request(grant=grant, user=aws_demo.alice)
    with django_capture_on_commit_callbacks() as callbacks:
        services.grant_revoke(grant_id=grant.pk)

    assert _status(grant) == "revoked"
    iam = _iam()
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.get_role(RoleName=grant.role_name)
    # The managed policy itself is someone else's: only detached, still there as it was.
    policy = iam.get_policy(PolicyArn=backdoor)["Policy"]
    assert policy["AttachmentCount"] == 0
    version = iam.get_policy_version(PolicyArn=backdoor, VersionId=policy["DefaultVersionId"])
    assert version["PolicyVersion"]["Document"] == json.loads(WIDE)
    profile = iam.get_instance_profile(InstanceProfileName=profile_name)
    assert profile["InstanceProfile"]["Roles"] == []

    event = AuditEvent.objects.get(access_request=grant.access_request, verb="grant.revoked")
    assert set(event.after["removed"]) >= {
        f"{role_arn} managed policy {backdoor} detached (the policy itself is kept)",
        f"{role_arn} inline policy added-by-hand",
        f"{role_arn} inline policy {grant.permission_policy_name}",
        f"{role_arn} taken out of instance profile {profile_name}",
        role_arn,
    }
    assert event.after["found"] == [
        f"{role_arn}: inline policy added-by-hand added to the role",
        f"{role_arn}: managed policy {backdoor} attached to the role",
        f"{role_arn}: role added to instance profile {profile_name}",
        f"{role_arn}: tag portal:request-id changed: the portal wrote "
        f"'{grant.access_request_id}', found '0'",
    ]
    grant.refresh_from_db()
    assert grant.removal_found == event.after["found"]

    # The account's approvers are told (after the commit), with what was found.
    queued = [callback.args[0] for callback in callbacks if getattr(callback, "args", None)]
    assert "grant.revoke_found_changes" in queued
    notification_deliver(
        key="found", event="grant.revoke_found_changes", access_request_id=grant.access_request_id
    )
    assert sorted(to for mail in mailoutbox for to in mail.to) == [
        "bob@example.com",
        "carol@example.com",
    ]
    assert f"  - {role_arn}: managed policy {backdoor} attached to the role" in (mailoutbox[0].body)

    client = Client()
    client.force_login(aws_demo.alice)
    page = client.get(reverse("request_detail", args=[grant.access_request_id])).content.decode()
    assert "Found beyond what the portal wrote" in page and backdoor.rsplit("/", 1)[1] in page
    client.force_login(aws_demo.bob)
    body = client.get(f"/api/v1/grants/{grant.pk}/").json()
    assert body["removal_found"] == event.after["found"]


def test_a_role_revoked_as_written_reports_nothing_and_tells_no_approver(
    aws_demo, django_capture_on_commit_callbacks
):
    grant = _active(aws_demo)
    services.grant_revoke_request(grant=grant, user=aws_demo.alice)
    with django_capture_on_commit_callbacks() as callbacks:
        services.grant_revoke(grant_id=grant.pk)
    event = AuditEvent.objects.get(access_request=grant.access_request, verb="grant.revoked")
    assert event.after["found"] == []
    # The notifications queued after the commit (other callbacks count metrics).
    queued = [
        callback.args[0]
        for callback in callbacks
        if getattr(getattr(callback, "func", None), "__name__", "") == "_enqueue"
    ]
    assert queued == ["grant.revoked"]


def test_a_role_of_the_grants_name_outside_the_portal_path_is_neither_taken_over_nor_deleted(
    aws_demo,
):
    """Role names are unique whatever the path: a role `portal-access-<id>` elsewhere is not the
    portal's. Provisioning refuses to converge it, and removal leaves it alone."""
    access_request = submitted(aws_demo, justification="squatted")
    access_request_approve(access_request=access_request, approver=aws_demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    iam = _iam()
    squatter = iam.create_role(
        RoleName=grant.role_name, Path="/", AssumeRolePolicyDocument=WIDE.replace("s3:*", "*")
    )["Role"]
    try:
        with pytest.raises(AwsError, match="not the portal's") as refused:
            services.grant_provision(grant_id=grant.pk)
        failure.grant_provision_failed(grant_id=grant.pk, message=str(refused.value))
        failure.grant_rollback(grant_id=grant.pk)
        grant.refresh_from_db()
        assert grant.rolled_back_at is not None
        role = iam.get_role(RoleName=grant.role_name)["Role"]
        assert role["Arn"] == squatter["Arn"] and role["Path"] == "/"
        assert role["AssumeRolePolicyDocument"] == json.loads(WIDE.replace("s3:*", "*"))
        assert iam.list_role_policies(RoleName=grant.role_name)["PolicyNames"] == []
        assert grant.removal_found == [
            f"{squatter['Arn']}: a role named {grant.role_name} outside /portal/ is not the "
            "portal's; it was left alone"
        ]
    finally:
        iam.delete_role(RoleName=grant.role_name)


def test_a_role_is_removed_under_the_path_it_was_created_at_after_the_setting_changed(
    aws_demo, settings
):
    grant = _active(aws_demo)
    settings.PORTAL_ROLE_PATH = "/portal-v2/"
    services.grant_revoke_request(grant=grant, user=aws_demo.alice)
    services.grant_revoke(grant_id=grant.pk)
    assert _status(grant) == "revoked"
    with pytest.raises(ClientError, match="NoSuchEntity"):
        _iam().get_role(RoleName=grant.role_name)


def test_the_revoke_policy_denies_sessions_issued_before_it_and_no_later_ones():
    """aws:TokenIssueTime is when the session's credentials were issued; the revoke's deny names
    the moment of the revoke rounded up to a whole second."""
    at = datetime(2030, 5, 1, 12, 0, 7, 250_000, tzinfo=UTC)
    document = builders.revoke_sessions_policy(issued_before=at)
    assert document["Statement"][0]["Condition"] == {
        "DateLessThan": {"aws:TokenIssueTime": "2030-05-01T12:00:08Z"}
    }
    allow = json.loads(WIDE)
    role = f"arn:aws:sts::{DATA}:assumed-role/portal-access-1/alice"

    def decision(issued: str) -> str:
        context = RequestContext(
            principal=role,
            action="s3:GetObject",
            resource="arn:aws:s3:::mybucket/a",
            context={"aws:TokenIssueTime": issued},
        )
        return evaluate(context, PolicySet(identity=[allow, document])).decision

    assert decision("2030-05-01T11:00:00Z") == "ExplicitlyDenied"
    assert decision("2030-05-01T12:00:07Z") == "ExplicitlyDenied"  # the same second as the revoke
    assert decision("2030-05-01T12:00:09Z") == "Allowed"


def test_statements_added_are_those_that_are_new_or_changed_except_the_portals():
    mine = {"Sid": "PortalAccess5", "Effect": "Allow", "Action": "s3:GetObject"}
    kept = {"Sid": "Auditors", "Effect": "Allow", "Action": "s3:GetObject"}
    changed = dict(kept, Action="s3:*")
    backdoor = {"Effect": "Allow", "Action": "s3:*", "Principal": "*"}
    before = {"Statement": [kept, mine]}
    after = {"Statement": [changed, mine, backdoor]}
    assert statements_added(before, after, "PortalAccess5") == [changed, backdoor]
    assert statements_added(before, before, "PortalAccess5") == []


def _bucket_statements() -> list[dict]:
    return json.loads(_s3().get_bucket_policy(Bucket="mybucket")["Policy"])["Statement"]


def test_a_statement_added_to_the_bucket_policy_during_the_grant_is_reported_and_left(aws_demo):
    s3 = _s3()
    original = s3.get_bucket_policy(Bucket="mybucket")["Policy"]
    fields = {
        "access_via": "own_identity",
        "source_principal": ANALYST,
        "actions": ["s3:GetObject"],
    }
    grant = _active(aws_demo, resources=["arn:aws:s3:::mybucket/revocation/*"], **fields)
    # Another grant of the portal on the same bucket, written meanwhile: not "someone else".
    other = _active(aws_demo, resources=["arn:aws:s3:::mybucket/other/*"], **fields)
    try:
        backdoor = {
            "Sid": "Backdoor",
            "Effect": "Allow",
            "Principal": {"AWS": ANALYST},
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::mybucket", "arn:aws:s3:::mybucket/*"],
        }
        # A statement that only looks like the portal's: the Sid of a grant, other contents.
        lookalike = dict(backdoor, Sid=f"PortalAccess{other.access_request_id}9")
        policy = json.loads(s3.get_bucket_policy(Bucket="mybucket")["Policy"])
        policy["Statement"] += [backdoor, lookalike]
        s3.put_bucket_policy(Bucket="mybucket", Policy=json.dumps(policy))

        services.grant_revoke_request(grant=grant, user=aws_demo.alice)
        services.grant_revoke(grant_id=grant.pk)
        assert _status(grant) == "revoked"
        sids = [s.get("Sid") for s in _bucket_statements()]
        assert f"PortalAccess{grant.access_request_id}" not in sids
        assert {"Backdoor", lookalike["Sid"], f"PortalAccess{other.access_request_id}"} <= set(sids)
        event = AuditEvent.objects.get(access_request=grant.access_request, verb="grant.revoked")
        assert event.after["removed"] == [
            f"arn:aws:iam::111111111111:role/DataAnalyst inline policy {grant.source_policy_name}",
            f"arn:aws:s3:::mybucket statement PortalAccess{grant.access_request_id}",
        ]
        found = event.after["found"]
        assert [line.split(" was added")[0] for line in found] == [
            "arn:aws:s3:::mybucket: statement Backdoor",
            f"arn:aws:s3:::mybucket: statement {lookalike['Sid']}",
        ]
        assert '"Action":"s3:*"' in found[0]
    finally:
        for each in (grant, other):
            if _status(each) == "active":
                services.grant_revoke_request(grant=each, user=aws_demo.alice)
                services.grant_revoke(grant_id=each.pk)
        s3.put_bucket_policy(Bucket="mybucket", Policy=original)


def test_drift_sees_managed_policies_instance_profiles_and_the_portals_tags(aws_demo):
    grant = _active(aws_demo)
    backdoor, profile_name = _tamper(grant.role_name)
    differences = drift.grant_drift_check(grant_id=grant.pk)
    assert [d["what"] for d in differences] == [
        "inline policy added-by-hand added to the role",
        f"managed policy {backdoor} attached to the role",
        f"role added to instance profile {profile_name}",
        "tag portal:request-id changed",
    ]
    tag = differences[-1]
    assert (tag["expected"], tag["found"]) == (str(grant.access_request_id), "0")

    drift.grant_reapply(grant_id=grant.pk)
    grant.refresh_from_db()
    assert grant.drifted_at is None and grant.drift == []
    iam = _iam()
    assert iam.list_attached_role_policies(RoleName=grant.role_name)["AttachedPolicies"] == []
    assert iam.get_policy(PolicyArn=backdoor)["Policy"]["AttachmentCount"] == 0
    tags = {t["Key"]: t["Value"] for t in iam.get_role(RoleName=grant.role_name)["Role"]["Tags"]}
    assert tags["portal:request-id"] == str(grant.access_request_id)
    services.grant_revoke_request(grant=grant, user=aws_demo.alice)
    services.grant_revoke(grant_id=grant.pk)
    assert _status(grant) == "revoked"


def _approved_with_a_role_planted_first(aws_demo, **role) -> Grant:
    """An approved request whose role someone created under the portal's name and path before
    the portal provisioned it (request ids are sequential, so the name is guessable)."""
    access_request = submitted(aws_demo, justification="planted")
    access_request_approve(access_request=access_request, approver=aws_demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    _iam().create_role(
        RoleName=grant.role_name,
        Path="/portal/",
        AssumeRolePolicyDocument=WIDE.replace("s3:*", "sts:AssumeRole"),
        **role,
    )
    return grant


def test_a_role_planted_under_the_portals_name_and_path_goes_active_with_only_what_was_approved(
    aws_demo,
):
    """Request ids are sequential: someone with IAM rights in the target account can create the
    next grant's role under the portal's path before it is approved, with policies of their own
    on it. Provisioning takes the role over (the name and path are the portal's) and must not
    verify, and vend sessions of, a role that holds more than what was approved."""
    grant = _approved_with_a_role_planted_first(aws_demo)
    iam = _iam()
    backdoor, profile_name = _tamper(grant.role_name)

    services.grant_provision(grant_id=grant.pk)
    assert _status(grant) == "active"
    assert iam.list_attached_role_policies(RoleName=grant.role_name)["AttachedPolicies"] == []
    assert iam.list_role_policies(RoleName=grant.role_name)["PolicyNames"] == [
        grant.permission_policy_name
    ]
    assert iam.list_instance_profiles_for_role(RoleName=grant.role_name)["InstanceProfiles"] == []
    assert iam.get_policy(PolicyArn=backdoor)["Policy"]["AttachmentCount"] == 0
    assert (
        iam.get_instance_profile(InstanceProfileName=profile_name)["InstanceProfile"]["Roles"] == []
    )
    services.grant_revoke_request(grant=grant, user=aws_demo.alice)
    services.grant_revoke(grant_id=grant.pk)
    assert _status(grant) == "revoked"


def test_a_bucket_policy_left_with_only_the_portals_statement_is_deleted_at_revoke(aws_demo):
    """The bucket had a policy of its own (so the portal did not create it); its owner then took
    their statements out, leaving the portal's alone. Removing it leaves no statement, and AWS
    refuses a policy without one (MalformedPolicy, "Statement is empty"): the revoke must delete
    the policy, not write an empty one and stop with the grantee's access still in place."""
    s3 = _s3()
    original = s3.get_bucket_policy(Bucket="mybucket")["Policy"]
    grant = _active(
        aws_demo,
        access_via="own_identity",
        source_principal=ANALYST,
        actions=["s3:GetObject"],
        resources=["arn:aws:s3:::mybucket/emptied/*"],
    )
    try:
        assert grant.resource_statements[0]["created_policy"] is False
        sid = f"PortalAccess{grant.access_request_id}"
        policy = json.loads(s3.get_bucket_policy(Bucket="mybucket")["Policy"])
        policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") == sid]
        s3.put_bucket_policy(Bucket="mybucket", Policy=json.dumps(policy))

        services.grant_revoke_request(grant=grant, user=aws_demo.alice)
        services.grant_revoke(grant_id=grant.pk)
        assert _status(grant) == "revoked"
        with pytest.raises(ClientError, match="NoSuchBucketPolicy"):
            s3.get_bucket_policy(Bucket="mybucket")
    finally:
        s3.put_bucket_policy(Bucket="mybucket", Policy=original)


def test_a_planted_role_with_tags_of_its_own_fails_and_is_rolled_back(aws_demo):
    """Tags on the role are principal tags of every session: an attribute-based policy elsewhere
    in the account may grant on them. The portal cannot take them off (no iam:UntagRole), so the
    grant fails, and its rollback deletes the planted role; a retry then starts clean."""
    grant = _approved_with_a_role_planted_first(aws_demo, Tags=[{"Key": "team", "Value": "admins"}])
    iam = _iam()
    with pytest.raises(AwsError, match="tag team") as refused:
        services.grant_provision(grant_id=grant.pk)
    failure.grant_provision_failed(grant_id=grant.pk, message=str(refused.value))
    failure.grant_rollback(grant_id=grant.pk)
    assert _status(grant) == "failed"
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.get_role(RoleName=grant.role_name)

    services.grant_retry(grant=grant, user=aws_demo.alice)
    services.grant_provision(grant_id=grant.pk)
    assert _status(grant) == "active"
    tags = iam.get_role(RoleName=grant.role_name)["Role"]["Tags"]
    assert "team" not in {tag["Key"] for tag in tags}
    services.grant_revoke_request(grant=grant, user=aws_demo.alice)
    services.grant_revoke(grant_id=grant.pk)


def test_a_tag_added_to_the_portals_role_is_drift_and_reported_at_revoke(aws_demo):
    grant = _active(aws_demo)
    _iam().tag_role(RoleName=grant.role_name, Tags=[{"Key": "team", "Value": "admins"}])
    differences = drift.grant_drift_check(grant_id=grant.pk)
    assert [(d["what"], d["found"]) for d in differences] == [("tag team added", "admins")]
    services.grant_revoke_request(grant=grant, user=aws_demo.alice)
    services.grant_revoke(grant_id=grant.pk)
    event = AuditEvent.objects.get(access_request=grant.access_request, verb="grant.revoked")
    assert event.after["found"] == [f"{grant.role_arn}: tag team added: 'admins'"]
