"""Resource-based policies read and written through boto3 against the emulator (moto over HTTP).

Each test works on the demo world's resources in 999999999999 and puts their policies back as it
found them: the emulator is shared by the whole test session.
"""

import io
import json
import zipfile

import pytest

import aws
from aws.core import client_for
from aws.demo_world import AUDITORS_STATEMENT
from policy.resource_policies import (
    holder_for,
    resource_statement,
    statement_find,
    statement_put,
    statement_remove,
    statements_except,
)

TARGET = "999999999999"
REGION = "eu-central-1"
PROVISIONER = f"arn:aws:iam::{TARGET}:role/PortalProvisioner"
SOURCE_ROOT = "arn:aws:iam::111111111111:root"
SID = "PortalAccess9001"


@pytest.fixture
def credentials(emulator):
    return aws.role_credentials(PROVISIONER)


def foreign_statement(*, action: str, resource: str) -> dict:
    """A statement someone else wrote, with a Condition and its keys in an unusual order."""
    return {
        "Sid": "PlatformTeamReads",
        "Principal": {"AWS": f"arn:aws:iam::{TARGET}:root"},
        "Effect": "Allow",
        "Action": [action],
        "Resource": resource,
        "Condition": {"StringEquals": {"aws:PrincipalTag/team": "platform"}},
    }


def secret_arn(credentials) -> str:
    return client_for("secretsmanager", credentials).describe_secret(SecretId="mysecret")["ARN"]


def key_arn(credentials) -> str:
    kms = client_for("kms", credentials)
    return kms.describe_key(KeyId="alias/mykey")["KeyMetadata"]["Arn"]


# The resource the portal grants on, its action, the foreign statement's action and Resource
# (None: the holder's ARN), and whether the service lets the policy be deleted.
CASES = {
    "s3": (
        "arn:aws:s3:::mybucket/reports/*",
        "s3:GetObject",
        ("s3:ListBucket", "arn:aws:s3:::mybucket"),
        True,
    ),
    "sqs": (
        f"arn:aws:sqs:{REGION}:{TARGET}:myqueue",
        "sqs:SendMessage",
        ("sqs:GetQueueAttributes", None),
        True,
    ),
    "sns": (
        f"arn:aws:sns:{REGION}:{TARGET}:mytopic",
        "sns:Publish",
        ("sns:Subscribe", None),
        False,
    ),
    "secretsmanager": (
        None,  # the secret's ARN ends in a random suffix: looked up in the test
        "secretsmanager:GetSecretValue",
        ("secretsmanager:DescribeSecret", "*"),
        True,
    ),
    "dynamodb": (
        f"arn:aws:dynamodb:{REGION}:{TARGET}:table/MyTable",
        "dynamodb:GetItem",
        ("dynamodb:DescribeTable", None),
        True,
    ),
}


def restore(credentials, holder, original) -> None:
    if original is None:
        aws.policy_delete(credentials, holder)
    else:
        aws.policy_write(credentials, holder, original)


@pytest.mark.parametrize("service", sorted(CASES))
def test_portal_statement_added_and_removed_around_foreign_ones(credentials, service):
    resource, action, (foreign_action, foreign_resource), deletable = CASES[service]
    if service == "secretsmanager":
        resource = secret_arn(credentials)
    holder = holder_for(resource)
    assert aws.resource_exists(credentials, holder)
    original = aws.policy_read(credentials, holder)
    try:
        if service == "s3":
            # The demo world's bucket carries a statement the portal did not write.
            assert statement_find(original, "AuditorsReadReports") == AUDITORS_STATEMENT
        elif service == "sns":
            assert original is not None, "a topic always has its default policy"
        else:
            assert original is None
        foreign = foreign_statement(action=foreign_action, resource=foreign_resource or holder.arn)
        ours = resource_statement(
            holder=holder, sid=SID, principal=SOURCE_ROOT, actions=[action], resources=[resource]
        )
        with_both = statement_put(statement_put(original, foreign), ours)
        aws.policy_write(credentials, holder, with_both)
        assert aws.policy_read(credentials, holder) == with_both

        # Writing the same statement again (a redelivered task) changes nothing.
        aws.policy_write(credentials, holder, statement_put(with_both, ours))
        assert aws.policy_read(credentials, holder) == with_both

        without = statement_remove(aws.policy_read(credentials, holder), SID)
        aws.policy_write(credentials, holder, without)
        back = aws.policy_read(credentials, holder)
        assert statement_find(back, SID) is None
        assert statements_except(back, SID) == statements_except(with_both, SID)
        assert statement_find(back, "PlatformTeamReads") == foreign

        if deletable:
            aws.policy_delete(credentials, holder)
            assert aws.policy_read(credentials, holder) is None
            aws.policy_delete(credentials, holder)  # idempotent
            assert aws.policy_read(credentials, holder) is None
        else:
            with pytest.raises(aws.AwsError) as refused:
                aws.policy_delete(credentials, holder)
            assert refused.value.code == "PolicyNotDeletable"
    finally:
        restore(credentials, holder, original)
    assert aws.policy_read(credentials, holder) == original


