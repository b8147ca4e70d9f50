"""Pure resource-policy code: which resource holds the policy, the statement the portal adds, and
the read-modify-write that keeps everyone else's statements as they were."""

import copy
import json

import pytest

from policy.resource_policies import (
    SERVICES_WITH_RESOURCE_POLICIES,
    SIZE_LIMITS,
    PolicyHolder,
    holder_for,
    holder_shared,
    policy_size,
    policy_text,
    policy_too_large,
    resource_statement,
    statement_find,
    statement_put,
    statement_remove,
    statements_except,
)

ROOT = "arn:aws:iam::111111111111:root"
QUEUE = "arn:aws:sqs:eu-central-1:999999999999:myqueue"
TOPIC = "arn:aws:sns:eu-central-1:999999999999:mytopic"
KEY = "arn:aws:kms:eu-central-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET = "arn:aws:secretsmanager:eu-central-1:999999999999:secret:mysecret-a1b2c3"
TABLE = "arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"
FUNCTION = "arn:aws:lambda:eu-central-1:999999999999:function:my-function"

# A bucket policy as someone else wrote it: odd key order, a Condition, a single-action list.
FOREIGN = {
    "Sid": "AuditorsReadReports",
    "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
    "Effect": "Allow",
    "Action": ["s3:GetObject"],
    "Resource": "arn:aws:s3:::mybucket/reports/*",
    "Condition": {"Bool": {"aws:SecureTransport": "true"}},
}
DENY_HTTP = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::mybucket", "arn:aws:s3:::mybucket/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
NO_SID = {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "s3:ListBucket", "Resource": "*"}


def portal(sid: str = "PortalAccess12", action: str = "s3:GetObject") -> dict:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": ROOT},
        "Action": action,
        "Resource": "arn:aws:s3:::mybucket/*",
    }


def bucket_policy() -> dict:
    return {
        "Version": "2012-10-17",
        "Id": "team-policy",
        "Statement": [FOREIGN, NO_SID, DENY_HTTP],
    }


# --- statement_put / statement_remove ----------------------------------------------------------


def test_put_into_no_policy_starts_one():
    assert statement_put(None, portal()) == {"Version": "2012-10-17", "Statement": [portal()]}


def test_put_appends_and_keeps_every_other_statement_identical_and_in_order():
    original = bucket_policy()
    before = copy.deepcopy(original)
    result = statement_put(original, portal())
    assert original == before, "the input is never changed"
    assert result["Statement"][:3] == before["Statement"]
    assert result["Statement"][3] == portal()
    # Byte for byte: the other statements serialize exactly as they did, keys in their order.
    for mine, theirs in zip(result["Statement"][:3], before["Statement"], strict=True):
        assert json.dumps(mine) == json.dumps(theirs)
    assert list(result) == ["Version", "Id", "Statement"]
    assert result["Id"] == "team-policy"


def test_put_replaces_the_same_sid_in_place():
    first = statement_put(bucket_policy(), portal())
    moved = statement_put(first, FOREIGN | {"Sid": "LaterTeam"})
    changed = statement_put(moved, portal(action="s3:ListBucket"))
    sids = [s.get("Sid") for s in changed["Statement"]]
    assert sids == [
        "AuditorsReadReports",
        None,
        "DenyInsecureTransport",
        "PortalAccess12",
        "LaterTeam",
    ]
    assert changed["Statement"][3]["Action"] == "s3:ListBucket"
    assert statement_put(changed, portal(action="s3:ListBucket")) == changed


def test_put_drops_a_repeated_copy_of_its_own_sid():
    policy = {"Version": "2012-10-17", "Statement": [portal(), FOREIGN, portal()]}
    result = statement_put(policy, portal(action="s3:PutObject"))
    assert [s["Sid"] for s in result["Statement"]] == ["PortalAccess12", "AuditorsReadReports"]
    assert result["Statement"][0]["Action"] == "s3:PutObject"


