"""The source side: the identity policy that lets the source principal use the grant. Cross-account
access needs an allow on both sides."""

from typing import Any

import aws
from aws.iam import role_policy_read
from policy import builders
from policy.arns import role_arn
from provisioning.models import ApprovedRequest, Grant
from provisioning.writers.removal import Removal


def write(grant: Grant, access_request: ApprovedRequest) -> dict[str, Any] | None:
    if not grant.source_policy_name:
        return None
    document = access_request.documents[builders.SOURCE_IDENTITY_POLICY]["document"]
    credentials = aws.role_credentials(access_request.source_account.provisioner_role_arn)
    aws.role_policy_put(
        credentials,
        role_name=grant.source_role_name,
        policy_name=grant.source_policy_name,
        document=builders.document_json(document),
    )
    # Only this grant's policy: the broker role holds one per live grant, and reading them all
    # made each grant's provisioning slower than the last.
    written = role_policy_read(
        credentials, role_name=grant.source_role_name, policy_name=grant.source_policy_name
    )
    if written != document:
        raise aws.AwsError(
            f"Role {grant.source_role_name} does not hold the identity policy just written."
        )
    return written


def remove(grant: Grant, access_request: ApprovedRequest) -> Removal:
    """Delete the grant's identity policy from the source role, and only that.

    No aws:TokenIssueTime deny here, unlike the target role (writers.role): this policy only
    lets the source role call sts:AssumeRole on the granted role, and IAM evaluates it on every
    call, so deleting it stops new AssumeRole calls at once. Sessions of the granted role that
    were already handed out are cut on the target side, by the deny put on that role before it is
    taken apart. And the source role is not the portal's to deny: the broker serves every grant
    at once, and a source principal used through its own identity is the engineer's role for all
    their work, so a deny on its older sessions would cut far more than this grant."""
    if not grant.source_policy_name:
        return Removal()
    source = access_request.source_account
    credentials = aws.role_credentials(source.provisioner_role_arn)
    if aws.role_policy_delete(
        credentials, role_name=grant.source_role_name, policy_name=grant.source_policy_name
    ):
        return Removal(
            removed=[
                role_arn(
                    account_id=source.account_id,
                    role_name=grant.source_role_name,
                    partition=source.partition,
                )
                + f" inline policy {grant.source_policy_name}"
            ]
        )
    return Removal()


def drift(grant: Grant, access_request: ApprovedRequest) -> list[dict[str, Any]]:
    if not grant.source_policy_name:
        return []
    credentials = aws.role_credentials(access_request.source_account.provisioner_role_arn)
    found = role_policy_read(
        credentials, role_name=grant.source_role_name, policy_name=grant.source_policy_name
    )
    return drift_from(grant, access_request, found)


def drift_from(
    grant: Grant, access_request: ApprovedRequest, found: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """How the source-side identity policy as read (None: not there) differs from the approved
    one; none for a grant that writes none."""
    if not grant.source_policy_name:
        return []
    expected = access_request.documents[builders.SOURCE_IDENTITY_POLICY]["document"]
    if found == expected:
        return []
    return [{"what": "source-side identity policy", "expected": expected, "found": found}]
