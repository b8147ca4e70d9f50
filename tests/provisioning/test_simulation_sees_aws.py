"""The request's "Will this work?" sees what AWS will see (issue 19, SPEC 10.5): the target
resource's own policy (a Deny in the bucket policy, a KMS key policy that does not enable IAM
policies), the source principal's permissions boundary, the target account's RCPs, a source-side
policy the portal only shows as absent, and each account's SCPs binding only its own principals;
each blocked check names the layer. Against the emulator's demo world; what a test changes there
it puts back."""

import json
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from access_requests.services import access_request_approve
from accounts.models import ResourceControlPolicy, ServiceControlPolicy
from aws import emulator_client
from core.errors import ServiceError
from policy.resource_policies import statement_put, statement_remove
from provisioning import services
from provisioning.models import Grant
from tests.factories import submitted

SOURCE = "111111111111"
TARGET = "999999999999"
ANALYST = f"arn:aws:iam::{SOURCE}:role/DataAnalyst"
OBJECTS = "arn:aws:s3:::mybucket/*"
S3_OWN = {
    "access_via": "own_identity",
    "source_principal": ANALYST,
    "actions": ["s3:GetObject"],
    "resources": [OBJECTS],
}
DENY_OUTSIDERS = {
    "Sid": "DenyOutsideReads",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:GetObject",
    "Resource": OBJECTS,
    "Condition": {"StringNotEquals": {"aws:PrincipalAccount": TARGET}},
}


@pytest.fixture
def bucket_deny(aws_demo):
    """mybucket's policy with a Deny for every principal of another account, as its owners wrote
    it; the policy as it was afterwards."""
    s3 = emulator_client("s3", account_id=TARGET)
    before = json.loads(s3.get_bucket_policy(Bucket="mybucket")["Policy"])
    s3.put_bucket_policy(
        Bucket="mybucket", Policy=json.dumps(statement_put(before, DENY_OUTSIDERS))
    )
    yield
    now = json.loads(s3.get_bucket_policy(Bucket="mybucket")["Policy"])
    s3.put_bucket_policy(
        Bucket="mybucket", Policy=json.dumps(statement_remove(now, DENY_OUTSIDERS["Sid"]))
    )


def _failing(simulation):
    return [check for check in simulation["checks"] if check["decision"] != "Allowed"]


def test_a_deny_in_the_bucket_policy_blocks_a_resource_policy_grant(bucket_deny, aws_demo):
    access_request = submitted(aws_demo, **S3_OWN)
    assert access_request.mechanism == "resource_policy"
    simulation = access_request.simulation
    assert simulation["decision"] == "ExplicitlyDenied"
    assert simulation["blocked_by"] == "the resource's policy (DenyOutsideReads)"
    (check,) = _failing(simulation)
    resource_layer = next(layer for layer in check["layers"] if layer["layer"] == "resource")
    # The owners' statements, the portal's and theirs, evaluated together.
    assert resource_layer["statements"] == ["DenyOutsideReads"]


def test_the_request_page_names_the_blocking_layer(bucket_deny, aws_demo):
    access_request = submitted(aws_demo, **S3_OWN)
    client = Client()
    client.force_login(aws_demo.bob)
    page = client.get(reverse("request_detail", args=[access_request.pk])).content.decode()
    assert "No: explicitly denied" in page
    assert "Blocked by the resource&#x27;s policy (DenyOutsideReads)." in page


def test_the_same_deny_spares_a_role_in_the_target_account(bucket_deny, aws_demo):
    """The Deny names principals of other accounts: the granted role's sessions are the target
    account's own, so the bucket policy was read and let them through."""
    access_request = submitted(aws_demo, actions=["s3:GetObject"], resources=[OBJECTS])
    assert access_request.mechanism == "assume_role"
    assert access_request.simulation["decision"] == "Allowed", _failing(access_request.simulation)


def test_a_key_policy_that_does_not_enable_iam_policies_blocks_the_role(aws_demo):
    kms = emulator_client("kms", account_id=TARGET)
    admins_only = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "KeyAdminsOnly",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{TARGET}:role/PortalProvisioner"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    locked = kms.create_key(
        Description=f"no IAM delegation {uuid.uuid4().hex[:6]}", Policy=json.dumps(admins_only)
    )["KeyMetadata"]["Arn"]
    open_key = kms.create_key(Description=f"default key policy {uuid.uuid4().hex[:6]}")[
        "KeyMetadata"
    ]["Arn"]
    # Both keys stay behind (the emulator answers ScheduleKeyDeletion with a 500): new keys with
    # random ids, which nothing else looks at.
    denied = submitted(aws_demo, actions=["kms:Decrypt"], resources=[locked])
    assert denied.simulation["decision"] == "ImplicitlyDenied"
    (check,) = _failing(denied.simulation)
    assert check["resource"] == locked
    assert check["blocked_by"] == "the resource's policy"
    assert "key policy does not allow" in check["explanation"]
    # The default key policy enables IAM policies for the account: the role's inline policy
    # then decides.
    allowed = submitted(aws_demo, actions=["kms:Decrypt"], resources=[open_key])
    assert allowed.simulation["decision"] == "Allowed", _failing(allowed.simulation)


