# ruff: noqa: E501 (the tables keep one case a line)
"""The evaluator, round two (issue 19, SPEC 10.5): resource control policies, anonymous callers,
service principals, assumed-role sessions, session policies, policy variables, multi-valued
condition operators on missing and empty keys, NotResource, NotPrincipal, and the policies AWS
requires even within one account (trust and key policies). Table-driven, each group under the AWS
documentation page it follows. Pure: no database, no AWS."""

import pytest

from policy.evaluation import (
    NOT_APPLICABLE,
    PolicySet,
    RequestContext,
    evaluate,
)
from policy.evaluation.conditions import key_matches
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
)
from tests.provisioning.policy_tables import stmt as any_statement

NA = NOT_APPLICABLE
ORG = "o-abc123"
TARGET_SESSION = f"arn:aws:sts::{TARGET}:assumed-role/Reader/alice"
TARGET_ROLE = f"arn:aws:iam::{TARGET}:role/Reader"
SLR_SESSION = f"arn:aws:sts::{TARGET}:assumed-role/AWSServiceRoleForConfig/config"
OBJECT = "arn:aws:s3:::mybucket/data/report.csv"
OBJECTS = "arn:aws:s3:::mybucket/*"
KEY = f"arn:aws:kms:eu-central-1:{TARGET}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
FUNCTION = f"arn:aws:lambda:eu-central-1:{TARGET}:function:etl"


def stmt(effect="Allow", action="s3:GetObject", resource=OBJECTS, **extra):
    """A statement on the bucket's objects unless told otherwise."""
    return any_statement(effect, action, resource, **extra)


ONLY_DYNAMO = pol(stmt(action="dynamodb:*", resource="*"))
READ_OBJECTS = pol(stmt(Sid="Read"))
BUCKET_FOR_SOURCE = pol(stmt(Principal={"AWS": SOURCE}, Sid="ForSource"))
PUBLIC_BUCKET = pol(stmt(Principal="*", Sid="Public"))


# --------------------------------------------------------------------------------------------
# Resource control policies: the resource account's RCPs, RCPFullAWSAccess implied at every
# level; only a Deny decides; principals of any account, root users, service principals and
# anonymous callers alike; not service-linked roles, not kms:RetireGrant, only the services AWS
# lists.
# https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html
# https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html
# --------------------------------------------------------------------------------------------
def rcp(*statements):
    return pol(*statements)


# The data-perimeter RCP of the AWS examples: only the organization's principals, and AWS services.
IDENTITY_PERIMETER = rcp(
    {
        "Sid": "EnforceOrgIdentities",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:*", "sqs:*", "kms:*", "sts:AssumeRole"],
        "Resource": "*",
        "Condition": {
            "StringNotEqualsIfExists": {"aws:PrincipalOrgID": ORG},
            "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
        },
    }
)
DENY_ALL_S3 = rcp(
    {"Sid": "NoS3", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}
)
DENY_HTTP = rcp(
    {
        "Sid": "HttpsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}},
    }
)
DENY_LAMBDA = rcp(
    {"Sid": "NoLambda", "Effect": "Deny", "Principal": "*", "Action": "lambda:*", "Resource": "*"}
)
DENY_KMS = rcp(
    {"Sid": "NoKms", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}
)
IN_ORG = {"aws:PrincipalOrgID": ORG}
OUT_OF_ORG = {"aws:PrincipalOrgID": "o-other"}
CROSS_S3 = {"identity": [READ_OBJECTS], "resource": BUCKET_FOR_SOURCE}

