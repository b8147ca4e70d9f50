"""The confused deputy as the article says: the third party makes the ExternalId.

The hole this closes: the portal made a new ExternalId for every grant, so the third party (who
must send it) learned it from the portal, and two requests from one vendor into one account
carried two different ones. Now the requester enters the one the third party gave (STS's rules),
the portal makes one only when asked, and a third party and a target account share one.
"""

import json

import pytest
from django.test import Client
from django.urls import reverse

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from accounts.models import ExternalId
from aws import emulator_client
from core.errors import ServiceError
from provisioning.models import Grant
from tests.api.conftest import SUBMIT, api_for
from tests.factories import submitted
from tests.support import wait_until

VENDOR_GIVEN = "acme-vendor:customer/4711"


def _trust_external_id(access_request: AccessRequest) -> str:
    statements = access_request.documents["trust_policy"]["document"]["Statement"]
    [assume] = [s for s in statements if s["Action"] == "sts:AssumeRole"]
    return assume["Condition"]["StringEquals"]["sts:ExternalId"]


def test_the_third_partys_own_external_id_lands_in_the_trust_policy_and_is_kept(demo):
    access_request = submitted(demo, third_party=True, external_id=VENDOR_GIVEN)
    assert access_request.external_id == VENDOR_GIVEN
    assert _trust_external_id(access_request) == VENDOR_GIVEN
    pair = ExternalId.objects.get(source_account=demo.dev, target_account=demo.data)
    assert pair.value == VENDOR_GIVEN and not pair.generated

    # The next request between them reuses it without being told, and cannot bring another.
    again = submitted(demo, third_party=True)
    assert again.external_id == VENDOR_GIVEN
    with pytest.raises(ServiceError) as refused:
        submitted(demo, third_party=True, external_id="something-else")
    assert "already uses another ExternalId" in refused.value.field_errors["external_id"][0]


def test_a_third_party_request_without_an_external_id_is_refused_unless_one_is_asked_for(demo):
    with pytest.raises(ServiceError) as refused:
        submitted(demo, third_party=True)
    assert "enter the ExternalId it gave you" in refused.value.field_errors["external_id"][0]
    assert not AccessRequest.objects.exists() and not ExternalId.objects.exists()

    generated = submitted(demo, third_party=True, generate_external_id=True)
    assert len(generated.external_id) == 32
    assert ExternalId.objects.get().generated


@pytest.mark.parametrize(
    "value",
    ["x", "a" * 1225, "has space", "semi;colon", 'quote"', "ünïcode", "new\nline"],
)
def test_external_ids_follow_stss_rules(demo, value):
    response = api_for(demo.alice).post(
        "/api/v1/requests/", SUBMIT | {"third_party": True, "external_id": value}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "external_id" in response.json()
    assert not AccessRequest.objects.exists()


@pytest.mark.parametrize("value", ["ab", "a" * 1224, "Az09_+=,.@:/-"])
def test_every_external_id_sts_allows_is_accepted(demo, value):
    response = api_for(demo.alice).post(
        "/api/v1/requests/", SUBMIT | {"third_party": True, "external_id": value}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["external_id"] == value


def test_an_external_id_without_a_third_party_is_refused(demo):
    response = api_for(demo.alice).post(
        "/api/v1/requests/", SUBMIT | {"external_id": VENDOR_GIVEN}, format="json"
    )
    assert response.status_code == 400
    assert "third-party source" in response.json()["external_id"][0]


def test_the_form_asks_for_it_and_the_preview_says_what_is_missing(demo):
    client = Client()
    client.force_login(demo.alice)
    page = client.get(reverse("request_new")).content.decode()
    assert 'name="external_id"' in page and 'name="generate_external_id"' in page
    form = {
        "source_account": "111111111111",
        "target_account": "999999999999",
        "actions": "dynamodb:GetItem",
        "resources": SUBMIT["resources"][0],
        "access_via": "portal",
        "duration": "3600",
        "justification": "vendor reads MyTable",
        "third_party": "on",
    }
    missing = client.post(reverse("request_new"), form)
    assert missing.status_code == 400
    assert "enter the ExternalId it gave you" in missing.content.decode()
    given = client.post(reverse("request_new"), form | {"external_id": VENDOR_GIVEN})
    assert given.status_code == 302
    assert AccessRequest.objects.get().external_id == VENDOR_GIVEN


@pytest.mark.django_db(transaction=True)
def test_a_third_partys_own_external_id_lands_in_the_role_in_aws(aws_demo, worker):
    access_request = submitted(aws_demo, third_party=True, external_id=VENDOR_GIVEN)
    access_request_approve(access_request=access_request, approver=aws_demo.bob)
    wait_until(
        lambda: AccessRequest.objects.get(pk=access_request.pk).status in ("active", "failed"),
        what="provisioning",
    )
    grant = Grant.objects.get(access_request=access_request)
    assert grant.access_request.status == "active", grant.last_error
    iam = emulator_client("iam", account_id="999999999999", region="us-east-1")
    trust = iam.get_role(RoleName=grant.role_name)["Role"]["AssumeRolePolicyDocument"]
    if isinstance(trust, str):
        trust = json.loads(trust)
    [assume] = [s for s in trust["Statement"] if s["Action"] == "sts:AssumeRole"]
    assert assume["Condition"]["StringEquals"]["sts:ExternalId"] == VENDOR_GIVEN
    assert grant.external_id == VENDOR_GIVEN
