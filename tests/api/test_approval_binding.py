"""A vote counts for exactly what the approver was shown: the documents and every term beside them.

The hole this closes: bob opens alice's request for dynamodb:GetItem, alice widens it to PutItem,
DeleteItem, Scan and DeleteTable, bob clicks Approve, and the wider policy was provisioned with his
vote marked current. Now the page and the API send the hash of what was shown, a stale one is a
409 with nothing recorded, and any edit (the duration alone too) voids the votes given before it.
"""

import re

import pytest

from access_requests.models import AccessRequest, Approval
from provisioning.models import Grant
from tests.api.conftest import api_for
from tests.factories import submitted

WIDER = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Scan"]
ORDERS = "arn:aws:dynamodb:eu-central-1:222222222222:table/Orders"


def patch(client, pk: int, body: dict):
    return client.patch(f"/api/v1/requests/{pk}/", body, content_type="application/json")


def approve(client, pk: int, body: dict):
    return client.post(f"/api/v1/requests/{pk}/approve/", body, content_type="application/json")


def test_an_edit_between_review_and_approval_is_refused_with_409_and_nothing_recorded(demo):
    access_request = submitted(demo)
    bob = api_for(demo.bob)
    shown = bob.get(f"/api/v1/requests/{access_request.pk}/").json()["documents_hash"]

    widened = patch(
        api_for(demo.alice), access_request.pk, {"actions": [*WIDER, "dynamodb:DeleteTable"]}
    )
    assert widened.status_code == 200
    assert widened.json()["documents_hash"] != shown

    stale = approve(bob, access_request.pk, {"documents_hash": shown})
    assert stale.status_code == 409
    assert "changed since you opened it" in stale.json()["detail"]
    assert not Approval.objects.filter(access_request=access_request).exists()
    assert not Grant.objects.filter(access_request=access_request).exists()
    access_request.refresh_from_db()
    assert access_request.status == AccessRequest.Status.PENDING

    # Looked at again, the wider request is what bob approves, knowingly.
    current = bob.get(f"/api/v1/requests/{access_request.pk}/").json()["documents_hash"]
    assert approve(bob, access_request.pk, {"documents_hash": current}).status_code == 200
    access_request.refresh_from_db()
    assert access_request.status == AccessRequest.Status.APPROVED


def test_the_approve_page_sends_the_hash_it_showed_and_a_stale_one_approves_nothing(demo, client):
    access_request = submitted(demo)
    client.force_login(demo.bob)
    page = client.get(f"/requests/{access_request.pk}/").content.decode()
    shown = re.search(r'name="documents_hash" value="([0-9a-f]{64})"', page).group(1)
    assert shown == access_request.documents_hash
    inbox = client.get("/inbox/").content.decode()
    assert f'name="documents_hash" value="{shown}"' in inbox

    patch(api_for(demo.alice), access_request.pk, {"actions": WIDER})
    response = client.post(
        f"/requests/{access_request.pk}/approve/", {"documents_hash": shown}, follow=True
    )
    assert "changed since you opened it" in response.content.decode()
    assert not Approval.objects.filter(access_request=access_request).exists()

    # A form that sends no hash approves nothing either.
    client.post(f"/requests/{access_request.pk}/approve/", {"comment": "ok"})
    assert not Approval.objects.filter(access_request=access_request).exists()


def test_a_duration_only_edit_voids_the_votes_given_before_it(demo):
    """prod needs two approvals: bob's vote on the 1-hour request does not count for 12 hours."""
    access_request = submitted(demo, target_account=demo.prod, resources=[ORDERS])
    first = access_request.documents_hash
    assert (
        approve(api_for(demo.bob), access_request.pk, {"documents_hash": first}).status_code == 200
    )

    longer = patch(api_for(demo.alice), access_request.pk, {"duration": 12 * 3600})
    assert longer.status_code == 200
    body = longer.json()
    assert body["duration"] == 12 * 3600
    assert body["documents_hash"] != first
    assert [a["current"] for a in body["approvals"]] == [False]

    carol = approve(
        api_for(demo.carol), access_request.pk, {"documents_hash": body["documents_hash"]}
    )
    assert carol.status_code == 200
    access_request.refresh_from_db()
    assert access_request.status == AccessRequest.Status.PENDING  # one current vote of two


@pytest.mark.parametrize(
    ("change", "term"),
    [
        ({"source_principal": "arn:aws:iam::111111111111:role/DataAnalyst"}, "source_principal"),
        ({"access_via": "portal"}, "access_via"),
        ({"mechanism": "assume_role"}, "mechanism"),
        ({"third_party": True, "generate_external_id": True}, "third_party"),
    ],
)
def test_every_term_an_approver_sees_is_bound(aws_demo, change, term):
    """alice reads the bucket with her own identity; each edit gives the vote a new hash. (The
    emulator proves the bucket is the data account's.)"""
    demo = aws_demo
    access_request = submitted(
        demo,
        access_via="own_identity",
        actions=["s3:GetObject"],
        resources=["arn:aws:s3:::mybucket/*"],
    )
    edited = patch(api_for(demo.alice), access_request.pk, change)
    assert edited.status_code == 200, edited.json()
    assert edited.json()["documents_hash"] != access_request.documents_hash, term


def test_patch_is_for_the_requester_of_a_pending_request_and_keeps_the_accounts(demo):
    access_request = submitted(demo)
    alice = api_for(demo.alice)

    moved = patch(alice, access_request.pk, {"target_account": "222222222222"})
    assert moved.status_code == 400
    assert "target_account" in moved.json()

    assert patch(api_for(demo.bob), access_request.pk, {"duration": 7200}).status_code == 403

    unchanged = patch(alice, access_request.pk, {})
    assert unchanged.status_code == 200
    assert unchanged.json()["actions"] == ["dynamodb:GetItem"]

    bad = patch(alice, access_request.pk, {"actions": ["dynamodb:Nope"]})
    assert bad.status_code == 400
    assert "actions" in bad.json()

    approve(api_for(demo.bob), access_request.pk, {})
    assert patch(alice, access_request.pk, {"duration": 7200}).status_code == 409
    assert patch(alice, 2**40, {"duration": 7200}).status_code == 404
