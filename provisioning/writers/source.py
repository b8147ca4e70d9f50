"""The source side: the identity policy that lets the source principal use the grant. Cross-account
access needs an allow on both sides."""

from typing import Any

import aws
from aws.iam import role_policy_read
from policy import builders
from provisioning.models import ApprovedRequest, Grant


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


def remove(grant: Grant, access_request: ApprovedRequest) -> list[str]:
    if not grant.source_policy_name:
        return []
    source = access_request.source_account
    credentials = aws.role_credentials(source.provisioner_role_arn)
    if aws.role_policy_delete(
        credentials, role_name=grant.source_role_name, policy_name=grant.source_policy_name
    ):
        return [
            f"arn:aws:iam::{source.account_id}:role/{grant.source_role_name} "
            f"inline policy {grant.source_policy_name}"
        ]
    return []


def drift(grant: Grant, access_request: ApprovedRequest) -> list[dict[str, Any]]:
    if not grant.source_policy_name:
        return []
    expected = access_request.documents[builders.SOURCE_IDENTITY_POLICY]["document"]
    credentials = aws.role_credentials(access_request.source_account.provisioner_role_arn)
    found = role_policy_read(
        credentials, role_name=grant.source_role_name, policy_name=grant.source_policy_name
    )
    if found == expected:
        return []
    return [{"what": "source-side identity policy", "expected": expected, "found": found}]
