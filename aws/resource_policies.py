"""Resource-based policies through boto3: read, write and delete the one policy a resource carries
(S3 bucket policy, SQS queue policy, SNS topic policy, KMS key policy, Secrets Manager and
DynamoDB resource policies, Lambda function policy).

Documents go in and come out as dicts; what to change in them is decided by the pure functions in
policy.resource_policies. Each call runs with a provisioner session in the resource's
own account and in the resource's region (S3 ARNs have none: AWS_REGION).
"""

import json
from collections.abc import Callable
from typing import Any

import botocore.exceptions

from aws.core import AwsError, Credentials, client_for, translate_error
from policy.arns import ROOT_ARN_RE
from policy.resource_policies import (
    SERVICES_WITH_RESOURCE_POLICIES,
    PolicyHolder,
    policy_text,
    policy_too_large,
)

Document = dict[str, Any]

# Error codes that mean "this resource has no policy" rather than "no such resource".
_NO_POLICY = {"NoSuchBucketPolicy", "PolicyNotFoundException"}
# Error codes that mean the resource itself does not exist.
_NO_RESOURCE = {
    "NoSuchBucket",
    "404",
    "NotFound",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NotFoundException",
    "ResourceNotFoundException",
}


def _code(error: Exception) -> str:
    if isinstance(error, botocore.exceptions.ClientError):
        return error.response.get("Error", {}).get("Code", "")
    return ""


def _client(holder: PolicyHolder, credentials: Credentials) -> Any:
    return client_for(holder.service, credentials, region=holder.region or None)


def _supported(holder: PolicyHolder) -> None:
    if holder.service not in SERVICES_WITH_RESOURCE_POLICIES:
        raise AwsError(
            f"{holder.service} resources have no resource policy the portal can write",
            code="UnsupportedService",
        )


def _queue_url(sqs: Any, holder: PolicyHolder) -> str:
    return sqs.get_queue_url(QueueName=holder.name, QueueOwnerAWSAccountId=holder.account_id)[
        "QueueUrl"
    ]


# --- Lambda: a policy made of AddPermission calls ----------------------------------------------


def _lambda_principal(value: Any) -> Any:
    """The Principal as real Lambda's GetPolicy shows it. The emulator answers AddPermission's
    Principal verbatim ("111111111111"); AWS shows {"AWS": "arn:aws:iam::111111111111:root"}."""
    if isinstance(value, dict) and isinstance(value.get("AWS"), str) and value["AWS"].isdigit():
        return {**value, "AWS": f"arn:aws:iam::{value['AWS']}:root"}
    if isinstance(value, str) and value != "*":
        if value.isdigit():
            return {"AWS": f"arn:aws:iam::{value}:root"}
        if value.startswith("arn:"):
            return {"AWS": value}
        return {"Service": value}
    return value


def _lambda_read(client: Any, holder: PolicyHolder) -> Document | None:
    try:
        text = client.get_policy(FunctionName=holder.name)["Policy"]
    except botocore.exceptions.ClientError as error:
        # Lambda answers ResourceNotFoundException both for "no policy" and "no function".
        if _code(error) != "ResourceNotFoundException" or not _exists(client, holder):
            raise
        return None
    document = json.loads(text)
    for statement in document.get("Statement", []):
        if "Principal" in statement:
            statement["Principal"] = _lambda_principal(statement["Principal"])
    return document


def _one(value: Any) -> Any:
    """A one-element list and its element are the same thing in a policy."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _lambda_comparable(statement: Document) -> Document:
    return {
        **statement,
        "Action": _one(statement.get("Action")),
        "Resource": _one(statement.get("Resource")),
        "Principal": _lambda_principal(_one(statement.get("Principal"))),
    }


def _lambda_permission(holder: PolicyHolder, statement: Document) -> dict[str, str]:
    """AddPermission's arguments for a statement, or AwsError when it cannot express it."""
    sid = statement.get("Sid", "")

    def refuse(why: str) -> AwsError:
        return AwsError(
            f"Lambda function {holder.name}: statement {sid or '(no Sid)'} {why}",
            code="UnsupportedStatement",
        )

    extra = set(statement) - {"Sid", "Effect", "Principal", "Action", "Resource"}
    if extra:
        raise refuse(f"uses {', '.join(sorted(extra))}, which AddPermission cannot write")
    if not sid:
        raise refuse("has no Sid (AddPermission needs a StatementId)")
    if statement.get("Effect") != "Allow":
        raise refuse("is not an Allow (AddPermission only adds allows)")
    action = _one(statement.get("Action"))
    if not isinstance(action, str):
        raise refuse("must name exactly one action")
    if _one(statement.get("Resource", holder.arn)) != holder.arn:
        raise refuse(f"must have Resource {holder.arn}")
    principal = _one(statement.get("Principal"))
    if isinstance(principal, dict) and len(principal) == 1:
        kind, value = next(iter(principal.items()))
        value = _one(value)
        if kind == "AWS" and isinstance(value, str) and value != "*":
            root = ROOT_ARN_RE.match(value)
            return {"Action": action, "Principal": root[1] if root else value}
        if kind == "Service" and isinstance(value, str):
            return {"Action": action, "Principal": value}
    raise refuse("needs one AWS account, role or service principal")


