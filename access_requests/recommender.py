"""Which mechanism fits a request, and why: the article's decision tree, made explicit.

Pure: the facts that need AWS (who owns an object, whether a bucket has ACLs on) come in `Facts`.
"""

from dataclasses import dataclass, field

from access_requests.models import AccessRequest, Mechanism
from policy.acls import acl_target_for, permissions_for_actions
from policy.resource_policies import SERVICES_WITH_RESOURCE_POLICIES, holder_for, resource_holder

PORTAL = AccessRequest.AccessVia.PORTAL


@dataclass(frozen=True)
class Facts:
    """What AWS says about the resources, as far as the portal could look."""

    # Names of service control policies that deny a requested action, with the action: to the
    # principals of both accounts (every mechanism), of the source account only (they bind the
    # source principal's own calls through a resource policy or an ACL, and sts:AssumeRole), and
    # of the target account only (they bind the granted role's sessions, never a source
    # principal: SCPs limit the principals of the accounts they are attached to).
    # https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html
    scp_denials: tuple[str, ...] = ()
    source_scp_denials: tuple[str, ...] = ()
    target_scp_denials: tuple[str, ...] = ()
    # S3 object ARNs whose owner is another account than the bucket's owner.
    foreign_owned_objects: tuple[str, ...] = ()
    # Buckets whose Object Ownership is BucketOwnerEnforced: ACLs are off.
    acls_disabled_buckets: tuple[str, ...] = ()
    # (object ARN, the account that owns it, "" when not one the portal manages) for each
    # foreign-owned object: only that account can write the object's ACL.
    object_writers: tuple[tuple[str, str], ...] = ()


@dataclass
class Recommendation:
    mechanism: str | None  # None: nothing can work (an SCP denies it)
    reasons: list[str] = field(default_factory=list)
    # Mechanism -> "" when valid for these resources, else why not.
    validity: dict[str, str] = field(default_factory=dict)

    def valid(self, mechanism: str) -> bool:
        return self.validity.get(mechanism) == ""


# Each service with resource-based policies (SERVICES_WITH_RESOURCE_POLICIES), as a sentence
# names it, with its article.
SERVICE_NAMES = {
    "s3": "an S3",
    "sqs": "an SQS",
    "sns": "an SNS",
    "kms": "a KMS",
    "secretsmanager": "a Secrets Manager",
    "dynamodb": "a DynamoDB",
    "lambda": "a Lambda",
}


def _resource_policy_validity(access_via: str, actions: list[str], resources: list[str]) -> str:
    if access_via == PORTAL:
        return "Portal sessions need a role to assume; a resource policy mints no session."
    holders = [holder_for(resource) for resource in resources]
    found = [holder for holder in holders if holder is not None]
    if not holders or len(found) < len(holders):
        unsupported = [r for r, h in zip(resources, holders, strict=True) if h is None]
        return (
            f"{', '.join(unsupported) or 'These resources'}: no resource-based policy the portal "
            f"can write (it writes those of {', '.join(SERVICES_WITH_RESOURCE_POLICIES)})."
        )
    services = {holder.service for holder in found}
    if len(services) > 1:
        return "The resources belong to several services; one request, one service's policy."
    service = services.pop()
    foreign = [a for a in actions if a.split(":", 1)[0] != service]
    if foreign:
        return f"{', '.join(foreign)} cannot go into a {service} resource policy."
    if service == "lambda" and len(actions) > 1:
        return "A Lambda function policy takes one action per statement: one action per request."
    return ""


def _acl_validity(access_via: str, actions: list[str], resources: list[str], facts: Facts) -> str:
    if access_via == PORTAL:
        return "Portal sessions need a role to assume; an ACL mints no session."
    found = [acl_target_for(resource) for resource in resources]
    targets = [target for target in found if target is not None]
    if not found or len(targets) < len(found):
        return "ACLs apply only to S3 buckets and single objects (no wildcards)."
    unwritable = [arn for arn, writer in facts.object_writers if not writer]
    if unwritable:
        return (
            f"{', '.join(unwritable)} is owned by an account the portal does not manage: only "
            "its owner can write its ACL."
        )
    for target in targets:
        if target.bucket in facts.acls_disabled_buckets:
            return (
                f"Bucket {target.bucket} enforces bucket-owner ownership "
                "(BucketOwnerEnforced): its ACLs are off. Use a bucket policy."
            )
        _, inexpressible = permissions_for_actions(actions, target)
        if inexpressible:
            return (
                f"An ACL cannot express {', '.join(inexpressible)}: ACLs grant only READ, WRITE, "
                "READ_ACP, WRITE_ACP and FULL_CONTROL."
            )
    return ""


