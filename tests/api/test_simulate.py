# ruff: noqa: E501 (the table keeps one case a line)
"""POST /api/v1/policies/simulate/ with every construct of SPEC 10.5: resource control policies,
session policies, anonymous callers, service principals, assumed-role sessions, and the layer
that blocked a denied request. One table; the evaluator's own tables are in
tests/provisioning/test_evaluation_completeness.py."""

import pytest

from tests.api.conftest import api_for

SOURCE = "111111111111"
TARGET = "999999999999"
SESSION = f"arn:aws:sts::{SOURCE}:assumed-role/Dev/alice"
OBJECT = "arn:aws:s3:::mybucket/a.txt"
V = "2012-10-17"


def policy(*statements):
    return {"Version": V, "Statement": list(statements)}


READ = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
FOR_SOURCE = policy(
    {
        "Effect": "Allow",
        "Principal": {"AWS": SOURCE},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::mybucket/*",
    }
)
PUBLIC = policy(
    {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::mybucket/*",
    }
)
PERIMETER = policy(
    {
        "Sid": "OrgOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {
            "StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-abc123"},
            "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
        },
    }
)

CASES = [
    # (id, principal, context, body, decision, blocking)
    ("cross-account-allowed", SESSION, {}, {"identity_policies": [READ], "resource_policy": FOR_SOURCE}, "Allowed", ""),
    ("rcp-denies-outside-org", SESSION, {"aws:PrincipalOrgID": "o-other"}, {"identity_policies": [READ], "resource_policy": FOR_SOURCE, "rcps": [[], [PERIMETER]]}, "ExplicitlyDenied", "rcp"),
    ("rcp-lets-org-in", SESSION, {"aws:PrincipalOrgID": "o-abc123"}, {"identity_policies": [READ], "resource_policy": FOR_SOURCE, "rcps": [[PERIMETER]]}, "Allowed", ""),
    ("session-policy-limits", SESSION, {}, {"identity_policies": [READ], "resource_policy": FOR_SOURCE, "session_policy": policy({"Effect": "Allow", "Action": "sqs:*", "Resource": "*"})}, "ImplicitlyDenied", "session"),
    ("anonymous-public-bucket", "anonymous", {}, {"resource_policy": PUBLIC}, "Allowed", ""),
    ("anonymous-not-public", "anonymous", {}, {"identity_policies": [READ], "resource_policy": FOR_SOURCE}, "ImplicitlyDenied", "resource"),
    ("anonymous-stopped-by-rcp", "anonymous", {}, {"resource_policy": PUBLIC, "rcps": [[PERIMETER]]}, "ExplicitlyDenied", "rcp"),
    ("service-principal", "cloudfront.amazonaws.com", {}, {"resource_policy": policy({"Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::mybucket/*"}), "rcps": [[PERIMETER]]}, "Allowed", ""),
    ("role-arn-names-its-sessions", SESSION, {}, {"identity_policies": [READ], "resource_policy": policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{SOURCE}:role/Dev"}, "Action": "s3:GetObject", "Resource": "*"})}, "Allowed", ""),
    ("another-session-arn", SESSION, {}, {"identity_policies": [READ], "resource_policy": policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:sts::{SOURCE}:assumed-role/Dev/eve"}, "Action": "s3:GetObject", "Resource": "*"})}, "ImplicitlyDenied", "resource"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("principal", "context", "body", "decision", "blocking"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_simulate(demo, principal, context, body, decision, blocking):
    request = {
        "principal": principal,
        "action": "s3:GetObject",
        "resource": OBJECT,
        "resource_account": TARGET,
        "context": context,
    }
    response = api_for(demo.alice).post(
        "/api/v1/policies/simulate/", {"request": request, **body}, format="json"
    )
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["decision"], answer["blocking"]) == (decision, blocking), answer["explanation"]
    assert [layer["layer"] for layer in answer["layers"]] == [
        "scp",
        "rcp",
        "resource",
        "identity",
        "boundary",
        "session",
    ]


def test_rcps_that_are_not_levels_of_policies_are_a_400(demo):
    request = {"principal": SESSION, "action": "s3:GetObject", "resource": OBJECT}
    response = api_for(demo.alice).post(
        "/api/v1/policies/simulate/", {"request": request, "rcps": [PERIMETER]}, format="json"
    )
    assert response.status_code == 400
    assert "rcps" in response.json()


def test_a_pattern_of_many_wildcards_against_a_long_resource_is_answered(demo):
    """`*` as `.*` in a regular expression backtracks polynomially: "*a*a*a*a*a*a*b" against 2,000
    "a"s ran for hours and held a web worker. Any signed-in user sends both here."""
    resource = "arn:aws:s3:::" + "a" * 2000
    wild = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + "*a" * 6}
    request = {"principal": SESSION, "action": "s3:GetObject", "resource": resource}
    for pattern, decision in (("*b", "ImplicitlyDenied"), ("*", "Allowed")):
        statement = {**wild, "Resource": wild["Resource"] + pattern}
        response = api_for(demo.alice).post(
            "/api/v1/policies/simulate/",
            {"request": request, "identity_policies": [policy(statement)]},
            format="json",
        )
        assert response.status_code == 200, response.content
        assert response.json()["decision"] == decision