RCP_CASES = [
    # (id, principal, action, resource, policies, rcps, context, decision, rcp verdict)
    ("none", ALICE, "s3:GetObject", OBJECT, CROSS_S3, [], {}, A, NA),
    ("levels-without-rcps-deny-nothing", ALICE, "s3:GetObject", OBJECT, CROSS_S3, [[], []], {}, A, A),
    ("perimeter-in-org", ALICE, "s3:GetObject", OBJECT, CROSS_S3, [[IDENTITY_PERIMETER]], IN_ORG, A, A),
    ("perimeter-out-of-org", ALICE, "s3:GetObject", OBJECT, CROSS_S3, [[IDENTITY_PERIMETER]], OUT_OF_ORG, E, E),
    ("deny-at-ou-level", ALICE, "s3:GetObject", OBJECT, CROSS_S3, [[], [DENY_ALL_S3], []], {}, E, E),
    ("deny-other-service", ALICE, "s3:GetObject", OBJECT, CROSS_S3, [[DENY_LAMBDA]], {}, A, A),
    ("condition-not-met", ALICE, "s3:GetObject", OBJECT, CROSS_S3, [[DENY_HTTP]], {"aws:SecureTransport": "true"}, A, A),
    ("condition-met", ALICE, "s3:GetObject", OBJECT, CROSS_S3, [[DENY_HTTP]], {"aws:SecureTransport": "false"}, E, E),
    # An RCP grants nothing: the resource policy and identity side still decide.
    ("grants-nothing", ALICE, "s3:GetObject", OBJECT, {"identity": [READ_OBJECTS]}, [[]], {}, I, A),
    # Same account, even its root user: RCPs limit every caller of the resource.
    ("own-root-user", f"arn:aws:iam::{TARGET}:root", "s3:GetObject", OBJECT, {}, [[DENY_ALL_S3]], {}, E, E),
    ("same-account-role", TARGET_SESSION, "s3:GetObject", OBJECT, {"identity": [READ_OBJECTS]}, [[DENY_ALL_S3]], {}, E, E),
    # Only the services on AWS's list: Lambda is not on it.
    ("unsupported-service", TARGET_SESSION, "lambda:InvokeFunction", FUNCTION, {"identity": [ALLOW_ALL]}, [[DENY_LAMBDA]], {}, A, NA),
    ("kms-retire-grant-exempt", TARGET_SESSION, "kms:RetireGrant", KEY, {"identity": [ALLOW_ALL], "resource": pol(stmt(action="kms:*", resource="*", Principal={"AWS": TARGET}))}, [[DENY_KMS]], {}, A, NA),
    ("kms-decrypt-denied", TARGET_SESSION, "kms:Decrypt", KEY, {"identity": [ALLOW_ALL], "resource": pol(stmt(action="kms:*", resource="*", Principal={"AWS": TARGET}))}, [[DENY_KMS]], {}, E, E),
    ("service-linked-role-exempt", SLR_SESSION, "s3:GetObject", OBJECT, {"identity": [ALLOW_ALL]}, [[DENY_ALL_S3]], {}, A, NA),
    # Anonymous callers and service principals are limited too; the perimeter exempts services.
    ("anonymous-public-bucket", "anonymous", "s3:GetObject", OBJECT, {"resource": PUBLIC_BUCKET}, [[IDENTITY_PERIMETER]], {}, E, E),
    ("service-exempted-by-condition", "cloudtrail.amazonaws.com", "s3:GetObject", OBJECT, {"resource": PUBLIC_BUCKET}, [[IDENTITY_PERIMETER]], {}, A, A),
    ("service-denied-by-plain-deny", "cloudtrail.amazonaws.com", "s3:GetObject", OBJECT, {"resource": PUBLIC_BUCKET}, [[DENY_ALL_S3]], {}, E, E),
]  # fmt: skip


@pytest.mark.parametrize(
    ("principal", "action", "resource", "policies", "rcps", "context", "expected", "layer"),
    [c[1:] for c in RCP_CASES],
    ids=[c[0] for c in RCP_CASES],
)
def test_resource_control_policies(
    principal, action, resource, policies, rcps, context, expected, layer
):
    request = RequestContext(principal, action, resource, TARGET, context)
    result = evaluate(request, PolicySet(rcps=rcps, **policies))
    assert result.decision == expected, result.explanation
    assert result.layer("rcp").verdict == layer
    if expected == E and layer == E:
        assert result.blocking == "rcp"


def test_rcp_denial_names_the_rcp_and_its_statement():
    request = RequestContext(ALICE, "s3:GetObject", OBJECT, TARGET, OUT_OF_ORG)
    result = evaluate(
        request,
        PolicySet(
            rcps=[[], [IDENTITY_PERIMETER]],
            rcp_names=[[], ["DataPerimeter (ou-data)"]],
            **CROSS_S3,
        ),
    )
    assert result.layer("rcp").statements == ["DataPerimeter (ou-data):EnforceOrgIdentities"]
    assert "rcp" in result.explanation


def test_the_target_accounts_scps_are_not_the_callers():
    """SCPs limit the caller's account only: the simulation passes the source's SCPs and the
    target's RCPs; the target's SCPs do not reach a source principal using a resource policy."""
    deny_s3_scp = pol(stmt(effect="Deny", action="s3:*", resource="*", Sid="NoS3"))
    request = RequestContext(ALICE, "s3:GetObject", OBJECT, TARGET)
    as_rcp_less = evaluate(request, PolicySet(scps=[[ALLOW_ALL]], **CROSS_S3))
    assert as_rcp_less.decision == A
    assert (
        evaluate(request, PolicySet(scps=[[ALLOW_ALL, deny_s3_scp]], **CROSS_S3)).blocking == "scp"
    )


