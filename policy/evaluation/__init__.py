"""Pure-Python evaluator of the AWS policy evaluation logic. No Django, no boto3.

Written from the AWS documentation:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html
"""

from policy.evaluation.evaluator import (
    ALLOWED,
    ANONYMOUS,
    EXPLICITLY_DENIED,
    IMPLICITLY_DENIED,
    NOT_APPLICABLE,
    Evaluation,
    LayerVerdict,
    PolicySet,
    RequestContext,
    evaluate,
)

__all__ = [
    "ALLOWED",
    "ANONYMOUS",
    "EXPLICITLY_DENIED",
    "IMPLICITLY_DENIED",
    "NOT_APPLICABLE",
    "Evaluation",
    "LayerVerdict",
    "PolicySet",
    "RequestContext",
    "evaluate",
]
