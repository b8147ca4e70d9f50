"""The article's second and third scenarios, and every resource-policy service, end to end with a
real worker: granted, verified, and revoked exactly."""

import json

import pytest

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from aws import emulator_client
from provisioning.models import Grant
from provisioning.services import grant_revoke_request
from tests.factories import submitted
from tests.support import wait_until

DATA = "999999999999"
ANALYST = "arn:aws:iam::111111111111:role/DataAnalyst"


def _client(emulator, service: str, account_id: str, region: str = "eu-central-1"):
    return emulator_client(service, account_id=account_id, region=region)


def _status(access_request: AccessRequest) -> str:
    access_request.refresh_from_db()
    return access_request.status


def _grant_and_activate(demo, **fields) -> AccessRequest:
    access_request = submitted(
        demo,
        access_via="own_identity",
        justification="cross-account read, as in the article",
        **fields,
    )
    access_request_approve(access_request=access_request, approver=demo.bob)
    wait_until(lambda: _status(access_request) in ("active", "failed"), what="provisioning")
    grant = Grant.objects.get(access_request=access_request)
    assert _status(access_request) == "active", grant.last_error
    return access_request


def _revoke(demo, access_request: AccessRequest) -> None:
    grant_revoke_request(grant=access_request.grant, user=demo.alice)
    wait_until(lambda: _status(access_request) == "revoked", what="the revoke")


def _bucket_policy(emulator) -> dict | None:
    s3 = _client(emulator, "s3", DATA)
    try:
        return json.loads(s3.get_bucket_policy(Bucket="mybucket")["Policy"])
    except s3.exceptions.ClientError:
        return None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("principal", ["", ANALYST])
def test_article_scenario_two_bucket_policy(aws_demo, worker, emulator, principal):
    before = _bucket_policy(emulator)
    assert [s["Sid"] for s in before["Statement"]] == ["AuditorsReadReports"]

    access_request = _grant_and_activate(
        aws_demo,
        source_principal=principal,
        actions=["s3:GetObject"],
        resources=["arn:aws:s3:::mybucket/*"],
    )
    assert access_request.recommended_mechanism == "resource_policy"
    assert "easiest option" in " ".join(access_request.recommendation_reasons)

    after = _bucket_policy(emulator)
    sid = f"PortalAccess{access_request.pk}"
    assert after["Statement"][0] == before["Statement"][0]
    assert [s["Sid"] for s in after["Statement"]] == ["AuditorsReadReports", sid]
    ours = after["Statement"][1]
    assert ours["Principal"] == {"AWS": principal or "arn:aws:iam::111111111111:root"}
    assert ours["Action"] == "s3:GetObject"
    assert ours["Resource"] == "arn:aws:s3:::mybucket/*"

    iam_source = _client(emulator, "iam", "111111111111", "us-east-1")
    source_document = access_request.documents["source_identity_policy"]
    if principal:
        assert source_document["written_by_portal"]
        policy = iam_source.get_role_policy(
            RoleName="DataAnalyst", PolicyName=f"portal-access-{access_request.pk}"
        )
        assert policy["PolicyDocument"]["Statement"][0]["Resource"] == "arn:aws:s3:::mybucket/*"
    else:
        assert not source_document["written_by_portal"]
        assert "administrators" in source_document["where"]

    _revoke(aws_demo, access_request)
    assert _bucket_policy(emulator) == before
    if principal:
        names = iam_source.list_role_policies(RoleName="DataAnalyst")["PolicyNames"]
        assert f"portal-access-{access_request.pk}" not in names