def test_put_handles_a_single_object_statement():
    policy = {"Version": "2008-10-17", "Statement": DENY_HTTP}
    result = statement_put(policy, portal())
    assert result == {"Version": "2008-10-17", "Statement": [DENY_HTTP, portal()]}
    assert policy["Statement"] is not result["Statement"][0]


def test_put_replaces_a_single_object_statement_with_the_same_sid():
    result = statement_put(
        {"Version": "2012-10-17", "Statement": portal()}, portal("PortalAccess12", "s3:PutObject")
    )
    assert result["Statement"] == [portal(action="s3:PutObject")]


def test_put_refuses_a_statement_without_sid():
    with pytest.raises(ValueError, match="Sid"):
        statement_put(bucket_policy(), NO_SID)


def test_put_returns_copies_not_the_callers_objects():
    statement = portal()
    result = statement_put(None, statement)
    statement["Action"] = "s3:DeleteObject"
    assert result["Statement"][0]["Action"] == "s3:GetObject"


def test_remove_takes_out_exactly_its_sid():
    policy = statement_put(bucket_policy(), portal())
    before = copy.deepcopy(policy)
    result = statement_remove(policy, "PortalAccess12")
    assert policy == before
    assert result == bucket_policy()
    assert json.dumps(result) == json.dumps(bucket_policy())


def test_remove_of_an_absent_sid_changes_nothing():
    assert statement_remove(bucket_policy(), "PortalAccess99") == bucket_policy()


def test_remove_the_last_statement_leaves_an_empty_list():
    assert statement_remove(
        {"Version": "2012-10-17", "Statement": [portal()]}, "PortalAccess12"
    ) == {
        "Version": "2012-10-17",
        "Statement": [],
    }
    assert (
        statement_remove({"Version": "2012-10-17", "Statement": portal()}, "PortalAccess12")[
            "Statement"
        ]
        == []
    )
    single = {"Version": "2012-10-17", "Statement": DENY_HTTP}
    assert statement_remove(single, "PortalAccess12") == single


def test_statements_except_and_find():
    policy = statement_put(bucket_policy(), portal())
    assert statements_except(policy, "PortalAccess12") == [FOREIGN, NO_SID, DENY_HTTP]
    assert statements_except(None, "PortalAccess12") == []
    assert statements_except({"Statement": DENY_HTTP}, "PortalAccess12") == [DENY_HTTP]
    assert statement_find(policy, "PortalAccess12") == portal()
    assert statement_find(policy, "Nope") is None
    assert statement_find(None, "PortalAccess12") is None


# --- sizes -------------------------------------------------------------------------------------


def test_size_limits_cover_every_service_with_the_documented_values():
    assert set(SIZE_LIMITS) == set(SERVICES_WITH_RESOURCE_POLICIES)
    assert SIZE_LIMITS == {
        "s3": 20480,
        "sqs": 8192,
        "sns": 30720,
        "kms": 32768,
        "secretsmanager": 20480,
        "dynamodb": 20480,
        "lambda": 20480,
    }


def test_policy_size_is_the_compact_text_written():
    document = bucket_policy()
    text = policy_text(document)
    assert text == json.dumps(document, separators=(",", ":"))
    assert policy_size("s3", document) == len(text.encode()) == len(text)
    assert policy_size("secretsmanager", document) == len(text)
    pretty = json.dumps(document, indent=4)
    assert policy_size("s3", document) < len(pretty)


def test_policy_size_counts_bytes_or_characters_per_service():
    # Non-ASCII text is written escaped (\u00e9), six bytes and six characters: both the same.
    document = {"Version": "2012-10-17", "Statement": [portal() | {"Sid": "Caf\u00e9"}]}
    text = policy_text(document)
    assert "\\u00e9" in text
    assert policy_size("kms", document) == policy_size("secretsmanager", document) == len(text)


