"""S3 ACL grants to the source account's canonical user, on buckets or single objects.

Only an object's owner can grant on it, so each grant is written with the credentials of the
account that owns the object (the article's special case: an object the source account uploaded
into the target's bucket). An ACL write replaces the whole ACL, so the portal reads it, adds or
removes exactly its grants, and writes every other grant back as it was.
"""

from dataclasses import asdict
from typing import Any

import aws
from accounts.models import Account
from core.locks import policy_lock
from policy.acls import AclGrant, AclTarget, acl_grants_add, acl_grants_remove
from provisioning.models import ApprovedRequest, Grant
from provisioning.writers.removal import Removal


def _grant_of(entry: dict[str, Any]) -> AclGrant:
    return AclGrant(
        grantee_type="CanonicalUser", grantee=entry["grantee"], permission=entry["permission"]
    )


def _target_of(entry: dict[str, Any]) -> AclTarget:
    return AclTarget(bucket=entry["bucket"], key=entry["key"])


def _label(target: AclTarget) -> str:
    return f"s3://{target.bucket}/{target.key}" if target.key else f"s3://{target.bucket}"


def _owner_account(access_request: ApprovedRequest, target: AclTarget) -> Account:
    """The managed account that owns the bucket or object, whose credentials may change its ACL.

    A bucket's owner is the account that lists it. An object's owner is matched by canonical user
    id; an object whose owner id is the bucket's own is the bucket owner's. (The emulator answers
    one constant owner id for every bucket and object, so there it always finds the bucket owner.)
    """
    accounts = {
        account.account_id: account
        for account in (access_request.target_account, access_request.source_account)
        if account.managed and account.provisioner_role_arn
    }
    candidates = {
        account_id: aws.role_credentials(account.provisioner_role_arn)
        for account_id, account in accounts.items()
    }
    bucket_owner = aws.bucket_owner_account(target.bucket, candidates)
    if bucket_owner is None:
        raise aws.AwsError(f"No account the portal manages owns the bucket {target.bucket}.")
    if bucket_owner != access_request.target_account.account_id:
        raise aws.AwsError(
            f"Bucket {target.bucket} is account {bucket_owner}'s now, not the target account's: "
            "nothing was written."
        )
    if target.is_bucket:
        return accounts[bucket_owner]
    owner = aws.object_owner_account(candidates[bucket_owner], target, candidates, bucket_owner)
    if owner is not None:
        return accounts[owner]
    object_owner_id = aws.object_owner(candidates[bucket_owner], target, bucket_owner)
    if object_owner_id is None:
        raise aws.AwsError(f"There is no object {_label(target)}.")
    bucket_acl = aws.acl_read(candidates[bucket_owner], AclTarget(target.bucket), bucket_owner)
    bucket_acl_owner = bucket_acl.owner_id
    if object_owner_id == bucket_acl_owner:
        return accounts[bucket_owner]
    raise aws.AwsError(
        f"{_label(target)} is owned by canonical user {object_owner_id}, an account the portal "
        "does not manage: only its owner can grant on it."
    )


def _record_writers(grant: Grant, access_request: ApprovedRequest) -> None:
    entries = []
    for entry in grant.acl_grants:
        if not entry.get("writer_account"):
            owner = _owner_account(access_request, _target_of(entry))
            entry = dict(entry, writer_account=owner.account_id)
        entries.append(entry)
    grant.acl_grants = entries
    Grant.objects.filter(pk=grant.pk).update(acl_grants=entries)


def _record(grant: Grant, entry: dict[str, Any], **changes: Any) -> None:
    entries = [dict(e, **changes) if e == entry else e for e in grant.acl_grants]
    entry.update(changes)
    grant.acl_grants = entries
    Grant.objects.filter(pk=grant.pk).update(acl_grants=entries)


def _credentials(entry: dict[str, Any]) -> aws.Credentials:
    account = Account.objects.get(account_id=entry["writer_account"])
    return aws.role_credentials(account.provisioner_role_arn)


def write(grant: Grant, access_request: ApprovedRequest) -> dict[str, Any]:
    _record_writers(grant, access_request)
    owner = access_request.target_account.account_id  # proven at submit: ExpectedBucketOwner
    written: dict[str, Any] = {}
    for entry in grant.acl_grants:
        target, wanted = _target_of(entry), _grant_of(entry)
        credentials = _credentials(entry)
        with policy_lock(_label(target)):
            state = aws.acl_read(credentials, target, owner)
            if entry.get("already_present") is None:
                # Someone else's identical grant is theirs: revoking must leave it.
                _record(grant, entry, already_present=wanted in state.grants)
            elif entry["already_present"] and wanted not in state.grants:
                # Theirs is gone (a re-apply writes it again): from now on the entry is the
                # portal's, and the revoke removes it.
                _record(grant, entry, already_present=False)
            grants = acl_grants_add(state.grants, wanted)
            if set(grants) != set(state.grants):
                aws.acl_write(credentials, target, grants, owner)
            after = aws.acl_read(credentials, target, owner)
        # Compared as sets: AWS returns grants in its own order.
        if set(after.grants) != set(state.grants) | {wanted}:
            raise aws.AwsError(f"The ACL of {_label(target)} does not hold what was written.")
        written[f"acl:{_label(target)[5:]}"] = {
            "owner": after.owner_id,
            "writer_account": entry["writer_account"],
            "grants": [asdict(g) for g in after.grants],
        }
    return written


def remove(grant: Grant, access_request: ApprovedRequest) -> Removal:
    removed = []
    owner = access_request.target_account.account_id
    for entry in grant.acl_grants:
        if not entry.get("writer_account") or entry.get("already_present") is not False:
            continue  # never written, or the grant was someone else's before the portal's
        target, granted = _target_of(entry), _grant_of(entry)
        credentials = _credentials(entry)
        with policy_lock(_label(target)):
            state = aws.acl_read(credentials, target, owner)
            if granted not in state.grants:
                continue
            aws.acl_write(credentials, target, acl_grants_remove(state.grants, granted), owner)
        removed.append(f"{_label(target)} {granted.permission} for {granted.grantee}")
    return Removal(removed=removed)


def drift(grant: Grant, access_request: ApprovedRequest) -> list[dict[str, Any]]:
    differences = []
    for entry in grant.acl_grants:
        if not entry.get("writer_account"):
            continue
        target, wanted = _target_of(entry), _grant_of(entry)
        owner = access_request.target_account.account_id
        if wanted not in aws.acl_read(_credentials(entry), target, owner).grants:
            differences.append(
                {
                    "what": f"{wanted.permission} grant on {_label(target)}",
                    "expected": asdict(wanted),
                    "found": None,
                }
            )
    return differences