def test_the_source_principals_permissions_boundary_is_seen(aws_demo):
    iam = emulator_client("iam", account_id=SOURCE, region="us-east-1")
    name = f"OnlyDynamoDB-{uuid.uuid4().hex[:6]}"
    boundary = iam.create_policy(
        PolicyName=name,
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    iam.put_role_permissions_boundary(RoleName="DataAnalyst", PermissionsBoundary=boundary)
    try:
        access_request = submitted(aws_demo, **S3_OWN)
        assert access_request.simulation["decision"] == "ImplicitlyDenied"
        assert access_request.simulation["blocked_by"] == "the caller's permissions boundary"
    finally:
        iam.delete_role_permissions_boundary(RoleName="DataAnalyst")
        iam.delete_policy(PolicyArn=boundary)


def test_the_target_accounts_rcps_apply_to_every_caller(aws_demo):
    ResourceControlPolicy.objects.create(
        name="DataPerimeter",
        target="ou-data",
        document={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OwnAccountOnly",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:PrincipalAccount": TARGET}},
                }
            ],
        },
    )
    access_request = submitted(aws_demo, **S3_OWN)
    assert access_request.simulation["decision"] == "ExplicitlyDenied"
    assert access_request.simulation["blocked_by"] == (
        "the resource control policies of the target account "
        "(DataPerimeter (ou-data):OwnAccountOnly)"
    )


def test_a_policy_the_portal_only_shows_is_absent_until_attached(aws_demo):
    """The account root as the principal: the source-side policy is for the source account's
    admins to attach, so before approval AWS would deny. The portal verifies what it wrote, and
    says it assumes that policy."""
    access_request = submitted(
        aws_demo, access_via="own_identity", actions=["s3:GetObject"], resources=[OBJECTS]
    )
    simulation = access_request.simulation
    assert simulation["decision"] == "ImplicitlyDenied"
    assert simulation["blocked_by"] == "the caller's identity-based policies"
    assert any("shown, not written" in note for note in simulation["notes"])

    access_request_approve(access_request=access_request, approver=aws_demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    services.grant_provision(grant_id=grant.pk)
    grant.refresh_from_db()
    verified = grant.verification["simulation"]
    assert verified["decision"] == "Allowed"
    assert any("Assumed" in note for note in verified["notes"])
    # The bucket policy as it was, for the tests after this one.
    services.grant_revoke_request(grant=grant, user=aws_demo.alice)
    services.grant_revoke(grant_id=grant.pk)
    policy = json.loads(
        emulator_client("s3", account_id=TARGET).get_bucket_policy(Bucket="mybucket")["Policy"]
    )
    assert [statement["Sid"] for statement in policy["Statement"]] == ["AuditorsReadReports"]


def test_the_target_accounts_scps_do_not_bind_a_source_principal(aws_demo):
    """An SCP on the target account denying s3:GetObject binds its own principals (a granted
    role), not the source principal using the bucket policy."""
    ServiceControlPolicy.objects.create(
        name="NoObjectReads",
        target=TARGET,
        document={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}],
        },
    )
    through_policy = submitted(aws_demo, **S3_OWN)
    assert through_policy.mechanism == "resource_policy"
    assert through_policy.simulation["decision"] == "Allowed"
    assert any("not the source principal" in r for r in through_policy.recommendation_reasons)

    # A role in the target account is bound by it: that mechanism is refused, naming the SCP.
    with pytest.raises(ServiceError) as refused:
        submitted(aws_demo, **dict(S3_OWN, mechanism="assume_role"))
    (message,) = refused.value.field_errors["mechanism"]
    assert f"NoObjectReads ({TARGET}) denies s3:GetObject in data" in message


def test_an_allow_list_scp_is_named_like_a_deny_list_one(aws_demo):
    """The target's OU allows only DynamoDB (an allow-list SCP in place of FullAWSAccess): a role
    there cannot read S3, and the refusal names the SCP as it would name a Deny; the source
    principal using the bucket policy is not bound by it."""
    ServiceControlPolicy.objects.filter(target="ou-data", name="FullAWSAccess").delete()
    ServiceControlPolicy.objects.create(
        name="DynamoDBOnly",
        target="ou-data",
        document={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}],
        },
    )
    with pytest.raises(ServiceError) as refused:
        submitted(aws_demo, **dict(S3_OWN, mechanism="assume_role"))
    (message,) = refused.value.field_errors["mechanism"]
    assert "DynamoDBOnly (ou-data) does not allow s3:GetObject in data" in message
    assert submitted(aws_demo, **S3_OWN).simulation["decision"] == "Allowed"


PERIMETER = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "OrgOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {
                "StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-demo"},
                "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
            },
        }
    ],
}


def test_a_data_perimeter_rcp_lets_the_organizations_principals_in(aws_demo):
    """The data-perimeter RCP of AWS's examples: the simulation gives each account's principals
    the aws:PrincipalOrgID AWS gives them, so the organization's own source principal passes and
    one from outside the organization (the vendor) does not."""
    ResourceControlPolicy.objects.create(name="DataPerimeter", target="r-demo", document=PERIMETER)
    inside = submitted(aws_demo, **S3_OWN)
    assert inside.simulation["decision"] == "Allowed", _failing(inside.simulation)
    outside = submitted(
        aws_demo,
        **dict(
            S3_OWN,
            source_account=aws_demo.vendor,
            source_principal="arn:aws:iam::333333333333:role/Etl",
            third_party=True,
            external_id="vendor-etl-7",
        ),
    )
    assert outside.simulation["decision"] == "ExplicitlyDenied"
    assert outside.simulation["blocked_by"] == (
        "the resource control policies of the target account (DataPerimeter (r-demo):OrgOnly)"
    )