@pytest.mark.django_db(transaction=True)
def test_a_bucket_policy_near_the_size_limit_is_refused_and_nothing_written(
    aws_demo, worker, emulator
):
    s3 = _client(emulator, "s3", DATA)
    original = s3.get_bucket_policy(Bucket="mybucket")["Policy"]
    padded = json.loads(original)
    filler = {
        "Sid": "Filler",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
        "Action": "s3:GetObject",
        "Resource": [f"arn:aws:s3:::mybucket/archive/{i:05}/*" for i in range(495)],
    }
    padded["Statement"].append(filler)
    text = json.dumps(padded, separators=(",", ":"))
    assert 19_800 < len(text.encode()) <= 20_480
    s3.put_bucket_policy(Bucket="mybucket", Policy=text)
    try:
        access_request = submitted(
            aws_demo,
            access_via="own_identity",
            actions=["s3:GetObject", "s3:GetObjectVersion"],
            resources=[f"arn:aws:s3:::mybucket/team-{i}/*" for i in range(12)],
            justification="near the limit",
        )
        access_request_approve(access_request=access_request, approver=aws_demo.bob)
        wait_until(lambda: _status(access_request) == "failed", what="the refusal")
        grant = Grant.objects.get(access_request=access_request)
        assert "allows 20,480" in grant.last_error
        assert "Nothing was written" in grant.last_error
        assert s3.get_bucket_policy(Bucket="mybucket")["Policy"] == text
    finally:
        s3.put_bucket_policy(Bucket="mybucket", Policy=original)


SERVICE_CASES = {
    "sqs": (["sqs:SendMessage", "sqs:ReceiveMessage"], f"arn:aws:sqs:eu-central-1:{DATA}:myqueue"),
    "sns": (["sns:Publish"], f"arn:aws:sns:eu-central-1:{DATA}:mytopic"),
    "secretsmanager": (["secretsmanager:GetSecretValue"], None),
    "kms": (["kms:Decrypt"], None),
    "dynamodb": (["dynamodb:GetItem"], f"arn:aws:dynamodb:eu-central-1:{DATA}:table/MyTable"),
}


def _resource_arn(emulator, service: str) -> str:
    if service == "secretsmanager":
        return _client(emulator, "secretsmanager", DATA).describe_secret(SecretId="mysecret")["ARN"]
    if service == "kms":
        return _client(emulator, "kms", DATA).describe_key(KeyId="alias/mykey")["KeyMetadata"][
            "Arn"
        ]
    return SERVICE_CASES[service][1]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("service", list(SERVICE_CASES))
def test_each_resource_policy_service_is_granted_and_revoked_exactly(
    aws_demo, worker, emulator, service
):
    import aws
    from policy.resource_policies import holder_for

    resource = _resource_arn(emulator, service)
    holder = holder_for(resource)
    credentials = aws.role_credentials(f"arn:aws:iam::{DATA}:role/PortalProvisioner")
    before = aws.policy_read(credentials, holder)

    access_request = _grant_and_activate(
        aws_demo, source_principal=ANALYST, actions=SERVICE_CASES[service][0], resources=[resource]
    )
    assert access_request.mechanism == "resource_policy"
    during = aws.policy_read(credentials, holder)
    sids = [s.get("Sid") for s in during["Statement"]]
    assert sids.count(f"PortalAccess{access_request.pk}") == 1
    kept = [s for s in during["Statement"] if s.get("Sid") != f"PortalAccess{access_request.pk}"]
    assert kept == (before or {}).get("Statement", [])

    _revoke(aws_demo, access_request)
    assert aws.policy_read(credentials, holder) == before


def _object_acl(emulator, key: str) -> dict:
    acl = _client(emulator, "s3", DATA).get_object_acl(Bucket="mybucket", Key=key)
    return {
        "owner": acl["Owner"]["ID"],
        "grants": sorted(json.dumps(g, sort_keys=True) for g in acl["Grants"]),
    }