def test_kms_default_key_policy_survives_the_cycle(credentials):
    holder = holder_for(key_arn(credentials))
    assert holder.service == "kms"
    original = aws.policy_read(credentials, holder)
    defaults = original["Statement"]
    assert defaults, "a key starts with its default key policy"
    assert any(s.get("Principal") == {"AWS": f"arn:aws:iam::{TARGET}:root"} for s in defaults)
    try:
        ours = resource_statement(
            holder=holder,
            sid=SID,
            principal=SOURCE_ROOT,
            actions=["kms:Decrypt", "kms:DescribeKey"],
            resources=[holder.arn],
        )
        assert ours["Resource"] == "*"
        with_ours = statement_put(original, ours)
        aws.policy_write(credentials, holder, with_ours)
        read = aws.policy_read(credentials, holder)
        assert read == with_ours
        assert read["Statement"][: len(defaults)] == defaults

        aws.policy_write(credentials, holder, statement_remove(read, SID))
        assert aws.policy_read(credentials, holder) == original
        with pytest.raises(aws.AwsError) as refused:
            aws.policy_delete(credentials, holder)
        assert refused.value.code == "PolicyNotDeletable"
    finally:
        aws.policy_write(credentials, holder, original)
    assert aws.policy_read(credentials, holder) == original


@pytest.fixture
def function(emulator):
    """A Lambda function made for the test (the emulator needs no Docker to create one)."""
    name = "portal-resource-policy-test"
    iam = aws.emulator_client("iam", account_id=TARGET)
    lambda_ = aws.emulator_client("lambda", account_id=TARGET, region=REGION)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("handler.py", "def handler(event, context):\n    return 'ok'\n")
    arn = lambda_.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="handler.handler",
        Code={"ZipFile": archive.getvalue()},
    )["FunctionArn"]
    yield arn
    lambda_.delete_function(FunctionName=name)
    iam.delete_role(RoleName=name)


def test_lambda_permission_added_and_removed_around_a_foreign_one(credentials, function):
    holder = holder_for(function)
    assert holder.service == "lambda"
    assert aws.resource_exists(credentials, holder)
    assert aws.policy_read(credentials, holder) is None
    foreign = {
        "Sid": "S3Notifications",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": function,
    }
    ours = resource_statement(
        holder=holder,
        sid=SID,
        principal=SOURCE_ROOT,
        actions=["lambda:InvokeFunction"],
        resources=[function],
    )
    assert ours["Resource"] == function
    with_both = statement_put(statement_put(None, foreign), ours)
    aws.policy_write(credentials, holder, with_both)
    read = aws.policy_read(credentials, holder)
    assert read["Statement"] == with_both["Statement"]

    aws.policy_write(credentials, holder, statement_put(read, ours))  # nothing to change
    assert aws.policy_read(credentials, holder)["Statement"] == with_both["Statement"]

    aws.policy_write(credentials, holder, statement_remove(read, SID))
    assert aws.policy_read(credentials, holder)["Statement"] == [foreign]

    aws.policy_delete(credentials, holder)
    assert aws.policy_read(credentials, holder) is None
    aws.policy_delete(credentials, holder)  # idempotent


def test_lambda_refuses_what_add_permission_cannot_express_before_changing_anything(
    credentials, function
):
    holder = holder_for(function)
    first = resource_statement(
        holder=holder,
        sid="PortalAccess1",
        principal=SOURCE_ROOT,
        actions=["lambda:GetFunction"],
        resources=[function],
    )
    aws.policy_write(credentials, holder, statement_put(None, first))
    before = aws.policy_read(credentials, holder)
    two_actions = first | {
        "Sid": "PortalAccess2",
        "Action": ["lambda:InvokeFunction", "lambda:GetFunction"],
    }
    conditional = first | {
        "Sid": "PortalAccess3",
        "Condition": {"Bool": {"aws:SecureTransport": "true"}},
    }
    for bad in (two_actions, conditional, first | {"Sid": "PortalAccess4", "Effect": "Deny"}):
        with pytest.raises(aws.AwsError) as refused:
            # The existing statement would be removed by this write; the refusal comes first.
            aws.policy_write(credentials, holder, {"Version": "2012-10-17", "Statement": [bad]})
        assert refused.value.code == "UnsupportedStatement"
        assert aws.policy_read(credentials, holder) == before
    aws.policy_delete(credentials, holder)


def test_a_policy_over_the_size_limit_is_refused_before_it_is_written(credentials):
    holder = holder_for(f"arn:aws:sqs:{REGION}:{TARGET}:myqueue")
    original = aws.policy_read(credentials, holder)
    policy = original
    for number in range(60):
        policy = statement_put(
            policy,
            resource_statement(
                holder=holder,
                sid=f"PortalAccess{number}",
                principal=SOURCE_ROOT,
                actions=["sqs:SendMessage", "sqs:ReceiveMessage"],
                resources=[holder.arn],
            ),
        )
    with pytest.raises(aws.AwsError) as refused:
        aws.policy_write(credentials, holder, policy)
    assert refused.value.code == "PolicyTooLarge"
    assert "8,192" in str(refused.value)
    assert aws.policy_read(credentials, holder) == original


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:s3:::portal-no-such-bucket",
        f"arn:aws:sqs:{REGION}:{TARGET}:no-such-queue",
        f"arn:aws:sns:{REGION}:{TARGET}:no-such-topic",
        f"arn:aws:kms:{REGION}:{TARGET}:key/00000000-0000-0000-0000-000000000000",
        f"arn:aws:secretsmanager:{REGION}:{TARGET}:secret:no-such-secret-a1b2c3",
        f"arn:aws:dynamodb:{REGION}:{TARGET}:table/NoSuchTable",
        f"arn:aws:lambda:{REGION}:{TARGET}:function:no-such-function",
    ],
)
def test_missing_resources_do_not_exist_and_have_no_policy_to_read(credentials, resource):
    holder = holder_for(resource)
    assert not aws.resource_exists(credentials, holder)
    with pytest.raises(aws.AwsError):
        aws.policy_read(credentials, holder)
