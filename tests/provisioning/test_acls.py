"""Pure ACL code: which ACL permissions a request needs and the grants and headers the portal
writes."""

import pytest

from policy.acls import (
    ACL_PERMISSIONS,
    ALL_USERS_URI,
    AUTHENTICATED_USERS_URI,
    AclGrant,
    AclTarget,
    acl_grants_add,
    acl_grants_remove,
    acl_target_for,
    grant_headers,
    grantee_is_public,
    permissions_for_actions,
)

OWNER = "7" * 64
SOURCE = "5" * 64
OTHER = "3" * 64
OWNER_FULL = AclGrant("CanonicalUser", OWNER, "FULL_CONTROL")
SOURCE_READ = AclGrant("CanonicalUser", SOURCE, "READ")
PUBLIC_READ = AclGrant("Group", ALL_USERS_URI, "READ")
BUCKET = AclTarget(bucket="mybucket")
OBJECT = AclTarget(bucket="mybucket", key="incoming/from-dev.csv")


def test_the_five_acl_permissions():
    assert ACL_PERMISSIONS == ("READ", "WRITE", "READ_ACP", "WRITE_ACP", "FULL_CONTROL")


@pytest.mark.parametrize(
    ("arn", "target"),
    [
        ("arn:aws:s3:::mybucket", AclTarget("mybucket", "")),
        (
            "arn:aws:s3:::mybucket/incoming/from-dev.csv",
            AclTarget("mybucket", "incoming/from-dev.csv"),
        ),
        ("arn:aws:s3:::mybucket/reports/", AclTarget("mybucket", "reports/")),
        ("arn:aws:s3:::mybucket/*", None),
        ("arn:aws:s3:::mybucket/reports/*.csv", None),
        ("arn:aws:s3:::mybucket/report?.csv", None),
        ("arn:aws:s3:::my*", None),
        ("arn:aws:s3:::mybucket/", None),
        ("arn:aws:s3:::MyBucket", None),
        ("arn:aws:s3:eu-central-1:999999999999:accesspoint/ap", None),
        ("arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable", None),
        ("mybucket", None),
    ],
)
def test_acl_target_for_names_one_bucket_or_one_object(arn, target):
    assert acl_target_for(arn) == target


def test_acl_target_arn_round_trips():
    assert BUCKET.is_bucket and BUCKET.arn == "arn:aws:s3:::mybucket"
    assert not OBJECT.is_bucket
    assert acl_target_for(OBJECT.arn) == OBJECT


def test_object_read_and_acl_actions_map_to_object_permissions():
    actions = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAcl", "s3:PutObjectAcl"]
    assert permissions_for_actions(actions, OBJECT) == (["READ", "READ_ACP", "WRITE_ACP"], [])


def test_bucket_actions_map_to_bucket_permissions():
    actions = [
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:ListBucketMultipartUploads",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:GetBucketAcl",
        "s3:PutBucketAcl",
    ]
    assert permissions_for_actions(actions, BUCKET) == (
        ["READ", "WRITE", "READ_ACP", "WRITE_ACP"],
        [],
    )


def test_least_privilege_one_action_one_permission_never_full_control():
    assert permissions_for_actions(["s3:GetObject"], OBJECT) == (["READ"], [])
    assert permissions_for_actions(["s3:ListBucket"], BUCKET) == (["READ"], [])


def test_action_names_match_case_insensitively_as_in_iam():
    assert permissions_for_actions(["S3:getobject", " s3:GETOBJECTACL "], OBJECT) == (
        ["READ", "READ_ACP"],
        [],
    )


def test_actions_an_acl_cannot_express_are_returned_as_asked():
    actions = ["s3:GetObject", "s3:GetObjectTagging", "s3:Get*", "s3:*", "s3:GetObjectTagging"]
    assert permissions_for_actions(actions, OBJECT) == (
        ["READ"],
        ["s3:GetObjectTagging", "s3:Get*", "s3:*"],
    )


def test_object_actions_on_a_bucket_acl_and_bucket_actions_on_an_object_acl_do_not_map():
    # Bucket READ lists; it does not read objects. WRITE does not apply to objects.
    assert permissions_for_actions(["s3:GetObject"], BUCKET) == ([], ["s3:GetObject"])
    assert permissions_for_actions(["s3:PutObject", "s3:ListBucket"], OBJECT) == (
        [],
        ["s3:PutObject", "s3:ListBucket"],
    )


@pytest.mark.parametrize(
    "grantee",
    [
        ALL_USERS_URI,
        AUTHENTICATED_USERS_URI,
        "https://acs.amazonaws.com/groups/global/AllUsers",
        " HTTP://ACS.AMAZONAWS.COM/groups/global/allusers/ ",
    ],
)
def test_public_groups_are_recognised_however_spelled(grantee):
    assert grantee_is_public(grantee)


@pytest.mark.parametrize(
    "grantee", [SOURCE, "http://acs.amazonaws.com/groups/s3/LogDelivery", "dev@example.com"]
)
def test_other_grantees_are_not_public(grantee):
    assert not grantee_is_public(grantee)


