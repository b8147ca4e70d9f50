"""S3 ACL and ownership adapters against the emulator over HTTP."""

import uuid

import pytest

from aws import (
    AwsError,
    acl_read,
    acl_write,
    bucket_owner_account,
    canonical_user_id,
    emulator_client,
    object_owner,
    object_owner_account,
    object_ownership,
    role_credentials,
)
from aws.demo_world import DEMO_REGION, FOREIGN_OBJECT, PROVISIONER_ROLE
from policy.acls import (
    ALL_USERS_URI,
    AclGrant,
    AclTarget,
    acl_grants_add,
    acl_grants_remove,
)

SOURCE = "111111111111"
TARGET = "999999999999"
MYBUCKET = AclTarget(bucket="mybucket")
FOREIGN = AclTarget(bucket=FOREIGN_OBJECT["bucket"], key=FOREIGN_OBJECT["key"])


@pytest.fixture
def credentials(emulator):
    """Provisioner sessions in the source and the target account, as the portal takes them."""
    return {
        account: role_credentials(f"arn:aws:iam::{account}:role/{PROVISIONER_ROLE}")
        for account in (SOURCE, TARGET)
    }


@pytest.fixture
def scratch_bucket(emulator):
    """A bucket of the target account for one test, emptied and deleted afterwards."""
    s3 = emulator_client("s3", account_id=TARGET, region=DEMO_REGION)
    created: list[str] = []

    def create(**options) -> str:
        name = f"acl-test-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": DEMO_REGION}, **options
        )
        created.append(name)
        return name

    yield create
    for name in created:
        for entry in s3.list_objects_v2(Bucket=name).get("Contents", []):
            s3.delete_object(Bucket=name, Key=entry["Key"])
        s3.delete_bucket(Bucket=name)


def owner_full_control(owner_id: str) -> AclGrant:
    return AclGrant("CanonicalUser", owner_id, "FULL_CONTROL")


def test_reads_the_bucket_acl_of_mybucket(credentials):
    state = acl_read(credentials[TARGET], MYBUCKET)
    assert state.owner_id
    assert owner_full_control(state.owner_id) in state.grants


def test_reads_the_acl_of_the_object_the_source_account_uploaded(credentials):
    state = acl_read(credentials[SOURCE], FOREIGN)
    assert state.grants == [owner_full_control(state.owner_id)]
    head = emulator_client("s3", account_id=TARGET).head_object(
        Bucket=FOREIGN.bucket, Key=FOREIGN.key
    )
    assert head["Metadata"] == {"uploaded-by-account": SOURCE}


def test_reading_the_acl_of_a_missing_object_says_so(credentials):
    with pytest.raises(AwsError) as raised:
        acl_read(credentials[TARGET], AclTarget(bucket="mybucket", key="no/such/key"))
    assert raised.value.code == "NoSuchKey"
    assert not raised.value.retryable


@pytest.mark.parametrize(
    ("target", "writer", "permission"),
    [
        # An object the source account uploaded: only its owner may write its ACL.
        (FOREIGN, SOURCE, "READ"),
        (MYBUCKET, TARGET, "READ_ACP"),
    ],
    ids=["object", "bucket"],
)
def test_adding_then_removing_a_grant_restores_the_acl_exactly(
    credentials, target, writer, permission
):
    before = acl_read(credentials[writer], target)
    grant = AclGrant("CanonicalUser", canonical_user_id(credentials[TARGET]), permission)
    assert grant not in before.grants
    try:
        acl_write(credentials[writer], target, acl_grants_add(before.grants, grant))
        added = acl_read(credentials[writer], target)
        assert set(added.grants) == {*before.grants, grant}
        assert owner_full_control(added.owner_id) in added.grants
        assert added.owner_id == before.owner_id

        acl_write(credentials[writer], target, acl_grants_remove(added.grants, grant))
        assert acl_read(credentials[writer], target) == before
    finally:
        if acl_read(credentials[writer], target) != before:
            acl_write(credentials[writer], target, before.grants)


