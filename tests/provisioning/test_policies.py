"""Pure policy code: the documents the portal writes and the checks on what is asked."""

import json

import pytest

from access_requests.templatetags.portal_tags import json_highlight
from policy import builders
from policy.arns import arn_matches_template, arn_parse, role_arn
from policy.catalog import action_lookup
from policy.validation import access_validate, arn_correction

TABLE = "arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"


def test_trust_policy_names_the_source_principal_and_session_attributes():
    document = builders.trust_policy(principal="arn:aws:iam::111111111111:root")
    assert document["Version"] == "2012-10-17"
    assume, attributes = document["Statement"]
    assert assume["Action"] == "sts:AssumeRole"
    assert assume["Principal"] == {"AWS": "arn:aws:iam::111111111111:root"}
    assert "Condition" not in assume
    assert attributes["Action"] == ["sts:SetSourceIdentity", "sts:TagSession"]


def test_trust_policy_for_a_third_party_requires_the_external_id():
    document = builders.trust_policy(principal="arn:aws:iam::333333333333:root", external_id="e1")
    condition = document["Statement"][0]["Condition"]
    assert condition == {"StringEquals": {"sts:ExternalId": "e1"}}


def test_permission_policy_gives_each_action_only_resources_of_its_type():
    bucket_objects = "arn:aws:s3:::mybucket/*"
    document = builders.permission_policy(
        sid="PortalAccess7",
        actions=["dynamodb:GetItem", "dynamodb:Query", "s3:GetObject", "dynamodb:ListTables"],
        resources=[TABLE, bucket_objects],
    )
    assert document["Statement"] == [
        {
            "Sid": "PortalAccess7",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:Query"],
            "Resource": TABLE,
        },
        {
            "Sid": "PortalAccess7N1",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": bucket_objects,
        },
        # ListTables takes no resource-level permissions: "*" is the only form AWS accepts.
        {
            "Sid": "PortalAccess7N2",
            "Effect": "Allow",
            "Action": "dynamodb:ListTables",
            "Resource": "*",
        },
    ]


def test_source_identity_policy_names_the_role_by_its_iam_arn():
    """The article wrote a DynamoDB-shaped ARN for the role; a role ARN has no region."""
    target = role_arn(account_id="999999999999", role_name="portal-access-3", path="/portal/")
    assert target == "arn:aws:iam::999999999999:role/portal/portal-access-3"
    document = builders.source_identity_policy(sid="PortalAccess3", role_arn=target)
    assert document["Statement"][0]["Resource"] == target


TERMS = {
    "duration": 3600,
    "source_principal": "arn:aws:iam::111111111111:root",
    "access_via": "portal",
    "mechanism": "assume_role",
    "third_party": False,
    "source_account": "111111111111",
    "target_account": "999999999999",
}


@pytest.mark.parametrize(
    ("term", "other"),
    [
        ("duration", 12 * 3600),
        ("source_principal", "arn:aws:iam::111111111111:role/DataAnalyst"),
        ("access_via", "own_identity"),
        ("mechanism", "resource_policy"),
        ("third_party", True),
        ("source_account", "333333333333"),
        ("target_account", "222222222222"),
    ],
)
def test_the_hash_covers_every_term_an_approval_authorizes(term, other):
    documents = {"a": {"document": {"Statement": [1]}}}
    assert builders.documents_hash(documents, terms=TERMS) != builders.documents_hash(
        documents, terms=TERMS | {term: other}
    )


def test_documents_hash_is_stable_and_changes_with_content():
    first = {"a": {"document": {"Statement": [1]}}}
    assert builders.documents_hash(first, terms={}) == builders.documents_hash(
        json.loads(json.dumps(first)), terms={}
    )
    assert builders.documents_hash(first, terms={}) != builders.documents_hash(
        {"a": {"document": {}}}, terms={}
    )


