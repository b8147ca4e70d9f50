"""What real AWS does and the emulator does not, put between the portal and the emulator by a proxy
(tests/faults/aws_like.py), and survived: IAM's eventual consistency, throttling on every service,
list calls that page, and an S3 object another account owns. docs/real-aws.md describes each."""

import json
import uuid

import pytest

import aws
from access_requests.facts import request_facts
from access_requests.services import access_request_approve
from accounts.inventory import inventory_sync
from aws.demo_world import FOREIGN_OBJECT
from aws.demo_world.organization import organizations_client
from core.errors import ServiceError
from policy.acls import AclTarget
from provisioning import sessions
from provisioning.models import Grant
from provisioning.organizations import accounts_sync
from provisioning.services import grant_revoke_request
from tests.conftest import ORGANIZATIONS_READER_ARN
from tests.factories import submitted
from tests.faults.aws_like import AwsLikeProxy, canonical_id
from tests.faults.conftest import iam, status, submit_role
from tests.support import wait_until

DEV, DATA = "111111111111", "999999999999"
ANALYST = f"arn:aws:iam::{DEV}:role/DataAnalyst"
FOREIGN_KEY = FOREIGN_OBJECT["key"]
FOREIGN_ARN = f"arn:aws:s3:::mybucket/{FOREIGN_KEY}"


@pytest.fixture
def proxy(emulator, settings):
    """The proxy, and this process's AWS calls sent through it (the workers' are, by their
    environment)."""
    proxy = AwsLikeProxy(emulator.port)
    settings.AWS_ENDPOINT_URL = proxy.url
    yield proxy
    proxy.stop()


def _active(access_request) -> Grant:
    wait_until(lambda: status(access_request) in ("active", "failed"), timeout=120, what="grant")
    grant = Grant.objects.get(access_request=access_request)
    assert status(access_request) == "active", grant.last_error
    return grant


def _revoked(demo, access_request) -> None:
    grant_revoke_request(grant=Grant.objects.get(access_request=access_request), user=demo.alice)
    wait_until(lambda: status(access_request) == "revoked", timeout=120, what="the revoke")


# --- IAM eventual consistency --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_new_roles_refused_for_a_few_seconds_are_asked_again_and_no_grant_fails(
    aws_demo, workers, proxy, capsys
):
    """A provisioner role just deployed and the grant's role just created both answer
    AccessDenied to AssumeRole for 3 s: the grant goes active on its first run and the
    requester's first session comes, a few seconds late."""
    proxy.settle_seconds = 3.0
    workers("faults-iam-settle", AWS_ENDPOINT_URL=proxy.url)
    proxy.role_changed(f"arn:aws:iam::{DATA}:role/PortalProvisioner")
    access_request = submit_role(aws_demo)
    grant = _active(access_request)
    assert grant.attempts == 1 and grant.last_error == ""
    refused_while_provisioning = proxy.counts["AssumeRole refused while settling"]
    assert refused_while_provisioning >= 2

    assumed, issue, _ = sessions.session_start(grant_id=grant.pk, user=aws_demo.alice)
    refused_for_session = proxy.counts["AssumeRole refused while settling"] - (
        refused_while_provisioning
    )
    assert refused_for_session >= 1
    assert assumed.assumed_role_arn.startswith(f"arn:aws:sts::{DATA}:assumed-role/")
    assert issue.access_key_id == assumed.credentials.access_key_id
    with capsys.disabled():
        print(
            f"\nIAM settling 3 s: provisioner AssumeRole refused {refused_while_provisioning} "
            f"times, then active on the first run; the first session refused "
            f"{refused_for_session} times, then issued"
        )


