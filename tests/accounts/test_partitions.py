"""Partitions and regions (SPEC 10.4): ARNs of aws-cn and aws-us-gov accounts validate and are
written in their partition; the inventory lists every region of PORTAL_REGIONS."""

import json
import uuid

import pytest
from django.contrib.auth.models import Group

from accounts.inventory import inventory_sync
from accounts.models import Account, Resource
from aws import emulator_client
from policy.arns import partition_of_arn, partition_of_region
from policy.validation import access_validate
from provisioning.writers.role import grant_boundary_arn
from tests.factories import developers_may_ask, submitted

DATA = "999999999999"


@pytest.mark.parametrize(
    ("partition", "region"), [("aws-cn", "cn-north-1"), ("aws-us-gov", "us-gov-west-1")]
)
def test_arns_of_other_partitions_validate_in_an_account_of_that_partition(partition, region):
    account = "210987654321"
    resources = [
        f"arn:{partition}:dynamodb:{region}:{account}:table/Orders",
        f"arn:{partition}:s3:::orders-{region}/*",
    ]
    actions = ["dynamodb:GetItem", "s3:GetObject"]
    check = access_validate(
        actions=actions, resources=resources, target_account_id=account, partition=partition
    )
    assert check.ok, check.errors
    assert check.resources == resources
    # The same ARNs for an account of the commercial partition: refused, with the reason.
    wrong = access_validate(actions=actions, resources=resources, target_account_id=account)
    assert f"is in the {partition} partition" in " ".join(wrong.errors["resources"])
    assert partition_of_region(region) == partition
    unknown = access_validate(
        actions=actions, resources=["arn:aws-xx:s3:::b/*"], target_account_id=account
    )
    assert "the partition is one of aws, aws-cn, aws-us-gov" in unknown.errors["resources"][0]


def test_a_request_into_an_aws_cn_account_is_written_in_its_partition(demo):
    """The documents, the role's ARN and the boundary follow the account's partition, read from
    its role ARNs (which the Organizations sync writes in the partition Organizations names)."""
    group = Group.objects.get(name="data-approvers")
    source = Account.objects.create(
        account_id="210000000001",
        name="cn-dev",
        provisioner_role_arn="arn:aws-cn:iam::210000000001:role/PortalProvisioner",
        broker_role_arn="arn:aws-cn:iam::210000000001:role/PortalBroker",
    )
    target = Account.objects.create(
        account_id="210000000002",
        name="cn-data",
        provisioner_role_arn="arn:aws-cn:iam::210000000002:role/PortalProvisioner",
        approver_group=group,
    )
    assert (source.partition, target.partition) == ("aws-cn", "aws-cn")
    assert target.root_arn == "arn:aws-cn:iam::210000000002:root"
    table = "arn:aws-cn:dynamodb:cn-north-1:210000000002:table/Orders"
    developers_may_ask(target.account_id)
    access_request = submitted(
        demo, source_account=source, target_account=target, resources=[table]
    )
    documents = access_request.documents
    written = json.dumps(documents)
    assert "arn:aws:" not in written, written
    trust = documents["trust_policy"]["document"]["Statement"][0]
    assert trust["Principal"]["AWS"] == "arn:aws-cn:iam::210000000001:role/PortalBroker"
    assert documents["trust_policy"]["where"].startswith(
        "trust policy of role arn:aws-cn:iam::210000000002:role/portal/"
    )
    assert grant_boundary_arn(target) == (
        "arn:aws-cn:iam::210000000002:policy/portal/PortalGrantBoundary"
    )
    assert partition_of_arn("arn:aws-us-gov:iam::210000000002:root") == "aws-us-gov"
    assert partition_of_arn("") == "aws"


def test_the_inventory_lists_every_region_of_portal_regions(aws_demo, settings):
    name = f"west-{uuid.uuid4().hex[:8]}"
    dynamodb = emulator_client("dynamodb", account_id=DATA, region="us-west-2")
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        settings.PORTAL_REGIONS = ["eu-central-1", "us-west-2"]
        result = inventory_sync(account_id=aws_demo.data.pk)
    finally:
        dynamodb.delete_table(TableName=name)
    assert result.error == ""
    found = Resource.objects.get(account=aws_demo.data, name=name)
    assert found.arn == f"arn:aws:dynamodb:us-west-2:{DATA}:table/{name}"
    assert found.region == "us-west-2"
    assert Resource.objects.filter(account=aws_demo.data, name="MyTable").exists()
