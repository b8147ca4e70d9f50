"""The request wizard's endpoints: who may call them, what they answer, bounded and with a
constant number of queries; the on-demand and periodic inventory syncs through a real worker."""

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, Resource
from tests.support import wait_until

TABLE = "arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"
ORDERS = "arn:aws:dynamodb:eu-central-1:222222222222:table/Orders"
RESOURCES = reverse("wizard_resources")
ACTIONS = reverse("wizard_actions")
REFRESH = reverse("wizard_inventory_refresh")
JSON = {"HTTP_ACCEPT": "application/json"}


def add_tables(account: Account, count: int, start: int = 0) -> None:
    Resource.objects.bulk_create(
        Resource(
            account=account,
            kind=Resource.Kind.DYNAMODB_TABLE,
            arn=f"arn:aws:dynamodb:eu-central-1:{account.account_id}:table/Table{i:04}",
            name=f"Table{i:04}",
            region="eu-central-1",
            seen_at="2026-11-01T00:00:00Z",
        )
        for i in range(start, start + count)
    )


@pytest.fixture
def alice(demo, client):
    client.force_login(demo.alice)
    return client


@pytest.mark.django_db
def test_anonymous_callers_are_refused(demo):
    anonymous = Client()
    assert anonymous.get(RESOURCES, {"account": "999999999999"}).status_code == 401
    assert anonymous.get(ACTIONS, {"resources": TABLE}).status_code == 401
    assert anonymous.post(REFRESH, {"account": "999999999999"}, **JSON).status_code == 401
    plain = anonymous.post(REFRESH, {"account": "999999999999"})
    assert plain.status_code == 302 and plain["Location"].startswith(reverse("login"))
    assert not Account.objects.exclude(inventory_requested_at=None).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("account", ["333333333333", "444444444444", "99999999999x", ""])
def test_only_accounts_one_can_request_into(alice, account):
    """The vendor account is not managed: nobody requests into it, so its inventory is not
    shown; unknown and malformed ids are refused the same way."""
    assert alice.get(RESOURCES, {"account": account, "q": "a"}).status_code == 404
    assert alice.post(REFRESH, {"account": account}, **JSON).status_code == 404


@pytest.mark.django_db
def test_refresh_needs_the_csrf_token(demo):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(demo.alice)
    assert browser.post(REFRESH, {"account": "999999999999"}, **JSON).status_code == 403


@pytest.mark.django_db
def test_resources_are_capped_and_found_with_constant_queries(alice, demo):
    add_tables(demo.data, 3)
    add_tables(demo.prod, 3)
    with CaptureQueriesContext(connection) as few:
        answer = alice.get(RESOURCES, {"account": "999999999999", "q": "table"}).json()
    assert [r["name"] for r in answer["results"]] == ["Table0000", "Table0001", "Table0002"]
    assert answer["results"][0] == {
        "arn": "arn:aws:dynamodb:eu-central-1:999999999999:table/Table0000",
        "name": "Table0000",
        "kind": "dynamodb_table",
        "kind_label": "DynamoDB table",
        "region": "eu-central-1",
    }
    assert answer["inventory"]["synced_at"] is None

    add_tables(demo.data, 500, start=3)
    with CaptureQueriesContext(connection) as many:
        answer = alice.get(RESOURCES, {"account": "999999999999", "q": "table"}).json()
    assert len(answer["results"]) == 20
    assert len(many) == len(few)
    long_query = alice.get(RESOURCES, {"account": "999999999999", "q": "x" * 5000})
    assert long_query.status_code == 200 and long_query.json()["results"] == []