@pytest.mark.django_db(transaction=True)
def test_a_refusal_that_outlasts_the_settling_time_or_comes_later_is_an_answer(
    aws_demo, workers, proxy, settings
):
    """A role that stays refused is reported after PORTAL_IAM_SETTLE_SECONDS, and a grant active
    for more than a minute is not waited for at all: its role was changed by someone."""
    settings.PORTAL_IAM_SETTLE_SECONDS = 1.0
    workers("faults-iam-refused", AWS_ENDPOINT_URL=proxy.url)
    grant = _active(submit_role(aws_demo))
    proxy.settle_seconds = 3600.0
    proxy.role_changed(grant.role_arn)
    before = proxy.counts["AssumeRole refused while settling"]
    with pytest.raises(ServiceError) as refused:
        sessions.session_start(grant_id=grant.pk, user=aws_demo.alice)
    assert refused.value.kind == ServiceError.UNAVAILABLE
    assert "AccessDenied" in str(refused.value) and "still refused after" in str(refused.value)
    assert proxy.counts["AssumeRole refused while settling"] - before >= 2

    Grant.objects.filter(pk=grant.pk).update(activated_at=grant.activated_at.replace(year=2000))
    before = proxy.counts["AssumeRole refused while settling"]
    with pytest.raises(ServiceError) as refused:
        sessions.session_start(grant_id=grant.pk, user=aws_demo.alice)
    assert "still refused" not in str(refused.value)
    assert proxy.counts["AssumeRole refused while settling"] - before == 1


# --- throttling ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_every_service_throttling_every_other_call_is_ridden_out(
    aws_demo, workers, proxy, settings, capsys
):
    """Every other call to each service answers "slow down" (S3: 503 SlowDown). A role grant with
    its session, a bucket policy and an object ACL are granted and revoked, the organization and
    an inventory are synced: nothing fails and nobody is asked to retry."""
    proxy.throttle = True
    workers("faults-throttle-all", AWS_ENDPOINT_URL=proxy.url)
    role = submit_role(aws_demo)
    bucket_policy = submitted(
        aws_demo,
        access_via="own_identity",
        actions=["s3:GetObject"],
        resources=["arn:aws:s3:::mybucket/reports/*"],
        justification="throttled bucket policy",
    )
    object_acl = submitted(
        aws_demo,
        access_via="own_identity",
        source_principal=ANALYST,
        mechanism="acl",
        actions=["s3:GetObject"],
        resources=[FOREIGN_ARN],
        justification="throttled object ACL",
    )
    for access_request in (bucket_policy, object_acl):
        access_request_approve(access_request=access_request, approver=aws_demo.bob)
    grants = [_active(access_request) for access_request in (role, bucket_policy, object_acl)]
    sessions.session_start(grant_id=grants[0].pk, user=aws_demo.alice)

    settings.PORTAL_ORGANIZATIONS_ROLE_ARN = ORGANIZATIONS_READER_ARN
    assert accounts_sync() is not None
    inventory = inventory_sync(account_id=aws_demo.data.pk)
    assert inventory.error == ""

    for access_request in (role, bucket_policy, object_acl):
        _revoked(aws_demo, access_request)
    throttled = {k.split()[1]: v for k, v in proxy.counts.items() if k.startswith("throttled")}
    assert {"sts", "iam", "s3", "dynamodb", "organizations", "sqs", "kms"} <= set(throttled)
    assert all(Grant.objects.get(pk=g.pk).attempts == 1 for g in grants)
    with capsys.disabled():
        print(f"\nthrottled answers per service: {dict(sorted(throttled.items()))}; 0 failures")


