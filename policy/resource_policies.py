"""Resource-based policies: which resource carries the policy, the one statement the
portal adds to it, and the read-modify-write that keeps everyone else's statements.

Pure functions: no Django, no boto3. Every function returns a new document and never changes the
one it was given; statements the portal did not write come back identical and in their order.

The article: "Resource-based policies are directly attached to the resource itself. This solution
is not applicable for all services." The services that have them:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_aws-services-that-work-with-iam.html
"""

import copy
import json
import re
from dataclasses import dataclass, replace
from typing import Any

from policy.arns import ACCOUNT_ID_RE, BUCKET_RE, arn_parse

VERSION = "2012-10-17"
Document = dict[str, Any]


@dataclass(frozen=True)
class PolicyHolder:
    """The resource that carries a resource-based policy, with the name its API calls take.

    S3 bucket: name is the bucket (S3 ARNs have no account or region, so both are "", until the
    portal has proven the bucket's owner: `in_account` then sets it, and every S3 call on the
    bucket passes it as ExpectedBucketOwner, so a bucket that changed hands is never written).
    SQS queue: the queue name. SNS topic: the topic ARN. KMS key: the key id. Secrets Manager
    secret: the secret ARN. DynamoDB table: the table name. Lambda function: the function name.
    """

    service: str
    arn: str
    account_id: str
    region: str
    name: str


# The services whose resources the portal can add a statement to (and the emulator supports).
SERVICES_WITH_RESOURCE_POLICIES = (
    "s3",
    "sqs",
    "sns",
    "kms",
    "secretsmanager",
    "dynamodb",
    "lambda",
)

# How large each service lets the policy be, in the unit it counts (policy_size).
SIZE_LIMITS: dict[str, int] = {
    # "Bucket policies are limited to 20 KB in size."
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-iam-policies.html
    "s3": 20 * 1024,
    # Bytes: 8,192. https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-policies.html
    "sqs": 8192,
    # Bytes: 30 kb.
    # https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-language-api-permissions-reference.html
    "sns": 30 * 1024,
    # "Up to 32 kilobytes (32,768 bytes)".
    # https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html
    "kms": 32 * 1024,
    # PutResourcePolicy's ResourcePolicy: maximum length 20,480 (characters; also botocore's
    # model), and the quotas page's resource-based policy length.
    # https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutResourcePolicy.html
    # https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html
    "secretsmanager": 20480,
    # "The maximum size supported for a resource-based policy document is 20 KB. DynamoDB counts
    # whitespaces". https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/rbac-considerations.html
    "dynamodb": 20 * 1024,
    # Function resource-based policy: 20 KB.
    # https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
    "lambda": 20 * 1024,
}
# Secrets Manager states its limit in characters; the others in bytes.
_COUNTED_IN_CHARACTERS = {"secretsmanager"}

# Lambda's AddPermission takes one action per statement.
# https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html
_ONE_ACTION_PER_STATEMENT = {"lambda"}

_QUEUE_RE = re.compile(r"^[A-Za-z0-9_-]{1,80}(?:\.fifo)?$")
_TOPIC_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}(?:\.fifo)?$")
_KEY_RE = re.compile(r"^key/((?:mrk-)?[A-Za-z0-9-]{1,128})$")
_SECRET_RE = re.compile(r"^secret:[A-Za-z0-9/_+=.@-]{1,512}$")
_TABLE_RE = re.compile(r"^table/([A-Za-z0-9_.-]{3,255})(?:/index/[A-Za-z0-9_.-]{3,255})?$")
_FUNCTION_RE = re.compile(r"^function:([A-Za-z0-9_-]{1,64})$")
_BUCKET_RE = re.compile(f"^{BUCKET_RE}$")


def policy_text(document: Document) -> str:
    """The exact text written to AWS: compact JSON, keys in the order they are."""
    return json.dumps(document, separators=(",", ":"))


def policy_size(service: str, document: Document) -> int:
    """The size the service counts against SIZE_LIMITS: characters for Secrets Manager, bytes of
    the text written (policy_text) for the others."""
    text = policy_text(document)
    if service in _COUNTED_IN_CHARACTERS:
        return len(text)
    return len(text.encode())


