"""Resource-based policy: one statement with the portal's Sid in each resource's own policy.

Read-modify-write under a lock per policy: statements the portal did not write are never dropped,
reordered or changed; the result is refused, and nothing written, when it would exceed the
service's size limit. Revoke removes exactly the portal's statement, and deletes the policy when
nothing else is left in it (AWS stores no policy without a statement). Statements others added to
the policy while the grant was live stay (they are not the portal's to remove), and are reported:
a grantee allowed to rewrite the policy may have added one of their own that outlives the grant.
"""

from typing import Any

import aws
from core.locks import policy_lock
from policy.builders import RESOURCE_POLICY_PREFIX, request_of_sid
from policy.resource_policies import (
    SIZE_LIMITS,
    PolicyHolder,
    in_account,
    policy_size,
    policy_text,
    statement_find,
    statement_put,
    statement_remove,
    statements_added,
    statements_except,
)
from provisioning.models import ApprovedRequest, Grant
from provisioning.writers.removal import Removal


def _credentials(access_request: ApprovedRequest) -> aws.Credentials:
    return aws.role_credentials(access_request.target_account.provisioner_role_arn)


def _record_created(grant: Grant, index: int, created: bool) -> None:
    """Remember, before the first write, whether the policy existed: a retry must not forget it."""
    statements = list(grant.resource_statements)
    statements[index] = dict(statements[index], created_policy=created)
    grant.resource_statements = statements
    Grant.objects.filter(pk=grant.pk).update(resource_statements=statements)


def write(grant: Grant, access_request: ApprovedRequest) -> dict[str, Any]:
    credentials = _credentials(access_request)
    target = access_request.target_account.account_id
    written: dict[str, Any] = {}
    for index, entry in enumerate(grant.resource_statements):
        holder = in_account(PolicyHolder(**entry["holder"]), target)
        statement = access_request.documents[f"{RESOURCE_POLICY_PREFIX}{holder.arn}"]["document"]
        with policy_lock(holder.arn):
            before = aws.policy_read(credentials, holder)
            if entry.get("created_policy") is None:
                _record_created(grant, index, before is None)
            after = statement_put(before, statement)
            size, limit = policy_size(holder.service, after), SIZE_LIMITS[holder.service]
            if size > limit:
                raise aws.AwsError(
                    f"Adding the statement would make the policy of {holder.arn} {size:,} "
                    f"long; {holder.service} allows {limit:,}. Nothing was written."
                )
            if after != before:
                aws.policy_write(credentials, holder, after)
            read_back = aws.policy_read(credentials, holder)
        others_before = statements_except(before, entry["sid"]) if before else []
        if (
            read_back is None
            or statement not in _statements(read_back)
            or statements_except(read_back, entry["sid"]) != others_before
        ):
            raise aws.AwsError(f"The policy of {holder.arn} does not hold what was written.")
        written[f"{RESOURCE_POLICY_PREFIX}{holder.arn}"] = read_back
    return written


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    statements = policy.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def remove(grant: Grant, access_request: ApprovedRequest) -> Removal:
    credentials = _credentials(access_request)
    target = access_request.target_account.account_id
    removal = Removal()
    for entry in grant.resource_statements:
        holder = in_account(PolicyHolder(**entry["holder"]), target)
        key = f"{RESOURCE_POLICY_PREFIX}{holder.arn}"
        with policy_lock(holder.arn):
            policy = aws.policy_read(credentials, holder)
            removal.found += _found(grant, holder, entry["sid"], policy)
            ours = statement_find(policy, entry["sid"])
            if policy is None or ours is None:
                continue
            if ours != access_request.documents[key]["document"]:
                removal.found.append(
                    f"{holder.arn}: the portal's statement {entry['sid']} was changed outside the "
                    "portal (removed all the same)"
                )
            remaining = statement_remove(policy, entry["sid"])
            if not _statements(remaining) and _deleted(credentials, holder):
                whose = (
                    "created by the portal" if entry.get("created_policy") else "not the portal's"
                )
                removal.removed.append(f"{holder.arn} policy ({whose}, now empty)")
            else:
                aws.policy_write(credentials, holder, remaining)
                removal.removed.append(f"{holder.arn} statement {entry['sid']}")
    return removal


def _deleted(credentials: aws.Credentials, holder: PolicyHolder) -> bool:
    """Delete a policy left without a statement, whoever created it: AWS refuses to store one
    (the policy grammar needs a statement; S3 answers MalformedPolicy "Statement is empty"), so
    writing it would stop the revoke with the grantee's statement still in place.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    False for a resource that cannot be without a policy (SNS, KMS): the caller writes it."""
    try:
        aws.policy_delete(credentials, holder)
    except aws.AwsError as error:
        if error.code != "PolicyNotDeletable":
            raise
        return False
    return True


def _found(
    grant: Grant, holder: PolicyHolder, sid: str, policy: dict[str, Any] | None
) -> list[str]:
    """Statements someone else added to the policy while the grant was live: those the policy
    holds now and did not hold when the grant was written (grant.written keeps that reading),
    except the statements of the portal's other grants. Nothing to compare with for a grant that
    was never verified."""
    written = grant.written.get(f"{RESOURCE_POLICY_PREFIX}{holder.arn}")
    if written is None:
        return []
    return [
        f"{holder.arn}: statement {statement.get('Sid') or '(no Sid)'} was added by someone else "
        f"during the grant and left in place: {policy_text(statement)[:500]}"
        for statement in statements_added(written, policy, sid)
        if not _portal_statement(holder, statement)
    ]


def _portal_statement(holder: PolicyHolder, statement: dict[str, Any]) -> bool:
    """Whether this is exactly the statement the portal wrote for another grant on this policy
    (a Sid alone proves nothing: anyone may write one that looks like the portal's)."""
    request_id = request_of_sid(str(statement.get("Sid", "")))
    if request_id is None:
        return False
    documents = (
        Grant.objects.filter(access_request_id=request_id)
        .values_list("access_request__documents", flat=True)
        .first()
    )
    written = (documents or {}).get(f"{RESOURCE_POLICY_PREFIX}{holder.arn}") or {}
    return written.get("document") == statement


def drift(grant: Grant, access_request: ApprovedRequest) -> list[dict[str, Any]]:
    """Only the portal's own statement counts: others may change their statements as they like."""
    credentials = _credentials(access_request)
    target = access_request.target_account.account_id
    differences = []
    for entry in grant.resource_statements:
        holder = in_account(PolicyHolder(**entry["holder"]), target)
        expected = access_request.documents[f"{RESOURCE_POLICY_PREFIX}{holder.arn}"]["document"]
        found = statement_find(aws.policy_read(credentials, holder), entry["sid"])
        if found != expected:
            differences.append(
                {
                    "what": f"statement {entry['sid']} of {holder.arn}",
                    "expected": expected,
                    "found": found,
                }
            )
    return differences
