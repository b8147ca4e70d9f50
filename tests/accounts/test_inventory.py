"""The inventory sync against the emulator seeded with the demo world."""

import re
import uuid

import pytest

from accounts.inventory import inventory_sync, resources_search
from accounts.models import Account, Resource
from aws import emulator_client
from aws.demo_world import DEMO_REGION

DATA = "999999999999"


def snapshot(account: Account) -> set[tuple]:
    return set(
        Resource.objects.filter(account=account).values_list("id", "kind", "arn", "name", "region")
    )


def by_name(account: Account) -> dict[str, Resource]:
    return {r.name: r for r in Resource.objects.filter(account=account)}


def test_sync_lists_the_demo_resources_with_their_arns(aws_demo):
    result = inventory_sync(account_id=aws_demo.data.pk)
    assert result.error == ""
    found = by_name(aws_demo.data)
    assert {r.kind for r in found.values()} == set(Resource.Kind.values)
    assert found["MyTable"].arn == f"arn:aws:dynamodb:eu-central-1:{DATA}:table/MyTable"
    assert found["MyTable"].kind == "dynamodb_table"
    assert found["mybucket"].arn == "arn:aws:s3:::mybucket"
    assert found["mybucket"].region == DEMO_REGION
    assert found["myqueue"].arn == f"arn:aws:sqs:eu-central-1:{DATA}:myqueue"
    assert found["mytopic"].arn == f"arn:aws:sns:eu-central-1:{DATA}:mytopic"
    assert found["mysecret"].kind == "secret"
    assert re.fullmatch(
        rf"arn:aws:secretsmanager:eu-central-1:{DATA}:secret:mysecret-[A-Za-z0-9]{{6}}",
        found["mysecret"].arn,
    )
    key = found["alias/mykey"]
    kms = emulator_client("kms", account_id=DATA, region=DEMO_REGION)
    key_id = kms.describe_key(KeyId="alias/mykey")["KeyMetadata"]["KeyId"]
    assert key.arn == f"arn:aws:kms:eu-central-1:{DATA}:key/{key_id}"
    # Only this account's resources: prod's table and bucket are not here.
    assert "Orders" not in found and "prod-reports" not in found
    aws_demo.data.refresh_from_db()
    assert aws_demo.data.inventory_synced_at is not None
    assert aws_demo.data.inventory_error == ""


def test_a_vanished_resource_is_removed_and_the_others_kept(aws_demo):
    sqs = emulator_client("sqs", account_id=DATA, region=DEMO_REGION)
    name = f"wizard-temp-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    try:
        inventory_sync(account_id=aws_demo.data.pk)
        before = by_name(aws_demo.data)
        assert before[name].arn == f"arn:aws:sqs:eu-central-1:{DATA}:{name}"
    finally:
        sqs.delete_queue(QueueUrl=url)
    result = inventory_sync(account_id=aws_demo.data.pk)
    after = by_name(aws_demo.data)
    assert name not in after
    assert result.removed == 1
    assert after["MyTable"].pk == before["MyTable"].pk  # upserted, not recreated


def test_syncing_twice_changes_nothing(aws_demo):
    inventory_sync(account_id=aws_demo.data.pk)
    first = snapshot(aws_demo.data)
    result = inventory_sync(account_id=aws_demo.data.pk)
    assert snapshot(aws_demo.data) == first
    assert (result.added, result.removed, result.kept) == (0, 0, len(first))


def test_an_unreachable_account_records_an_error_and_keeps_its_last_list(aws_demo, settings):
    """AWS does not answer (here: nothing listens where the endpoint points). The emulator
    takes any role in any account, so an unknown account alone would not fail there."""
    ghost = Account.objects.create(
        account_id="444444444444",
        name="ghost",
        managed=True,
        provisioner_role_arn=f"arn:aws:iam::444444444444:role/Gone{uuid.uuid4().hex[:8]}",
    )
    kept = Resource.objects.create(
        account=ghost,
        kind=Resource.Kind.S3_BUCKET,
        arn="arn:aws:s3:::ghost-bucket",
        name="ghost-bucket",
        seen_at="2026-11-01T00:00:00Z",
    )
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"
    result = inventory_sync(account_id=ghost.pk)  # never raises
    assert result.error and result.retryable
    ghost.refresh_from_db()
    assert ghost.inventory_error == result.error
    assert "did not answer" in ghost.inventory_error
    assert ghost.inventory_synced_at is None
    assert list(Resource.objects.filter(account=ghost)) == [kept]


def test_an_account_without_a_provisioner_role_says_so(demo):
    vendor = Account.objects.get(account_id="333333333333")
    vendor.managed, vendor.provisioner_role_arn = True, ""
    vendor.save()
    result = inventory_sync(account_id=vendor.pk)
    vendor.refresh_from_db()
    assert vendor.inventory_error == result.error
    assert "has no provisioner role" in vendor.inventory_error


def test_search_puts_names_that_start_with_the_query_first_and_is_capped(demo):
    for index in range(30):
        Resource.objects.create(
            account=demo.data,
            kind=Resource.Kind.DYNAMODB_TABLE,
            arn=f"arn:aws:dynamodb:eu-central-1:{DATA}:table/Archive{index:02}MyT",
            name=f"Archive{index:02}MyT",
            seen_at="2026-11-01T00:00:00Z",
        )
    Resource.objects.create(
        account=demo.data,
        kind=Resource.Kind.DYNAMODB_TABLE,
        arn=f"arn:aws:dynamodb:eu-central-1:{DATA}:table/MyTable",
        name="MyTable",
        seen_at="2026-11-01T00:00:00Z",
    )
    found = resources_search(account=demo.data, query="myt", limit=10)
    assert len(found) == 10
    assert found[0].name == "MyTable"
    assert resources_search(account=demo.prod, query="myt") == []


def test_admins_see_the_inventory_read_only(aws_demo, client):
    inventory_sync(account_id=aws_demo.data.pk)
    client.force_login(aws_demo.admin)
    listing = client.get("/admin/accounts/resource/?q=MyTable")
    assert listing.status_code == 200
    assert "MyTable" in listing.text
    assert client.get("/admin/accounts/resource/add/").status_code == 403
    account_page = client.get(f"/admin/accounts/account/{aws_demo.data.pk}/change/")
    assert account_page.status_code == 200
    assert "Resource inventory" in account_page.text


pytestmark = pytest.mark.django_db