def policy_too_large(service: str, document: Document) -> str | None:
    """A message for the user when the document is over the service's size limit, else None."""
    limit = SIZE_LIMITS.get(service)
    size = policy_size(service, document)
    if limit is None or size <= limit:
        return None
    unit = "characters" if service in _COUNTED_IN_CHARACTERS else "bytes"
    return (
        f"The {service} resource policy would be {size:,} {unit}; {service} allows at most "
        f"{limit:,}. Remove statements from it or use an assume-role grant."
    )


def holder_for(resource_arn: str) -> PolicyHolder | None:
    """The resource whose policy governs `resource_arn`, or None when the portal cannot write a
    resource-based policy for it (another service, a wildcard, an alias, a qualified function,
    or an ARN of the wrong shape). S3 objects map to their bucket, DynamoDB indexes to their
    table."""
    arn = arn_parse(resource_arn)
    if arn is None or arn.service not in SERVICES_WITH_RESOURCE_POLICIES:
        return None
    if arn.service == "s3":
        bucket = arn.resource.split("/", 1)[0]
        if arn.region or arn.account or not _BUCKET_RE.match(bucket):
            return None
        return PolicyHolder("s3", f"arn:{arn.partition}:s3:::{bucket}", "", "", bucket)
    if not arn.region or not ACCOUNT_ID_RE.match(arn.account):
        return None
    base = f"arn:{arn.partition}:{arn.service}:{arn.region}:{arn.account}"
    holder = {"service": arn.service, "account_id": arn.account, "region": arn.region}
    if arn.service == "sqs" and _QUEUE_RE.match(arn.resource):
        return PolicyHolder(arn=resource_arn, name=arn.resource, **holder)
    if arn.service == "sns" and _TOPIC_RE.match(arn.resource):
        return PolicyHolder(arn=resource_arn, name=resource_arn, **holder)
    if arn.service == "kms" and (match := _KEY_RE.match(arn.resource)):
        return PolicyHolder(arn=resource_arn, name=match[1], **holder)
    if arn.service == "secretsmanager" and _SECRET_RE.match(arn.resource):
        return PolicyHolder(arn=resource_arn, name=resource_arn, **holder)
    if arn.service == "dynamodb" and (match := _TABLE_RE.match(arn.resource)):
        return PolicyHolder(arn=f"{base}:table/{match[1]}", name=match[1], **holder)
    if arn.service == "lambda" and (match := _FUNCTION_RE.match(arn.resource)):
        return PolicyHolder(arn=resource_arn, name=match[1], **holder)
    return None


def in_account(holder: PolicyHolder, account_id: str) -> PolicyHolder:
    """The holder of a resource proven to be `account_id`'s: an S3 bucket gets the account its
    ARN does not name; the others name theirs already."""
    if holder.service == "s3" and not holder.account_id:
        return replace(holder, account_id=account_id)
    return holder


def resource_holder(resource_arn: str) -> PolicyHolder:
    """`holder_for` a resource already validated for a resource policy; ValueError without one."""
    holder = holder_for(resource_arn)
    if holder is None:
        raise ValueError(f"{resource_arn} has no resource-based policy the portal writes.")
    return holder


def holder_shared(resources: list[str]) -> PolicyHolder | None:
    """The one holder every resource belongs to, or None when they need more than one policy
    (or some resource has none): one grant writes one statement into one policy."""
    holders = {holder_for(resource) for resource in resources}
    if len(holders) != 1:
        return None
    return holders.pop()