def test_a_public_grant_someone_else_made_survives_and_the_portal_never_adds_one(
    credentials, scratch_bucket
):
    bucket = scratch_bucket()
    emulator_client("s3", account_id=TARGET).put_object(
        Bucket=bucket, Key="shared.txt", Body=b"x", ACL="public-read"
    )
    target = AclTarget(bucket=bucket, key="shared.txt")
    before = acl_read(credentials[TARGET], target)
    public_read = AclGrant("Group", ALL_USERS_URI, "READ")
    assert public_read in before.grants

    grant = AclGrant("CanonicalUser", canonical_user_id(credentials[SOURCE]), "READ_ACP")
    acl_write(credentials[TARGET], target, acl_grants_add(before.grants, grant))
    assert set(acl_read(credentials[TARGET], target).grants) == {*before.grants, grant}

    # A caller that builds the list by hand still cannot add a public grant.
    public_write = AclGrant("Group", ALL_USERS_URI, "WRITE_ACP")
    with_public = [*acl_read(credentials[TARGET], target).grants, public_write]
    with pytest.raises(ValueError, match="public group"):
        acl_write(credentials[TARGET], target, with_public)
    assert public_write not in acl_read(credentials[TARGET], target).grants


def test_a_write_that_drops_the_owners_full_control_is_refused(credentials, scratch_bucket):
    target = AclTarget(bucket=scratch_bucket())
    before = acl_read(credentials[TARGET], target)
    grant = AclGrant("CanonicalUser", canonical_user_id(credentials[SOURCE]), "READ")
    with pytest.raises(ValueError, match="owner's FULL_CONTROL"):
        acl_write(credentials[TARGET], target, [grant])
    assert acl_read(credentials[TARGET], target) == before


def test_object_ownership_reports_the_bucket_setting(credentials, scratch_bucket):
    enforced = scratch_bucket(ObjectOwnership="BucketOwnerEnforced")
    assert object_ownership(credentials[TARGET], enforced) == "BucketOwnerEnforced"

    # The emulator creates buckets without ownership controls (AWS: BucketOwnerEnforced).
    plain = scratch_bucket()
    assert object_ownership(credentials[TARGET], plain) == "ObjectWriter"
    emulator_client("s3", account_id=TARGET).put_bucket_ownership_controls(
        Bucket=plain, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    )
    assert object_ownership(credentials[TARGET], plain) == "BucketOwnerPreferred"

    assert object_ownership(credentials[TARGET], "mybucket") == "ObjectWriter"
    with pytest.raises(AwsError) as raised:
        object_ownership(credentials[TARGET], f"no-such-{uuid.uuid4().hex[:12]}")
    assert raised.value.code == "NoSuchBucket"


def test_acls_are_refused_when_the_bucket_owner_enforces_ownership(credentials, scratch_bucket):
    target = AclTarget(bucket=scratch_bucket(ObjectOwnership="BucketOwnerEnforced"))
    before = acl_read(credentials[TARGET], target)
    grant = AclGrant("CanonicalUser", canonical_user_id(credentials[SOURCE]), "READ")
    with pytest.raises(AwsError) as raised:
        acl_write(credentials[TARGET], target, acl_grants_add(before.grants, grant))
    assert raised.value.code == "AccessControlListNotSupported"
    assert "bucket policy" in str(raised.value)
    assert acl_read(credentials[TARGET], target) == before


def test_bucket_owner_account_finds_the_account_that_owns_the_bucket(credentials):
    assert bucket_owner_account("mybucket", credentials) == TARGET
    assert bucket_owner_account(f"no-such-{uuid.uuid4().hex[:12]}", credentials) is None


def test_object_owner_reads_the_owner_of_one_object(credentials):
    owner = object_owner(credentials[TARGET], FOREIGN)
    assert owner == acl_read(credentials[SOURCE], FOREIGN).owner_id
    missing = AclTarget(bucket=FOREIGN.bucket, key=FOREIGN.key + ".missing")
    assert object_owner(credentials[TARGET], missing) is None
    prefix_only = AclTarget(bucket=FOREIGN.bucket, key="incoming/")
    assert object_owner(credentials[TARGET], prefix_only) is None


def test_the_emulator_cannot_tell_which_account_owns_an_object(credentials):
    """README: moto gives every account one canonical user id and every object one owner id
    (a different constant), so ownership cannot be traced to an account in the emulator. If this
    starts failing, the emulator learned ownership: update the README and the recommender."""
    assert canonical_user_id(credentials[SOURCE]) == canonical_user_id(credentials[TARGET])
    assert object_owner(credentials[TARGET], FOREIGN) != canonical_user_id(credentials[SOURCE])
    assert object_owner_account(credentials[TARGET], FOREIGN, credentials) is None