# --------------------------------------------------------------------------------------------
# Allow-list SCPs are named like deny-list ones: a level whose SCPs allow nothing of the action
# names them.
# https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
# --------------------------------------------------------------------------------------------
def test_an_allow_list_scp_level_is_named():
    s3_only = pol(stmt(action="s3:*", resource="*", Sid="S3Only"))
    request = RequestContext(ALICE, "dynamodb:GetItem", "*", SOURCE)
    result = evaluate(
        request,
        PolicySet(
            scps=[[ALLOW_ALL], [s3_only]],
            scp_names=[["FullAWSAccess (r-demo)"], ["S3Only (ou-analytics)"]],
            identity=[ALLOW_ALL],
        ),
    )
    assert result.decision == I
    assert result.blocking == "scp"
    assert "S3Only (ou-analytics)" in result.layer("scp").detail
    assert "S3Only (ou-analytics)" in result.explanation


def test_a_deny_list_scp_is_named():
    deny = pol(stmt(effect="Deny", action="dynamodb:*", resource="*", Sid="NoDynamo"))
    request = RequestContext(ALICE, "dynamodb:GetItem", "*", SOURCE)
    result = evaluate(
        request,
        PolicySet(
            scps=[[ALLOW_ALL, deny]],
            scp_names=[["FullAWSAccess (r-demo)", "DenyDynamoDB (r-demo)"]],
            identity=[ALLOW_ALL],
        ),
    )
    assert result.layer("scp").statements == ["DenyDynamoDB (r-demo):NoDynamo"]
    assert result.blocking == "scp"


# --------------------------------------------------------------------------------------------
# Anonymous callers: no identity, no account, no SCPs; only a resource policy that allows
# everyone ("*" or {"AWS": "*"}) lets them in.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-anonymous
# --------------------------------------------------------------------------------------------
ANONYMOUS_CASES = [
    ("public-star", {"resource": PUBLIC_BUCKET}, {}, A),
    ("public-aws-star", {"resource": pol(stmt(Principal={"AWS": "*"}))}, {}, A),
    ("no-resource-policy", {}, {}, I),
    ("bucket-policy-for-an-account", {"resource": BUCKET_FOR_SOURCE}, {}, I),
    ("identity-policies-do-not-apply", {"identity": [ALLOW_ALL]}, {}, I),
    ("scps-do-not-apply", {"resource": PUBLIC_BUCKET, "scps": [[]]}, {}, A),
    (
        "public-deny-wins",
        {"resource": pol(stmt(Principal="*"), stmt(effect="Deny", Principal="*"))},
        {},
        E,
    ),
    (
        "condition-on-principal-key-missing",
        {
            "resource": pol(
                stmt(Principal="*", Condition={"StringEquals": {"aws:PrincipalAccount": SOURCE}})
            )
        },
        {},
        I,
    ),
    (
        "condition-on-source-ip",
        {
            "resource": pol(
                stmt(Principal="*", Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})
            )
        },
        {"aws:SourceIp": "203.0.113.7"},
        A,
    ),
    (
        "deny-unless-signed-by-the-org",
        {
            "resource": pol(
                stmt(Principal="*"),
                stmt(
                    effect="Deny",
                    Principal="*",
                    Condition={"StringNotEqualsIfExists": {"aws:PrincipalOrgID": ORG}},
                ),
            )
        },
        {},
        E,
    ),
    (
        "not-principal-deny-reaches-anonymous",
        {
            "resource": pol(
                stmt(Principal="*"),
                {
                    "Effect": "Deny",
                    "NotPrincipal": {"AWS": f"arn:aws:iam::{SOURCE}:root"},
                    "Action": "s3:*",
                    "Resource": OBJECTS,
                },
            )
        },
        {},
        E,
    ),
]


@pytest.mark.parametrize(
    ("policies", "context", "expected"),
    [c[1:] for c in ANONYMOUS_CASES],
    ids=[c[0] for c in ANONYMOUS_CASES],
)
def test_anonymous_callers(policies, context, expected):
    request = RequestContext("anonymous", "s3:GetObject", OBJECT, TARGET, context)
    result = evaluate(request, PolicySet(**policies))
    assert result.decision == expected, result.explanation
    assert result.layer("identity").verdict == NA
    assert result.layer("scp").verdict == NA


