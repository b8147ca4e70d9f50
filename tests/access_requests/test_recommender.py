# ruff: noqa: E501 (the tables keep one case a line)
"""The decision tree of the article's "When to Use What?", one row per situation."""

import pytest

from access_requests.recommender import Facts, recommend

DATA = "999999999999"
TABLE = f"arn:aws:dynamodb:eu-central-1:{DATA}:table/MyTable"
OBJECTS = "arn:aws:s3:::mybucket/*"
OBJECT = "arn:aws:s3:::mybucket/incoming/from-dev.csv"
BUCKET = "arn:aws:s3:::mybucket"
QUEUE = f"arn:aws:sqs:eu-central-1:{DATA}:myqueue"
TOPIC = f"arn:aws:sns:eu-central-1:{DATA}:mytopic"
KEY = f"arn:aws:kms:eu-central-1:{DATA}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET = f"arn:aws:secretsmanager:eu-central-1:{DATA}:secret:mysecret-AbCdEf"
PARAMETER = f"arn:aws:ssm:eu-central-1:{DATA}:parameter/app/db-host"
LOG_GROUP = f"arn:aws:logs:eu-central-1:{DATA}:log-group:/app/web"

FOREIGN = Facts(foreign_owned_objects=(OBJECT,))
ENFORCED = Facts(foreign_owned_objects=(OBJECT,), acls_disabled_buckets=("mybucket",))
SCP = Facts(scp_denials=("DenyDynamoDB (r-demo/ou-workloads): dynamodb:GetItem",))

CASES = [
    # (access_via, actions, resources, facts, mechanism, words in the reasons)
    ("portal", ["dynamodb:GetItem"], [TABLE], None, "assume_role", "only a role can be assumed"),
    ("portal", ["s3:GetObject"], [OBJECTS], None, "assume_role", "mint a session"),
    ("portal", ["s3:GetObject"], [OBJECT], FOREIGN, "assume_role", "only a role"),
    ("own_identity", ["s3:GetObject"], [OBJECTS], None, "resource_policy", "easiest option"),
    ("own_identity", ["sqs:SendMessage"], [QUEUE], None, "resource_policy", "an SQS resource"),
    ("own_identity", ["sns:Publish"], [TOPIC], None, "resource_policy", "an SNS resource"),
    ("own_identity", ["kms:Decrypt"], [KEY], None, "resource_policy", "a KMS resource"),
    (
        "own_identity",
        ["secretsmanager:GetSecretValue"],
        [SECRET],
        None,
        "resource_policy",
        "own identity",
    ),
    ("own_identity", ["dynamodb:GetItem"], [TABLE], None, "resource_policy", "both sides"),
    ("own_identity", ["s3:GetObject"], [OBJECT], FOREIGN, "acl", "only an object ACL"),
    ("own_identity", ["s3:GetObject"], [OBJECT], ENFORCED, "resource_policy", "easiest option"),
    (
        "own_identity",
        ["ssm:GetParameter"],
        [PARAMETER],
        None,
        "assume_role",
        "works for every service",
    ),
    ("own_identity", ["logs:GetLogEvents"], [LOG_GROUP], None, "assume_role", "~/.aws/config"),
    (
        "own_identity",
        ["dynamodb:GetItem", "s3:GetObject"],
        [TABLE, OBJECTS],
        None,
        "assume_role",
        "several services",
    ),
    ("own_identity", ["dynamodb:GetItem"], [TABLE], SCP, None, "service control policy"),
    ("portal", ["dynamodb:GetItem"], [TABLE], SCP, None, "DenyDynamoDB"),
]


@pytest.mark.parametrize(
    ("access_via", "actions", "resources", "facts", "mechanism", "words"), CASES
)
def test_recommendation(access_via, actions, resources, facts, mechanism, words):
    result = recommend(access_via=access_via, actions=actions, resources=resources, facts=facts)
    assert result.mechanism == mechanism
    assert words in " ".join(result.reasons)
    if mechanism:
        assert result.valid(mechanism)


def test_portal_sessions_rule_out_resource_policies_and_acls():
    result = recommend(access_via="portal", actions=["s3:GetObject"], resources=[OBJECT])
    assert not result.valid("resource_policy")
    assert not result.valid("acl")
    assert "mints no session" in result.validity["acl"]