def _lambda_write(client: Any, holder: PolicyHolder, document: Document) -> None:
    """Lambda has no whole-document API (the emulator lacks PutResourcePolicy): add and remove
    statements by Sid. Unchanged statements are not touched; every statement to add is checked
    before anything changes."""
    current = {s.get("Sid"): s for s in (_lambda_read(client, holder) or {}).get("Statement", [])}
    raw = document.get("Statement", [])
    desired = [raw] if isinstance(raw, dict) else list(raw)
    if not all(isinstance(statement, dict) for statement in desired):
        raise AwsError(f"Lambda function {holder.name}: a statement is not an object")
    sids = [statement.get("Sid") for statement in desired]
    if len(set(sids)) != len(sids):
        raise AwsError(f"Lambda function {holder.name}: two statements share a Sid")
    additions = []
    for statement in desired:
        existing = current.get(statement.get("Sid"))
        if existing is not None and _lambda_comparable(existing) == _lambda_comparable(statement):
            continue
        permission = _lambda_permission(holder, statement)
        additions.append((statement["Sid"], permission))
    for sid in current:
        if sid not in sids:
            client.remove_permission(FunctionName=holder.name, StatementId=sid)
    for sid, permission in additions:
        if sid in current:
            client.remove_permission(FunctionName=holder.name, StatementId=sid)
        client.add_permission(FunctionName=holder.name, StatementId=sid, **permission)


# --- per service -------------------------------------------------------------------------------


def _owner(holder: PolicyHolder) -> dict[str, str]:
    """ExpectedBucketOwner for a bucket whose owner the portal has proven: AWS then refuses the
    call (403) if the bucket is another account's, instead of reading or writing it.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html"""
    return {"ExpectedBucketOwner": holder.account_id} if holder.account_id else {}


def _read(client: Any, holder: PolicyHolder) -> Document | None:
    service = holder.service
    text: str | None
    if service == "lambda":
        return _lambda_read(client, holder)
    try:
        if service == "s3":
            text = client.get_bucket_policy(Bucket=holder.name, **_owner(holder))["Policy"]
        elif service == "sqs":
            answer = client.get_queue_attributes(
                QueueUrl=_queue_url(client, holder), AttributeNames=["Policy"]
            )
            text = answer.get("Attributes", {}).get("Policy")
        elif service == "sns":
            answer = client.get_topic_attributes(TopicArn=holder.name)
            text = answer["Attributes"].get("Policy")
        elif service == "kms":
            text = client.get_key_policy(KeyId=holder.name, PolicyName="default")["Policy"]
        elif service == "secretsmanager":
            text = client.get_resource_policy(SecretId=holder.name).get("ResourcePolicy")
        else:  # dynamodb
            text = client.get_resource_policy(ResourceArn=holder.arn)["Policy"]
    except botocore.exceptions.ClientError as error:
        if _code(error) in _NO_POLICY:
            return None
        raise
    return json.loads(text) if text else None


def _write(client: Any, holder: PolicyHolder, document: Document) -> None:
    service = holder.service
    text = policy_text(document)
    if service == "s3":
        client.put_bucket_policy(Bucket=holder.name, Policy=text, **_owner(holder))
    elif service == "sqs":
        client.set_queue_attributes(
            QueueUrl=_queue_url(client, holder), Attributes={"Policy": text}
        )
    elif service == "sns":
        client.set_topic_attributes(
            TopicArn=holder.name, AttributeName="Policy", AttributeValue=text
        )
    elif service == "kms":
        client.put_key_policy(KeyId=holder.name, PolicyName="default", Policy=text)
    elif service == "secretsmanager":
        client.put_resource_policy(
            SecretId=holder.name, ResourcePolicy=text, BlockPublicPolicy=True
        )
    elif service == "dynamodb":
        client.put_resource_policy(ResourceArn=holder.arn, Policy=text)
    else:
        _lambda_write(client, holder, document)


