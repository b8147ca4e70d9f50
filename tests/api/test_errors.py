"""Bad input gets a clear 4xx with a message per field, never a 500, and changes nothing."""

import json

import pytest

from access_requests.models import AccessRequest
from tests.api.conftest import SUBMIT, api_for
from tests.factories import submitted


def post(client, body, path="/api/v1/requests/"):
    return client.post(path, body, content_type="application/json")


def test_malformed_json_is_a_400(demo):
    response = post(api_for(demo.alice), '{"source_account": ')
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


def test_deeply_nested_json_is_a_400(demo):
    response = post(api_for(demo.alice), "[" * 100000 + "]" * 100000)
    assert response.status_code in (400, 413)


def test_a_huge_body_is_a_413(demo):
    body = '{"justification": "' + "x" * (300 * 1024) + '"}'
    response = post(api_for(demo.alice), body)
    assert response.status_code == 413
    assert "too large" in response.json()["detail"] or "larger" in response.json()["detail"]


def test_a_body_that_is_not_json_is_a_415(demo):
    response = api_for(demo.alice).post("/api/v1/requests/", "a=b", content_type="text/plain")
    assert response.status_code == 415


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"actions": "dynamodb:GetItem"}, "actions"),
        ({"actions": [1, 2]}, "actions"),
        ({"duration": "long"}, "duration"),
        ({"duration": 10}, "duration"),
        ({"source_account": "12345"}, "source_account"),
        ({"source_account": "123456789012"}, "source_account"),
        ({"target_account": None}, "target_account"),
        ({"mechanism": "magic"}, "mechanism"),
        ({"third_party": "perhaps"}, "third_party"),
        ({"justification": ""}, "justification"),
        ({"justification": "x\x00y"}, "justification"),
        ({"justification": "\ud800"}, "justification"),
    ],
)
def test_wrong_types_get_a_message_on_their_field(demo, change, field):
    # json.dumps escapes a lone surrogate as \ud800, as a client in another language may send it.
    response = post(api_for(demo.alice), json.dumps(SUBMIT | change))
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["detail"]
    assert isinstance(body[field], list) and body[field], body
    assert AccessRequest.objects.count() == 0


def test_unknown_action_and_wrong_arn_get_the_services_messages(demo):
    response = api_for(demo.alice).post(
        "/api/v1/requests/",
        SUBMIT
        | {
            "actions": ["dynamodb:GetItemz"],
            "resources": ["arn:aws:dynamodb:eu-central-1:999999999999:table:MyTable"],
        },
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "The request has errors."
    assert "is not an action of dynamodb" in body["actions"][0]
    assert "table/MyTable" in body["resources"][0]
    assert AccessRequest.objects.count() == 0


def test_unicode_and_markup_are_stored_as_text(demo):
    text = 'Ünïcødé 名前 <script>alert(1)</script> & "quotes" 🤪'
    response = api_for(demo.alice).post(
        "/api/v1/requests/", SUBMIT | {"justification": text}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["justification"] == text


def test_reject_needs_a_reason_and_extend_needs_a_number(demo):
    access_request = submitted(demo)
    response = api_for(demo.bob).post(
        f"/api/v1/requests/{access_request.pk}/reject/", {"reason": ""}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["reason"]


@pytest.mark.parametrize("query", ["status=nope", "source_account=1", "mechanism=x", "page=abc"])
def test_bad_filters_are_4xx(demo, query):
    response = api_for(demo.alice).get(f"/api/v1/requests/?{query}")
    assert response.status_code in (400, 404)
    assert response.json()["detail"]


@pytest.mark.parametrize("query", ["request=abc", "from=yesterday", "actor=%00", "verb=a%00"])
def test_bad_audit_filters_are_400(demo, query):
    response = api_for(demo.alice).get(f"/api/v1/audit/?{query}")
    assert response.status_code == 400
    assert response.json()["detail"]
