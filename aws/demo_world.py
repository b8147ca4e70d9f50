"""The demo world inside the embedded emulator (SPEC 2.1 and 8): the portal's own roles in every
managed account, and the article's resources to grant access to.

Only for the emulator (`AWS_ENDPOINT_URL`): it writes through moto's `x-moto-account-id` header,
which real AWS does not have. The emulator keeps nothing across restarts, so this runs at every
start; every step is create-if-absent and never duplicates or overwrites data.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.conf import settings

from aws import AwsError, emulator_client
from policy.arns import account_root_arn
from policy.resource_policies import policy_text, statement_find, statement_put

# The article's world lives in Frankfurt; its ARNs name eu-central-1.
DEMO_REGION = "eu-central-1"
PROVISIONER_ROLE = "PortalProvisioner"
BROKER_ROLE = "PortalBroker"
PROVISIONER_POLICY = "portal-provisioner"

# What the portal does with a provisioner session (aws.iam: role_put, role_read,
# role_policy_put, role_policy_delete, role_delete), and nothing else.
PORTAL_ROLE_ACTIONS = [
    "iam:CreateRole",
    "iam:GetRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:TagRole",
    "iam:DeleteRole",
    "iam:PutRolePolicy",
    "iam:GetRolePolicy",
    "iam:ListRolePolicies",
    "iam:DeleteRolePolicy",
]
# On source-account roles the portal only adds and removes the per-grant identity policies.
SOURCE_ROLE_ACTIONS = [
    "iam:GetRole",
    "iam:PutRolePolicy",
    "iam:GetRolePolicy",
    "iam:ListRolePolicies",
    "iam:DeleteRolePolicy",
]


@dataclass(frozen=True)
class DemoAccount:
    """What one emulated account holds: the portal's roles and the resources to share."""

    account_id: str
    broker: bool = False
    tables: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    buckets: dict[str, dict[str, str]] = field(default_factory=dict)
    queues: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    key_aliases: tuple[str, ...] = ()
    secrets: dict[str, str] = field(default_factory=dict)


DEMO_ACCOUNTS = [
    DemoAccount(account_id="111111111111", broker=True),
    DemoAccount(
        account_id="999999999999",
        tables={
            "MyTable": [
                {"id": "1", "name": "first item"},
                {"id": "2", "name": "second item"},
                {"id": "3", "name": "third item"},
            ]
        },
        buckets={
            "mybucket": {
                "README.txt": "The article's bucket. S3 bucket names are lower case: mybucket.\n",
                "reports/2026-11.csv": "day,requests\n2026-11-01,42\n2026-11-02,57\n",
            }
        },
        queues=("myqueue",),
        topics=("mytopic",),
        key_aliases=("alias/mykey",),
        # The emulator's demo secret, published with the demo (not a credential of anything).
        secrets={"mysecret": json.dumps({"username": "demo", "password": "not-a-real-secret"})},  # nosec B105
    ),
    DemoAccount(
        account_id="222222222222",
        tables={
            "Orders": [
                {"id": "o-1001", "customer": "acme", "total": "129.90"},
                {"id": "o-1002", "customer": "globex", "total": "18.00"},
            ]
        },
        buckets={"prod-reports": {"reports/2026-11.csv": "day,orders\n2026-11-01,1200\n"}},
    ),
]


class DemoWorldError(Exception):
    """The emulator cannot be brought to the demo world (e.g. a name taken by another account)."""


@cache
def _client(service: str, account_id: str) -> Any:
    """One client per service and account for the whole seeding run (each costs ~100 ms)."""
    return emulator_client(service, account_id=account_id, region=DEMO_REGION)


def _error_code(error: Exception) -> str:
    return getattr(error, "response", {}).get("Error", {}).get("Code", "")