def _delete(client: Any, holder: PolicyHolder) -> None:
    service = holder.service
    if service in ("sns", "kms"):
        raise AwsError(
            f"{holder.arn}: a {service} resource always has a policy; it cannot be deleted",
            code="PolicyNotDeletable",
        )
    if service == "s3":
        client.delete_bucket_policy(Bucket=holder.name, **_owner(holder))
    elif service == "sqs":
        client.set_queue_attributes(QueueUrl=_queue_url(client, holder), Attributes={"Policy": ""})
    elif service == "secretsmanager":
        client.delete_resource_policy(SecretId=holder.name)
    elif service == "dynamodb":
        try:
            client.delete_resource_policy(ResourceArn=holder.arn)
        except botocore.exceptions.ClientError as error:
            # AWS says PolicyNotFoundException; the emulator says the table is not found.
            if _code(error) == "PolicyNotFoundException":
                return
            if _code(error) != "ResourceNotFoundException" or not _exists(client, holder):
                raise
    else:
        _lambda_write(client, holder, {"Statement": []})


_EXISTENCE_PROBES: dict[str, Callable[[Any, PolicyHolder], Any]] = {
    "s3": lambda client, holder: client.head_bucket(Bucket=holder.name, **_owner(holder)),
    "sqs": _queue_url,
    "sns": lambda client, holder: client.get_topic_attributes(TopicArn=holder.name),
    "kms": lambda client, holder: client.describe_key(KeyId=holder.name),
    "secretsmanager": lambda client, holder: client.describe_secret(SecretId=holder.name),
    "dynamodb": lambda client, holder: client.describe_table(TableName=holder.name),
    "lambda": lambda client, holder: client.get_function(FunctionName=holder.name),
}


def _exists(client: Any, holder: PolicyHolder) -> bool:
    try:
        _EXISTENCE_PROBES[holder.service](client, holder)
    except botocore.exceptions.ClientError as error:
        if _code(error) in _NO_RESOURCE:
            return False
        raise
    return True


# --- public ------------------------------------------------------------------------------------


def policy_read(credentials: Credentials, holder: PolicyHolder) -> Document | None:
    """The resource's policy, or None when it has none (SNS topics and KMS keys always have one).
    A resource that does not exist is an AwsError."""
    _supported(holder)
    try:
        return _read(_client(holder, credentials), holder)
    except AwsError:
        raise
    except Exception as error:
        raise translate_error(error, f"reading the resource policy of {holder.arn}") from error


def policy_write(credentials: Credentials, holder: PolicyHolder, document: Document) -> None:
    """Replace the resource's policy with `document` (for Lambda: add and remove statements until
    it matches). Refused before any AWS call when it is over the service's size limit, whatever
    the endpoint would accept (the emulator checks no size)."""
    _supported(holder)
    too_large = policy_too_large(holder.service, document)
    if too_large:
        raise AwsError(f"{holder.arn}: {too_large}", code="PolicyTooLarge")
    try:
        _write(_client(holder, credentials), holder, document)
    except AwsError:
        raise
    except Exception as error:
        raise translate_error(error, f"writing the resource policy of {holder.arn}") from error


def policy_delete(credentials: Credentials, holder: PolicyHolder) -> None:
    """Remove the resource's policy; nothing happens when it has none. SNS topics and KMS keys
    cannot be without a policy: AwsError (code PolicyNotDeletable)."""
    _supported(holder)
    try:
        _delete(_client(holder, credentials), holder)
    except AwsError:
        raise
    except Exception as error:
        raise translate_error(error, f"deleting the resource policy of {holder.arn}") from error


def resource_exists(credentials: Credentials, holder: PolicyHolder) -> bool:
    """Whether the resource is there (as seen from these credentials)."""
    _supported(holder)
    try:
        return _exists(_client(holder, credentials), holder)
    except Exception as error:
        raise translate_error(error, f"looking up {holder.arn}") from error