@pytest.mark.django_db
def test_actions_by_access_level_with_the_common_reads_as_one_set(alice):
    """Least privilege by default: of a table's 16 Read actions only the three common data-plane
    reads are offered as one set; the others are listed to be chosen one by one."""
    answer = alice.get(ACTIONS, {"resources": TABLE}).json()
    assert "preselect" not in answer
    levels = [group["level"] for group in answer["groups"]]
    assert levels[0] == "Read" and "Write" in levels
    assert set(levels) <= {"Read", "Write", "List", "Permissions management", "Tagging"}
    read = {a["action"]: a for a in answer["groups"][0]["actions"]}
    assert len(read) == 16  # dynamodb:SearchVectors (2026) among them
    assert answer["common_reads"] == ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"]
    assert {name for name, a in read.items() if a["common"]} == set(answer["common_reads"])
    assert not read["dynamodb:Scan"]["common"]
    # Only actions that take the table: ListTables takes no resource.
    every = {a["action"] for group in answer["groups"] for a in group["actions"]}
    assert "dynamodb:ListTables" not in every
    assert sum(len(group["actions"]) for group in answer["groups"]) <= 60

    typed = alice.get(ACTIONS, {"q": "sqs:SendMess"}).json()
    # SendMessageBatch is authorized as sqs:SendMessage: IAM has no action of its own for it.
    assert [a["action"] for g in typed["groups"] for a in g["actions"]] == ["sqs:SendMessage"]
    assert typed["groups"][0]["level"] == "Write"
    assert alice.get(ACTIONS, {"q": "GetItem"}).json()["hint"].startswith("Pick a resource")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("resources", "common"),
    [
        (["arn:aws:s3:::mybucket"], ["s3:ListBucket"]),
        (["arn:aws:s3:::mybucket/*"], ["s3:GetObject"]),
        (
            ["arn:aws:sqs:eu-central-1:999999999999:orders"],
            ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
        ),
        (["arn:aws:sns:eu-central-1:999999999999:alerts"], ["sns:GetTopicAttributes"]),
        (
            ["arn:aws:kms:eu-central-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
            ["kms:Decrypt", "kms:DescribeKey"],
        ),
        (
            ["arn:aws:secretsmanager:eu-central-1:999999999999:secret:db-AbCdEf"],
            ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
        ),
    ],
)
def test_each_inventory_kind_has_a_small_set_of_common_reads(alice, resources, common):
    """Each only where it takes the resource: ListBucket the bucket, GetObject its objects."""
    answer = alice.get(ACTIONS, {"resources": "\n".join(resources)}).json()
    assert answer["common_reads"] == common


@pytest.mark.django_db
def test_scp_denied_reads_are_left_out_of_the_common_set_and_named(alice, demo):
    """The demo organization denies dynamodb:Scan in its prod OU (README)."""
    answer = alice.get(
        ACTIONS, {"resources": ORDERS, "source": "111111111111", "target": "222222222222"}
    ).json()
    assert "dynamodb:Scan" not in answer["common_reads"]
    assert "dynamodb:GetItem" in answer["common_reads"]
    assert answer["denied"] == {"dynamodb:Scan": "DenyProdTableScans"}
    [scan] = [a for g in answer["groups"] for a in g["actions"] if a["action"] == "dynamodb:Scan"]
    assert scan["denied_by"] == "DenyProdTableScans"


@pytest.mark.django_db
def test_actions_answer_with_constant_queries(alice):
    params = {"source": "111111111111", "target": "222222222222"}
    with CaptureQueriesContext(connection) as one:
        alice.get(ACTIONS, {**params, "resources": ORDERS})
    many = "\n".join([ORDERS, *(f"{ORDERS}{i}" for i in range(40))])
    with CaptureQueriesContext(connection) as forty:
        alice.get(ACTIONS, {**params, "resources": many, "q": "Get"})
    assert len(forty) == len(one)


def test_refresh_queues_a_sync_that_the_worker_runs(aws_demo, worker):
    client = Client()
    client.force_login(aws_demo.alice)
    answer = client.post(REFRESH, {"account": "999999999999"}, **JSON)
    assert answer.status_code == 202 and answer.json()["queued"] is True

    def synced() -> bool:
        return Account.objects.get(account_id="999999999999").inventory_synced_at is not None

    wait_until(synced, timeout=60, what="the worker to sync the inventory")
    names = set(Resource.objects.filter(account=aws_demo.data).values_list("name", flat=True))
    assert {"MyTable", "mybucket", "myqueue", "mytopic", "alias/mykey", "mysecret"} <= names
    # Clicking again at once queues nothing more.
    again = client.post(REFRESH, {"account": "999999999999"}, **JSON)
    assert again.status_code == 202 and again.json()["queued"] is False
    # Without JavaScript the form post comes back to the wizard for that account.
    plain = client.post(REFRESH, {"account": "999999999999"})
    assert plain.status_code == 302 and plain["Location"].endswith("?target_account=999999999999")


def test_the_periodic_sync_covers_every_managed_account(aws_demo, worker):
    from accounts.tasks import inventories_sync_task
    from portal.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["inventory-sync"]
    assert entry["schedule"] == 900.0
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks  # autodiscovered from accounts/tasks.py

    inventories_sync_task.delay()
    managed = Account.objects.filter(managed=True).exclude(provisioner_role_arn="")

    def all_synced() -> bool:
        return not managed.filter(inventory_synced_at=None).exists()

    wait_until(all_synced, timeout=60, what="every managed account's inventory")
    prod = set(Resource.objects.filter(account=aws_demo.prod).values_list("arn", flat=True))
    assert {ORDERS, "arn:aws:s3:::prod-reports"} <= prod
    assert not Resource.objects.filter(account__managed=False).exists()
