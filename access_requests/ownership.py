"""Every resource of a request belongs to its target account, proven.

ARNs of most services name their account, and the request validation checks it. S3 ARNs name
none: without a check, a request with target 999999999999 (one approval, seven days) for
`arn:aws:s3:::prod-reports/*` would put a statement into the prod account's bucket policy on the
data account's approvals. So each bucket's owner is proven before anything else: from the
inventory (synced from each account's own bucket list) without a call, or for a bucket the
inventory has not seen, from the target account's own bucket list (ListBuckets shows only the
caller's buckets, in AWS and in the emulator). What cannot be proven is refused.
"""

import threading
import time

import aws
from accounts.models import Account, Resource
from policy.arns import arn_parse

_TTL = 60.0  # the form's live preview asks on every change
_proven: dict[tuple[str, str], float] = {}
_lock = threading.Lock()


def _buckets(resources: list[str]) -> list[str]:
    buckets = set()
    for resource in resources:
        arn = arn_parse(resource.strip())
        if arn is not None and arn.service == "s3" and not arn.account and arn.resource:
            buckets.add(arn.resource.split("/", 1)[0])
    return sorted(buckets)


def _owned_by_target(target: Account, bucket: str) -> bool:
    """The target account's bucket list has it (cached for a minute when it does)."""
    key = (target.account_id, bucket)
    with _lock:
        if time.monotonic() - _proven.get(key, -_TTL) < _TTL:
            return True
    credentials = aws.role_credentials(target.provisioner_role_arn)
    owned = aws.bucket_owner_account(bucket, {target.account_id: credentials}) is not None
    if owned:
        with _lock:
            _proven[key] = time.monotonic()
    return owned


def bucket_owner_errors(*, target_account: Account | None, resources: list[str]) -> list[str]:
    """Why a bucket of these resources is not proven the target account's, one message each."""
    buckets = _buckets(resources)
    if target_account is None or not buckets:
        return []
    target = target_account.account_id
    known = dict(
        Resource.objects.filter(
            kind=Resource.Kind.S3_BUCKET, arn__in=[f"arn:aws:s3:::{b}" for b in buckets]
        ).values_list("arn", "account__account_id")
    )
    errors = []
    for bucket in buckets:
        owner = known.get(f"arn:aws:s3:::{bucket}")
        if owner == target:
            continue
        if owner is not None:
            errors.append(
                f"Bucket {bucket} belongs to account {owner}, not to {target}: "
                f"ask for it with target account {owner}, whose approvers decide."
            )
            continue
        if not (target_account.managed and target_account.provisioner_role_arn):
            errors.append(f"The portal cannot prove that bucket {bucket} belongs to {target}.")
            continue
        try:
            owned = _owned_by_target(target_account, bucket)
        except aws.AwsError as error:
            errors.append(f"Could not check that bucket {bucket} belongs to {target}: {error}")
            continue
        if not owned:
            errors.append(
                f"Bucket {bucket} is not one of {target_account.name}'s ({target}) buckets: "
                "S3 ARNs name no account, so the portal proves each bucket's owner."
            )
    return errors
