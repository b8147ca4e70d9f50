"""What AWS says about a request's resources, for the recommender: who owns an S3 object, whether a
bucket has ACLs on, and the source account's canonical user id for ACL grants.

Best effort and cached for a minute (the form's live preview asks on every change): a lookup that
fails leaves that fact out rather than failing the request.
"""

import logging
import threading
import time

import aws
from access_requests.recommender import Facts
from accounts.models import Account
from policy.acls import AclTarget, acl_target_for

logger = logging.getLogger(__name__)
_TTL = 60.0
_cache: dict[tuple, tuple[float, tuple[Facts, str]]] = {}
_lock = threading.Lock()


def request_facts(
    *, source_account: Account | None, target_account: Account | None, resources: list[str]
) -> tuple[Facts, str]:
    """The facts about these resources, and the source account's canonical user id ("" unknown)."""
    if source_account is None or target_account is None or not target_account.managed:
        return Facts(), ""
    key = (source_account.account_id, target_account.account_id, tuple(resources))
    now = time.monotonic()
    with _lock:
        cached = _cache.get(key)
        if cached and now - cached[0] < _TTL:
            return cached[1]
    answer = _look_up(source_account, target_account, resources)
    with _lock:
        if len(_cache) > 1024:
            _cache.clear()
        _cache[key] = (now, answer)
    return answer


def _look_up(source: Account, target: Account, resources: list[str]) -> tuple[Facts, str]:
    found = [acl_target_for(r) for r in resources]
    targets = [t for t in found if t is not None]
    if not found or len(targets) < len(found):
        return Facts(), ""  # not all S3 buckets or objects: neither ACLs nor ownership matter
    foreign: list[str] = []
    writers: list[tuple[str, str]] = []
    disabled: list[str] = []
    try:
        credentials = aws.role_credentials(target.provisioner_role_arn)
        for bucket in sorted({t.bucket for t in targets}):
            if (
                aws.object_ownership(credentials, bucket, target.account_id)
                == "BucketOwnerEnforced"
            ):
                disabled.append(bucket)
        bucket_owners = {
            bucket: aws.acl_read(credentials, AclTarget(bucket, ""), target.account_id).owner_id
            for bucket in {t.bucket for t in targets if t.key}
        }
        for t in targets:
            if not t.key:
                continue
            # Never GetObjectAcl: on an object another account owns, AWS refuses it to the bucket
            # owner (READ_ACP is the object owner's). ListObjectsV2 with FetchOwner names the
            # owner to the bucket owner, whoever uploaded the object.
            # https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
            owner_id = aws.object_owner(credentials, t, target.account_id)
            if owner_id is None or owner_id == bucket_owners[t.bucket]:
                continue
            arn = f"arn:aws:s3:::{t.bucket}/{t.key}"
            foreign.append(arn)
            writers.append((arn, _account_with_id(owner_id, source, target)))
    except aws.AwsError as error:
        logger.info("looking up S3 ownership for a request: %s", error)
    facts = Facts(
        foreign_owned_objects=tuple(foreign),
        acls_disabled_buckets=tuple(disabled),
        object_writers=tuple(writers),
    )
    return facts, _canonical_id(source)


def _account_with_id(canonical_id: str, *accounts: Account) -> str:
    """Which of the request's accounts has this canonical user id ("" none the portal manages)."""
    for account in accounts:
        if (
            account.managed
            and account.provisioner_role_arn
            and _canonical_id(account) == canonical_id
        ):
            return account.account_id
    return ""


def _canonical_id(source: Account) -> str:
    if not source.managed or not source.provisioner_role_arn:
        return ""
    try:
        return aws.canonical_user_id(aws.role_credentials(source.provisioner_role_arn))
    except aws.AwsError as error:
        logger.info("looking up the canonical user id of %s: %s", source.account_id, error)
        return ""
