"""The policy evaluator: table-driven cases grouped by the AWS
documentation page each group follows. Pure: no database, no AWS."""

import fnmatch
import random

import pytest

from policy.evaluation import (
    NOT_APPLICABLE,
    PolicySet,
    RequestContext,
    evaluate,
)
from policy.evaluation.conditions import conditions_match, key_matches
from policy.evaluation.matching import (
    action_matches,
    glob_match,
    pieces_match,
    principal_block_matches,
)
from policy.evaluation.variables import split, substitute
from tests.provisioning.policy_tables import (
    ALICE,
    ALLOW_ALL,
    BOB,
    DEV_ROLE,
    SOURCE,
    TARGET,
    A,
    E,
    I,
    V,
    pol,
    stmt,
)

TABLE = f"arn:aws:dynamodb:eu-central-1:{TARGET}:table/MyTable"
BUCKET_OBJ = "arn:aws:s3:::mybucket/data/report.csv"
XROLE = f"arn:aws:iam::{TARGET}:role/MyTableCrossAccount"


FULL_ACCESS_SCP = pol(stmt(action="*", resource="*", Sid="FullAWSAccess"))


# --------------------------------------------------------------------------------------------
# Condition operators
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
# --------------------------------------------------------------------------------------------
OPERATOR_CASES = [
    # String
    ("StringEquals", "aws:username", "bob", {"aws:username": "bob"}, True),
    ("StringEquals", "aws:username", "bob", {"aws:username": "Bob"}, False),
    ("StringEquals", "aws:username", ["ann", "bob"], {"aws:username": "bob"}, True),
    ("StringEquals", "aws:username", "bob", {}, False),
    ("StringNotEquals", "aws:username", "bob", {"aws:username": "ann"}, True),
    ("StringNotEquals", "aws:username", "bob", {"aws:username": "bob"}, False),
    ("StringNotEquals", "aws:username", ["ann", "bob"], {"aws:username": "bob"}, False),
    ("StringNotEquals", "aws:username", "bob", {}, True),
    ("StringEqualsIgnoreCase", "aws:username", "BOB", {"aws:username": "bob"}, True),
    ("StringEqualsIgnoreCase", "aws:username", "BOB", {"aws:username": "ann"}, False),
    ("StringNotEqualsIgnoreCase", "aws:username", "BOB", {"aws:username": "bob"}, False),
    ("StringNotEqualsIgnoreCase", "aws:username", "BOB", {"aws:username": "ann"}, True),
    ("StringLike", "s3:prefix", "home/*", {"s3:prefix": "home/bob/x"}, True),
    ("StringLike", "s3:prefix", "home/?ob", {"s3:prefix": "home/bob"}, True),
    ("StringLike", "s3:prefix", "home/?ob", {"s3:prefix": "home/boob"}, False),
    ("StringLike", "s3:prefix", "Home/*", {"s3:prefix": "home/x"}, False),
    ("StringLike", "s3:prefix", "home/*", {}, False),
    ("StringNotLike", "s3:prefix", "tmp/*", {"s3:prefix": "home/x"}, True),
    ("StringNotLike", "s3:prefix", "tmp/*", {"s3:prefix": "tmp/x"}, False),
    ("StringNotLike", "s3:prefix", "tmp/*", {}, True),
    ("stringequals", "AWS:UserName", "bob", {"aws:username": "bob"}, True),
    # Numeric
    ("NumericEquals", "s3:max-keys", "10", {"s3:max-keys": "10"}, True),
    ("NumericEquals", "s3:max-keys", "10", {"s3:max-keys": "10.0"}, True),
    ("NumericNotEquals", "s3:max-keys", "10", {"s3:max-keys": "11"}, True),
    ("NumericNotEquals", "s3:max-keys", "10", {}, True),
    ("NumericLessThan", "s3:max-keys", "10", {"s3:max-keys": "9"}, True),
    ("NumericLessThan", "s3:max-keys", "10", {"s3:max-keys": "10"}, False),
    ("NumericLessThanEquals", "s3:max-keys", "10", {"s3:max-keys": "10"}, True),
    ("NumericGreaterThan", "s3:max-keys", "10", {"s3:max-keys": "11"}, True),
    ("NumericGreaterThan", "s3:max-keys", "10", {"s3:max-keys": "abc"}, False),
    ("NumericGreaterThanEquals", "s3:max-keys", "10", {"s3:max-keys": "9"}, False),
    ("NumericLessThan", "s3:max-keys", "10", {}, False),
    # Date (ISO 8601 and epoch)
    (
        "DateLessThan",
        "aws:CurrentTime",
        "2026-12-31T00:00:00Z",
        {"aws:CurrentTime": "2026-11-28T12:00:00Z"},
        True,
    ),
    (
        "DateLessThan",
        "aws:CurrentTime",
        "2026-01-01T00:00:00Z",
        {"aws:CurrentTime": "2026-11-28T12:00:00Z"},
        False,
    ),
    (
        "DateGreaterThan",
        "aws:CurrentTime",
        "2026-01-01",
        {"aws:CurrentTime": "2026-11-28T12:00:00Z"},
        True,
    ),
    ("DateEquals", "aws:EpochTime", "1700000000", {"aws:EpochTime": "2023-11-14T22:13:20Z"}, True),
    ("DateNotEquals", "aws:EpochTime", "1700000000", {"aws:EpochTime": "1700000001"}, True),
    (
        "DateLessThanEquals",
        "aws:TokenIssueTime",
        "2026-11-28T12:00:00+00:00",
        {"aws:TokenIssueTime": "2026-11-28T12:00:00Z"},
        True,
    ),
    (
        "DateGreaterThanEquals",
        "aws:CurrentTime",
        "2026-11-28T13:00:00+01:00",
        {"aws:CurrentTime": "2026-11-28T12:00:00Z"},
        True,
    ),
    ("DateLessThan", "aws:CurrentTime", "2026-12-31T00:00:00Z", {}, False),
    ("DateLessThan", "aws:CurrentTime", "not-a-date", {"aws:CurrentTime": "2026-01-01"}, False),
    # Bool
    ("Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": "true"}, True),
    ("Bool", "aws:SecureTransport", "false", {"aws:SecureTransport": "true"}, False),
    ("Bool", "aws:SecureTransport", True, {"aws:SecureTransport": "TRUE"}, True),
    ("Bool", "aws:MultiFactorAuthPresent", "true", {}, False),
    ("BoolIfExists", "aws:MultiFactorAuthPresent", "true", {}, True),
    (
        "BoolIfExists",
        "aws:MultiFactorAuthPresent",
        "true",
        {"aws:MultiFactorAuthPresent": "false"},
        False,
    ),
    # Binary
    ("BinaryEquals", "key", "QmluYXJ5VmFsdWU=", {"key": "QmluYXJ5VmFsdWU="}, True),
    ("BinaryEquals", "key", "QmluYXJ5VmFsdWU=", {"key": "T3RoZXI="}, False),
    # IP address
    ("IpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "203.0.113.7"}, True),
    ("IpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "198.51.100.1"}, False),
    ("IpAddress", "aws:SourceIp", "203.0.113.7", {"aws:SourceIp": "203.0.113.7"}, True),
    (
        "IpAddress",
        "aws:SourceIp",
        ["10.0.0.0/8", "203.0.113.0/24"],
        {"aws:SourceIp": "10.1.2.3"},
        True,
    ),
    ("IpAddress", "aws:SourceIp", "2001:db8::/32", {"aws:SourceIp": "2001:db8::1"}, True),
    ("IpAddress", "aws:SourceIp", "10.0.0.0/8", {"aws:SourceIp": "2001:db8::1"}, False),
    ("IpAddress", "aws:SourceIp", "10.0.0.0/8", {}, False),
    ("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", {"aws:SourceIp": "192.0.2.1"}, True),
    ("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", {"aws:SourceIp": "10.0.0.1"}, False),
    ("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", {}, True),
    # ARN
    (
        "ArnEquals",
        "aws:SourceArn",
        f"arn:aws:sns:eu-central-1:{TARGET}:topic",
        {"aws:SourceArn": f"arn:aws:sns:eu-central-1:{TARGET}:topic"},
        True,
    ),
    (
        "ArnLike",
        "aws:SourceArn",
        "arn:aws:sns:*:*:top*",
        {"aws:SourceArn": f"arn:aws:sns:eu-central-1:{TARGET}:topic"},
        True,
    ),
    (
        "ArnLike",
        "aws:PrincipalArn",
        f"arn:aws:iam::{SOURCE}:role/*",
        {"aws:PrincipalArn": DEV_ROLE},
        True,
    ),
    (
        "ArnLike",
        "aws:PrincipalArn",
        f"arn:aws:iam::{SOURCE}:role/*",
        {"aws:PrincipalArn": BOB},
        False,
    ),
    ("ArnEquals", "aws:SourceArn", "arn:aws:sns:*:*:topic", {"aws:SourceArn": "not-an-arn"}, False),
    ("ArnNotEquals", "aws:PrincipalArn", DEV_ROLE, {"aws:PrincipalArn": BOB}, True),
    (
        "ArnNotLike",
        "aws:PrincipalArn",
        f"arn:aws:iam::{SOURCE}:role/*",
        {"aws:PrincipalArn": DEV_ROLE},
        False,
    ),
    ("ArnNotLike", "aws:PrincipalArn", f"arn:aws:iam::{SOURCE}:role/*", {}, True),
    ("ArnLikeIfExists", "aws:SourceArn", "arn:aws:sns:*:*:x", {}, True),
    (
        "ArnLike",
        "aws:PrincipalArn",
        "arn:aws:iam::${aws:PrincipalAccount}:role/*",
        {"aws:PrincipalArn": DEV_ROLE, "aws:PrincipalAccount": SOURCE},
        True,
    ),
    (
        "ArnLike",
        "aws:SourceArn",
        "arn:aws:lambda:*:*:function:f:*",
        {"aws:SourceArn": f"arn:aws:lambda:eu-central-1:{TARGET}:function:f:prod"},
        True,
    ),
    (
        "ArnLike",
        "aws:SourceArn",
        "arn:aws:s3:::b/${*}",
        {"aws:SourceArn": "arn:aws:s3:::b/x"},
        False,
    ),
    # IfExists
    ("StringEqualsIfExists", "ec2:InstanceType", "t3.micro", {}, True),
    (
        "StringEqualsIfExists",
        "ec2:InstanceType",
        "t3.micro",
        {"ec2:InstanceType": "t3.micro"},
        True,
    ),
    (
        "StringEqualsIfExists",
        "ec2:InstanceType",
        "t3.micro",
        {"ec2:InstanceType": "m5.24xlarge"},
        False,
    ),
    ("StringNotEqualsIfExists", "ec2:InstanceType", "t3.micro", {}, True),
    ("NumericLessThanIfExists", "s3:max-keys", "10", {}, True),
    ("IpAddressIfExists", "aws:SourceIp", "10.0.0.0/8", {"aws:SourceIp": "192.0.2.1"}, False),
    # Null
    ("Null", "aws:TokenIssueTime", "true", {}, True),
    ("Null", "aws:TokenIssueTime", "true", {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}, False),
    ("Null", "aws:TokenIssueTime", "false", {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}, True),
    ("Null", "aws:TokenIssueTime", "false", {}, False),
    ("Null", "aws:TagKeys", "true", {"aws:TagKeys": []}, True),
    ("Null", "aws:TokenIssueTime", False, {"aws:TokenIssueTime": "x"}, True),
]


@pytest.mark.parametrize(
    ("operator", "key", "value", "context", "expected"),
    OPERATOR_CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(OPERATOR_CASES)],
)
def test_condition_operator(operator, key, value, context, expected):
    ctx = {k.lower(): v for k, v in context.items()}
    assert key_matches(operator, key, value, ctx) is expected