@pytest.mark.parametrize(
    ("wrong", "corrected"),
    [
        # The article's own mistakes.
        ("arn:aws:s3:eu-central-1:999999999999:MyBucket/*", "arn:aws:s3:::mybucket/*"),
        (
            "arn:aws:dynamodb:eu-central-1:999999999999:role/MyTableCrossAccount",
            "arn:aws:iam::999999999999:role/MyTableCrossAccount",
        ),
        (
            "arn:aws:dynamodb:eu-central-1:999999999999:table:MyTable",
            "arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable",
        ),
    ],
)
def test_arn_corrections_for_the_articles_mistakes(wrong, corrected):
    assert arn_correction(wrong) == corrected


@pytest.mark.parametrize(
    ("arn", "template", "matches"),
    [
        (TABLE, "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}", True),
        (
            "arn:aws:dynamodb:eu-central-1:99999999999:table/MyTable",
            "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}",
            False,
        ),
        (
            "arn:aws:dynamodb:eu-central-1:999999999999:table/*",
            "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}",
            False,
        ),
        ("arn:aws:s3:::mybucket/*", "arn:${Partition}:s3:::${BucketName}/${ObjectName}", True),
        ("arn:aws:s3:::MyBucket/*", "arn:${Partition}:s3:::${BucketName}/${ObjectName}", False),
        ("arn:aws:s3:::mybucket", "arn:${Partition}:s3:::${BucketName}", True),
    ],
)
def test_arn_templates(arn, template, matches):
    assert arn_matches_template(arn, template) is matches


def test_arn_parse():
    arn = arn_parse(TABLE)
    assert (arn.service, arn.region, arn.account, arn.resource) == (
        "dynamodb",
        "eu-central-1",
        "999999999999",
        "table/MyTable",
    )
    assert arn_parse("arn:aws:iam:111111111111/root") is None
    assert str(arn) == TABLE


def test_action_lookup_is_case_insensitive_and_canonical():
    assert action_lookup("DynamoDB:getitem").qualified == "dynamodb:GetItem"
    assert action_lookup("dynamodb:GetItemz") is None
    assert action_lookup("GetItem") is None


def test_validation_normalizes_and_deduplicates():
    check = access_validate(
        actions=["dynamodb:getitem", "dynamodb:GetItem"],
        resources=[TABLE, f" {TABLE} "],
        target_account_id="999999999999",
    )
    assert check.ok
    assert check.actions == ["dynamodb:GetItem"]
    assert check.resources == [TABLE]


def test_validation_refuses_an_action_with_no_matching_resource():
    check = access_validate(
        actions=["dynamodb:GetItem", "s3:GetObject"],
        resources=[TABLE],
        target_account_id="999999999999",
    )
    assert "s3:GetObject applies to none of the resources" in check.errors["actions"][0]


def test_the_request_form_stays_strict_on_what_others_documents_may_hold():
    """The request form is the portal's own: a retired service, an upper-case bucket name or
    `aws` as the account are refused there, though others' documents may hold them."""
    check = access_validate(
        actions=["deeplens:ListDevices"], resources=[TABLE], target_account_id="999999999999"
    )
    assert "AWS DeepLens is retired" in check.errors["actions"][0]
    check = access_validate(
        actions=["s3:GetObject", "sagemaker:DescribeHub"],
        resources=[
            "arn:aws:s3:::MyBucket/*",
            "arn:aws:sagemaker:eu-central-1:aws:hub/SageMakerPublicHub",
        ],
        target_account_id="999999999999",
    )
    assert "Did you mean arn:aws:s3:::mybucket/*?" in check.errors["resources"][0]
    assert "the account part must be 12 digits" in check.errors["resources"][1]


def test_validation_caps_sizes():
    check = access_validate(
        actions=["dynamodb:GetItem"] * 51, resources=[TABLE], target_account_id="999999999999"
    )
    assert "At most 50 actions" in check.errors["actions"][0]
    check = access_validate(
        actions=["dynamodb:GetItem"],
        resources=["arn:" + "a" * 3000],
        target_account_id="999999999999",
    )
    assert "at most 2048" in check.errors["resources"][0]


def test_json_highlight_escapes_markup():
    html = json_highlight({"Sid": "<script>alert(1)</script>", "n": 1, "ok": True})
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert '<span class="j-key">&quot;Sid&quot;</span>' in html
    assert '<span class="j-number">1</span>' in html
    assert '<span class="j-literal">true</span>' in html
