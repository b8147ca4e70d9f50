"""Will this work? The request's documents, the organization's SCPs and the AWS evaluation logic,
for every requested action on every requested resource.

Used before approval (on the documents that will be written) and after provisioning (on the
documents read back from AWS). The emulator enforces no IAM, so this is the proof.
"""

from dataclasses import asdict
from typing import Any

from django.conf import settings

from accounts.models import Account
from accounts.scps import ALLOW_ALL, scp_levels_of
from policy import arns, builders
from policy.acls import BUCKET_ACL_ACTIONS, OBJECT_ACL_ACTIONS, AclTarget
from policy.arns import arn_parse
from policy.boundary import boundary_policy
from policy.builders import ACL_PREFIX, RESOURCE_POLICY_PREFIX
from policy.catalog import action_lookup
from policy.evaluation import PolicySet, RequestContext, evaluate
from provisioning.models import AccessVia, Mechanism
from provisioning.writers.role import PERMISSIONS_BOUNDARY_POLICY


def action_resource_pairs(actions: list[str], resources: list[str]) -> list[tuple[str, str]]:
    """The calls the grant is for: each action on each requested resource of a type it takes
    (s3:ListBucket on the bucket, s3:GetObject on its objects), as AWS authorizes one call on one
    resource. An action the catalog does not know, that takes no resource-level permissions or
    none of these resources, is checked on every one, so nothing goes unchecked."""
    pairs = []
    for name in actions:
        action = action_lookup(name)
        taken = action.resources_taken(resources) if action is not None else []
        pairs += [(name, resource) for resource in taken or resources]
    return pairs


def _resource_account(resource: str, target: Account) -> str:
    arn = arn_parse(resource)
    return arn.account if arn and arn.account else target.account_id