def test_policy_too_large_names_the_size_and_the_limit():
    small = statement_put(None, portal())
    assert policy_too_large("sqs", small) is None
    big = {"Version": "2012-10-17", "Statement": [portal(f"PortalAccess{i}") for i in range(80)]}
    size = policy_size("sqs", big)
    assert 8192 < size < 20480
    message = policy_too_large("sqs", big)
    assert message is not None
    assert f"{size:,} bytes" in message and "8,192" in message
    assert policy_too_large("s3", big) is None
    assert "characters" in policy_too_large("secretsmanager", {"Sid": "x" * 20481})


def test_exactly_at_the_limit_fits():
    base = {"Sid": ""}
    filler = SIZE_LIMITS["sqs"] - policy_size("sqs", base)
    exact = {"Sid": "x" * filler}
    assert policy_size("sqs", exact) == 8192
    assert policy_too_large("sqs", exact) is None
    assert policy_too_large("sqs", {"Sid": "x" * (filler + 1)}) is not None


# --- holders -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("arn:aws:s3:::mybucket", PolicyHolder("s3", "arn:aws:s3:::mybucket", "", "", "mybucket")),
        (
            "arn:aws:s3:::mybucket/reports/*",
            PolicyHolder("s3", "arn:aws:s3:::mybucket", "", "", "mybucket"),
        ),
        (
            "arn:aws:s3:::mybucket/a/b.csv",
            PolicyHolder("s3", "arn:aws:s3:::mybucket", "", "", "mybucket"),
        ),
        (QUEUE, PolicyHolder("sqs", QUEUE, "999999999999", "eu-central-1", "myqueue")),
        (TOPIC, PolicyHolder("sns", TOPIC, "999999999999", "eu-central-1", TOPIC)),
        (
            KEY,
            PolicyHolder(
                "kms", KEY, "999999999999", "eu-central-1", "1234abcd-12ab-34cd-56ef-1234567890ab"
            ),
        ),
        (SECRET, PolicyHolder("secretsmanager", SECRET, "999999999999", "eu-central-1", SECRET)),
        (TABLE, PolicyHolder("dynamodb", TABLE, "999999999999", "eu-central-1", "MyTable")),
        (
            TABLE + "/index/ByName",
            PolicyHolder("dynamodb", TABLE, "999999999999", "eu-central-1", "MyTable"),
        ),
        (FUNCTION, PolicyHolder("lambda", FUNCTION, "999999999999", "eu-central-1", "my-function")),
    ],
)
def test_holder_for_every_service(resource, expected):
    assert holder_for(resource) == expected


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:iam::999999999999:role/MyRole",  # IAM roles: trust policies, not this mechanism
        "arn:aws:ec2:eu-central-1:999999999999:instance/i-0123456789abcdef0",
        "arn:aws:s3:eu-central-1:999999999999:MyBucket/*",  # the article's wrong S3 ARN
        "arn:aws:s3:::MyBucket/*",  # bucket names are lower case
        "arn:aws:s3:::my*/*",  # not one bucket
        "arn:aws:sqs:eu-central-1:999999999999:*",
        "arn:aws:sqs:eu-central-1:99999:myqueue",  # account of the wrong shape
        "arn:aws:sns:eu-central-1:999999999999:mytopic:0f3c1a2b-sub",  # a subscription
        "arn:aws:kms:eu-central-1:999999999999:alias/mykey",  # an alias carries no key policy
        "arn:aws:kms:eu-central-1:999999999999:key/*",
        "arn:aws:secretsmanager:eu-central-1:999999999999:secret:mysecret-??????",
        "arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable/stream/2026-11-01T00:00:00.000",
        "arn:aws:dynamodb:eu-central-1:999999999999:table/*",
        "arn:aws:dynamodb:eu-central-1::table/MyTable",
        FUNCTION + ":prod",  # a qualified function has a policy of its own
        "arn:aws:dynamodb:eu-central-1:999999999999:role/MyTableCrossAccount",  # the article's
        "not an arn",
        "*",
    ],
)
def test_holder_for_unsupported_resources_is_none(resource):
    assert holder_for(resource) is None


