"""Pure builders of the policy documents the portal writes. No Django, no boto3.

The documents follow the article's "Assume Role" scenario, with its ARNs corrected:
- the role's permission policy (article: attached to MyTableCrossAccount),
- the role's trust policy naming the source principal,
- the source side's identity policy allowing sts:AssumeRole on exactly that role (MyTableAssume).
"""

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from policy.catalog import action_lookup

VERSION = "2012-10-17"
Document = dict[str, Any]

TRUST_POLICY = "trust_policy"
PERMISSION_POLICY = "permission_policy"
SOURCE_IDENTITY_POLICY = "source_identity_policy"
# Keys of the documents written into resources: "resource_policy:<holder ARN>" and
# "acl:<bucket>/<key>".
RESOURCE_POLICY_PREFIX = "resource_policy:"
ACL_PREFIX = "acl:"
# The one tag key a session of an own-identity grant's role may be given (the role carries it too).
REQUESTER_TAG_KEY = "portal:requester"
# RoleSessionName and SourceIdentity: 2 to 64 of [\w+=,.@-], where AWS's \w is ASCII only.
_SESSION_NAME_UNSAFE = re.compile(r"[^\w+=,.@-]", re.ASCII)


@dataclass(frozen=True)
class Names:
    """The deterministic names of everything written for one request, so a retry finds them."""

    role_name: str
    policy_name: str
    sid: str


def names_for(request_id: int | str) -> Names:
    return Names(
        role_name=f"portal-access-{request_id}",
        policy_name=f"portal-access-{request_id}",
        sid=f"PortalAccess{request_id}",
    )


def request_of_sid(sid: str) -> int | None:
    """The request whose statement carries this Sid (names_for's `sid`), or None for a Sid the
    portal does not write."""
    match = re.fullmatch(r"PortalAccess([1-9][0-9]*)", sid)
    return int(match.group(1)) if match else None


def trust_policy(*, principal: str, external_id: str = "", source_identity: str = "") -> Document:
    """Who may assume the role. With SourceIdentity and session tags, the trust policy must also
    allow sts:SetSourceIdentity and sts:TagSession.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html
    The ExternalId condition answers the confused-deputy problem for third parties.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-user_externalid.html

    With `source_identity` (portal sessions: `principal` is the source account's broker role) the
    role is pinned to its requester: sts:AssumeRole and sts:SetSourceIdentity only with
    sts:SourceIdentity equal to the requester's name, which the broker sets and which nobody can
    change later in the session. So neither an admin of the source account nor the broker acting
    for someone else can use the role. No session tags are passed then, so no sts:TagSession.
    """
    conditions: dict[str, str] = {}
    if external_id:
        conditions["sts:ExternalId"] = external_id
    if source_identity:
        conditions["sts:SourceIdentity"] = source_identity
    assume: Document = {
        "Sid": "PortalAssumeRole",
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": "sts:AssumeRole",
    }
    if conditions:
        assume["Condition"] = {"StringEquals": conditions}
    attributes: Document = {
        "Sid": "PortalSessionAttributes",
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": ["sts:SetSourceIdentity", "sts:TagSession"],
    }
    if source_identity:
        attributes["Action"] = "sts:SetSourceIdentity"
        attributes["Condition"] = {"StringEquals": {"sts:SourceIdentity": source_identity}}
    else:
        # Session tags are the session's principal tags, and one with the key of a role tag
        # overrides it: open sts:TagSession would let the source principal give the grant's
        # sessions any aws:PrincipalTag that attribute-based policies in the target account allow
        # on. So only the requester's key may be passed. ForAllValues is true when no tag is
        # passed, so sts:SetSourceIdentity (same statement) is unaffected. (Transitive tags a
        # source session already carries are inherited whatever the trust policy says.)
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html
        # https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html (Tags)
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
        attributes["Condition"] = {
            "ForAllValues:StringEquals": {"aws:TagKeys": [REQUESTER_TAG_KEY]}
        }
    return {"Version": VERSION, "Statement": [assume, attributes]}


def source_identity_for(username: str, user_id: int | str) -> str:
    """The requester's name as STS takes it for RoleSessionName and SourceIdentity: 2 to 64 of
    [\\w+=,.@-] (ASCII). A name that had to change ends in the user's id, so two users whose
    names map alike ("zoë", "zoé") stay apart. The broker sets it, and a portal session's trust
    policy requires exactly it.
    https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html"""
    name = _SESSION_NAME_UNSAFE.sub("-", username)
    if name != username or len(name) < 2:
        suffix = f"-{user_id}"
        return name[: 64 - len(suffix)] + suffix
    return name[:64]


def permission_policy(*, sid: str, actions: list[str], resources: list[str]) -> Document:
    """Least privilege: each action on exactly the requested resources of a type it takes.

    Actions that take no resource-level permissions (e.g. dynamodb:ListTables) get Resource "*"
    in a statement of their own, the only form AWS accepts for them.
    """
    by_resources: dict[tuple[str, ...], list[str]] = {}
    for name in actions:
        action = action_lookup(name)
        if action is None:
            raise ValueError(f"unknown action {name}")
        if not action.supports_resource_level:
            matched: tuple[str, ...] = ("*",)
        else:
            matched = tuple(action.resources_taken(resources))
            if not matched:
                continue
        by_resources.setdefault(matched, []).append(action.qualified)
    statements = []
    for index, (matched, grouped) in enumerate(by_resources.items()):
        statements.append(
            {
                "Sid": sid if index == 0 else f"{sid}N{index}",
                "Effect": "Allow",
                "Action": grouped[0] if len(grouped) == 1 else grouped,
                "Resource": matched[0] if len(matched) == 1 else list(matched),
            }
        )
    return {"Version": VERSION, "Statement": statements}


def source_identity_policy(*, sid: str, role_arn: str) -> Document:
    """The source side: allow assuming exactly the granted role (the article's MyTableAssume,
    with the role's real IAM ARN rather than a DynamoDB-shaped one)."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
                "Resource": role_arn,
            }
        ],
    }


# The inline policy a revoke puts on the role before it removes anything.
REVOKE_SESSIONS_POLICY_NAME = "portal-revoke-older-sessions"


def revoke_sessions_policy(*, issued_before: datetime) -> Document:
    """Deny everything to sessions of the role issued before `issued_before`: AWS's documented
    way to revoke a role's active sessions (the IAM console's "Revoke active sessions" puts this
    very policy on the role, as `AWSRevokeOlderSessions`). Policies are evaluated on every request,
    so sessions already handed out stop working, whatever else the role still holds.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-tokenissuetime
    """
    # Whole seconds, rounded up: a session issued in the same second as the revoke is denied too.
    moment = issued_before.astimezone(UTC)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "PortalRevokeOlderSessions",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {
                    "DateLessThan": {"aws:TokenIssueTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}
                },
            }
        ],
    }


def document_json(document: Document) -> str:
    """The exact text written to AWS: compact, keys in the order built."""
    return json.dumps(document, separators=(",", ":"))


def policy_size(document: Document) -> int:
    """The size IAM counts against its quotas: characters without white space."""
    return len("".join(document_json(document).split()))


def documents_hash(documents: dict[str, Any], *, terms: dict[str, Any]) -> str:
    """A stable digest of everything one approval authorizes, which votes are bound to: the
    documents that will be written and the terms beside them (for a request: its duration, source
    principal, access via, mechanism, third-party flag and both accounts). A change to any of them
    changes the digest, so earlier votes stop counting."""
    canonical = json.dumps(
        {"documents": documents, "terms": terms}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
