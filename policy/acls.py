"""S3 ACL grants: which ACL permissions a request needs, and the grant lists and
`x-amz-grant-*` headers the portal writes. Pure: no Django, no boto3.

ACL permissions and the policy actions each one stands for, from "Mapping of ACL permissions and
access policy permissions" in the Amazon S3 User Guide:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#permissions
(the same relationship is listed per permission in the older Developer Guide page
https://docs.aws.amazon.com/AmazonS3/latest/dev/UsingACLsandBucketPoliciesTogether.html).

A PUT of an ACL replaces the whole ACL, so the portal always writes every grant already there
(the owner's FULL_CONTROL, grants someone else made, even public ones it would never make itself)
plus or minus exactly its own grant.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from policy.arns import BUCKET_RE, arn_parse

ACL_PERMISSIONS = ("READ", "WRITE", "READ_ACP", "WRITE_ACP", "FULL_CONTROL")
GRANTEE_TYPES = ("CanonicalUser", "Group", "AmazonCustomerByEmail")

# The predefined groups that open a resource to the world: anyone at all, and anyone with any AWS
# account. https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#specifying-grantee
ALL_USERS_URI = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS_URI = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
PUBLIC_GROUP_URIS = (ALL_USERS_URI, AUTHENTICATED_USERS_URI)

# Bucket ACL: READ lists, WRITE creates and deletes objects anywhere in the bucket.
BUCKET_ACL_ACTIONS: dict[str, tuple[str, ...]] = {
    "READ": ("s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"),
    "WRITE": ("s3:PutObject", "s3:DeleteObject"),
    "READ_ACP": ("s3:GetBucketAcl",),
    "WRITE_ACP": ("s3:PutBucketAcl",),
}
# Object ACL: WRITE does not apply to objects.
OBJECT_ACL_ACTIONS: dict[str, tuple[str, ...]] = {
    "READ": ("s3:GetObject", "s3:GetObjectVersion"),
    "READ_ACP": ("s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
    "WRITE_ACP": ("s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
}

# boto3's keyword for each permission's x-amz-grant-* header.
GRANT_HEADER_PARAMS = {
    "READ": "GrantRead",
    "WRITE": "GrantWrite",
    "READ_ACP": "GrantReadACP",
    "WRITE_ACP": "GrantWriteACP",
    "FULL_CONTROL": "GrantFullControl",
}
_HEADER_KEYS = {"CanonicalUser": "id", "Group": "uri", "AmazonCustomerByEmail": "emailAddress"}
# A grantee is written inside key="value" pairs separated by commas: none of these may appear.
_UNSAFE_GRANTEE_RE = re.compile(r'[",\x00-\x1f\x7f]')


def grantee_is_public(grantee: str) -> bool:
    """True for the AllUsers and AuthenticatedUsers group URIs, however they are spelled."""
    normalized = grantee.strip().lower().rstrip("/")
    if normalized.startswith("https://"):
        normalized = "http://" + normalized.removeprefix("https://")
    return normalized in {uri.lower() for uri in PUBLIC_GROUP_URIS}


@dataclass(frozen=True)
class AclGrant:
    """One ACL entry: a grantee (canonical user id, group URI or email) and one permission."""

    grantee_type: str
    grantee: str
    permission: str

    def __post_init__(self) -> None:
        if self.grantee_type not in GRANTEE_TYPES:
            raise ValueError(f"Unknown ACL grantee type {self.grantee_type!r}.")
        if self.permission not in ACL_PERMISSIONS:
            raise ValueError(
                f"Unknown ACL permission {self.permission!r}; one of {', '.join(ACL_PERMISSIONS)}."
            )
        if not self.grantee or _UNSAFE_GRANTEE_RE.search(self.grantee):
            raise ValueError(f"Not a usable ACL grantee: {self.grantee!r}.")

    @property
    def public(self) -> bool:
        return grantee_is_public(self.grantee)


@dataclass(frozen=True)
class AclTarget:
    """The ACL of one bucket (key "") or of one object."""

    bucket: str
    key: str = ""

    @property
    def is_bucket(self) -> bool:
        return not self.key

    @property
    def arn(self) -> str:
        suffix = f"/{self.key}" if self.key else ""
        return f"arn:aws:s3:::{self.bucket}{suffix}"


_BUCKET_NAME_RE = re.compile(f"^{BUCKET_RE}$")


def acl_target_for(resource_arn: str) -> AclTarget | None:
    """The bucket ACL for arn:aws:s3:::bucket, the object ACL for arn:aws:s3:::bucket/key, None
    for anything else. An ACL belongs to one bucket or one object, so an ARN with a wildcard
    (a prefix, all objects) has no single ACL to write: None."""
    arn = arn_parse(resource_arn.strip())
    if arn is None or arn.partition != "aws" or arn.service != "s3" or arn.region or arn.account:
        return None
    if "*" in arn.resource or "?" in arn.resource:
        return None
    bucket, slash, key = arn.resource.partition("/")
    if not _BUCKET_NAME_RE.match(bucket) or (slash and not key):
        return None
    return AclTarget(bucket=bucket, key=key)


def acl_target(resource_arn: str) -> AclTarget:
    """`acl_target_for` a resource already validated for an ACL; ValueError if it has no ACL."""
    target = acl_target_for(resource_arn)
    if target is None:
        raise ValueError(f"{resource_arn} is no S3 bucket or single object: it has no ACL.")
    return target


def permissions_for_actions(actions: list[str], target: AclTarget) -> tuple[list[str], list[str]]:
    """(ACL permissions that together allow these actions on the target, actions no ACL permission
    on that target expresses). Least privilege: never FULL_CONTROL, only the permissions needed.
    Action names match case-insensitively as in IAM; wildcard actions are never expressible (an
    ACL cannot say "whatever s3:Get* means"), nor are object actions on a bucket ACL or the
    reverse."""
    table = BUCKET_ACL_ACTIONS if target.is_bucket else OBJECT_ACL_ACTIONS
    permission_of = {
        action.lower(): permission for permission, names in table.items() for action in names
    }
    needed: set[str] = set()
    unexpressible: list[str] = []
    for action in actions:
        permission = permission_of.get(action.strip().lower())
        if permission is None:
            if action not in unexpressible:
                unexpressible.append(action)
        else:
            needed.add(permission)
    return [p for p in ACL_PERMISSIONS if p in needed], unexpressible


def grant_headers(
    grants: list[AclGrant], *, already_present: Iterable[AclGrant] = ()
) -> dict[str, str]:
    """boto3 keyword arguments (GrantRead='id="..."', ...) that set an ACL to exactly these grants.

    A public group grant is written only when it is already on the resource (`already_present`,
    the ACL as read): the portal keeps what others wrote but never adds one itself."""
    if not grants:
        raise ValueError("An ACL needs at least one grant (the owner's FULL_CONTROL).")
    present = set(already_present)
    by_permission: dict[str, list[str]] = {}
    seen: set[AclGrant] = set()
    for grant in grants:
        if grant in seen:
            continue
        seen.add(grant)
        if grant.public and grant not in present:
            raise ValueError(
                f"Refusing to grant {grant.permission} to the public group {grant.grantee}."
            )
        entry = f'{_HEADER_KEYS[grant.grantee_type]}="{grant.grantee}"'
        by_permission.setdefault(grant.permission, []).append(entry)
    return {
        GRANT_HEADER_PARAMS[permission]: ", ".join(by_permission[permission])
        for permission in ACL_PERMISSIONS
        if permission in by_permission
    }


def acl_grants_add(existing: list[AclGrant], new: AclGrant) -> list[AclGrant]:
    """The ACL with `new` added once (unchanged if it is already there). Never a public grant."""
    if new.public:
        raise ValueError(f"Refusing to grant {new.permission} to the public group {new.grantee}.")
    if new in existing:
        return list(existing)
    return [*existing, new]


def acl_grants_remove(existing: list[AclGrant], grant: AclGrant) -> list[AclGrant]:
    """The ACL without exactly this grantee and permission; every other entry stays as it was."""
    return [entry for entry in existing if entry != grant]
