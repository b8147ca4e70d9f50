"""S3 ACLs and ownership: what an ACL grant reads and writes.

An ACL PUT replaces the whole ACL and the emulator ignores an AccessControlPolicy body, so every
write goes through the x-amz-grant-* headers and carries every grant already there. Who owns a
bucket or an object decides who may write its ACL; see the README on what the emulator can show.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from aws.core import AwsError, Credentials, client_for, pages, translate_error
from policy.acls import AclGrant, AclTarget, grant_headers


@dataclass(frozen=True)
class AclState:
    """An ACL as read: the owner's canonical user id and every grant, in AWS's order."""

    owner_id: str
    grants: list[AclGrant]


def _error_code(error: Exception) -> str:
    if isinstance(error, botocore.exceptions.ClientError):
        return error.response.get("Error", {}).get("Code", "")
    return ""


def canonical_user_id(credentials: Credentials | None) -> str:
    """The canonical user id of the credentials' account (the grantee an ACL names)."""
    try:
        answer = client_for("s3", credentials).list_buckets(MaxBuckets=1)
    except Exception as error:
        raise translate_error(error, "s3:ListBuckets (canonical user id)") from error
    return answer["Owner"]["ID"]


def _owner(expected_owner: str) -> dict[str, str]:
    """ExpectedBucketOwner when the bucket's owner is proven: AWS refuses (403) a call on a
    bucket of another account instead of reading or writing it.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html"""
    return {"ExpectedBucketOwner": expected_owner} if expected_owner else {}


def object_ownership(credentials: Credentials | None, bucket: str, expected_owner: str = "") -> str:
    """The bucket's Object Ownership setting. A bucket without ownership controls behaves as
    ObjectWriter (the uploader owns each object, ACLs on). Real AWS gives buckets created since
    April 2023 BucketOwnerEnforced; the emulator gives them no controls at all."""
    doing = f"reading the Object Ownership of bucket {bucket}"
    try:
        answer = client_for("s3", credentials).get_bucket_ownership_controls(
            Bucket=bucket, **_owner(expected_owner)
        )
    except Exception as error:
        if _error_code(error) == "OwnershipControlsNotFoundError":
            return "ObjectWriter"
        raise translate_error(error, doing) from error
    rules = answer.get("OwnershipControls", {}).get("Rules", [])
    return rules[0]["ObjectOwnership"] if rules else "ObjectWriter"


def _grant_from(raw: dict[str, Any]) -> AclGrant:
    grantee = raw["Grantee"]
    value = grantee.get("ID") or grantee.get("URI") or grantee.get("EmailAddress") or ""
    return AclGrant(grantee_type=grantee["Type"], grantee=value, permission=raw["Permission"])


def acl_read(
    credentials: Credentials | None, target: AclTarget, expected_owner: str = ""
) -> AclState:
    """The bucket's or object's ACL. Needs READ_ACP on it (owners always have it)."""
    s3 = client_for("s3", credentials)
    owner = _owner(expected_owner)
    try:
        if target.is_bucket:
            answer = s3.get_bucket_acl(Bucket=target.bucket, **owner)
        else:
            answer = s3.get_object_acl(Bucket=target.bucket, Key=target.key, **owner)
        return AclState(
            owner_id=answer["Owner"]["ID"],
            grants=[_grant_from(raw) for raw in answer.get("Grants", [])],
        )
    except Exception as error:
        raise translate_error(error, f"reading the ACL of {target.arn}") from error


def acl_write(
    credentials: Credentials | None,
    target: AclTarget,
    grants: list[AclGrant],
    expected_owner: str = "",
) -> None:
    """Set the ACL to exactly `grants` (as built by acl_grants_add / acl_grants_remove from an
    acl_read).

    Refused, whatever the caller built: a public group grant not already on the resource
    (ValueError), a list that drops the owner's FULL_CONTROL (ValueError), and any write to a
    bucket whose Object Ownership is BucketOwnerEnforced (AwsError AccessControlListNotSupported,
    as AWS answers; the emulator would accept it)."""
    if object_ownership(credentials, target.bucket, expected_owner) == "BucketOwnerEnforced":
        raise AwsError(
            f"writing the ACL of {target.arn}: ACLs are disabled on bucket {target.bucket} "
            "(Object Ownership is BucketOwnerEnforced); grant access with a bucket policy instead.",
            code="AccessControlListNotSupported",
        )
    current = acl_read(credentials, target, expected_owner)
    owner_full_control = AclGrant("CanonicalUser", current.owner_id, "FULL_CONTROL")
    if owner_full_control in current.grants and owner_full_control not in grants:
        raise ValueError(f"Refusing to remove the owner's FULL_CONTROL from {target.arn}.")
    headers = grant_headers(grants, already_present=current.grants)
    s3 = client_for("s3", credentials)
    try:
        if target.is_bucket:
            s3.put_bucket_acl(Bucket=target.bucket, **headers, **_owner(expected_owner))
        else:
            s3.put_object_acl(
                Bucket=target.bucket, Key=target.key, **headers, **_owner(expected_owner)
            )
    except Exception as error:
        raise translate_error(error, f"writing the ACL of {target.arn}") from error


def bucket_owner_account(bucket: str, candidates: Mapping[str, Credentials]) -> str | None:
    """Which of these accounts (account id -> credentials in it) owns the bucket, or None.

    ListBuckets shows only the caller's own buckets, in AWS and in the emulator alike (the
    emulator ignores ExpectedBucketOwner, so that cheaper probe cannot be used)."""
    for account_id, credentials in candidates.items():
        try:
            listed = pages(
                client_for("s3", credentials),
                "list_buckets",
                "Buckets",
                Prefix=bucket,
                PaginationConfig={"PageSize": 1000},
            )
        except Exception as error:
            raise translate_error(error, f"s3:ListBuckets in {account_id}") from error
        if any(entry["Name"] == bucket for entry in listed):
            return account_id
    return None


def object_owner(
    credentials: Credentials | None, target: AclTarget, expected_owner: str = ""
) -> str | None:
    """The canonical user id that owns the object, or None when there is no such object.

    Read from ListObjectsV2 with FetchOwner, which the bucket owner may call even on objects
    another account owns (GetObjectAcl would need READ_ACP on the object). The emulator answers
    one constant id for every object, whoever uploaded it."""
    if target.is_bucket:
        raise ValueError("object_owner needs an object, not a bucket.")
    doing = f"reading the owner of {target.arn}"
    try:
        # The key itself sorts first among the keys that start with it.
        answer = client_for("s3", credentials).list_objects_v2(
            Bucket=target.bucket,
            Prefix=target.key,
            MaxKeys=1,
            FetchOwner=True,
            **_owner(expected_owner),
        )
    except Exception as error:
        raise translate_error(error, doing) from error
    for entry in answer.get("Contents", []):
        if entry["Key"] == target.key:
            return entry.get("Owner", {}).get("ID")
    return None


def object_owner_account(
    credentials: Credentials | None,
    target: AclTarget,
    candidates: Mapping[str, Credentials],
    expected_owner: str = "",
) -> str | None:
    """Which of these accounts (account id -> credentials in it) owns the object: the owner id
    (listed with `credentials`, e.g. the bucket owner's) matched against each account's canonical
    user id. None when no candidate, or more than one, has that id: the emulator never tells (see
    object_owner and canonical_user_id)."""
    owner = object_owner(credentials, target, expected_owner)
    if owner is None:
        return None
    matches = [
        account_id
        for account_id, account_credentials in candidates.items()
        if canonical_user_id(account_credentials) == owner
    ]
    return matches[0] if len(matches) == 1 else None