# --------------------------------------------------------------------------------------------
# Set operators on multi-valued keys, with the empty / missing-key semantics
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
# --------------------------------------------------------------------------------------------
TAGS = ["env", "team"]
SET_CASES = [
    ("ForAllValues:StringEquals", TAGS, {"aws:TagKeys": ["env"]}, True),
    ("ForAllValues:StringEquals", TAGS, {"aws:TagKeys": ["env", "team"]}, True),
    ("ForAllValues:StringEquals", TAGS, {"aws:TagKeys": ["env", "cost"]}, False),
    ("ForAllValues:StringEquals", TAGS, {"aws:TagKeys": []}, True),  # empty set: true
    ("ForAllValues:StringEquals", TAGS, {}, True),  # missing key: true
    ("ForAllValues:StringLike", ["e*"], {"aws:TagKeys": ["env", "eu"]}, True),
    ("ForAllValues:StringNotEquals", TAGS, {"aws:TagKeys": ["cost", "owner"]}, True),
    ("ForAllValues:StringNotEquals", TAGS, {"aws:TagKeys": ["cost", "env"]}, False),
    ("ForAnyValue:StringEquals", TAGS, {"aws:TagKeys": ["cost", "env"]}, True),
    ("ForAnyValue:StringEquals", TAGS, {"aws:TagKeys": ["cost"]}, False),
    ("ForAnyValue:StringEquals", TAGS, {"aws:TagKeys": []}, False),  # empty set: false
    ("ForAnyValue:StringEquals", TAGS, {}, False),  # missing key: false
    ("ForAnyValue:StringEqualsIfExists", TAGS, {}, True),
    ("ForAnyValue:StringNotEquals", TAGS, {"aws:TagKeys": ["env", "cost"]}, True),
    ("ForAnyValue:StringNotEquals", TAGS, {"aws:TagKeys": ["env"]}, False),
    ("forallvalues:stringequals", TAGS, {"aws:TagKeys": ["env"]}, True),
    ("ForAnyValue:StringLike", ["t*"], {"aws:TagKeys": ["env", "team"]}, True),
    ("StringEquals", TAGS, {"aws:TagKeys": ["cost", "team"]}, True),  # plain op: any value
]