# --- paging ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_lists_answered_one_item_a_page_miss_nothing(aws_demo, workers, proxy, emulator, capsys):
    """Every list call answers one item a page. A grant's role that someone gave three more inline
    policies, two managed policies and two instance profiles is still read whole and revoked
    whole; the inventory and the organization read the same as unpaged."""
    organizations = organizations_client()
    for index in range(2):
        organizations.create_account(
            Email=f"paging-{index}-{uuid.uuid4().hex[:6]}@example.com",
            AccountName=f"paging-{index}",
        )
    unpaged_inventory = aws.account_inventory(
        aws.role_credentials(aws_demo.data.provisioner_role_arn),
        account_id=DATA,
        regions=["eu-central-1"],
    )
    proxy.page_size = 1
    workers("faults-paging", AWS_ENDPOINT_URL=proxy.url)
    access_request = submit_role(aws_demo)
    grant = _active(access_request)
    target = iam(DATA)
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
        }
    )
    for index in range(3):
        target.put_role_policy(
            RoleName=grant.role_name, PolicyName=f"added-{index}", PolicyDocument=document
        )
    managed = [
        target.create_policy(PolicyName=f"paging-{grant.pk}-{index}", PolicyDocument=document)[
            "Policy"
        ]["Arn"]
        for index in range(2)
    ]
    for arn in managed:
        target.attach_role_policy(RoleName=grant.role_name, PolicyArn=arn)
    for index in range(2):
        name = f"paging-{grant.pk}-{index}"
        target.create_instance_profile(InstanceProfileName=name)
        target.add_role_to_instance_profile(InstanceProfileName=name, RoleName=grant.role_name)

    credentials = aws.role_credentials(aws_demo.data.provisioner_role_arn)
    permissions = aws.role_permissions(credentials, role_name=grant.role_name)
    assert permissions is not None
    assert {f"added-{index}" for index in range(3)} <= set(permissions.inline)
    assert set(permissions.managed) == set(managed)
    attachments = aws.role_attachments(credentials, role_name=grant.role_name)
    assert len(attachments.managed_policies) == 2 and len(attachments.instance_profiles) == 2
    assert aws.account_inventory(credentials, account_id=DATA, regions=["eu-central-1"]) == (
        unpaged_inventory
    )
    snapshot = aws.organization_snapshot(aws.role_credentials(ORGANIZATIONS_READER_ARN))
    proxy.page_size = 0
    assert snapshot == aws.organization_snapshot(aws.role_credentials(ORGANIZATIONS_READER_ARN))
    assert len(snapshot.accounts) >= 3 and snapshot.scps
    proxy.page_size = 1

    _revoked(aws_demo, access_request)
    roles = {r["RoleName"] for r in target.list_roles(PathPrefix="/portal/")["Roles"]}
    assert grant.role_name not in roles
    grant.refresh_from_db()
    found = " ".join(str(entry) for entry in grant.removal_found)
    assert all(arn in found for arn in managed)
    assert all(f"inline policy added-{index}" in found for index in range(3))
    assert found.count("instance profile paging-") == 2
    with capsys.disabled():
        print(f"\none item a page: {proxy.counts['pages']} pages answered; nothing missed")


# --- S3 objects owned by another account ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_object_another_account_owns_gets_an_acl_written_by_its_owner(
    aws_demo, workers, proxy, capsys
):
    """As in AWS: dev uploaded the object into data's bucket, so dev owns it; data (the bucket
    owner) is refused its ACL but sees its owner in ListObjectsV2. The recommender says: an object
    ACL, written by account 111111111111; the worker writes it as dev, and revokes it."""
    proxy.bucket_owners = {"mybucket": DATA}
    proxy.object_owners = {("mybucket", FOREIGN_KEY): DEV}
    workers("faults-foreign-object", AWS_ENDPOINT_URL=proxy.url)
    bucket_owner = aws.role_credentials(aws_demo.data.provisioner_role_arn)
    with pytest.raises(aws.AwsError, match="AccessDenied"):
        aws.acl_read(bucket_owner, AclTarget("mybucket", FOREIGN_KEY), DATA)

    facts, grantee = request_facts(
        source_account=aws_demo.dev, target_account=aws_demo.data, resources=[FOREIGN_ARN]
    )
    assert facts.foreign_owned_objects == (FOREIGN_ARN,)
    assert facts.object_writers == ((FOREIGN_ARN, DEV),)
    assert grantee == canonical_id(DEV)

    access_request = submitted(
        aws_demo,
        access_via="own_identity",
        source_principal=ANALYST,
        actions=["s3:GetObject"],
        resources=[FOREIGN_ARN],
        justification="read the file dev uploaded",
    )
    assert access_request.recommended_mechanism == access_request.mechanism == "acl"
    reasons = " ".join(access_request.recommendation_reasons)
    assert f"as its owner, account {DEV}" in reasons
    access_request_approve(access_request=access_request, approver=aws_demo.bob)
    grant = _active(access_request)
    (entry,) = grant.acl_grants
    assert entry["writer_account"] == DEV and entry["grantee"] == canonical_id(DEV)
    refused = proxy.counts["PUT object ACL refused"] + proxy.counts["GET object ACL refused"]
    _revoked(aws_demo, access_request)
    owner = aws.role_credentials(aws_demo.dev.provisioner_role_arn)
    after = aws.acl_read(owner, AclTarget("mybucket", FOREIGN_KEY), DATA)
    assert after.owner_id == canonical_id(DEV)
    assert [g for g in after.grants if g.permission == "READ"] == []
    with capsys.disabled():
        print(
            f"\nforeign-owned object: the bucket owner's GetObjectAcl refused; recommended an "
            f"ACL written by {DEV}; granted and revoked as {DEV} ({refused} refusals to others)"
        )