def simulate(
    *,
    mechanism: str,
    documents: dict[str, Any],
    source_account: Account,
    target_account: Account,
    source_principal: str,
    actions: list[str],
    resources: list[str],
    external_id: str = "",
    source_identity: str = "",
    boundary: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every action on every resource as the grant's user will call it, layer by layer.

    `source_identity`: the name the broker sets on a portal session (its trust policy requires
    it), so sts:SetSourceIdentity is checked too. `boundary`: the role's permissions boundary as
    AWS holds it; by default the one the portal writes (policy.boundary)."""
    checks = []
    source_scps, target_scps = scp_levels_of(source_account, target_account)
    source_policy = documents.get(builders.SOURCE_IDENTITY_POLICY, {})
    source_identity_policy = [source_policy["document"]] if source_policy.get("document") else []
    if mechanism == Mechanism.ASSUME_ROLE:
        trust = documents[builders.TRUST_POLICY]["document"]
        role_arn = source_policy["document"]["Statement"][0]["Resource"]
        context = {"sts:ExternalId": external_id} if external_id else {}
        assume_actions = ["sts:AssumeRole"]
        if source_identity:
            context["sts:SourceIdentity"] = source_identity
            assume_actions.append("sts:SetSourceIdentity")
        for action in assume_actions:
            assume = evaluate(
                RequestContext(
                    principal=_caller(source_principal, source_policy, source_account),
                    action=action,
                    resource=role_arn,
                    resource_account=target_account.account_id,
                    context=context,
                ),
                PolicySet(scps=source_scps, identity=source_identity_policy, resource=trust),
            )
            checks.append(_check(action, role_arn, assume))
        session = _session_of(role_arn)
        permission = documents[builders.PERMISSION_POLICY]["document"]
        if boundary is None:
            boundary = boundary_policy(path=settings.PORTAL_ROLE_PATH)
        for action, resource in action_resource_pairs(actions, resources):
            result = evaluate(
                RequestContext(
                    principal=session,
                    action=action,
                    resource=resource,
                    resource_account=_resource_account(resource, target_account),
                ),
                PolicySet(scps=target_scps, identity=[permission], boundary=boundary),
            )
            checks.append(_check(action, resource, result))
    else:
        statements = {
            key[len(RESOURCE_POLICY_PREFIX) :]: entry["document"]
            for key, entry in documents.items()
            if key.startswith(RESOURCE_POLICY_PREFIX)
        }
        if mechanism == Mechanism.ACL:
            # An ACL grant to the source account's canonical user allows that account what the
            # granted permissions map to: like a resource policy naming the account.
            for key, entry in documents.items():
                if key.startswith(ACL_PREFIX):
                    arn = f"arn:aws:s3:::{entry['bucket']}/{entry['key']}".rstrip("/")
                    statements[arn] = {
                        "Effect": "Allow",
                        "Principal": {"AWS": source_account.root_arn},
                        "Action": _acl_actions(entry),
                        "Resource": arn,
                    }
        for action, resource in action_resource_pairs(actions, resources):
            resource_policy = None
            for holder_arn, document in statements.items():
                if resource == holder_arn or resource.startswith(f"{holder_arn}/"):
                    resource_policy = (
                        document
                        if "Statement" in document
                        else {"Version": "2012-10-17", "Statement": [document]}
                    )
            result = evaluate(
                RequestContext(
                    principal=_caller(source_principal, source_policy, source_account),
                    action=action,
                    resource=resource,
                    resource_account=_resource_account(resource, target_account),
                ),
                PolicySet(
                    scps=source_scps,
                    identity=source_identity_policy or [ALLOW_ALL],
                    resource=resource_policy,
                ),
            )
            checks.append(_check(action, resource, result))
    decisions = {check["decision"] for check in checks}
    overall = (
        "Allowed"
        if decisions == {"Allowed"}
        else ("ExplicitlyDenied" if "ExplicitlyDenied" in decisions else "ImplicitlyDenied")
    )
    return {"decision": overall, "checks": checks}


def _acl_actions(entry: dict[str, Any]) -> list[str]:
    target = AclTarget(bucket=entry["bucket"], key=entry["key"])
    actions: list[str] = []
    table = BUCKET_ACL_ACTIONS if target.is_bucket else OBJECT_ACL_ACTIONS
    for permission in entry["document"]["Permissions"]:
        actions += table.get(permission, ())
    return actions


def _session_of(role_arn: str, session: str = "session") -> str:
    """A session of the role: arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION (no path)."""
    _, _, partition, _, account, _ = role_arn.split(":", 5)
    name = role_arn.rsplit("/", 1)[1]
    return f"arn:{partition}:sts::{account}:assumed-role/{name}/{session}"


def _caller(source_principal: str, source_policy: dict[str, Any], source: Account) -> str:
    """Who will call: a session of the role holding the source-side policy (the broker, or the
    principal's own role); for the account root, a session of some role of that account."""
    if source_policy.get("role_name"):
        return _session_of(
            arns.role_arn(
                account_id=source.account_id,
                role_name=source_policy["role_name"],
                partition=source.partition,
            )
        )
    if ":role/" in source_principal:
        return _session_of(source_principal)
    return _session_of(
        arns.role_arn(account_id=source.account_id, role_name="AnyRole", partition=source.partition)
    )


def _check(action: str, resource: str, evaluation: Any) -> dict[str, Any]:
    return {
        "action": action,
        "resource": resource,
        "decision": evaluation.decision,
        "explanation": evaluation.explanation,
        "layers": [asdict(layer) for layer in evaluation.layers],
    }


def simulate_written(*, access_request: Any, written: dict[str, Any]) -> dict[str, Any]:
    """The same evaluation on what AWS holds after provisioning: the documents as read back (a
    resource policy whole, with everyone else's statements; ACL grants were checked by their
    writer)."""
    documents = {}
    for key, entry in access_request.documents.items():
        found = written.get(key)
        if key.startswith(ACL_PREFIX) or found is None:
            documents[key] = entry
        else:
            documents[key] = dict(entry, document=found)
    return simulate(
        mechanism=access_request.mechanism,
        documents=documents,
        source_account=access_request.source_account,
        target_account=access_request.target_account,
        source_principal=access_request.source_principal,
        actions=access_request.actions,
        resources=access_request.resources,
        external_id=access_request.external_id,
        source_identity=(
            builders.source_identity_for(
                access_request.requester.get_username(), access_request.requester_id
            )
            if access_request.access_via == AccessVia.PORTAL
            else ""
        ),
        boundary=written.get(PERMISSIONS_BOUNDARY_POLICY),
    )
