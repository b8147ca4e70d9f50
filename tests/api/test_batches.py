"""POST /api/v1/requests/ with `target_accounts` (SPEC 10.6): 201 {"requests": [...]}, one per
account, linked by `batch`; the list and the detail show the link; the list's queries stay flat."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access_requests.models import AccessRequest
from tests.api.conftest import SUBMIT, api_for

IN_EACH = "arn:aws:dynamodb:eu-central-1:${Account}:table/MyTable"
BATCH = {key: value for key, value in SUBMIT.items() if key != "target_account"} | {
    "target_accounts": ["999999999999", "222222222222"],
    "resources": [IN_EACH],
}


def test_several_accounts_make_one_request_each_linked_by_a_batch(demo):
    alice = api_for(demo.alice)
    response = alice.post("/api/v1/requests/", BATCH, format="json")

    assert response.status_code == 201, response.json()
    data, prod = response.json()["requests"]
    assert (data["target_account"], prod["target_account"]) == ("999999999999", "222222222222")
    assert data["resources"] == ["arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"]
    assert prod["resources"] == ["arn:aws:dynamodb:eu-central-1:222222222222:table/MyTable"]
    assert data["status"] == prod["status"] == "pending"
    assert data["batch"] and data["batch"] == prod["batch"]
    assert data["siblings"] == [
        {"id": prod["id"], "target_account": "222222222222", "status": "pending"}
    ]

    # The list shows the link, and lists a batch by its id.
    listed = alice.get(f"/api/v1/requests/?batch={data['batch']}").json()["results"]
    assert sorted(row["id"] for row in listed) == sorted([data["id"], prod["id"]])
    assert {row["batch"] for row in listed} == {data["batch"]}

    # Each is decided by its own approvers: bob's one vote approves data's, not prod's (two).
    bob = api_for(demo.bob)
    assert bob.post(f"/api/v1/requests/{data['id']}/approve/").json()["status"] == "approved"
    after = bob.post(f"/api/v1/requests/{prod['id']}/approve/").json()
    assert after["status"] == "pending"
    assert alice.get(f"/api/v1/requests/{prod['id']}/").json()["siblings"] == [
        {"id": data["id"], "target_account": "999999999999", "status": "approved"}
    ]


def test_a_refused_account_refuses_all_and_the_error_names_it(demo):
    body = BATCH | {"resources": ["arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"]}
    response = api_for(demo.alice).post("/api/v1/requests/", body, format="json")

    assert response.status_code == 400
    answer = response.json()
    assert "prod (222222222222)" in answer["detail"]
    assert all(m.startswith("prod (222222222222): ") for m in answer["resources"])
    assert AccessRequest.objects.count() == 0


def test_an_account_nobody_may_ask_for_is_a_403_naming_it(demo):
    body = BATCH | {"target_accounts": ["999999999999"], "resources": [IN_EACH]}
    response = api_for(demo.dave).post("/api/v1/requests/", body, format="json")
    assert response.status_code == 403
    assert "data (999999999999)" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"target_account": "999999999999"}, "target_account"),  # both
        ({"target_accounts": []}, "target_accounts"),
        ({"target_accounts": ["999999999999", "999999999999"]}, "target_accounts"),
        ({"target_accounts": ["12345"]}, "target_accounts"),
        ({"target_accounts": ["999999999999", "000000000001"]}, "target_accounts"),
        ({"target_accounts": "999999999999"}, "target_accounts"),
    ],
)
def test_bad_lists_of_accounts_are_a_400_on_the_field(demo, change, field):
    response = api_for(demo.alice).post("/api/v1/requests/", BATCH | change, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert AccessRequest.objects.count() == 0


def test_neither_account_is_a_400(demo):
    body = {k: v for k, v in BATCH.items() if k != "target_accounts"}
    response = api_for(demo.alice).post("/api/v1/requests/", body, format="json")
    assert response.status_code == 400
    assert "target_account" in response.json()


def test_an_approver_sees_no_sibling_in_an_account_they_do_not_approve_for(demo, vendor_approver):
    answer = api_for(demo.alice).post("/api/v1/requests/", BATCH, format="json").json()
    data, prod = answer["requests"]
    # carol approves for data and prod: she sees each request's sibling.
    assert api_for(demo.carol).get(f"/api/v1/requests/{data['id']}/").json()["siblings"]
    # prod is now approved by erin's group alone: bob sees data's request, not its prod sibling.
    demo.prod.approver_group = vendor_approver.groups.get()
    demo.prod.save(update_fields=["approver_group"])
    assert api_for(demo.bob).get(f"/api/v1/requests/{data['id']}/").json()["siblings"] == []
    assert api_for(demo.bob).get(f"/api/v1/requests/{prod['id']}/").status_code == 404


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def _copies(template: AccessRequest, count: int) -> None:
    """`count` more requests like `template`, two to a batch."""
    fields = {
        f.name: getattr(template, f.name)
        for f in AccessRequest._meta.concrete_fields
        if f.name not in ("id", "created_at", "updated_at", "batch")
    }
    batches = [uuid.uuid4() for _ in range(count // 2 + 1)]
    AccessRequest.objects.bulk_create(
        [AccessRequest(**fields, batch=batches[n // 2]) for n in range(count)]
    )


def test_the_lists_run_as_many_queries_for_many_batches_as_for_few(demo, client):
    alice = api_for(demo.alice)
    first = alice.post("/api/v1/requests/", BATCH, format="json").json()["requests"][0]
    template = AccessRequest.objects.get(pk=first["id"])
    client.force_login(demo.alice)
    urls = [
        (alice, "/api/v1/requests/"),
        (alice, f"/api/v1/requests/?batch={first['batch']}"),
        (client, "/requests/"),
        (client, f"/requests/?scope=all&batch={first['batch']}"),
        (alice, f"/api/v1/requests/{first['id']}/"),
    ]
    _copies(template, 8)
    for who, url in urls:
        who.get(url)
    few = [_queries(who, url) for who, url in urls]
    _copies(template, 200)
    # Each measured as the second call after the change, as `few` was (the API list counts a
    # page once per change of the portal's data: api/changes.py).
    for who, url in urls:
        who.get(url)
    many = [_queries(who, url) for who, url in urls]
    assert many == few