def test_grant_headers_carry_every_grant_in_the_header_form():
    grants = [
        OWNER_FULL,
        SOURCE_READ,
        AclGrant("CanonicalUser", OTHER, "READ"),
        AclGrant("AmazonCustomerByEmail", "dev@example.com", "READ_ACP"),
        AclGrant("Group", "http://acs.amazonaws.com/groups/s3/LogDelivery", "WRITE"),
        AclGrant("CanonicalUser", SOURCE, "WRITE_ACP"),
    ]
    assert grant_headers(grants) == {
        "GrantFullControl": f'id="{OWNER}"',
        "GrantRead": f'id="{SOURCE}", id="{OTHER}"',
        "GrantReadACP": 'emailAddress="dev@example.com"',
        "GrantWrite": 'uri="http://acs.amazonaws.com/groups/s3/LogDelivery"',
        "GrantWriteACP": f'id="{SOURCE}"',
    }


def test_grant_headers_write_a_repeated_grant_once():
    assert grant_headers([OWNER_FULL, SOURCE_READ, SOURCE_READ]) == {
        "GrantFullControl": f'id="{OWNER}"',
        "GrantRead": f'id="{SOURCE}"',
    }


def test_grant_headers_refuse_a_public_grant_the_portal_would_be_adding():
    for public in (PUBLIC_READ, AclGrant("Group", AUTHENTICATED_USERS_URI, "WRITE")):
        with pytest.raises(ValueError, match="public group"):
            grant_headers([OWNER_FULL, public])
        with pytest.raises(ValueError, match="public group"):
            grant_headers([OWNER_FULL, public], already_present=[OWNER_FULL])


def test_grant_headers_keep_a_public_grant_already_on_the_resource():
    existing = [OWNER_FULL, PUBLIC_READ]
    headers = grant_headers([*existing, SOURCE_READ], already_present=existing)
    assert headers["GrantRead"] == f'uri="{ALL_USERS_URI}", id="{SOURCE}"'
    # ...but not the same group with a permission it did not have.
    with pytest.raises(ValueError, match="public group"):
        grant_headers(
            [*existing, AclGrant("Group", ALL_USERS_URI, "WRITE")], already_present=existing
        )


def test_grant_headers_refuse_an_empty_acl():
    with pytest.raises(ValueError, match="at least one grant"):
        grant_headers([])


@pytest.mark.parametrize(
    ("grantee_type", "grantee", "permission"),
    [
        ("CanonicalUser", SOURCE, "WRITE_EVERYTHING"),
        ("User", SOURCE, "READ"),
        ("CanonicalUser", "", "READ"),
        ("CanonicalUser", f'{SOURCE}", id="{OTHER}', "READ"),
        ("CanonicalUser", f"{SOURCE},{OTHER}", "READ"),
        ("CanonicalUser", f"{SOURCE}\r\nx-amz-acl: public-read", "READ"),
    ],
)
def test_a_grant_that_cannot_be_written_safely_is_refused(grantee_type, grantee, permission):
    with pytest.raises(ValueError):
        AclGrant(grantee_type, grantee, permission)


def test_add_appends_once_and_is_idempotent():
    once = acl_grants_add([OWNER_FULL], SOURCE_READ)
    assert once == [OWNER_FULL, SOURCE_READ]
    assert acl_grants_add(once, SOURCE_READ) == once


def test_add_keeps_existing_grants_including_public_ones_it_did_not_write():
    existing = [OWNER_FULL, PUBLIC_READ]
    assert acl_grants_add(existing, SOURCE_READ) == [OWNER_FULL, PUBLIC_READ, SOURCE_READ]


def test_add_refuses_a_new_public_grant_even_if_it_is_already_there():
    with pytest.raises(ValueError, match="public group"):
        acl_grants_add([OWNER_FULL], PUBLIC_READ)
    with pytest.raises(ValueError, match="public group"):
        acl_grants_add([OWNER_FULL, PUBLIC_READ], PUBLIC_READ)


def test_remove_takes_out_exactly_that_grantee_and_permission():
    source_acp = AclGrant("CanonicalUser", SOURCE, "READ_ACP")
    other_read = AclGrant("CanonicalUser", OTHER, "READ")
    existing = [OWNER_FULL, SOURCE_READ, source_acp, other_read, PUBLIC_READ]
    assert acl_grants_remove(existing, SOURCE_READ) == [
        OWNER_FULL,
        source_acp,
        other_read,
        PUBLIC_READ,
    ]
    assert existing == [OWNER_FULL, SOURCE_READ, source_acp, other_read, PUBLIC_READ]


def test_remove_of_a_grant_that_is_gone_changes_nothing():
    assert acl_grants_remove([OWNER_FULL], SOURCE_READ) == [OWNER_FULL]


def test_add_then_remove_restores_the_acl_exactly():
    existing = [OWNER_FULL, PUBLIC_READ, AclGrant("CanonicalUser", OTHER, "READ")]
    assert acl_grants_remove(acl_grants_add(existing, SOURCE_READ), SOURCE_READ) == existing