# --------------------------------------------------------------------------------------------
# AWS service principals: allowed by a resource policy naming the service (or everyone), with
# aws:PrincipalIsAWSService and aws:PrincipalServiceName in the context; no identity policies and
# no SCPs.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-services
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalisawsservice
# --------------------------------------------------------------------------------------------
CLOUDTRAIL = "cloudtrail.amazonaws.com"
LOG_WRITE = {"action": "s3:PutObject", "resource": OBJECTS}
SERVICE_CASES = [
    ("names-the-service", {"resource": pol(stmt(Principal={"Service": CLOUDTRAIL}, **LOG_WRITE))}, {}, A),
    ("names-another-service", {"resource": pol(stmt(Principal={"Service": "config.amazonaws.com"}, **LOG_WRITE))}, {}, I),
    ("everyone", {"resource": pol(stmt(Principal="*", **LOG_WRITE))}, {}, A),
    ("an-account-is-not-a-service", {"resource": pol(stmt(Principal={"AWS": TARGET}, **LOG_WRITE))}, {}, I),
    ("identity-policies-do-not-apply", {"identity": [ALLOW_ALL]}, {}, I),
    ("scps-do-not-apply", {"scps": [[]], "resource": pol(stmt(Principal={"Service": CLOUDTRAIL}, **LOG_WRITE))}, {}, A),
    ("principal-is-aws-service", {"resource": pol(stmt(Principal="*", Condition={"Bool": {"aws:PrincipalIsAWSService": "true"}}, **LOG_WRITE))}, {}, A),
    ("principal-service-name", {"resource": pol(stmt(Principal="*", Condition={"StringEquals": {"aws:PrincipalServiceName": CLOUDTRAIL}}, **LOG_WRITE))}, {}, A),
    ("confused-deputy-right-account", {"resource": pol(stmt(Principal={"Service": CLOUDTRAIL}, Condition={"StringEquals": {"aws:SourceAccount": TARGET}}, **LOG_WRITE))}, {"aws:SourceAccount": TARGET}, A),
    ("confused-deputy-other-account", {"resource": pol(stmt(Principal={"Service": CLOUDTRAIL}, Condition={"StringEquals": {"aws:SourceAccount": TARGET}}, **LOG_WRITE))}, {"aws:SourceAccount": "444444444444"}, I),
    ("not-principal-lists-the-service", {"resource": pol(stmt(Principal="*", **LOG_WRITE), {"Effect": "Deny", "NotPrincipal": {"Service": CLOUDTRAIL}, "Action": "s3:*", "Resource": OBJECTS})}, {}, A),
    ("not-principal-lists-another", {"resource": pol(stmt(Principal="*", **LOG_WRITE), {"Effect": "Deny", "NotPrincipal": {"AWS": SOURCE}, "Action": "s3:*", "Resource": OBJECTS})}, {}, E),
]  # fmt: skip


@pytest.mark.parametrize(
    ("policies", "context", "expected"),
    [c[1:] for c in SERVICE_CASES],
    ids=[c[0] for c in SERVICE_CASES],
)
def test_service_principals(policies, context, expected):
    request = RequestContext(CLOUDTRAIL, "s3:PutObject", OBJECT, TARGET, context)
    result = evaluate(request, PolicySet(**policies))
    assert result.decision == expected, result.explanation
    assert result.layer("scp").verdict == NA


# --------------------------------------------------------------------------------------------
# Assumed-role sessions: a resource policy naming the role ARN covers all its sessions (and is
# limited by the boundary and session policy); naming the session ARN covers that session only
# (and, in the same account, is not limited by them). Cross-account both sides must allow.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-role-session
# https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
# --------------------------------------------------------------------------------------------
def bucket_naming(principal):
    return pol(stmt(Principal={"AWS": principal}, Sid="Named"))