def tooling_trust_policy() -> dict[str, Any]:
    """Trust the tooling account, whose credentials the portal runs with."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PortalTooling",
                "Effect": "Allow",
                "Principal": {"AWS": account_root_arn(settings.PORTAL_TOOLING_ACCOUNT_ID)},
                "Action": "sts:AssumeRole",
            }
        ],
    }


# Resource policies and ACLs (aws.resource_policies and s3_acls): read and write the
# policies of the account's resources; they only ever add or remove the portal's statements.
RESOURCE_POLICY_ACTIONS = [
    "s3:ListAllMyBuckets",
    "s3:ListBucket",
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketAcl",
    "s3:PutBucketAcl",
    "s3:GetObjectAcl",
    "s3:PutObjectAcl",
    "sqs:GetQueueUrl",
    "sqs:GetQueueAttributes",
    "sqs:SetQueueAttributes",
    "sns:GetTopicAttributes",
    "sns:SetTopicAttributes",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:PutKeyPolicy",
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetResourcePolicy",
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:DeleteResourcePolicy",
    "dynamodb:DescribeTable",
    "dynamodb:GetResourcePolicy",
    "dynamodb:PutResourcePolicy",
    "dynamodb:DeleteResourcePolicy",
    "lambda:GetFunction",
    "lambda:GetPolicy",
    "lambda:AddPermission",
    "lambda:RemovePermission",
]
# The wizard's inventory (aws.inventory): list the resources engineers pick from.
INVENTORY_ACTIONS = [
    "dynamodb:ListTables",
    "s3:ListAllMyBuckets",
    "s3:GetBucketLocation",
    "sqs:ListQueues",
    "sns:ListTopics",
    "kms:ListKeys",
    "kms:ListAliases",
    "kms:DescribeKey",
    "secretsmanager:ListSecrets",
]
# A role in the source account that engineers use with their own identity (SPEC 4.4, own_identity).
ANALYST_ROLE = "DataAnalyst"


def own_account_trust_policy(account_id: str) -> dict[str, Any]:
    """Trust the account's own identities, whose IAM policies decide who may assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": account_root_arn(account_id)},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def provisioner_policy(account_id: str, *, broker_role: str = "") -> dict[str, Any]:
    """Least privilege for the provisioner role: manage roles under the portal's path, and in a
    source account the inline identity policies that let its roles assume a granted role: the
    broker role's for portal sessions, and any role's that a request names as its source
    principal (IAM cannot narrow PutRolePolicy by policy name, so this covers every role)."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ManagePortalRoles",
            "Effect": "Allow",
            "Action": PORTAL_ROLE_ACTIONS,
            "Resource": f"arn:aws:iam::{account_id}:role{settings.PORTAL_ROLE_PATH}*",
        },
        {
            # Resource-level scoping differs per service; the account boundary is what matters.
            "Sid": "ManageResourcePolicies",
            "Effect": "Allow",
            "Action": RESOURCE_POLICY_ACTIONS,
            "Resource": "*",
        },
        {
            # The List* actions take no resource ARN: "*" is the only resource they accept.
            "Sid": "ListInventory",
            "Effect": "Allow",
            "Action": INVENTORY_ACTIONS,
            "Resource": "*",
        },
    ]
    if broker_role:
        statements.append(
            {
                "Sid": "SourceIdentityPolicies",
                "Effect": "Allow",
                "Action": SOURCE_ROLE_ACTIONS,
                "Resource": f"arn:aws:iam::{account_id}:role/*",
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


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
    iam = _client("iam", account_id)
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


def table_ensure(account_id: str, *, name: str, items: list[dict[str, str]]) -> str:
    """A table keyed by the string `id`, holding at least these items (never overwritten)."""
    dynamodb = _client("dynamodb", account_id)
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
    s3 = _client("s3", account_id)
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
            if _error_code(error) not in ("404", "NoSuchKey", "NotFound"):
                raise
            s3.put_object(Bucket=name, Key=key, Body=body.encode(), ContentType="text/plain")
            added += 1
    return f"{outcome}, {added} object(s) added"


def queue_ensure(account_id: str, *, name: str) -> str:
    """sqs:CreateQueue returns the existing queue when called again with the same attributes."""
    url = _client("sqs", account_id).create_queue(QueueName=name)["QueueUrl"]
    return f"ready at {url}"


def topic_ensure(account_id: str, *, name: str) -> str:
    """sns:CreateTopic is idempotent by name."""
    return "ready as " + _client("sns", account_id).create_topic(Name=name)["TopicArn"]


def key_ensure(account_id: str, *, alias: str) -> str:
    """A symmetric KMS key found by its alias (keys themselves have no names)."""
    kms = _client("kms", account_id)
    for page in kms.get_paginator("list_aliases").paginate():
        for entry in page["Aliases"]:
            if entry["AliasName"] == alias and entry.get("TargetKeyId"):
                return f"exists as {entry['TargetKeyId']}"
    key_id = kms.create_key(Description=f"Access portal demo key {alias}")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    return f"created as {key_id}"


def secret_ensure(account_id: str, *, name: str, value: str) -> str:
    secrets = _client("secretsmanager", account_id)
    try:
        secrets.describe_secret(SecretId=name)
        return "exists"
    except secrets.exceptions.ResourceNotFoundException:
        secrets.create_secret(Name=name, SecretString=value)
        return "created"


# SPEC 4.3: an object in the target's bucket that the source account uploaded, the case in which
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
    s3 = _client("s3", uploader)
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return "exists"
    except s3.exceptions.ClientError as error:
        if _error_code(error) not in ("404", "NoSuchKey", "NotFound"):
            raise
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=body.encode(),
        ContentType="text/csv",
        Metadata={"uploaded-by-account": uploader},
    )
    return f"uploaded by {uploader}"


# SPEC 4.2: the bucket already carries a bucket policy statement that someone else wrote, which
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
    s3 = _client("s3", account_id)
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except s3.exceptions.ClientError as error:
        if _error_code(error) != "NoSuchBucketPolicy":
            raise
        policy = None
    if statement_find(policy, statement["Sid"]) == statement:
        return "exists"
    s3.put_bucket_policy(Bucket=bucket, Policy=policy_text(statement_put(policy, statement)))
    return f"statement {statement['Sid']} written"


def _run(label: str, step: Callable[..., str], *args: Any, **kwargs: Any) -> str:
    """One seeding step as a summary line; a failure names the step."""
    try:
        return f"{label}: {step(*args, **kwargs)}"
    except DemoWorldError:
        raise
    except AwsError as error:
        raise DemoWorldError(f"{label}: {error}") from error
    except Exception as error:  # the emulator is down or answered something unexpected
        raise DemoWorldError(f"{label}: {type(error).__name__}: {error}") from error


def demo_world_seed() -> list[str]:
    """Bring the emulator to the demo world; one summary line per thing seeded."""
    if not settings.AWS_ENDPOINT_URL:
        raise DemoWorldError("AWS_ENDPOINT_URL is unset: the demo world is only for the emulator.")
    _client.cache_clear()
    trust = tooling_trust_policy()
    lines: list[str] = []
    for account in DEMO_ACCOUNTS:
        acct = account.account_id
        broker = BROKER_ROLE if account.broker else ""
        policies = {PROVISIONER_POLICY: provisioner_policy(acct, broker_role=broker)}
        lines.append(
            _run(
                f"{acct} role {PROVISIONER_ROLE}",
                role_ensure,
                acct,
                role_name=PROVISIONER_ROLE,
                trust_policy=trust,
                description="Access portal: writes cross-account roles and their policies",
                inline_policies=policies,
            )
        )
        if broker:
            lines.append(
                _run(
                    f"{acct} role {broker}",
                    role_ensure,
                    acct,
                    role_name=broker,
                    trust_policy=trust,
                    description="Access portal: vends sessions to developers (role chaining)",
                    max_session_duration=3600,
                )
            )
            lines.append(
                _run(
                    f"{acct} role {ANALYST_ROLE}",
                    role_ensure,
                    acct,
                    role_name=ANALYST_ROLE,
                    trust_policy=own_account_trust_policy(acct),
                    description="Engineers' own role in the source account (own identity)",
                )
            )
        for name, items in account.tables.items():
            lines.append(_run(f"{acct} table {name}", table_ensure, acct, name=name, items=items))
        for name, objects in account.buckets.items():
            lines.append(
                _run(f"{acct} bucket {name}", bucket_ensure, acct, name=name, objects=objects)
            )
        for name in account.queues:
            lines.append(_run(f"{acct} queue {name}", queue_ensure, acct, name=name))
        for name in account.topics:
            lines.append(_run(f"{acct} topic {name}", topic_ensure, acct, name=name))
        for alias in account.key_aliases:
            lines.append(_run(f"{acct} key {alias}", key_ensure, acct, alias=alias))
        for name, value in account.secrets.items():
            lines.append(_run(f"{acct} secret {name}", secret_ensure, acct, name=name, value=value))
    label = "{uploader} object s3://{bucket}/{key}".format(**FOREIGN_OBJECT)
    lines.append(_run(label, foreign_object_ensure, **FOREIGN_OBJECT))
    lines.append(
        _run(
            "999999999999 bucket policy mybucket",
            bucket_statement_ensure,
            "999999999999",
            bucket="mybucket",
            statement=AUDITORS_STATEMENT,
        )
    )
    return lines