@pytest.mark.parametrize(
    ("operator", "value", "context", "expected"),
    SET_CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(SET_CASES)],
)
def test_set_operators(operator, value, context, expected):
    ctx = {k.lower(): v for k, v in context.items()}
    assert key_matches(operator, "aws:TagKeys", value, ctx) is expected


# --------------------------------------------------------------------------------------------
# The Condition block: operators and keys ANDed, values ORed, key names case-insensitive
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
# --------------------------------------------------------------------------------------------
BLOCK_CASES = [
    ("empty", {}, {}, True),
    (
        "two-keys-both",
        {"StringEquals": {"aws:username": "bob", "aws:PrincipalAccount": SOURCE}},
        {"aws:username": "bob", "aws:principalaccount": SOURCE},
        True,
    ),
    (
        "two-keys-one-fails",
        {"StringEquals": {"aws:username": "bob", "aws:PrincipalAccount": TARGET}},
        {"aws:username": "bob", "aws:principalaccount": SOURCE},
        False,
    ),
    (
        "two-operators-and",
        {"StringEquals": {"aws:username": "bob"}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        {"aws:username": "bob", "aws:sourceip": "192.0.2.1"},
        False,
    ),
    (
        "values-or",
        {"StringEquals": {"aws:username": ["ann", "bob"]}},
        {"aws:username": "bob"},
        True,
    ),
    ("unknown-operator", {"StringSortOf": {"aws:username": "bob"}}, {"aws:username": "bob"}, False),
]


@pytest.mark.parametrize(
    ("block", "ctx", "expected"), [c[1:] for c in BLOCK_CASES], ids=[c[0] for c in BLOCK_CASES]
)
def test_condition_block(block, ctx, expected):
    assert conditions_match(block, ctx)[0] is expected


# --------------------------------------------------------------------------------------------
# Policy variables
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
# --------------------------------------------------------------------------------------------
VARS = {
    "aws:username": "bob",
    "aws:principalaccount": SOURCE,
    "aws:sourceidentity": "alice",
    "aws:tagkeys": ["a", "b"],
}
VARIABLE_CASES = [
    ("username", "home/${aws:username}/", "home/bob/"),
    ("key-name-case-insensitive", "home/${AWS:UserName}", "home/bob"),
    ("account", "arn:aws:iam::${aws:PrincipalAccount}:root", f"arn:aws:iam::{SOURCE}:root"),
    ("source-identity", "${aws:SourceIdentity}", "alice"),
    ("missing-no-default", "home/${aws:userid}", None),
    ("missing-with-default", "home/${aws:userid, 'nobody'}", "home/nobody"),
    ("default-quote-escape", "${aws:userid, 'it''s'}", "it's"),
    ("present-ignores-default", "${aws:username, 'x'}", "bob"),
    ("multivalued-not-a-variable", "${aws:TagKeys}", None),
    ("escape-star", "a${*}b", "a*b"),
    ("escape-question", "a${?}b", "a?b"),
    ("escape-dollar", "cost${$}", "cost$"),
    ("no-variable", "plain", "plain"),
]


@pytest.mark.parametrize(
    ("template", "expected"), [c[1:] for c in VARIABLE_CASES], ids=[c[0] for c in VARIABLE_CASES]
)
def test_variable_substitution(template, expected):
    assert substitute(template, VARS) == expected


def test_variables_off_for_old_policy_version():
    assert substitute("home/${aws:username}", VARS, enabled=False) == "home/${aws:username}"


def test_escaped_wildcard_is_literal():
    pieces = split("file${*}", VARS)
    assert key_matches("StringLike", "k", "file${*}", {"k": "file*"})
    assert not key_matches("StringLike", "k", "file${*}", {"k": "file1"})
    assert pieces == (("file", False), ("*", True))


VARIABLE_EVAL_CASES = [
    ("own-home-allowed", BOB, "arn:aws:s3:::home/bob/notes.txt", V, A),
    ("other-home-denied", BOB, "arn:aws:s3:::home/ann/notes.txt", V, I),
    ("role-session-has-no-username", ALICE, "arn:aws:s3:::home/alice/notes.txt", V, I),
    ("version-2008-literal", BOB, "arn:aws:s3:::home/bob/notes.txt", "2008-10-17", I),
]


@pytest.mark.parametrize(
    ("principal", "resource", "version", "expected"),
    [c[1:] for c in VARIABLE_EVAL_CASES],
    ids=[c[0] for c in VARIABLE_EVAL_CASES],
)
def test_username_variable_in_resource(principal, resource, version, expected):
    policy = pol(stmt(resource="arn:aws:s3:::home/${aws:username}/*"), version=version)
    request = RequestContext(principal, "s3:GetObject", resource, SOURCE)
    assert evaluate(request, PolicySet(identity=[policy])).decision == expected


def test_variable_in_condition_with_source_identity():
    policy = pol(stmt(Condition={"StringEquals": {"s3:prefix": "${aws:SourceIdentity}"}}))
    ok = RequestContext(
        ALICE, "s3:GetObject", "*", SOURCE, {"aws:SourceIdentity": "alice", "s3:prefix": "alice"}
    )
    other = RequestContext(
        ALICE, "s3:GetObject", "*", SOURCE, {"aws:SourceIdentity": "alice", "s3:prefix": "bob"}
    )
    assert evaluate(ok, PolicySet(identity=[policy])).decision == A
    assert evaluate(other, PolicySet(identity=[policy])).decision == I


# --------------------------------------------------------------------------------------------
# Action and Resource wildcards
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
# --------------------------------------------------------------------------------------------
ACTION_CASES = [
    ("s3:GetObject", "s3:GetObject", True),
    ("s3:getobject", "s3:GetObject", True),
    ("S3:Get*", "s3:GetObject", True),
    ("s3:*", "s3:PutObject", True),
    ("*", "dynamodb:GetItem", True),
    ("s3:Get?bject", "s3:GetObject", True),
    ("s3:Get*", "s3:PutObject", False),
    ("s3:*Object", "s3:GetObjectAcl", False),
    ("dynamodb:*", "s3:GetObject", False),
]


@pytest.mark.parametrize(
    ("pattern", "action", "expected"), ACTION_CASES, ids=[f"{p}~{a}" for p, a, _ in ACTION_CASES]
)
def test_action_matching(pattern, action, expected):
    assert action_matches(pattern, action) is expected


RESOURCE_CASES = [
    ("arn:aws:s3:::mybucket/*", BUCKET_OBJ, True),
    ("arn:aws:s3:::MyBucket/*", BUCKET_OBJ, False),  # case-sensitive
    ("arn:aws:s3:::mybucket/data/*.csv", BUCKET_OBJ, True),
    ("arn:aws:s3:::mybucket", BUCKET_OBJ, False),
    ("*", BUCKET_OBJ, True),
    ("arn:aws:dynamodb:*:999999999999:table/MyTable", TABLE, True),
    ("arn:aws:dynamodb:eu-central-1:999999999999:table/MyTabl?", TABLE, True),
    ("arn:aws:dynamodb:eu-central-1:111111111111:table/MyTable", TABLE, False),
    ("arn:aws:s3:::mybucket/*", "*", False),
]


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    RESOURCE_CASES,
    ids=[f"resource-{i}" for i in range(len(RESOURCE_CASES))],
)
def test_resource_matching(pattern, resource, expected):
    assert glob_match(pattern, resource) is expected