def recommend(
    *, access_via: str, actions: list[str], resources: list[str], facts: Facts | None = None
) -> Recommendation:
    """The mechanism and the reasons, in the article's words."""
    facts = facts or Facts()
    validity: dict[str, str] = {
        Mechanism.ASSUME_ROLE: "",
        Mechanism.RESOURCE_POLICY: _resource_policy_validity(access_via, actions, resources),
        Mechanism.ACL: _acl_validity(access_via, actions, resources, facts),
    }
    # A bucket policy grants only on objects the bucket owner owns; BucketOwnerEnforced makes the
    # bucket owner own every object.
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html
    foreign = [
        arn
        for arn in facts.foreign_owned_objects
        if arn.split(":::", 1)[-1].split("/", 1)[0] not in facts.acls_disabled_buckets
    ]
    if foreign and validity[Mechanism.RESOURCE_POLICY] == "":
        validity[Mechanism.RESOURCE_POLICY] = (
            f"{', '.join(foreign)} belongs to another account than the bucket's owner, and a "
            "bucket policy grants only on the bucket owner's objects."
        )
    result = Recommendation(mechanism=None, validity=validity)
    # Which SCPs bind each mechanism's caller: the granted role's session is a principal of the
    # target account; a resource policy or an ACL is used by the source principal itself.
    binding = {
        Mechanism.ASSUME_ROLE: facts.scp_denials + facts.target_scp_denials,
        Mechanism.RESOURCE_POLICY: facts.scp_denials + facts.source_scp_denials,
        Mechanism.ACL: facts.scp_denials + facts.source_scp_denials,
    }
    for mechanism, denials in binding.items():
        if denials and validity[mechanism] == "":
            validity[mechanism] = f"Denied by a service control policy: {'; '.join(denials)}."
    if validity[Mechanism.ASSUME_ROLE] and (
        access_via == PORTAL or all(validity[m] for m in validity)
    ):
        every = dict.fromkeys(d for m in binding for d in binding[m])
        result.reasons = [
            "A service control policy denies this to every mechanism that could work: "
            f"{'; '.join(every)}. Ask the organization's admins first."
        ]
        return result
    if access_via == PORTAL:
        result.mechanism = Mechanism.ASSUME_ROLE
        result.reasons = [
            "You will take short-lived sessions from the portal, and only a role can be assumed "
            "to mint a session.",
            "Assuming a role works for every service.",
        ]
        return result
    if facts.foreign_owned_objects and validity[Mechanism.ACL] == "":
        result.mechanism = Mechanism.ACL
        result.reasons = [
            f"{', '.join(facts.foreign_owned_objects)} belongs to another account than the "
            "bucket's owner. A bucket owner cannot grant on objects it does not own: only an "
            "object ACL, written by the object's owner, can.",
            *(
                f"The portal writes the ACL of {arn} as its owner, account {writer}."
                if writer
                else f"{arn} is owned by an account the portal does not manage: its owner must "
                "write the ACL."
                for arn, writer in facts.object_writers
            ),
        ]
        return result
    if validity[Mechanism.RESOURCE_POLICY] == "":
        service = resource_holder(resources[0]).service
        result.mechanism = Mechanism.RESOURCE_POLICY
        result.reasons = [
            *(
                [
                    "A service control policy of the target account denies this to its own "
                    f"principals ({'; '.join(facts.target_scp_denials)}): it would bind a role "
                    "there, but not the source principal using a resource policy."
                ]
                if facts.target_scp_denials
                else []
            ),
            f"Every resource is {SERVICE_NAMES[service]} resource with its own resource-based "
            "policy: adding "
            "one statement to it is the easiest option.",
            "The caller keeps its own identity and permissions (it can, say, copy between its "
            "own bucket and this one), with no role to assume.",
            "Cross-account access needs both sides: the source principal also needs an "
            "identity policy allowing the same actions.",
        ]
        return result
    result.mechanism = Mechanism.ASSUME_ROLE
    result.reasons = [
        f"No resource-based policy covers these resources ({validity[Mechanism.RESOURCE_POLICY]})",
        "Assuming a role works for every service: the source principal assumes it with the "
        "~/.aws/config profile shown on the grant page.",
    ]
    return result
