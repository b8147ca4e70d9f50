"""Create-if-absent steps for the roles and the article's resources in the emulator."""

import json
from typing import Any
from urllib.parse import unquote

from aws.demo_world.client import DemoWorldError, demo_client, error_code
from aws.demo_world.policies import DEMO_REGION
from policy.resource_policies import policy_text, statement_find, statement_put


def role_ensure(
    account_id: str,
    *,
    role_name: str,
    trust_policy: dict[str, Any],
    description: str,
    max_session_duration: int = 3600,
    inline_policies: dict[str, dict[str, Any]] | None = None,
) -> str:
    """Create the role, or bring its trust policy, duration and given inline policies back to the
    seed. Other inline policies (the portal's per-grant ones) are left alone."""
    iam = demo_client("iam", account_id)
    trust = json.dumps(trust_policy)
    try:
        iam.create_role(
            RoleName=role_name,
            AssumeRolePolicyDocument=trust,
            MaxSessionDuration=max_session_duration,
            Description=description,
            Tags=[{"Key": "portal:seeded-by", "Value": "seed_demo"}],
        )
        outcome = "created"
    except iam.exceptions.EntityAlreadyExistsException:
        iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=trust)
        iam.update_role(
            RoleName=role_name, MaxSessionDuration=max_session_duration, Description=description
        )
        outcome = "exists"
    for name, document in (inline_policies or {}).items():
        iam.put_role_policy(
            RoleName=role_name, PolicyName=name, PolicyDocument=json.dumps(document)
        )
    return outcome


def managed_policy_ensure(
    account_id: str, *, name: str, path: str, document: dict[str, Any], description: str
) -> str:
    """Create the managed policy, or make this document its default version again (a managed
    policy keeps at most five versions: the oldest other one goes first)."""
    iam = demo_client("iam", account_id)
    arn = f"arn:aws:iam::{account_id}:policy{path}{name}"
    try:
        iam.create_policy(
            PolicyName=name, Path=path, PolicyDocument=json.dumps(document), Description=description
        )
        return "created"
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    default = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    current = iam.get_policy_version(PolicyArn=arn, VersionId=default)["PolicyVersion"]
    found = current["Document"]
    if (json.loads(unquote(found)) if isinstance(found, str) else found) == document:
        return "exists"
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    if len(versions) >= 5:
        oldest = min(
            (v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"]
        )
        iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=True)
    return "brought back to the seed"


def table_ensure(account_id: str, *, name: str, items: list[dict[str, str]]) -> str:
    """A table keyed by the string `id`, holding at least these items (never overwritten)."""
    dynamodb = demo_client("dynamodb", account_id)
    try:
        dynamodb.describe_table(TableName=name)
        outcome = "exists"
    except dynamodb.exceptions.ResourceNotFoundException:
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        outcome = "created"
    added = 0
    for item in items:
        try:
            dynamodb.put_item(
                TableName=name,
                Item={key: {"S": value} for key, value in item.items()},
                ConditionExpression="attribute_not_exists(id)",
            )
            added += 1
        except dynamodb.exceptions.ConditionalCheckFailedException:
            pass
    return f"{outcome}, {added} item(s) added"


def bucket_ensure(account_id: str, *, name: str, objects: dict[str, str]) -> str:
    """A bucket in DEMO_REGION holding at least these objects (existing ones are left alone).

    Bucket names are global in the emulator as in AWS: a name owned by another emulated account
    cannot be created here."""
    s3 = demo_client("s3", account_id)
    owned = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    outcome = "exists"
    if name not in owned:
        try:
            s3.create_bucket(
                Bucket=name, CreateBucketConfiguration={"LocationConstraint": DEMO_REGION}
            )
            outcome = "created"
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        except s3.exceptions.BucketAlreadyExists as error:
            raise DemoWorldError(
                f"S3 bucket {name} already belongs to another emulated account; restart the "
                "emulator to start from an empty world."
            ) from error
    added = 0
    for key, body in objects.items():
        try:
            s3.head_object(Bucket=name, Key=key)
        except s3.exceptions.ClientError as error:
            if error_code(error) not in ("404", "NoSuchKey", "NotFound"):
                raise
            s3.put_object(Bucket=name, Key=key, Body=body.encode(), ContentType="text/plain")
            added += 1
    return f"{outcome}, {added} object(s) added"


def queue_ensure(account_id: str, *, name: str) -> str:
    """sqs:CreateQueue returns the existing queue when called again with the same attributes."""
    url = demo_client("sqs", account_id).create_queue(QueueName=name)["QueueUrl"]
    return f"ready at {url}"


def topic_ensure(account_id: str, *, name: str) -> str:
    """sns:CreateTopic is idempotent by name."""
    return "ready as " + demo_client("sns", account_id).create_topic(Name=name)["TopicArn"]


def key_ensure(account_id: str, *, alias: str) -> str:
    """A symmetric KMS key found by its alias (keys themselves have no names)."""
    kms = demo_client("kms", account_id)
    for page in kms.get_paginator("list_aliases").paginate():
        for entry in page["Aliases"]:
            if entry["AliasName"] == alias and entry.get("TargetKeyId"):
                return f"exists as {entry['TargetKeyId']}"
    key_id = kms.create_key(Description=f"Access portal demo key {alias}")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    return f"created as {key_id}"


def secret_ensure(account_id: str, *, name: str, value: str) -> str:
    secrets = demo_client("secretsmanager", account_id)
    try:
        secrets.describe_secret(SecretId=name)
        return "exists"
    except secrets.exceptions.ResourceNotFoundException:
        secrets.create_secret(Name=name, SecretString=value)
        return "created"


# An object in the target's bucket that the source account uploaded, the case in which
# only an object ACL written from the uploader's account can grant access. The emulator records
# no per-object owner (every object reports one constant owner id), so the metadata names the
# uploading account for people reading the demo; it is a label, never proof of ownership.
FOREIGN_OBJECT = {
    "uploader": "111111111111",
    "bucket": "mybucket",
    "key": "incoming/from-dev.csv",
    "body": "day,deploys\n2026-11-01,3\n2026-11-02,5\n",
}


def foreign_object_ensure(uploader: str, *, bucket: str, key: str, body: str) -> str:
    """Upload the object from the uploader's account unless it is there (never overwritten)."""
    s3 = demo_client("s3", uploader)
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return "exists"
    except s3.exceptions.ClientError as error:
        if error_code(error) not in ("404", "NoSuchKey", "NotFound"):
            raise
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=body.encode(),
        ContentType="text/csv",
        Metadata={"uploaded-by-account": uploader},
    )
    return f"uploaded by {uploader}"


# The bucket already carries a bucket policy statement that someone else wrote, which
# the portal's read-modify-write must keep when it adds and removes its own.
AUDITORS_STATEMENT = {
    "Sid": "AuditorsReadReports",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::mybucket/reports/*",
}


def bucket_statement_ensure(account_id: str, *, bucket: str, statement: dict[str, Any]) -> str:
    """Put one statement (by Sid) into the bucket policy unless it is there as seeded; every
    other statement in the policy (the portal's, say) is kept."""
    s3 = demo_client("s3", account_id)
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except s3.exceptions.ClientError as error:
        if error_code(error) != "NoSuchBucketPolicy":
            raise
        policy = None
    if statement_find(policy, statement["Sid"]) == statement:
        return "exists"
    s3.put_bucket_policy(Bucket=bucket, Policy=policy_text(statement_put(policy, statement)))
    return f"statement {statement['Sid']} written"