def test_acls_off_on_a_bucket_owner_enforced_bucket_say_so():
    result = recommend(
        access_via="own_identity", actions=["s3:GetObject"], resources=[OBJECT], facts=ENFORCED
    )
    assert "BucketOwnerEnforced" in result.validity["acl"]
    assert "bucket policy" in result.validity["acl"]


def test_acls_cannot_express_fine_grained_actions():
    result = recommend(
        access_via="own_identity", actions=["s3:GetObjectTagging"], resources=[OBJECT]
    )
    assert "cannot express s3:GetObjectTagging" in result.validity["acl"]


def test_acls_need_single_objects():
    result = recommend(access_via="own_identity", actions=["s3:GetObject"], resources=[OBJECTS])
    assert "single objects" in result.validity["acl"]
    assert result.mechanism == "resource_policy"


def test_every_service_with_resource_policies_has_a_name_for_the_reasons():
    from access_requests.recommender import SERVICE_NAMES
    from policy.resource_policies import SERVICES_WITH_RESOURCE_POLICIES

    assert set(SERVICE_NAMES) == set(SERVICES_WITH_RESOURCE_POLICIES)


def test_a_foreign_object_names_the_account_that_writes_its_acl():
    """The owner's account writes the object ACL; a bucket policy cannot grant on the object."""
    facts = Facts(foreign_owned_objects=(OBJECT,), object_writers=((OBJECT, "111111111111"),))
    result = recommend(
        access_via="own_identity", actions=["s3:GetObject"], resources=[OBJECT], facts=facts
    )
    assert result.mechanism == "acl"
    assert f"writes the ACL of {OBJECT} as its owner, account 111111111111" in result.reasons[1]
    assert "only on the bucket owner's objects" in result.validity["resource_policy"]


def test_a_foreign_object_of_an_account_the_portal_does_not_manage_takes_no_acl():
    facts = Facts(foreign_owned_objects=(OBJECT,), object_writers=((OBJECT, ""),))
    result = recommend(
        access_via="own_identity", actions=["s3:GetObject"], resources=[OBJECT], facts=facts
    )
    assert "does not manage" in result.validity["acl"]
    assert not result.valid("acl") and not result.valid("resource_policy")


# SCPs bind the principals of the accounts they are attached to: the target's bind the granted
# role's sessions, never a source principal using a resource policy; the source's bind the source
# principal's own calls, not the role's sessions in the target account.
# https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html
TARGET_SCP = Facts(target_scp_denials=("DenyDynamoDB (ou-data): dynamodb:GetItem",))
SOURCE_SCP = Facts(source_scp_denials=("DenyDynamoDB (ou-dev): dynamodb:GetItem",))
BOTH_SCPS = Facts(
    source_scp_denials=SOURCE_SCP.source_scp_denials,
    target_scp_denials=TARGET_SCP.target_scp_denials,
)
SIDE_CASES = [
    # (access_via, resources, facts, mechanism, words in the reasons, mechanism ruled out)
    ("own_identity", [TABLE], TARGET_SCP, "resource_policy", "not the source principal", "assume_role"),
    ("portal", [TABLE], TARGET_SCP, None, "DenyDynamoDB (ou-data)", "assume_role"),
    ("own_identity", [TABLE], SOURCE_SCP, "assume_role", "No resource-based policy", "resource_policy"),
    ("portal", [TABLE], SOURCE_SCP, "assume_role", "only a role can be assumed", None),
    ("own_identity", [TABLE], BOTH_SCPS, None, "every mechanism that could work", "assume_role"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("access_via", "resources", "facts", "mechanism", "words", "ruled_out"), SIDE_CASES
)
def test_each_accounts_scps_bind_only_its_own_principals(
    access_via, resources, facts, mechanism, words, ruled_out
):
    result = recommend(
        access_via=access_via, actions=["dynamodb:GetItem"], resources=resources, facts=facts
    )
    assert result.mechanism == mechanism
    assert words in " ".join(result.reasons)
    if ruled_out:
        assert "service control policy" in result.validity[ruled_out]
