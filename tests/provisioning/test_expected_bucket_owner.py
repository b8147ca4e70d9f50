"""Every S3 call the portal makes on a bucket it has proven to be the target account's names that
owner (ExpectedBucketOwner), so a bucket that changed hands since is refused by AWS, never read or
written. The emulator ignores the parameter; the calls themselves are recorded here, from the real
boto3 clients the adapter builds."""

import boto3
import pytest

import aws.core
from access_requests.services import access_request_approve
from provisioning import services
from provisioning.models import Grant
from tests.factories import submitted

DATA = "999999999999"
ANALYST = "arn:aws:iam::111111111111:role/DataAnalyst"


@pytest.fixture
def s3_calls(monkeypatch):
    """(operation, Bucket, ExpectedBucketOwner) of every S3 call made from now on."""
    calls: list[tuple[str, str, str | None]] = []
    session = boto3.session.Session()

    def record(params, model, **_):
        calls.append((model.name, params.get("Bucket", ""), params.get("ExpectedBucketOwner")))

    session.events.register("provide-client-params.s3", record)
    monkeypatch.setattr(aws.core, "_shared_session", session)
    monkeypatch.setattr(aws.core, "_clients", {})
    return calls


def _provision_and_revoke(demo, **fields) -> None:
    access_request = submitted(demo, access_via="own_identity", **fields)
    access_request_approve(access_request=access_request, approver=demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    services.grant_provision(grant_id=grant.pk)
    access_request.refresh_from_db()
    assert access_request.status == "active", grant.last_error
    services.grant_revoke_request(grant=grant, user=demo.alice)
    services.grant_revoke(grant_id=grant.pk)
    access_request.refresh_from_db()
    assert access_request.status == "revoked"


@pytest.mark.parametrize(
    "fields",
    [
        {"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::mybucket/*"]},
        {
            "source_principal": ANALYST,
            "actions": ["s3:GetObject"],
            "resources": ["arn:aws:s3:::mybucket/incoming/from-dev.csv"],
            "mechanism": "acl",
        },
    ],
    ids=["bucket-policy", "object-acl"],
)
def test_every_call_on_the_bucket_names_its_proven_owner(aws_demo, s3_calls, fields):
    _provision_and_revoke(aws_demo, **fields)
    on_the_bucket = [call for call in s3_calls if call[1] == "mybucket"]
    assert on_the_bucket, s3_calls
    assert {owner for _operation, _bucket, owner in on_the_bucket} == {DATA}, on_the_bucket
    written = {operation for operation, _bucket, _owner in on_the_bucket}
    assert written & {"PutBucketPolicy", "PutObjectAcl"}
