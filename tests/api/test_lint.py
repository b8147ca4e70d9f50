"""The policy linter (pure) and POST /api/v1/policies/validate/: the article's three wrong ARNs."""

import json

import pytest

from policy.lint import policy_lint
from tests.api.conftest import api_for

ARTICLE_ASSUME = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": "arn:aws:dynamodb:eu-central-1:999999999999:role/MyTableCrossAccount",
        }
    ],
}
ARTICLE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "TrustSource",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"AWS": "arn:aws:iam:111111111111/root"},
        }
    ],
}
ARTICLE_BUCKET_READ = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:eu-central-1:999999999999:MyBucket/*",
        }
    ],
}


def codes(findings) -> set[str]:
    return {finding.code for finding in findings}


def only(findings, code):
    matching = [finding for finding in findings if finding.code == code]
    assert len(matching) == 1, findings
    return matching[0]


def test_the_articles_s3_arn_has_no_region_or_account_and_a_lower_case_bucket():
    finding = only(policy_lint(ARTICLE_BUCKET_READ, "identity"), "arn-shape")
    assert finding.severity == "error"
    assert (finding.statement, finding.field) == (0, "Resource")
    assert finding.correction == "arn:aws:s3:::mybucket/*"
    assert "lower case" in finding.message


def test_the_articles_role_arn_is_an_iam_arn_without_region():
    finding = only(policy_lint(ARTICLE_ASSUME, "identity"), "arn-shape")
    assert finding.correction == "arn:aws:iam::999999999999:role/MyTableCrossAccount"
    assert (finding.statement, finding.field) == (0, "Resource")


def test_the_articles_root_principal_is_corrected():
    findings = policy_lint(ARTICLE_TRUST, "trust", account_id="999999999999")
    finding = only(findings, "principal-malformed")
    assert finding.correction == "arn:aws:iam::111111111111:root"
    assert (finding.statement, finding.field) == ("TrustSource", "Principal.AWS")


def test_the_articles_bucket_policy_is_caught_and_its_principal_shorthand_accepted():
    policy = {
        "Version": "2012-10-17",
        "Statement": [ARTICLE_BUCKET_READ["Statement"][0] | {"Principal": {"AWS": "111111111111"}}],
    }
    findings = policy_lint(policy, "resource")
    assert codes(findings) == {"arn-shape"}


def test_corrected_documents_are_clean():
    fixed = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": "arn:aws:iam::999999999999:role/MyTableCrossAccount",
            },
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "dynamodb:GetItem"],
                "Resource": [
                    "arn:aws:s3:::mybucket/*",
                    "arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable",
                ],
            },
        ],
    }
    assert policy_lint(fixed, "identity") == []


@pytest.mark.parametrize(
    ("statement", "code", "field"),
    [
        (
            {"Effect": "Allow", "Action": "dynamodbb:GetItem", "Resource": "*"},
            "unknown-service",
            "Action",
        ),
        (
            {"Effect": "Allow", "Action": "dynamodb:GetItemz", "Resource": "*"},
            "unknown-action",
            "Action",
        ),
        (
            {"Effect": "Allow", "Action": "dynamodb:Get*", "Resource": "*"},
            "action-wildcard",
            "Action",
        ),
        (
            {"Effect": "Allow", "Action": "dynamodb:Zap*", "Resource": "*"},
            "unknown-action",
            "Action",
        ),
        (
            {"Effect": "allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/k"},
            "effect-invalid",
            "Effect",
        ),
        ({"Effect": "Allow", "Resource": "*"}, "action-missing", "Action"),
        (
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            "resource-wildcard",
            "Resource",
        ),
        (
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "mybucket/*"},
            "arn-malformed",
            "Resource",
        ),
        (
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:dynamodb:eu-central-1:999999999999:table/T",
            },
            "arn-mismatch",
            "Resource",
        ),
        (
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
                "Principal": "*",
            },
            "principal-not-allowed",
            "Principal",
        ),
        (
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
                "Bogus": 1,
            },
            "unknown-element",
            "Bogus",
        ),
    ],
)
def test_identity_policy_findings(statement, code, field):
    findings = policy_lint({"Version": "2012-10-17", "Statement": [statement]}, "identity")
    assert any(f.code == code and f.field == field for f in findings), findings


def test_public_and_notprincipal_findings_in_resource_policies():
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    public = policy_lint({"Statement": [statement | {"Principal": "*"}]}, "resource")
    assert only(public, "principal-public").severity == "error"
    assert "version-missing" in codes(public)
    not_principal = policy_lint(
        {"Version": "2012-10-17", "Statement": [statement | {"NotPrincipal": {"AWS": "1" * 12}}]},
        "resource",
    )
    assert "notprincipal-allow" in codes(not_principal)


def test_trust_to_another_account_needs_an_external_id():
    trust = {
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"AWS": "arn:aws:iam::333333333333:root"},
        },
    }
    finding = only(policy_lint(trust, "trust", account_id="999999999999"), "trust-external-id")
    assert finding.severity == "warning"
    assert only(policy_lint(trust, "trust", third_party=True), "trust-external-id").severity == (
        "error"
    )
    trust["Statement"]["Condition"] = {"StringEquals": {"sts:ExternalId": "abc"}}
    assert policy_lint(trust, "trust", account_id="999999999999") == []


def test_size_limits():
    statements = [
        {
            "Sid": f"S{i}",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"AWS": f"arn:aws:iam::{i:012d}:root"},
            "Condition": {"StringEquals": {"sts:ExternalId": "x"}},
        }
        for i in range(1, 40)
    ]
    findings = policy_lint({"Version": "2012-10-17", "Statement": statements}, "trust")
    assert "size" in codes(findings)
    big_bucket = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Principal": {"AWS": "1" * 12},
                "Resource": [f"arn:aws:s3:::mybucket/{'k' * 200}{i}" for i in range(120)],
            }
        ],
    }
    assert "size" in codes(policy_lint(big_bucket, "resource"))


def test_validate_endpoint_returns_findings_with_statement_field_and_correction(demo):
    response = api_for(demo.alice).post(
        "/api/v1/policies/validate/",
        {"policy": json.dumps(ARTICLE_TRUST), "policy_type": "trust"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    malformed = [f for f in body["findings"] if f["code"] == "principal-malformed"]
    assert malformed == [
        {
            "severity": "error",
            "code": "principal-malformed",
            "statement": "TrustSource",
            "field": "Principal.AWS",
            "message": malformed[0]["message"],
            "correction": "arn:aws:iam::111111111111:root",
        }
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"policy": "{not json", "policy_type": "trust"},
        {"policy": [1, 2], "policy_type": "identity"},
        {"policy": {}, "policy_type": "bucket-of-fish"},
        {"policy_type": "identity"},
    ],
)
def test_validate_endpoint_refuses_what_is_not_a_policy_request(demo, body):
    response = api_for(demo.alice).post("/api/v1/policies/validate/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) - {"detail"} <= {"policy", "policy_type"}