def resource_statement(
    *, holder: PolicyHolder, sid: str, principal: str, actions: list[str], resources: list[str]
) -> Document:
    """The statement the portal adds to the holder's policy, with Resource in each service's
    convention:

    - S3 and DynamoDB: the requested bucket/object and table/index ARNs themselves.
    - SQS, SNS and Lambda: the queue, topic or function ARN (SNS requires exactly the topic).
    - KMS: "*", which in a key policy means "this KMS key".
      https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html
    - Secrets Manager: "*"; in a secret's policy the Resource "automatically and implicitly
      becomes the secret with the attached policy".
      https://docs.aws.amazon.com/secretsmanager/latest/userguide/permissions_grant-limited-principal.html

    Raises ValueError when a resource lies outside the holder, or when the service cannot hold
    the statement (Lambda takes one action per statement).
    """
    if not sid:
        raise ValueError("a resource policy statement needs a Sid")
    if not actions:
        raise ValueError("a resource policy statement needs at least one action")
    if holder.service in _ONE_ACTION_PER_STATEMENT and len(actions) > 1:
        raise ValueError(
            f"a {holder.service} resource policy takes one action per statement; "
            f"{len(actions)} were asked for"
        )
    for resource in resources:
        if holder_for(resource) != holder:
            raise ValueError(f"{resource} is not governed by the policy of {holder.arn}")
    if holder.service in ("s3", "dynamodb"):
        targets = list(dict.fromkeys(resources)) or [holder.arn]
    elif holder.service in ("kms", "secretsmanager"):
        targets = ["*"]
    else:
        targets = [holder.arn]
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": actions[0] if len(actions) == 1 else list(actions),
        "Resource": targets[0] if len(targets) == 1 else targets,
    }


def _statement_list(policy: Document | None) -> list[Any]:
    """The statements of a policy as a list: AWS accepts a single object as well as a list."""
    if not policy:
        return []
    raw = policy.get("Statement", [])
    if isinstance(raw, dict):
        return [raw]
    if not isinstance(raw, list):
        raise ValueError("the policy's Statement is neither an object nor a list")
    return raw


def _sid_of(statement: Any) -> Any:
    return statement.get("Sid") if isinstance(statement, dict) else None


def statement_find(policy: Document | None, sid: str) -> Document | None:
    """A copy of the statement with this Sid, or None."""
    for statement in _statement_list(policy):
        if isinstance(statement, dict) and statement.get("Sid") == sid:
            return copy.deepcopy(statement)
    return None


def statement_put(policy: Document | None, statement: Document) -> Document:
    """A new policy holding `statement`: it replaces, in place, the statement with the same Sid,
    or comes last. Every other statement and top-level key is kept as it was, in its order. A
    repeated copy of the same Sid (which AWS would refuse anyway) is dropped."""
    sid = statement.get("Sid")
    if not sid or not isinstance(sid, str):
        raise ValueError("the portal only writes statements with a Sid")
    if policy is None:
        return {"Version": VERSION, "Statement": [copy.deepcopy(statement)]}
    result = copy.deepcopy(policy)
    statements: list[Any] = []
    placed = False
    for existing in _statement_list(result):
        if _sid_of(existing) != sid:
            statements.append(existing)
        elif not placed:
            statements.append(copy.deepcopy(statement))
            placed = True
    if not placed:
        statements.append(copy.deepcopy(statement))
    result["Statement"] = statements
    return result


def statement_remove(policy: Document, sid: str) -> Document:
    """A new policy without the statement(s) with this Sid; everything else as it was. The
    Statement may end up an empty list: the caller decides whether to delete the policy."""
    result = copy.deepcopy(policy)
    raw = result.get("Statement")
    if isinstance(raw, dict):
        if raw.get("Sid") == sid:
            result["Statement"] = []
    elif isinstance(raw, list):
        result["Statement"] = [s for s in raw if _sid_of(s) != sid]
    return result


def statements_except(policy: Document | None, sid: str) -> list[Document]:
    """Copies of the statements that are not this Sid's: what others wrote."""
    return [copy.deepcopy(s) for s in _statement_list(policy) if _sid_of(s) != sid]


def statements_added(before: Document | None, after: Document | None, sid: str) -> list[Document]:
    """Copies of the statements of `after`, other than this Sid's, that `before` did not hold
    as they are now: what others added (or changed) between the two readings, in their order."""
    earlier = statements_except(before, sid)
    return [s for s in statements_except(after, sid) if s not in earlier]
