"""The documents a request writes, by mechanism: what approvers see is exactly what is written.

Each entry: {"title", "account_id", "where", "written_by_portal", "document", ...} keyed by role
("trust_policy", "permission_policy", "source_identity_policy", "resource_policy:<holder ARN>",
"acl:<bucket>/<key>").
"""

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from django.conf import settings

from access_requests.models import AccessRequest, Mechanism
from accounts.models import Account
from policy import builders
from policy.acls import acl_target, permissions_for_actions
from policy.arns import ROLE_ARN_RE, role_arn
from policy.resource_policies import resource_holder, resource_statement

# A preview names the role after the request number it will get on submit.
PREVIEW_ID = "<id>"
CANONICAL_ID_PLACEHOLDER = "<canonical user id of the source account, looked up on submit>"


def source_role_name(*, source_account: Account, source_principal: str, access_via: str) -> str:
    """The source-account role that receives the identity policy, or "" when there is no single
    role to attach it to (the account root used with the principals' own identities)."""
    if access_via == AccessRequest.AccessVia.PORTAL and source_account.broker_role_arn:
        return source_account.broker_role_arn.rsplit("/", 1)[1]
    match = ROLE_ARN_RE.match(source_principal)
    return match.group(3) if match else ""


def _source_entry(
    *,
    names: builders.Names,
    source_account: Account,
    source_principal: str,
    access_via: str,
    document: dict[str, Any],
    purpose: str,
) -> dict[str, Any]:
    source_role = source_role_name(
        source_account=source_account, source_principal=source_principal, access_via=access_via
    )
    written_by_portal = bool(source_role) and source_account.managed
    if written_by_portal:
        where = f"inline policy {names.policy_name} on role {source_role}"
    else:
        where = (
            "to be attached by the source account's administrators to the identities that "
            f"{purpose} (any identity of {source_account.root_arn})"
        )
    return {
        "title": "Source-side identity policy",
        "account_id": source_account.account_id,
        "where": where,
        "role_name": source_role if written_by_portal else "",
        "written_by_portal": written_by_portal,
        "document": document,
    }


def _trust_policy(
    *,
    source_account: Account,
    source_principal: str,
    access_via: str,
    external_id: str,
    source_identity: str,
) -> dict[str, Any]:
    """Portal sessions: the source account's broker role, and only for the requester (the
    SourceIdentity the broker sets), not the account root, so nobody else in the source account
    can use the role. Own identity: the source principal, whose own IAM policies decide."""
    if access_via != AccessRequest.AccessVia.PORTAL:
        return builders.trust_policy(principal=source_principal, external_id=external_id)
    if not source_identity or not source_account.broker_role_arn:
        raise ValueError("A portal session's trust policy needs the broker role and the requester.")
    return builders.trust_policy(
        principal=source_account.broker_role_arn,
        external_id=external_id,
        source_identity=source_identity,
    )


def _assume_role(
    names: builders.Names,
    *,
    source_account: Account,
    target_account: Account,
    source_principal: str,
    actions: list[str],
    resources: list[str],
    access_via: str,
    external_id: str,
    source_identity: str,
    **_: Any,
) -> dict[str, Any]:
    target_role_arn = role_arn(
        account_id=target_account.account_id,
        role_name=names.role_name,
        path=settings.PORTAL_ROLE_PATH,
        partition=target_account.partition,
    )
    return {
        builders.TRUST_POLICY: {
            "title": "Trust policy",
            "account_id": target_account.account_id,
            "where": f"trust policy of role {target_role_arn}",
            "written_by_portal": True,
            "document": _trust_policy(
                source_account=source_account,
                source_principal=source_principal,
                access_via=access_via,
                external_id=external_id,
                source_identity=source_identity,
            ),
        },
        builders.PERMISSION_POLICY: {
            "title": "Permission policy",
            "account_id": target_account.account_id,
            "where": f"inline policy {names.policy_name} on role {target_role_arn}",
            "written_by_portal": True,
            "document": builders.permission_policy(
                sid=names.sid, actions=actions, resources=resources
            ),
        },
        builders.SOURCE_IDENTITY_POLICY: _source_entry(
            names=names,
            source_account=source_account,
            source_principal=source_principal,
            access_via=access_via,
            document=builders.source_identity_policy(sid=names.sid, role_arn=target_role_arn),
            purpose="assume the role",
        ),
    }