SESSION_CASES = [
    # (id, caller, resource account, policies, decision)
    ("same-role-arn", TARGET_SESSION, TARGET, {"resource": bucket_naming(TARGET_ROLE)}, A),
    ("same-session-arn", TARGET_SESSION, TARGET, {"resource": bucket_naming(TARGET_SESSION)}, A),
    ("same-other-session", TARGET_SESSION, TARGET, {"resource": bucket_naming(f"arn:aws:sts::{TARGET}:assumed-role/Reader/eve")}, I),
    ("same-role-arn-limited-by-session-policy", TARGET_SESSION, TARGET, {"resource": bucket_naming(TARGET_ROLE), "session": ONLY_DYNAMO}, I),
    ("same-session-arn-not-limited-by-session-policy", TARGET_SESSION, TARGET, {"resource": bucket_naming(TARGET_SESSION), "session": ONLY_DYNAMO}, A),
    ("same-session-arn-session-policy-deny-wins", TARGET_SESSION, TARGET, {"resource": bucket_naming(TARGET_SESSION), "session": pol(stmt(effect="Deny", action="s3:*", resource="*"))}, E),
    ("same-role-path-in-policy", TARGET_SESSION, TARGET, {"resource": bucket_naming(f"arn:aws:iam::{TARGET}:role/team/Reader")}, A),
    ("cross-role-arn-with-identity", ALICE, TARGET, {"resource": bucket_naming(DEV_ROLE), "identity": [READ_OBJECTS]}, A),
    ("cross-session-arn-with-identity", ALICE, TARGET, {"resource": bucket_naming(ALICE), "identity": [READ_OBJECTS]}, A),
    ("cross-session-arn-without-identity", ALICE, TARGET, {"resource": bucket_naming(ALICE)}, I),
    ("cross-session-arn-boundary-limits", ALICE, TARGET, {"resource": bucket_naming(ALICE), "identity": [READ_OBJECTS], "boundary": ONLY_DYNAMO}, I),
    ("cross-same-role-name-other-account", ALICE, TARGET, {"resource": bucket_naming(f"arn:aws:iam::{TARGET}:role/Dev"), "identity": [READ_OBJECTS]}, I),
    ("cross-role-arn-is-not-a-user", BOB, TARGET, {"resource": bucket_naming(DEV_ROLE), "identity": [READ_OBJECTS]}, I),
]  # fmt: skip


@pytest.mark.parametrize(
    ("principal", "account", "policies", "expected"),
    [c[1:] for c in SESSION_CASES],
    ids=[c[0] for c in SESSION_CASES],
)
def test_assumed_role_session_principals(principal, account, policies, expected):
    request = RequestContext(principal, "s3:GetObject", OBJECT, account)
    assert evaluate(request, PolicySet(**policies)).decision == expected


