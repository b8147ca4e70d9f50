"""Will this work? The request's documents, what AWS already holds around them, the
organization's SCPs and RCPs, and the AWS evaluation logic, for every requested action on every
requested resource.

Used before approval (on the documents that will be written) and after provisioning (on the
documents read back from AWS). The emulator enforces no IAM, so this is the proof. It sees what
AWS will see:
- the target resource's own policy as AWS holds it (a Deny in a bucket policy, a KMS key policy
  that does not enable IAM policies), beside the portal's statement for a resource-policy grant;
- the source principal's other policies and permissions boundary, read from its account;
- a source-side identity policy the portal only shows (an unmanaged source account, or the
  account root as the principal) as absent before approval: AWS denies until someone attaches
  it. After provisioning the portal verifies what it wrote and says that it assumes that policy;
- the SCPs of the account whose principal makes each call (the source account's for
  sts:AssumeRole and for a resource policy or ACL, the target's for the granted role's session:
  the target account's SCPs never bind a source principal), and the RCPs of the target account,
  whoever calls.
Each check names the layer that blocks it.
"""

from dataclasses import asdict
from typing import Any

from django.conf import settings

from accounts.models import Account
from accounts.scps import Levels, organization_levels_of
from policy import arns, builders
from policy.acls import BUCKET_ACL_ACTIONS, OBJECT_ACL_ACTIONS, AclTarget
from policy.arns import arn_parse
from policy.boundary import boundary_policy
from policy.builders import ACL_PREFIX, RESOURCE_POLICY_PREFIX
from policy.catalog import action_lookup
from policy.evaluation import Evaluation, PolicySet, RequestContext, evaluate
from policy.resource_policies import statement_put
from provisioning.live_policies import (
    SourceSide,
    holder_arn_of,
    resource_policy_now,
    source_side_now,
)
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


def _policies(scps: Levels, rcps: Levels, **documents: Any) -> PolicySet:
    return PolicySet(
        scps=scps.documents,
        scp_names=scps.names,
        rcps=rcps.documents,
        rcp_names=rcps.names,
        **documents,
    )


def principal_context(account: Account) -> dict[str, str | list[str]]:
    """What AWS puts in the request context of every call by a principal of `account`: HTTPS (the
    SDKs and the CLI use it), and the organization it is in (aws:PrincipalOrgID and
    aws:PrincipalOrgPaths, which data-perimeter RCPs and resource policies test).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html"""
    context: dict[str, str | list[str]] = {"aws:SecureTransport": "true"}
    if account.organization_id and account.organization_path and not account.left_organization_at:
        context["aws:PrincipalOrgID"] = account.organization_id
        context["aws:PrincipalOrgPaths"] = [
            f"{account.organization_id}/{account.organization_path}/"
        ]
    return context


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
    read_back: bool = False,
) -> dict[str, Any]:
    """Every action on every resource as the grant's user will call it, layer by layer.

    `source_identity`: the name the broker sets on a portal session (its trust policy requires
    it), so sts:SetSourceIdentity is checked too. `boundary`: the role's permissions boundary as
    AWS holds it; by default the one the portal writes (policy.boundary). `read_back`: the
    documents are what AWS holds after provisioning (whole resource policies included)."""
    checks = []
    notes: list[str] = []
    (source_scps, target_scps), (target_rcps,) = organization_levels_of(
        (source_account, target_account), (target_account,)
    )
    source_policy = documents.get(builders.SOURCE_IDENTITY_POLICY, {})
    caller = _caller(source_principal, source_policy, source_account)
    source_side = _source_side(source_account, source_policy, caller, notes)
    if source_policy.get("document") and source_policy.get("written_by_portal", True):
        source_side.identity.insert(0, source_policy["document"])
    elif source_policy.get("document") and read_back:
        source_side.identity.insert(0, source_policy["document"])
        notes.append(
            "Assumed: the source-side identity policy the portal showed is attached in "
            f"{source_account.account_id} (the portal cannot read it back)."
        )
    elif source_policy.get("document"):
        notes.append(
            "The source-side identity policy is shown, not written by the portal: until the "
            f"administrators of {source_account.account_id} attach it, AWS denies (simulated "
            "as absent)."
        )
    if mechanism == Mechanism.ASSUME_ROLE:
        trust = documents[builders.TRUST_POLICY]["document"]
        role_arn = source_policy["document"]["Statement"][0]["Resource"]
        context = principal_context(source_account)
        if external_id:
            context["sts:ExternalId"] = external_id
        assume_actions = ["sts:AssumeRole"]
        if source_identity:
            context["sts:SourceIdentity"] = source_identity
            assume_actions.append("sts:SetSourceIdentity")
        for action in assume_actions:
            assume = evaluate(
                RequestContext(
                    principal=caller,
                    action=action,
                    resource=role_arn,
                    resource_account=target_account.account_id,
                    context=context,
                ),
                _policies(
                    source_scps,
                    target_rcps,
                    identity=source_side.identity,
                    boundary=source_side.boundary,
                    resource=trust,
                ),
            )
            checks.append(_check(action, role_arn, assume, "source", "target"))
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
                    context=principal_context(target_account),
                ),
                _policies(
                    target_scps,
                    target_rcps,
                    identity=[permission],
                    boundary=boundary,
                    resource=_resource_policy_now(target_account, resource, notes),
                ),
            )
            checks.append(_check(action, resource, result, "target", "target"))
    else:
        statements = _granted_statements(mechanism, documents, source_account)
        for action, resource in action_resource_pairs(actions, resources):
            result = evaluate(
                RequestContext(
                    principal=caller,
                    action=action,
                    resource=resource,
                    resource_account=_resource_account(resource, target_account),
                    context=principal_context(source_account),
                ),
                _policies(
                    source_scps,
                    target_rcps,
                    identity=source_side.identity,
                    boundary=source_side.boundary,
                    resource=_resource_policy(target_account, resource, statements, notes),
                ),
            )
            checks.append(_check(action, resource, result, "source", "target"))
    decisions = {check["decision"] for check in checks}
    overall = (
        "Allowed"
        if decisions == {"Allowed"}
        else ("ExplicitlyDenied" if "ExplicitlyDenied" in decisions else "ImplicitlyDenied")
    )
    blocked = next((c["blocked_by"] for c in checks if c["decision"] == overall != "Allowed"), "")
    return {
        "decision": overall,
        "blocked_by": blocked,
        "notes": list(dict.fromkeys(notes)),
        "checks": checks,
    }