STATEMENT_SHAPE_CASES = [
    ("statement-object", {"Version": V, "Statement": stmt(resource=BUCKET_OBJ)}, A),
    ("action-list", pol(stmt(action=["s3:PutObject", "s3:GetObject"], resource=BUCKET_OBJ)), A),
    ("resource-list", pol(stmt(resource=["arn:aws:s3:::other/*", "arn:aws:s3:::mybucket/*"])), A),
    ("no-statements", pol(), I),
    ("no-action-element", pol(stmt(action=None)), I),
    ("effect-typo", pol(stmt(effect="allow")), I),
]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [c[1:] for c in STATEMENT_SHAPE_CASES],
    ids=[c[0] for c in STATEMENT_SHAPE_CASES],
)
def test_statement_shapes(policy, expected):
    request = RequestContext(BOB, "s3:GetObject", BUCKET_OBJ, SOURCE)
    assert evaluate(request, PolicySet(identity=[policy])).decision == expected


# --------------------------------------------------------------------------------------------
# Principal element
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
# --------------------------------------------------------------------------------------------
PRINCIPAL_CASES = [
    ("star", "*", ALICE, "wildcard"),
    ("aws-star", {"AWS": "*"}, ALICE, "wildcard"),
    ("account-id", {"AWS": SOURCE}, ALICE, "account"),
    ("account-root-arn", {"AWS": f"arn:aws:iam::{SOURCE}:root"}, BOB, "account"),
    ("other-account", {"AWS": TARGET}, ALICE, None),
    ("role-matches-session", {"AWS": DEV_ROLE}, ALICE, "role"),
    ("role-matches-role", {"AWS": DEV_ROLE}, DEV_ROLE, "role"),
    ("role-path", {"AWS": f"arn:aws:iam::{SOURCE}:role/team/Dev"}, ALICE, "role"),
    ("other-role", {"AWS": f"arn:aws:iam::{SOURCE}:role/Ops"}, ALICE, None),
    ("role-other-account", {"AWS": f"arn:aws:iam::{TARGET}:role/Dev"}, ALICE, None),
    ("session-exact", {"AWS": ALICE}, ALICE, "direct"),
    ("other-session", {"AWS": f"arn:aws:sts::{SOURCE}:assumed-role/Dev/eve"}, ALICE, None),
    ("user-exact", {"AWS": BOB}, BOB, "direct"),
    ("user-list", {"AWS": [f"arn:aws:iam::{SOURCE}:user/ann", BOB]}, BOB, "direct"),
    ("user-not-role", {"AWS": BOB}, ALICE, None),
    ("no-partial-wildcard", {"AWS": f"arn:aws:iam::{SOURCE}:user/*"}, BOB, None),
    ("service", {"Service": "lambda.amazonaws.com"}, "lambda.amazonaws.com", "direct"),
    ("service-mismatch", {"Service": "ec2.amazonaws.com"}, "lambda.amazonaws.com", None),
    ("best-of-several", {"AWS": [SOURCE, ALICE]}, ALICE, "direct"),
]


@pytest.mark.parametrize(
    ("block", "principal", "expected"),
    [c[1:] for c in PRINCIPAL_CASES],
    ids=[c[0] for c in PRINCIPAL_CASES],
)
def test_principal_matching(block, principal, expected):
    assert principal_block_matches(block, principal) == expected


# --------------------------------------------------------------------------------------------
# NotAction, NotResource, NotPrincipal
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
# --------------------------------------------------------------------------------------------
def _not_stmt(effect, **extra):
    out = {"Effect": effect}
    out.update(extra)
    return out


NOT_CASES = [
    (
        "notaction-allow-other",
        [pol(_not_stmt("Allow", NotAction="iam:*", Resource="*"))],
        "s3:GetObject",
        BUCKET_OBJ,
        A,
    ),
    (
        "notaction-allow-excluded",
        [pol(_not_stmt("Allow", NotAction="iam:*", Resource="*"))],
        "iam:CreateUser",
        "*",
        I,
    ),
    (
        "notaction-deny-with-allow",
        [ALLOW_ALL, pol(_not_stmt("Deny", NotAction="s3:*", Resource="*"))],
        "dynamodb:GetItem",
        TABLE,
        E,
    ),
    (
        "notaction-deny-excluded",
        [ALLOW_ALL, pol(_not_stmt("Deny", NotAction="s3:*", Resource="*"))],
        "s3:GetObject",
        BUCKET_OBJ,
        A,
    ),
    (
        "notresource-deny",
        [ALLOW_ALL, pol(_not_stmt("Deny", Action="s3:*", NotResource="arn:aws:s3:::mybucket/*"))],
        "s3:GetObject",
        "arn:aws:s3:::other/x",
        E,
    ),
    (
        "notresource-deny-excluded",
        [ALLOW_ALL, pol(_not_stmt("Deny", Action="s3:*", NotResource="arn:aws:s3:::mybucket/*"))],
        "s3:GetObject",
        BUCKET_OBJ,
        A,
    ),
    (
        "notresource-allow",
        [pol(_not_stmt("Allow", Action="s3:*", NotResource="arn:aws:s3:::x/*"))],
        "s3:GetObject",
        BUCKET_OBJ,
        A,
    ),
]


@pytest.mark.parametrize(
    ("identity", "action", "resource", "expected"),
    [c[1:] for c in NOT_CASES],
    ids=[c[0] for c in NOT_CASES],
)
def test_not_action_not_resource(identity, action, resource, expected):
    request = RequestContext(BOB, action, resource, SOURCE)
    assert evaluate(request, PolicySet(identity=identity)).decision == expected


ROOT_ARN = f"arn:aws:iam::{SOURCE}:root"