@pytest.mark.django_db(transaction=True)
def test_article_scenario_three_object_acl(aws_demo, worker, emulator):
    """An object the source account uploaded into the target's bucket, shared by an ACL grant."""
    key = "incoming/from-dev.csv"
    before = _object_acl(emulator, key)
    access_request = _grant_and_activate(
        aws_demo,
        source_principal=ANALYST,
        actions=["s3:GetObject"],
        resources=[f"arn:aws:s3:::mybucket/{key}"],
        mechanism="acl",
    )
    assert access_request.mechanism == "acl"
    grant = access_request.grant
    grant.refresh_from_db()
    (entry,) = grant.acl_grants
    assert entry["permission"] == "READ"
    assert entry["writer_account"] in ("999999999999", "111111111111")
    canonical = _client(emulator, "s3", "111111111111").list_buckets()["Owner"]["ID"]
    assert entry["grantee"] == canonical
    during = _client(emulator, "s3", DATA).get_object_acl(Bucket="mybucket", Key=key)["Grants"]
    assert {"Type": "CanonicalUser", "ID": canonical} in [
        {k: v for k, v in g["Grantee"].items() if k in ("Type", "ID")}
        for g in during
        if g["Permission"] == "READ"
    ]

    _revoke(aws_demo, access_request)
    assert _object_acl(emulator, key) == before


@pytest.mark.django_db(transaction=True)
def test_acls_off_on_a_bucket_owner_enforced_bucket_are_refused_with_advice(aws_demo, emulator):
    from core.errors import ServiceError

    s3 = _client(emulator, "s3", DATA)
    s3.create_bucket(
        Bucket="enforced-reports",
        CreateBucketConfiguration={"LocationConstraint": "eu-central-1"},
        ObjectOwnership="BucketOwnerEnforced",
    )
    s3.put_object(Bucket="enforced-reports", Key="q3.csv", Body=b"q,3\n")
    try:
        with pytest.raises(ServiceError) as refused:
            submitted(
                aws_demo,
                source_principal=ANALYST,
                access_via="own_identity",
                mechanism="acl",
                actions=["s3:GetObject"],
                resources=["arn:aws:s3:::enforced-reports/q3.csv"],
                justification="ACL on an enforced bucket",
            )
        (message,) = refused.value.field_errors["mechanism"]
        assert "BucketOwnerEnforced" in message and "bucket policy" in message
        assert AccessRequest.objects.count() == 0
    finally:
        s3.delete_object(Bucket="enforced-reports", Key="q3.csv")
        s3.delete_bucket(Bucket="enforced-reports")


S3_READ = {
    "actions": ["s3:ListBucket", "s3:GetObject"],
    "resources": ["arn:aws:s3:::mybucket", "arn:aws:s3:::mybucket/*"],
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("access_via", ["own_identity", "portal"])
def test_the_ordinary_s3_read_request_goes_active_and_is_revoked(aws_demo, worker, access_via):
    """ListBucket on the bucket and GetObject on its objects: simulated Allowed before approval
    (each action on the resources of the type it takes) and verified after provisioning. It used
    to fail verification, checking ListBucket on objects and GetObject on the bucket. With their
    own identity, engineers use their role (DataAnalyst), whose identity policy the portal writes:
    the account root's would only be shown, and AWS denies until someone attaches it
    (test_simulation_sees_aws.py)."""
    principal = {"source_principal": ANALYST} if access_via == "own_identity" else {}
    access_request = submitted(aws_demo, access_via=access_via, **principal, **S3_READ)
    checked = {(c["action"], c["resource"]) for c in access_request.simulation["checks"]}
    assert ("s3:ListBucket", "arn:aws:s3:::mybucket/*") not in checked
    assert ("s3:GetObject", "arn:aws:s3:::mybucket") not in checked
    assert access_request.simulation["decision"] == "Allowed"

    access_request_approve(access_request=access_request, approver=aws_demo.bob)
    wait_until(lambda: _status(access_request) in ("active", "failed"), what="provisioning")
    grant = Grant.objects.get(access_request=access_request)
    assert _status(access_request) == "active", grant.last_error
    assert grant.verification["simulation"]["decision"] == "Allowed"
    _revoke(aws_demo, access_request)