def _source_side(
    source_account: Account, source_policy: dict[str, Any], caller: str, notes: list[str]
) -> SourceSide:
    """The caller's role's other policies and boundary, read from AWS; not the broker's, which
    holds only the portal's policies, one per grant (reading them all would slow every
    simulation as grants add up)."""
    role_name = caller.split(":", 5)[5].split("/")[1]
    broker = (
        source_account.broker_role_arn.rsplit("/", 1)[-1] if source_account.broker_role_arn else ""
    )
    if role_name == "AnyRole" or role_name == broker:
        return SourceSide()
    side, note = source_side_now(source_account, role_name)
    if note:
        notes.append(note)
    return side


def _resource_policy_now(
    account: Account, resource: str, notes: list[str]
) -> dict[str, Any] | None:
    known, policy, note = resource_policy_now(account, resource)
    if note:
        notes.append(note)
    return policy if known else None


def _granted_statements(
    mechanism: str, documents: dict[str, Any], source_account: Account
) -> dict[str, dict[str, Any]]:
    """The portal's statement (or, read back, the whole policy) per policy holder ARN; for an ACL,
    what the grant allows the source account, as a statement naming it."""
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
                    "Sid": "PortalAclGrant",
                    "Effect": "Allow",
                    "Principal": {"AWS": source_account.root_arn},
                    "Action": _acl_actions(entry),
                    "Resource": arn,
                }
    return statements


def _resource_policy(
    account: Account,
    resource: str,
    statements: dict[str, dict[str, Any]],
    notes: list[str],
) -> dict[str, Any] | None:
    """The policy AWS will evaluate for `resource`: the holder's whole policy as read back, or
    the portal's statement in the policy AWS holds now (read-modify-write, as the writer does)."""
    granted = None
    for holder_arn, document in statements.items():
        if resource == holder_arn or resource.startswith(f"{holder_arn}/"):
            granted = document
    if granted is not None and "Statement" in granted:
        return granted  # read back whole from AWS
    now = (
        _resource_policy_now(account, resource, notes)
        if holder_arn_of(resource, account) is not None
        else None
    )
    if granted is None:
        return now
    if now is None:
        return {"Version": "2012-10-17", "Statement": [granted]}
    return statement_put(now, granted)


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


_LAYER_NAMES = {
    "scp": "the service control policies of {principal_account}",
    "rcp": "the resource control policies of {resource_account}",
    "resource": "the resource's policy",
    "identity": "the caller's identity-based policies",
    "boundary": "the caller's permissions boundary",
    "session": "the session policy",
}


def _check(
    action: str, resource: str, evaluation: Evaluation, principal_side: str, resource_side: str
) -> dict[str, Any]:
    """One call's verdict, with the layer that blocks it in words (which account's SCPs or RCPs,
    and the deciding statements)."""
    blocked_by = ""
    if evaluation.blocking:
        layer = evaluation.layer(evaluation.blocking)
        blocked_by = _LAYER_NAMES[evaluation.blocking].format(
            principal_account=f"the {principal_side} account",
            resource_account=f"the {resource_side} account",
        )
        if layer.statements:
            blocked_by += f" ({', '.join(layer.statements)})"
        elif evaluation.blocking == "scp":
            blocked_by += f": {layer.detail}"
    return {
        "action": action,
        "resource": resource,
        "decision": evaluation.decision,
        "explanation": evaluation.explanation,
        "blocked_by": blocked_by,
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
        read_back=True,
    )