def _notprincipal_policy(listed):
    """Allow everyone, but deny everyone except the listed principals."""
    return pol(
        stmt(action="s3:*", resource="arn:aws:s3:::mybucket/*", Principal="*"),
        {
            "Sid": "OnlyListed",
            "Effect": "Deny",
            "NotPrincipal": {"AWS": listed},
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::mybucket/*",
        },
    )


# With Deny, AWS checks each identity of the caller: the account, the role (for a session) and
# the caller itself; the caller escapes the Deny only when all of them are listed.
NOTPRINCIPAL_CASES = [
    ("user-and-account-listed-excluded", BOB, [ROOT_ARN, BOB], False, A),
    ("user-and-account-id-listed-excluded", BOB, [SOURCE, BOB], False, A),
    ("user-without-account-still-denied", BOB, [BOB], False, E),
    ("other-user-denied", f"arn:aws:iam::{SOURCE}:user/eve", [ROOT_ARN, BOB], False, E),
    ("session-role-account-listed-excluded", ALICE, [ROOT_ARN, DEV_ROLE, ALICE], False, A),
    ("session-without-session-arn-denied", ALICE, [ROOT_ARN, DEV_ROLE], False, E),
    ("session-without-role-arn-denied", ALICE, [ROOT_ARN, ALICE], False, E),
    ("boundary-always-denied", BOB, [ROOT_ARN, BOB], True, E),
]


@pytest.mark.parametrize(
    ("principal", "listed", "with_boundary", "expected"),
    [c[1:] for c in NOTPRINCIPAL_CASES],
    ids=[c[0] for c in NOTPRINCIPAL_CASES],
)
def test_not_principal_with_deny(principal, listed, with_boundary, expected):
    request = RequestContext(principal, "s3:GetObject", BUCKET_OBJ, SOURCE)
    policies = PolicySet(
        resource=_notprincipal_policy(listed), boundary=ALLOW_ALL if with_boundary else None
    )
    result = evaluate(request, policies)
    assert result.decision == expected
    if expected == E:
        assert result.layer("resource").statements == ["OnlyListed"]


def test_not_principal_with_allow_is_flagged_and_evaluated():
    policy = pol(
        {
            "Sid": "Risky",
            "Effect": "Allow",
            "NotPrincipal": {"AWS": [ROOT_ARN, BOB]},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::mybucket/*",
        }
    )
    result = evaluate(
        RequestContext(ALICE, "s3:GetObject", BUCKET_OBJ, SOURCE), PolicySet(resource=policy)
    )
    assert result.decision == A
    assert "NotPrincipal with Allow" in result.layer("resource").detail
    excluded = evaluate(
        RequestContext(BOB, "s3:GetObject", BUCKET_OBJ, SOURCE), PolicySet(resource=policy)
    )
    assert excluded.decision == I


# --------------------------------------------------------------------------------------------
# Single-account evaluation: explicit deny wins, identity OR resource policy, boundaries and
# session policies intersect
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
# https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
# https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
# --------------------------------------------------------------------------------------------
GET_BUCKET = pol(stmt(resource="arn:aws:s3:::mybucket/*", Sid="ReadBucket"))
DENY_BUCKET = pol(stmt(effect="Deny", resource="arn:aws:s3:::mybucket/*", Sid="NoBucket"))
ONLY_DYNAMO = pol(stmt(action="dynamodb:*", resource="*"))


def _bucket_policy(principal):
    return pol(stmt(resource="arn:aws:s3:::mybucket/*", Principal={"AWS": principal}, Sid="BP"))


SAME_ACCOUNT_CASES = [
    ("nothing-implicit-deny", ALICE, PolicySet(), I),
    ("identity-allows", ALICE, PolicySet(identity=[GET_BUCKET]), A),
    ("identity-other-action", ALICE, PolicySet(identity=[ONLY_DYNAMO]), I),
    ("deny-overrides-allow", ALICE, PolicySet(identity=[GET_BUCKET, DENY_BUCKET]), E),
    (
        "deny-same-policy",
        ALICE,
        PolicySet(identity=[pol(stmt(resource="*"), stmt(effect="Deny", resource="*"))]),
        E,
    ),
    ("resource-policy-alone-user", BOB, PolicySet(resource=_bucket_policy(BOB)), A),
    ("resource-policy-alone-role", ALICE, PolicySet(resource=_bucket_policy(DEV_ROLE)), A),
    ("resource-policy-alone-session", ALICE, PolicySet(resource=_bucket_policy(ALICE)), A),
    ("resource-policy-account-delegates", ALICE, PolicySet(resource=_bucket_policy(SOURCE)), I),
    (
        "resource-policy-account-plus-identity",
        ALICE,
        PolicySet(identity=[GET_BUCKET], resource=_bucket_policy(SOURCE)),
        A,
    ),
    (
        "resource-deny-beats-identity",
        ALICE,
        PolicySet(
            identity=[GET_BUCKET],
            resource=pol(stmt(effect="Deny", Principal="*", resource="arn:aws:s3:::mybucket/*")),
        ),
        E,
    ),
    (
        "resource-deny-other-principal",
        ALICE,
        PolicySet(
            identity=[GET_BUCKET],
            resource=pol(
                stmt(effect="Deny", Principal={"AWS": BOB}, resource="arn:aws:s3:::mybucket/*")
            ),
        ),
        A,
    ),
    (
        "boundary-allows",
        ALICE,
        PolicySet(identity=[GET_BUCKET], boundary=pol(stmt(action="s3:*"))),
        A,
    ),
    ("boundary-missing-action", ALICE, PolicySet(identity=[GET_BUCKET], boundary=ONLY_DYNAMO), I),
    ("boundary-alone-grants-nothing", ALICE, PolicySet(boundary=ALLOW_ALL), I),
    ("boundary-deny", ALICE, PolicySet(identity=[GET_BUCKET], boundary=DENY_BUCKET), E),
    ("session-allows", ALICE, PolicySet(identity=[GET_BUCKET], session=ALLOW_ALL), A),
    ("session-limits", ALICE, PolicySet(identity=[GET_BUCKET], session=ONLY_DYNAMO), I),
    ("session-alone-grants-nothing", ALICE, PolicySet(session=ALLOW_ALL), I),
    (
        "boundary-and-session-both-needed",
        ALICE,
        PolicySet(identity=[GET_BUCKET], boundary=ALLOW_ALL, session=ONLY_DYNAMO),
        I,
    ),
    (
        "session-arn-not-limited-by-session-policy",
        ALICE,
        PolicySet(resource=_bucket_policy(ALICE), session=ONLY_DYNAMO),
        A,
    ),
    (
        "session-arn-not-limited-by-boundary",
        ALICE,
        PolicySet(resource=_bucket_policy(ALICE), boundary=ONLY_DYNAMO),
        A,
    ),
    (
        "role-arn-limited-by-session-policy",
        ALICE,
        PolicySet(resource=_bucket_policy(DEV_ROLE), session=ONLY_DYNAMO),
        I,
    ),
    (
        "role-arn-limited-by-boundary",
        ALICE,
        PolicySet(resource=_bucket_policy(DEV_ROLE), boundary=ONLY_DYNAMO),
        I,
    ),
    (
        "user-arn-not-limited-by-boundary",
        BOB,
        PolicySet(resource=_bucket_policy(BOB), boundary=ONLY_DYNAMO),
        A,
    ),
    ("root-user-allowed-by-default", f"arn:aws:iam::{SOURCE}:root", PolicySet(), A),
    (
        "root-user-explicit-deny",
        f"arn:aws:iam::{SOURCE}:root",
        PolicySet(identity=[DENY_BUCKET]),
        E,
    ),
]


@pytest.mark.parametrize(
    ("principal", "policies", "expected"),
    [c[1:] for c in SAME_ACCOUNT_CASES],
    ids=[c[0] for c in SAME_ACCOUNT_CASES],
)
def test_single_account(principal, policies, expected):
    request = RequestContext(principal, "s3:GetObject", BUCKET_OBJ, SOURCE)
    assert evaluate(request, policies).decision == expected


def test_layer_verdicts_name_the_deciding_statements():
    request = RequestContext(ALICE, "s3:GetObject", BUCKET_OBJ, SOURCE)
    result = evaluate(request, PolicySet(identity=[GET_BUCKET, DENY_BUCKET], boundary=ALLOW_ALL))
    verdicts = {layer.layer: layer.verdict for layer in result.layers}
    assert verdicts == {
        "scp": NOT_APPLICABLE,
        "rcp": NOT_APPLICABLE,
        "resource": NOT_APPLICABLE,
        "identity": E,
        "boundary": A,
        "session": NOT_APPLICABLE,
    }
    assert result.layer("identity").statements == ["P1:NoBucket"]
    assert "identity" in result.explanation


def test_unnamed_statements_are_labelled_by_index():
    request = RequestContext(ALICE, "s3:GetObject", BUCKET_OBJ, SOURCE)
    result = evaluate(request, PolicySet(identity=[pol(stmt(action="ec2:*"), stmt())]))
    assert result.layer("identity").statements == ["#1"]


# --------------------------------------------------------------------------------------------
# Cross-account: both the trusted (identity) side and the trusting (resource) side must allow.
# The article's scenario: a role session in 111111111111 reads MyTable in 999999999999 through
# a role, and reads an S3 object through a bucket policy plus an identity policy.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
# --------------------------------------------------------------------------------------------
TABLE_READ = pol(
    stmt(action=["dynamodb:GetItem", "dynamodb:Query"], resource=TABLE, Sid="MyTableRead")
)
ASSUME_XROLE = pol(stmt(action="sts:AssumeRole", resource=XROLE, Sid="MyTableAssume"))
TRUST_SOURCE = pol(
    stmt(
        action="sts:AssumeRole",
        resource=None,
        Principal={"AWS": f"arn:aws:iam::{SOURCE}:root"},
        Sid="TrustSource",
    )
)
IDENTITY_S3 = pol(stmt(action=["s3:GetObject"], resource="arn:aws:s3:::mybucket/*", Sid="S3Read"))
BUCKET_FOR_SOURCE = pol(
    stmt(
        action="s3:GetObject",
        resource="arn:aws:s3:::mybucket/*",
        Principal={"AWS": f"arn:aws:iam::{SOURCE}:root"},
        Sid="CrossRead",
    )
)

CROSS_CASES = [
    (
        "article-assume-role-allowed",
        ALICE,
        "sts:AssumeRole",
        XROLE,
        PolicySet(identity=[ASSUME_XROLE], resource=TRUST_SOURCE),
        A,
    ),
    (
        "article-assume-role-no-identity",
        ALICE,
        "sts:AssumeRole",
        XROLE,
        PolicySet(resource=TRUST_SOURCE),
        I,
    ),
    (
        "article-assume-role-no-trust",
        ALICE,
        "sts:AssumeRole",
        XROLE,
        PolicySet(identity=[ASSUME_XROLE]),
        I,
    ),
    (
        "article-assume-role-trust-other-account",
        ALICE,
        "sts:AssumeRole",
        XROLE,
        PolicySet(
            identity=[ASSUME_XROLE],
            resource=pol(
                stmt(action="sts:AssumeRole", resource=None, Principal={"AWS": "222222222222"})
            ),
        ),
        I,
    ),
    (
        "article-assume-role-identity-wrong-arn",
        ALICE,
        "sts:AssumeRole",
        XROLE,
        PolicySet(
            identity=[
                pol(
                    stmt(
                        action="sts:AssumeRole",
                        resource=f"arn:aws:dynamodb:eu-central-1:{TARGET}:role/MyTableCrossAccount",
                    )
                )
            ],
            resource=TRUST_SOURCE,
        ),
        I,
    ),
    (
        "article-s3-bucket-policy-and-identity",
        ALICE,
        "s3:GetObject",
        BUCKET_OBJ,
        PolicySet(identity=[IDENTITY_S3], resource=BUCKET_FOR_SOURCE),
        A,
    ),
    (
        "article-s3-bucket-policy-only",
        ALICE,
        "s3:GetObject",
        BUCKET_OBJ,
        PolicySet(resource=BUCKET_FOR_SOURCE),
        I,
    ),
    (
        "article-s3-identity-only",
        ALICE,
        "s3:GetObject",
        BUCKET_OBJ,
        PolicySet(identity=[IDENTITY_S3]),
        I,
    ),
    (
        "s3-bucket-policy-wrong-arn",
        ALICE,
        "s3:GetObject",
        BUCKET_OBJ,
        PolicySet(
            identity=[IDENTITY_S3],
            resource=pol(
                stmt(
                    resource=f"arn:aws:s3:eu-central-1:{TARGET}:MyBucket/*",
                    Principal={"AWS": SOURCE},
                )
            ),
        ),
        I,
    ),
    (
        "session-named-still-needs-identity",
        ALICE,
        "s3:GetObject",
        BUCKET_OBJ,
        PolicySet(resource=_bucket_policy(ALICE)),
        I,
    ),
    (
        "bucket-policy-names-role",
        ALICE,
        "s3:GetObject",
        BUCKET_OBJ,
        PolicySet(identity=[IDENTITY_S3], resource=_bucket_policy(DEV_ROLE)),
        A,
    ),
    (
        "bucket-policy-deny-cross",
        ALICE,
        "s3:GetObject",
        BUCKET_OBJ,
        PolicySet(
            identity=[IDENTITY_S3],
            resource=pol(
                stmt(resource="arn:aws:s3:::mybucket/*", Principal={"AWS": SOURCE}),
                stmt(
                    effect="Deny",
                    resource="arn:aws:s3:::mybucket/*",
                    Principal="*",
                    Condition={"StringNotEquals": {"aws:PrincipalAccount": TARGET}},
                ),
            ),
        ),
        E,
    ),
    (
        "boundary-limits-identity-side",
        ALICE,
        "s3:GetObject",
        BUCKET_OBJ,
        PolicySet(identity=[IDENTITY_S3], resource=BUCKET_FOR_SOURCE, boundary=ONLY_DYNAMO),
        I,
    ),
    (
        "session-policy-limits-identity-side",
        ALICE,
        "s3:GetObject",
        BUCKET_OBJ,
        PolicySet(identity=[IDENTITY_S3], resource=BUCKET_FOR_SOURCE, session=ONLY_DYNAMO),
        I,
    ),
    (
        "public-bucket-still-needs-identity",
        ALICE,
        "s3:GetObject",
        BUCKET_OBJ,
        PolicySet(resource=_bucket_policy("*")),
        I,
    ),
    (
        "foreign-root-needs-resource-policy",
        f"arn:aws:iam::{SOURCE}:root",
        "s3:GetObject",
        BUCKET_OBJ,
        PolicySet(),
        I,
    ),
]


@pytest.mark.parametrize(
    ("principal", "action", "resource", "policies", "expected"),
    [c[1:] for c in CROSS_CASES],
    ids=[c[0] for c in CROSS_CASES],
)
def test_cross_account(principal, action, resource, policies, expected):
    request = RequestContext(principal, action, resource, TARGET)
    assert evaluate(request, policies).decision == expected


def test_article_table_read_through_role_session():
    """After assuming MyTableCrossAccount, the session in 999999999999 reads MyTable: same account
    for the session, the role's inline policy allows."""
    session = f"arn:aws:sts::{TARGET}:assumed-role/MyTableCrossAccount/alice"
    request = RequestContext(session, "dynamodb:GetItem", TABLE, TARGET)
    assert evaluate(request, PolicySet(identity=[TABLE_READ])).decision == A
    scan = RequestContext(session, "dynamodb:Scan", TABLE, TARGET)
    assert evaluate(scan, PolicySet(identity=[TABLE_READ])).decision == I


def test_cross_account_explanation_names_missing_side():
    request = RequestContext(ALICE, "s3:GetObject", BUCKET_OBJ, TARGET)
    result = evaluate(request, PolicySet(identity=[IDENTITY_S3]))
    assert "resource-based policy" in result.explanation
    assert result.layer("identity").verdict == A
    assert result.layer("resource").verdict == NOT_APPLICABLE


# --------------------------------------------------------------------------------------------
# Role trust policies with ExternalId (third-party access)
# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html
# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html
# --------------------------------------------------------------------------------------------
TRUST_EXTERNAL_ID = pol(
    stmt(
        action="sts:AssumeRole",
        resource=None,
        Principal={"AWS": f"arn:aws:iam::{SOURCE}:root"},
        Condition={"StringEquals": {"sts:ExternalId": "abc-123"}},
        Sid="ThirdParty",
    )
)
EXTERNAL_ID_CASES = [
    ("right-external-id", {"sts:ExternalId": "abc-123"}, A),
    ("wrong-external-id", {"sts:ExternalId": "abc-124"}, I),
    ("missing-external-id", {}, I),
    ("external-id-case-sensitive", {"sts:ExternalId": "ABC-123"}, I),
    ("context-key-name-case-insensitive", {"STS:EXTERNALID": "abc-123"}, A),
]


@pytest.mark.parametrize(
    ("context", "expected"),
    [c[1:] for c in EXTERNAL_ID_CASES],
    ids=[c[0] for c in EXTERNAL_ID_CASES],
)
def test_trust_policy_external_id(context, expected):
    request = RequestContext(ALICE, "sts:AssumeRole", XROLE, TARGET, context)
    result = evaluate(request, PolicySet(identity=[ASSUME_XROLE], resource=TRUST_EXTERNAL_ID))
    assert result.decision == expected
    if expected == I:
        assert "sts:ExternalId" in result.layer("resource").detail


TRUST_CASES = [
    (
        "same-account-trust-names-user",
        BOB,
        f"arn:aws:iam::{SOURCE}:role/Admin",
        pol(stmt(action="sts:AssumeRole", resource=None, Principal={"AWS": BOB})),
        [],
        A,
    ),
    (
        "same-account-trust-names-account-needs-identity",
        BOB,
        f"arn:aws:iam::{SOURCE}:role/Admin",
        pol(stmt(action="sts:AssumeRole", resource=None, Principal={"AWS": SOURCE})),
        [],
        I,
    ),
    (
        "same-account-trust-account-plus-identity",
        BOB,
        f"arn:aws:iam::{SOURCE}:role/Admin",
        pol(stmt(action="sts:AssumeRole", resource=None, Principal={"AWS": SOURCE})),
        [pol(stmt(action="sts:AssumeRole", resource=f"arn:aws:iam::{SOURCE}:role/Admin"))],
        A,
    ),
    (
        "service-trust",
        "lambda.amazonaws.com",
        f"arn:aws:iam::{SOURCE}:role/Fn",
        pol(
            stmt(
                action="sts:AssumeRole",
                resource=None,
                Principal={"Service": "lambda.amazonaws.com"},
            )
        ),
        [],
        A,
    ),
    (
        "trust-wrong-action",
        BOB,
        f"arn:aws:iam::{SOURCE}:role/Admin",
        pol(stmt(action="sts:TagSession", resource=None, Principal={"AWS": BOB})),
        [],
        I,
    ),
    (
        "trust-source-identity-condition",
        ALICE,
        XROLE,
        pol(
            stmt(
                action="sts:AssumeRole",
                resource=None,
                Principal={"AWS": DEV_ROLE},
                Condition={"StringLike": {"sts:SourceIdentity": "alice*"}},
            )
        ),
        [ASSUME_XROLE],
        A,
    ),
]


@pytest.mark.parametrize(
    ("principal", "role", "trust", "identity", "expected"),
    [c[1:] for c in TRUST_CASES],
    ids=[c[0] for c in TRUST_CASES],
)
def test_role_trust_policies(principal, role, trust, identity, expected):
    context = {"sts:SourceIdentity": "alice"}
    request = RequestContext(principal, "sts:AssumeRole", role, role.split(":")[4], context)
    assert evaluate(request, PolicySet(identity=identity, resource=trust)).decision == expected


# --------------------------------------------------------------------------------------------
# Service control policies: every level of the organization path needs an Allow; a Deny at any
# level wins; SCPs grant nothing by themselves.
# https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
# --------------------------------------------------------------------------------------------
DENY_DYNAMO_SCP = pol(stmt(effect="Deny", action="dynamodb:*", resource="*", Sid="NoDynamo"))
DENY_S3_SCP = pol(stmt(effect="Deny", action="s3:*", resource="*", Sid="NoS3"))
ALLOW_S3_SCP = pol(stmt(action="s3:*", resource="*", Sid="S3Only"))
DENY_OUTSIDE_EU = pol(
    stmt(
        effect="Deny",
        action="*",
        resource="*",
        Sid="EuOnly",
        Condition={"StringNotEquals": {"aws:RequestedRegion": "eu-central-1"}},
    )
)
S3_CROSS = PolicySet(identity=[IDENTITY_S3], resource=BUCKET_FOR_SOURCE)
SCP_CASES = [
    ("full-access-two-levels", [[FULL_ACCESS_SCP], [FULL_ACCESS_SCP]], {}, A),
    ("article-scp-deny-blocks", [[FULL_ACCESS_SCP], [FULL_ACCESS_SCP, DENY_S3_SCP]], {}, E),
    ("deny-other-service", [[FULL_ACCESS_SCP], [FULL_ACCESS_SCP, DENY_DYNAMO_SCP]], {}, A),
    ("level-without-allow", [[FULL_ACCESS_SCP], []], {}, I),
    ("ou-allows-s3-only", [[FULL_ACCESS_SCP], [ALLOW_S3_SCP], [FULL_ACCESS_SCP]], {}, A),
    ("account-level-misses-s3", [[FULL_ACCESS_SCP], [FULL_ACCESS_SCP], [ONLY_DYNAMO]], {}, I),
    (
        "region-deny-in-region",
        [[FULL_ACCESS_SCP, DENY_OUTSIDE_EU]],
        {"aws:RequestedRegion": "eu-central-1"},
        A,
    ),
    (
        "region-deny-out-of-region",
        [[FULL_ACCESS_SCP, DENY_OUTSIDE_EU]],
        {"aws:RequestedRegion": "us-east-1"},
        E,
    ),
]


@pytest.mark.parametrize(
    ("scps", "context", "expected"), [c[1:] for c in SCP_CASES], ids=[c[0] for c in SCP_CASES]
)
def test_service_control_policies(scps, context, expected):
    request = RequestContext(ALICE, "s3:GetObject", BUCKET_OBJ, TARGET, context)
    policies = PolicySet(scps=scps, identity=S3_CROSS.identity, resource=S3_CROSS.resource)
    assert evaluate(request, policies).decision == expected


def test_scps_grant_nothing_by_themselves():
    request = RequestContext(ALICE, "s3:GetObject", BUCKET_OBJ, SOURCE)
    assert evaluate(request, PolicySet(scps=[[FULL_ACCESS_SCP]])).decision == I


def test_scp_deny_names_level_and_statement():
    request = RequestContext(ALICE, "s3:GetObject", BUCKET_OBJ, TARGET)
    policies = PolicySet(
        scps=[[FULL_ACCESS_SCP], [FULL_ACCESS_SCP, DENY_S3_SCP]],
        identity=[IDENTITY_S3],
        resource=BUCKET_FOR_SOURCE,
    )
    result = evaluate(request, policies)
    assert result.layer("scp").statements == ["L1P1:NoS3"]
    assert result.layer("resource").verdict == A
    assert "scp" in result.explanation


def test_scp_missing_level_explained():
    request = RequestContext(ALICE, "s3:GetObject", BUCKET_OBJ, SOURCE)
    result = evaluate(
        request, PolicySet(scps=[[FULL_ACCESS_SCP], [ONLY_DYNAMO]], identity=[IDENTITY_S3])
    )
    assert result.decision == I
    assert "[1]" in result.layer("scp").detail


def test_scps_do_not_apply_to_service_principals():
    request = RequestContext("lambda.amazonaws.com", "sts:AssumeRole", XROLE, TARGET)
    trust = pol(
        stmt(action="sts:AssumeRole", resource=None, Principal={"Service": "lambda.amazonaws.com"})
    )
    result = evaluate(request, PolicySet(scps=[[]], resource=trust))
    assert result.layer("scp").verdict == NOT_APPLICABLE


# --------------------------------------------------------------------------------------------
# Derived request context keys (aws:PrincipalArn for a session is the role ARN, aws:username for
# IAM users, aws:PrincipalAccount)
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
# --------------------------------------------------------------------------------------------
DERIVED_CASES = [
    ("principal-arn-of-session-is-role", ALICE, {"ArnEquals": {"aws:PrincipalArn": DEV_ROLE}}, A),
    ("principal-account", ALICE, {"StringEquals": {"aws:PrincipalAccount": SOURCE}}, A),
    ("principal-account-mismatch", ALICE, {"StringEquals": {"aws:PrincipalAccount": TARGET}}, I),
    ("username-of-user", BOB, {"StringEquals": {"aws:username": "bob"}}, A),
    ("no-username-for-session", ALICE, {"Null": {"aws:username": "true"}}, A),
    ("principal-type", ALICE, {"StringEquals": {"aws:PrincipalType": "AssumedRole"}}, A),
]


@pytest.mark.parametrize(
    ("principal", "condition", "expected"),
    [c[1:] for c in DERIVED_CASES],
    ids=[c[0] for c in DERIVED_CASES],
)
def test_derived_context_keys(principal, condition, expected):
    request = RequestContext(principal, "s3:GetObject", BUCKET_OBJ, SOURCE)
    policies = PolicySet(identity=[pol(stmt(Condition=condition))])
    assert evaluate(request, policies).decision == expected


# --------------------------------------------------------------------------------------------
# Sanity: one typical cross-account request (identity + resource + 2 SCP levels + one condition)
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
# --------------------------------------------------------------------------------------------
def test_typical_cross_account_request():
    resource_policy = pol(
        stmt(
            resource="arn:aws:s3:::mybucket/*",
            Principal={"AWS": DEV_ROLE},
            Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            Sid="FromCorp",
        )
    )
    policies = PolicySet(
        scps=[[FULL_ACCESS_SCP], [FULL_ACCESS_SCP, DENY_DYNAMO_SCP]],
        identity=[IDENTITY_S3],
        resource=resource_policy,
    )
    inside = RequestContext(
        ALICE, "s3:GetObject", BUCKET_OBJ, TARGET, {"aws:SourceIp": "10.20.30.40"}
    )
    outside = RequestContext(
        ALICE, "s3:GetObject", BUCKET_OBJ, TARGET, {"aws:SourceIp": "198.51.100.9"}
    )
    result = evaluate(inside, policies)
    assert result.decision == A
    assert [layer.verdict for layer in result.layers] == [
        A,  # scp
        NOT_APPLICABLE,  # rcp
        A,  # resource
        A,  # identity
        NOT_APPLICABLE,  # boundary
        NOT_APPLICABLE,  # session
    ]
    assert result.layer("resource").statements == ["FromCorp"]
    denied = evaluate(outside, policies)
    assert denied.decision == I
    assert "aws:SourceIp" in denied.layer("resource").detail


def test_wildcards_match_as_fnmatch_does_and_in_linear_time():
    """`*` any run, `?` one character, everything else itself (fnmatch's meaning without its
    [...] sets); and a pattern of many stars settles at once where a backtracking `.*` does not."""
    chance = random.Random(7)
    for _ in range(3000):
        pattern = "".join(chance.choice("ab*?:/") for _ in range(chance.randint(0, 9)))
        value = "".join(chance.choice("ab:/") for _ in range(chance.randint(0, 9)))
        assert glob_match(pattern, value) is fnmatch.fnmatchcase(value, pattern), (pattern, value)
    assert glob_match("S3:get*", "s3:GetObject", ignore_case=True)
    assert not glob_match("S3:get*", "s3:GetObject")
    assert glob_match("a.b*(c)+", "a.bxx(c)+")
    assert not glob_match("a.b", "axb")
    assert not glob_match("*a" * 8 + "*b", "a" * 3000)
    assert glob_match("*a" * 8 + "*", "a" * 3000)
    # A variable's value is literal text: its "*" matches only a "*".
    pieces = split("arn:aws:s3:::b/${aws:username}/" + "*a" * 6 + "*b", {"aws:username": "a*"})
    assert pieces is not None
    assert pieces_match(pieces, "arn:aws:s3:::b/a*/" + "a" * 2000 + "b")
    assert not pieces_match(pieces, "arn:aws:s3:::b/ax/" + "a" * 2000 + "b")
    assert not pieces_match(pieces, "arn:aws:s3:::b/a*/" + "a" * 2000)