# --------------------------------------------------------------------------------------------
# Session policies: the session's permissions are the intersection of the identity policies and
# the session policy (a resource policy naming the session itself aside); a Deny in it wins.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
# --------------------------------------------------------------------------------------------
SESSION_POLICY_CASES = [
    ("intersection-allows", {"identity": [READ_OBJECTS], "session": pol(stmt(action="s3:Get*", resource="*"))}, A),
    ("session-policy-narrower", {"identity": [READ_OBJECTS], "session": pol(stmt(action="s3:ListBucket", resource="*"))}, I),
    ("session-policy-grants-nothing-alone", {"session": ALLOW_ALL}, I),
    ("session-policy-deny", {"identity": [ALLOW_ALL], "session": pol(stmt(action="*", resource="*"), stmt(effect="Deny", action="s3:GetObject", resource="*"))}, E),
    ("session-policy-not-resource", {"identity": [ALLOW_ALL], "session": pol({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::mybucket/data/*"})}, I),
    ("session-policy-with-boundary", {"identity": [ALLOW_ALL], "session": ALLOW_ALL, "boundary": pol(stmt(action="s3:GetObject", resource="*"))}, A),
    ("session-and-boundary-both-limit", {"identity": [ALLOW_ALL], "session": ALLOW_ALL, "boundary": ONLY_DYNAMO}, I),
    ("resource-policy-role-arn-limited", {"resource": bucket_naming(TARGET_ROLE), "session": ONLY_DYNAMO}, I),
]  # fmt: skip


@pytest.mark.parametrize(
    ("policies", "expected"),
    [c[1:] for c in SESSION_POLICY_CASES],
    ids=[c[0] for c in SESSION_POLICY_CASES],
)
def test_session_policies(policies, expected):
    request = RequestContext(TARGET_SESSION, "s3:GetObject", OBJECT, TARGET)
    result = evaluate(request, PolicySet(**policies))
    assert result.decision == expected, result.explanation
    if expected == I and "session" in policies and result.layer("session").verdict == I:
        assert result.blocking == "session"


# --------------------------------------------------------------------------------------------
# Policy variables: ${aws:username}, ${aws:PrincipalTag/...}, defaults, and what happens when a
# key is missing or multi-valued (the statement does not match); only in Version 2012-10-17.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
# --------------------------------------------------------------------------------------------
HOME = "arn:aws:s3:::home/${aws:username}/*"
TEAM = "arn:aws:s3:::teams/${aws:PrincipalTag/team}/*"
TEAM_OR_NONE = "arn:aws:s3:::teams/${aws:PrincipalTag/team, 'none'}/*"
VARIABLE_CASES = [
    ("username-own-home", BOB, HOME, "arn:aws:s3:::home/bob/notes.txt", {}, V, A),
    ("username-other-home", BOB, HOME, "arn:aws:s3:::home/eve/notes.txt", {}, V, I),
    ("username-missing-for-a-session", ALICE, HOME, "arn:aws:s3:::home/alice/notes.txt", {}, V, I),
    ("principal-tag", ALICE, TEAM, "arn:aws:s3:::teams/data/x.csv", {"aws:PrincipalTag/team": "data"}, V, A),
    ("principal-tag-other-team", ALICE, TEAM, "arn:aws:s3:::teams/ops/x.csv", {"aws:PrincipalTag/team": "data"}, V, I),
    ("principal-tag-key-case-insensitive", ALICE, TEAM, "arn:aws:s3:::teams/data/x.csv", {"AWS:PRINCIPALTAG/TEAM": "data"}, V, A),
    ("principal-tag-missing", ALICE, TEAM, "arn:aws:s3:::teams/data/x.csv", {}, V, I),
    ("principal-tag-default", ALICE, TEAM_OR_NONE, "arn:aws:s3:::teams/none/x.csv", {}, V, A),
    ("multi-valued-key-is-no-variable", ALICE, "arn:aws:s3:::t/${aws:TagKeys}/*", "arn:aws:s3:::t/a/x", {"aws:TagKeys": ["a"]}, V, I),
    ("substituted-value-is-literal", ALICE, TEAM, "arn:aws:s3:::teams/dxta/x.csv", {"aws:PrincipalTag/team": "d?ta"}, V, I),
    ("old-version-is-literal", BOB, HOME, "arn:aws:s3:::home/bob/notes.txt", {}, "2008-10-17", I),
]  # fmt: skip


@pytest.mark.parametrize(
    ("principal", "pattern", "resource", "context", "version", "expected"),
    [c[1:] for c in VARIABLE_CASES],
    ids=[c[0] for c in VARIABLE_CASES],
)
def test_policy_variables(principal, pattern, resource, context, version, expected):
    policy = pol(stmt(resource=pattern), version=version)
    request = RequestContext(principal, "s3:GetObject", resource, SOURCE, context)
    assert evaluate(request, PolicySet(identity=[policy])).decision == expected


def test_principal_tag_variable_in_a_condition():
    policy = pol(
        stmt(
            resource="*",
            Condition={"StringEquals": {"s3:ExistingObjectTag/team": "${aws:PrincipalTag/team}"}},
        )
    )
    tagged = {"aws:PrincipalTag/team": "data", "s3:ExistingObjectTag/team": "data"}
    other = {"aws:PrincipalTag/team": "ops", "s3:ExistingObjectTag/team": "data"}
    request = RequestContext(ALICE, "s3:GetObject", OBJECT, SOURCE, tagged)
    assert evaluate(request, PolicySet(identity=[policy])).decision == A
    request = RequestContext(ALICE, "s3:GetObject", OBJECT, SOURCE, other)
    assert evaluate(request, PolicySet(identity=[policy])).decision == I


# --------------------------------------------------------------------------------------------
# ForAnyValue / ForAllValues on missing and empty keys. ForAllValues is true when the key is
# missing or has no values (pair it with Null); ForAnyValue is false then; Null counts an empty
# value as missing.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition_examples-multi-valued-context-keys.html
# --------------------------------------------------------------------------------------------
TAGS = ["env", "team"]
MISSING_EMPTY_CASES = [
    ("ForAllValues:StringEquals", TAGS, None, True),
    ("ForAllValues:StringEquals", TAGS, [], True),
    ("ForAllValues:StringEquals", TAGS, "", True),
    ("ForAllValues:StringNotLike", ["key1*"], None, True),
    ("ForAllValues:StringNotLike", ["key1*"], ["key2:audit"], True),
    ("ForAllValues:StringNotLike", ["key1*"], ["key1:legal"], False),
    ("ForAnyValue:StringEquals", TAGS, None, False),
    ("ForAnyValue:StringEquals", TAGS, [], False),
    ("ForAnyValue:StringEquals", TAGS, "", False),
    ("ForAnyValue:StringNotEquals", TAGS, None, False),
    ("ForAnyValue:StringNotEquals", TAGS, [], False),
    ("ForAnyValue:StringEqualsIfExists", TAGS, None, True),
    ("Null", "true", None, True),
    ("Null", "true", [], True),
    ("Null", "true", "", True),
    ("Null", "false", [], False),
    ("Null", "false", ["env"], True),
    ("StringEquals", TAGS, None, False),
    ("StringNotEquals", TAGS, None, True),
    ("StringEqualsIfExists", TAGS, None, True),
]


@pytest.mark.parametrize(
    ("operator", "value", "request_value", "expected"),
    MISSING_EMPTY_CASES,
    ids=[f"{c[0]}-{c[2]!r}" for c in MISSING_EMPTY_CASES],
)
def test_set_operators_on_missing_and_empty_keys(operator, value, request_value, expected):
    ctx = {} if request_value is None else {"aws:tagkeys": request_value}
    assert key_matches(operator, "aws:TagKeys", value, ctx) is expected


def test_for_all_values_with_allow_fails_open_unless_paired_with_null():
    """The documentation's warning, as a whole statement: ForAllValues alone allows a request
    without tags; with Null false it does not."""
    loose = pol(
        stmt(
            action="iam:TagRole",
            resource="*",
            Condition={"ForAllValues:StringEquals": {"aws:TagKeys": TAGS}},
        )
    )
    safe = pol(
        stmt(
            action="iam:TagRole",
            resource="*",
            Condition={
                "ForAllValues:StringEquals": {"aws:TagKeys": TAGS},
                "Null": {"aws:TagKeys": "false"},
            },
        )
    )
    untagged = RequestContext(BOB, "iam:TagRole", DEV_ROLE, SOURCE)
    assert evaluate(untagged, PolicySet(identity=[loose])).decision == A
    assert evaluate(untagged, PolicySet(identity=[safe])).decision == I
    tagged = RequestContext(BOB, "iam:TagRole", DEV_ROLE, SOURCE, {"aws:TagKeys": ["env"]})
    assert evaluate(tagged, PolicySet(identity=[safe])).decision == A


# --------------------------------------------------------------------------------------------
# NotResource: a statement applies to every resource except those listed, in identity, resource
# and SCP documents alike; with Deny it denies everything else.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
# --------------------------------------------------------------------------------------------
def not_resource(effect, listed, action="s3:*", **extra):
    return {"Effect": effect, "Action": action, "NotResource": listed, **extra}


NOT_RESOURCE_CASES = [
    ("allow-everything-else", {"identity": [pol(not_resource("Allow", "arn:aws:s3:::secret/*"))]}, OBJECT, A),
    ("allow-not-the-listed", {"identity": [pol(not_resource("Allow", "arn:aws:s3:::mybucket/*"))]}, OBJECT, I),
    ("deny-everything-but-listed", {"identity": [ALLOW_ALL, pol(not_resource("Deny", OBJECTS))]}, "arn:aws:s3:::other/x", E),
    ("deny-spares-the-listed", {"identity": [ALLOW_ALL, pol(not_resource("Deny", OBJECTS))]}, OBJECT, A),
    ("deny-other-action", {"identity": [ALLOW_ALL, pol(not_resource("Deny", OBJECTS, action="sqs:*"))]}, "arn:aws:s3:::other/x", A),
    ("list-of-patterns", {"identity": [ALLOW_ALL, pol(not_resource("Deny", ["arn:aws:s3:::a/*", OBJECTS]))]}, OBJECT, A),
    ("case-sensitive", {"identity": [ALLOW_ALL, pol(not_resource("Deny", "arn:aws:s3:::MyBucket/*"))]}, OBJECT, E),
    ("with-variable", {"identity": [ALLOW_ALL, pol(not_resource("Deny", "arn:aws:s3:::home/${aws:username}/*"))]}, "arn:aws:s3:::home/bob/x", A),
    ("with-variable-other-home", {"identity": [ALLOW_ALL, pol(not_resource("Deny", "arn:aws:s3:::home/${aws:username}/*"))]}, "arn:aws:s3:::home/eve/x", E),
    ("in-an-scp", {"identity": [ALLOW_ALL], "scps": [[ALLOW_ALL, pol(not_resource("Deny", OBJECTS))]]}, "arn:aws:s3:::other/x", E),
    ("in-a-resource-policy", {"resource": pol(not_resource("Allow", "arn:aws:s3:::mybucket/private/*", Principal={"AWS": BOB}))}, OBJECT, A),
]  # fmt: skip


@pytest.mark.parametrize(
    ("policies", "resource", "expected"),
    [c[1:] for c in NOT_RESOURCE_CASES],
    ids=[c[0] for c in NOT_RESOURCE_CASES],
)
def test_not_resource(policies, resource, expected):
    request = RequestContext(BOB, "s3:GetObject", resource, SOURCE)
    assert evaluate(request, PolicySet(**policies)).decision == expected


# --------------------------------------------------------------------------------------------
# Trust policies and key policies are required even within one account: an identity policy
# alone does not let anyone assume a role or use a KMS key; a key policy that does not delegate
# to the account (no "arn:aws:iam::ACCT:root" statement) makes IAM policies useless for the key.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html
# https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam
# https://docs.aws.amazon.com/kms/latest/developerguide/determining-access-key-policy.html
# --------------------------------------------------------------------------------------------
DECRYPT = pol(stmt(action="kms:Decrypt", resource=KEY, Sid="UseKey"))
KEY_DELEGATES = pol(
    stmt(
        action="kms:*",
        resource="*",
        Principal={"AWS": f"arn:aws:iam::{TARGET}:root"},
        Sid="EnableIAM",
    )
)
KEY_FOR_ADMIN_ONLY = pol(
    stmt(
        action="kms:*",
        resource="*",
        Principal={"AWS": f"arn:aws:iam::{TARGET}:role/KeyAdmin"},
        Sid="Admin",
    )
)
KEY_FOR_READER = pol(
    stmt(action="kms:Decrypt", resource="*", Principal={"AWS": TARGET_ROLE}, Sid="Reader")
)
ROLE = f"arn:aws:iam::{TARGET}:role/Deploy"
ASSUME = pol(stmt(action="sts:AssumeRole", resource=ROLE))
MANDATORY_CASES = [
    ("key-delegates-identity-allows", "kms:Decrypt", KEY, {"identity": [DECRYPT], "resource": KEY_DELEGATES}, A),
    ("key-delegates-identity-silent", "kms:Decrypt", KEY, {"resource": KEY_DELEGATES}, I),
    ("key-without-delegation", "kms:Decrypt", KEY, {"identity": [DECRYPT], "resource": KEY_FOR_ADMIN_ONLY}, I),
    ("key-names-the-role", "kms:Decrypt", KEY, {"resource": KEY_FOR_READER}, A),
    ("key-names-the-role-boundary-limits", "kms:Decrypt", KEY, {"resource": KEY_FOR_READER, "boundary": ONLY_DYNAMO}, I),
    ("key-deny-wins", "kms:Decrypt", KEY, {"identity": [DECRYPT], "resource": pol(KEY_DELEGATES["Statement"][0], stmt(effect="Deny", action="kms:Decrypt", resource="*", Principal="*"))}, E),
    ("trust-silent-identity-allows", "sts:AssumeRole", ROLE, {"identity": [ASSUME], "resource": pol(stmt(action="sts:AssumeRole", resource=None, Principal={"Service": "ec2.amazonaws.com"}))}, I),
    ("trust-names-the-account", "sts:AssumeRole", ROLE, {"identity": [ASSUME], "resource": pol(stmt(action="sts:AssumeRole", resource=None, Principal={"AWS": TARGET}))}, A),
    ("trust-names-the-role", "sts:AssumeRole", ROLE, {"resource": pol(stmt(action="sts:AssumeRole", resource=None, Principal={"AWS": TARGET_ROLE}))}, A),
    ("other-services-need-no-resource-policy", "s3:GetObject", OBJECT, {"identity": [READ_OBJECTS]}, A),
    # No key or trust policy given: what the caller's side allows is all there is to judge.
    ("key-policy-not-given", "kms:Decrypt", KEY, {"identity": [DECRYPT]}, A),
]  # fmt: skip


@pytest.mark.parametrize(
    ("action", "resource", "policies", "expected"),
    [c[1:] for c in MANDATORY_CASES],
    ids=[c[0] for c in MANDATORY_CASES],
)
def test_trust_and_key_policies_are_required_in_one_account(action, resource, policies, expected):
    request = RequestContext(TARGET_SESSION, action, resource, TARGET)
    result = evaluate(request, PolicySet(**policies))
    assert result.decision == expected, result.explanation
    if expected == I and "resource" in policies and not policies.get("boundary"):
        assert result.blocking in ("resource", "identity")