def test_holder_shared_needs_one_holder_for_all():
    objects = ["arn:aws:s3:::mybucket", "arn:aws:s3:::mybucket/reports/*"]
    assert holder_shared(objects) == holder_for("arn:aws:s3:::mybucket")
    assert holder_shared([TABLE, TABLE + "/index/ByName"]) == holder_for(TABLE)
    assert holder_shared([*objects, "arn:aws:s3:::otherbucket/*"]) is None
    assert holder_shared([TABLE, QUEUE]) is None
    assert holder_shared(["arn:aws:iam::999999999999:role/MyRole"]) is None
    assert holder_shared([]) is None


# --- the portal's statement --------------------------------------------------------------------


def statement_for(resource: str, actions: list[str], resources: list[str] | None = None) -> dict:
    return resource_statement(
        holder=holder_for(resource),
        sid="PortalAccess12",
        principal=ROOT,
        actions=actions,
        resources=resources if resources is not None else [resource],
    )


def test_s3_statement_names_the_requested_bucket_and_objects():
    resources = ["arn:aws:s3:::mybucket", "arn:aws:s3:::mybucket/reports/*"]
    statement = statement_for(resources[0], ["s3:ListBucket", "s3:GetObject"], resources)
    assert statement == {
        "Sid": "PortalAccess12",
        "Effect": "Allow",
        "Principal": {"AWS": ROOT},
        "Action": ["s3:ListBucket", "s3:GetObject"],
        "Resource": resources,
    }
    one = statement_for("arn:aws:s3:::mybucket/reports/*", ["s3:GetObject"])
    assert one["Action"] == "s3:GetObject"
    assert one["Resource"] == "arn:aws:s3:::mybucket/reports/*"


@pytest.mark.parametrize(
    ("resource", "action", "expected"),
    [
        (QUEUE, "sqs:SendMessage", QUEUE),
        (TOPIC, "sns:Publish", TOPIC),
        (KEY, "kms:Decrypt", "*"),
        (SECRET, "secretsmanager:GetSecretValue", "*"),
        (TABLE, "dynamodb:GetItem", TABLE),
        (FUNCTION, "lambda:InvokeFunction", FUNCTION),
    ],
)
def test_statement_resource_follows_each_services_convention(resource, action, expected):
    statement = statement_for(resource, [action])
    assert statement["Resource"] == expected
    assert statement["Principal"] == {"AWS": ROOT}
    assert statement["Action"] == action
    assert statement["Effect"] == "Allow"


def test_dynamodb_statement_names_table_and_index():
    index = TABLE + "/index/ByName"
    statement = statement_for(TABLE, ["dynamodb:Query"], [TABLE, index, TABLE])
    assert statement["Resource"] == [TABLE, index]


def test_statement_refuses_resources_outside_the_holder():
    with pytest.raises(ValueError, match="otherbucket"):
        statement_for("arn:aws:s3:::mybucket", ["s3:GetObject"], ["arn:aws:s3:::otherbucket/*"])
    with pytest.raises(ValueError):
        statement_for(QUEUE, ["sqs:SendMessage"], [QUEUE.replace("myqueue", "other")])


def test_lambda_statement_takes_one_action():
    with pytest.raises(ValueError, match="one action"):
        statement_for(FUNCTION, ["lambda:InvokeFunction", "lambda:GetFunction"])


def test_statement_needs_a_sid_and_actions():
    holder = holder_for(QUEUE)
    with pytest.raises(ValueError):
        resource_statement(
            holder=holder, sid="", principal=ROOT, actions=["sqs:SendMessage"], resources=[QUEUE]
        )
    with pytest.raises(ValueError):
        resource_statement(holder=holder, sid="P1", principal=ROOT, actions=[], resources=[QUEUE])