_HOLDER_TITLES = {
    "s3": "Bucket policy statement",
    "sqs": "Queue policy statement",
    "sns": "Topic policy statement",
    "kms": "Key policy statement",
    "secretsmanager": "Secret resource policy statement",
    "dynamodb": "Table resource policy statement",
    "lambda": "Function policy statement",
}


def _resource_policy(
    names: builders.Names,
    *,
    source_account: Account,
    target_account: Account,
    source_principal: str,
    actions: list[str],
    resources: list[str],
    access_via: str,
    **_: Any,
) -> dict[str, Any]:
    documents: dict[str, Any] = {}
    holders: dict[str, Any] = {}
    for resource in resources:
        holder = resource_holder(resource)
        holders.setdefault(holder.arn, (holder, []))[1].append(resource)
    for holder, held in holders.values():
        documents[f"{builders.RESOURCE_POLICY_PREFIX}{holder.arn}"] = {
            "title": _HOLDER_TITLES.get(holder.service, "Resource policy statement"),
            "account_id": target_account.account_id,
            "where": f"statement {names.sid} added to the policy of {holder.arn}; the "
            "statements already there stay as they are",
            "written_by_portal": True,
            "holder": asdict(holder),
            "document": resource_statement(
                holder=holder,
                sid=names.sid,
                principal=source_principal,
                actions=actions,
                resources=held,
            ),
        }
    documents[builders.SOURCE_IDENTITY_POLICY] = _source_entry(
        names=names,
        source_account=source_account,
        source_principal=source_principal,
        access_via=access_via,
        document=builders.permission_policy(sid=names.sid, actions=actions, resources=resources),
        purpose="use the resources",
    )
    return documents


def _acl(
    names: builders.Names,
    *,
    source_account: Account,
    target_account: Account,
    source_principal: str,
    actions: list[str],
    resources: list[str],
    access_via: str,
    grantee_canonical_id: str = "",
    **_: Any,
) -> dict[str, Any]:
    documents: dict[str, Any] = {}
    for resource in resources:
        target = acl_target(resource)
        permissions, _inexpressible = permissions_for_actions(actions, target)
        label = f"{target.bucket}/{target.key}" if target.key else target.bucket
        documents[f"{builders.ACL_PREFIX}{label}"] = {
            "title": "Object ACL grant" if target.key else "Bucket ACL grant",
            "account_id": target_account.account_id,
            "where": f"ACL of s3://{label}, written by the owner of "
            f"{'the object' if target.key else 'the bucket'}; the grants already there stay",
            "written_by_portal": True,
            "bucket": target.bucket,
            "key": target.key,
            "document": {
                "Grantee": {
                    "Type": "CanonicalUser",
                    "ID": grantee_canonical_id or CANONICAL_ID_PLACEHOLDER,
                    "Account": source_account.account_id,
                },
                "Permissions": permissions,
            },
        }
    documents[builders.SOURCE_IDENTITY_POLICY] = _source_entry(
        names=names,
        source_account=source_account,
        source_principal=source_principal,
        access_via=access_via,
        document=builders.permission_policy(sid=names.sid, actions=actions, resources=resources),
        purpose="use the objects",
    )
    return documents


_BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    Mechanism.ASSUME_ROLE: _assume_role,
    Mechanism.RESOURCE_POLICY: _resource_policy,
    Mechanism.ACL: _acl,
}


def documents_for(
    *,
    mechanism: str,
    request_id: int | None,
    source_account: Account,
    target_account: Account,
    source_principal: str,
    actions: list[str],
    resources: list[str],
    access_via: str,
    external_id: str = "",
    grantee_canonical_id: str = "",
    source_identity: str = "",
) -> dict[str, Any]:
    """Every document of one request. `request_id` None builds a preview. `source_identity`: the
    requester's name as the broker sets it (builders.source_identity_for)."""
    names = builders.names_for(request_id if request_id is not None else PREVIEW_ID)
    return _BUILDERS[mechanism](
        names,
        source_account=source_account,
        target_account=target_account,
        source_principal=source_principal,
        actions=actions,
        resources=resources,
        access_via=access_via,
        external_id=external_id,
        grantee_canonical_id=grantee_canonical_id,
        source_identity=source_identity,
    )


def documents_with_stand_in_id(documents: dict[str, Any]) -> dict[str, Any]:
    """A preview's documents with a request number in place of PREVIEW_ID, for the linter."""
    return json.loads(json.dumps(documents).replace(PREVIEW_ID, "0"))
