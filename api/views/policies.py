"""/api/v1/policies/validate/ lints a policy document; /simulate/ evaluates a request."""

import json
from dataclasses import asdict

from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers.common import ACCOUNT_ID_REGEX
from api.serializers.requests import FindingSerializer
from api.views.common import errors
from policy.evaluation import PolicySet, RequestContext, evaluate
from policy.lint import POLICY_TYPES, policy_lint


class ValidateSerializer(serializers.Serializer):
    policy = serializers.JSONField(
        help_text="The policy document: a JSON object, or a string holding one."
    )
    policy_type = serializers.ChoiceField(choices=POLICY_TYPES, default="identity")
    account_id = serializers.RegexField(
        ACCOUNT_ID_REGEX,
        required=False,
        default="",
        help_text="The account the policy lives in: trust to other accounts is cross-account.",
    )
    third_party = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Whether the trusted accounts are third parties (null: unknown, a warning).",
    )

    def validate_policy(self, value):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError) as error:
                raise serializers.ValidationError(f"Not JSON: {error}") from error
        if not isinstance(value, dict):
            raise serializers.ValidationError("A policy is a JSON object.")
        if _has_surrogates(value):
            raise serializers.ValidationError("The policy holds invalid unicode (a surrogate).")
        return value


def _has_surrogates(value, depth: int = 0) -> bool:
    if depth > 64:
        return True
    if isinstance(value, str):
        return any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, dict):
        return any(
            _has_surrogates(k, depth + 1) or _has_surrogates(v, depth + 1) for k, v in value.items()
        )
    if isinstance(value, list):
        return any(_has_surrogates(item, depth + 1) for item in value)
    return False


ValidateResult = inline_serializer(
    name="PolicyValidation",
    fields={
        "valid": serializers.BooleanField(help_text="No finding of severity error."),
        "findings": FindingSerializer(many=True),
    },
)

ARTICLE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"AWS": "arn:aws:iam:111111111111/root"},
        }
    ],
}


@extend_schema(
    summary="Lint a policy document",
    description="Unknown services and actions, resource ARNs of the wrong shape, malformed, "
    "wildcard or public principals, NotPrincipal with Allow, trust without ExternalId, sizes. "
    "Each finding names the statement (Sid or index), the field, and the correction if any.",
    request=ValidateSerializer,
    responses={200: ValidateResult, **errors(400, 413, 415)},
    examples=[
        OpenApiExample(
            "The article's trust policy",
            value={"policy": ARTICLE_TRUST, "policy_type": "trust"},
            request_only=True,
        )
    ],
)
class PolicyValidateView(APIView):
    def post(self, request: Request) -> Response:
        body = ValidateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        findings = policy_lint(
            data["policy"],
            data["policy_type"],
            account_id=data["account_id"],
            third_party=data["third_party"],
        )
        return Response(
            {
                "valid": not any(finding.severity == "error" for finding in findings),
                "findings": [finding.as_dict() for finding in findings],
            }
        )


class SimulateRequestSerializer(serializers.Serializer):
    principal = serializers.CharField(
        max_length=2048,
        help_text="The caller: an ARN (user, role, role session, account root), an AWS service "
        'principal such as "lambda.amazonaws.com", or "anonymous" for an unsigned request.',
    )
    action = serializers.CharField(max_length=256)
    resource = serializers.CharField(max_length=2048)
    resource_account = serializers.RegexField(
        ACCOUNT_ID_REGEX, required=False, default="", help_text="Owner of the resource."
    )
    # DRF's serializer metaclass takes declared fields off the class, so this field does not
    # replace Field.context (the serializer's context); the stubs cannot tell.
    context = serializers.DictField(  # type: ignore[assignment]
        child=serializers.JSONField(), required=False, default=dict, help_text="Condition keys."
    )


class SimulateSerializer(serializers.Serializer):
    request = SimulateRequestSerializer()
    identity_policies = serializers.ListField(
        child=serializers.DictField(), required=False, default=list
    )
    resource_policy = serializers.DictField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The resource's policy; for sts:AssumeRole, the role's trust policy.",
    )
    permissions_boundary = serializers.DictField(required=False, allow_null=True, default=None)
    session_policy = serializers.DictField(required=False, allow_null=True, default=None)
    scps = serializers.ListField(
        child=serializers.ListField(child=serializers.DictField()),
        required=False,
        default=list,
        help_text="Levels from the organization's root down to the account, each a list of SCPs.",
    )
    rcps = serializers.ListField(
        child=serializers.ListField(child=serializers.DictField()),
        required=False,
        default=list,
        help_text="Resource control policies of the resource's account: levels from the "
        "organization's root down, each the RCPs besides RCPFullAWSAccess (implied at every "
        "level, so a level with no RCP, or only Denies, denies nothing else).",
    )

    def validate(self, data):
        if _has_surrogates(data):
            raise serializers.ValidationError("The body holds invalid unicode (a surrogate).")
        for key, value in data["request"]["context"].items():
            if not isinstance(value, str | list) or (
                isinstance(value, list) and not all(isinstance(v, str) for v in value)
            ):
                raise serializers.ValidationError(
                    {"request": {"context": [f"{key}: a string or a list of strings."]}}
                )
        return data


LAYER_FIELDS: dict[str, serializers.Field] = {
    "layer": serializers.CharField(),
    "verdict": serializers.CharField(),
    "statements": serializers.ListField(child=serializers.CharField()),
    "detail": serializers.CharField(),
}
SIMULATION_FIELDS: dict[str, serializers.Field] = {
    "decision": serializers.ChoiceField(
        choices=["Allowed", "ExplicitlyDenied", "ImplicitlyDenied"]
    ),
    "explanation": serializers.CharField(),
    "blocking": serializers.CharField(
        help_text="The layer that decided a denial (scp, rcp, resource, identity, boundary, "
        "session); empty when allowed."
    ),
    "layers": inline_serializer(name="LayerVerdict", fields=LAYER_FIELDS, many=True),
}
SimulateResult = inline_serializer(name="PolicySimulation", fields=SIMULATION_FIELDS)


@extend_schema(
    summary="Simulate a request against policy documents",
    description="The AWS policy evaluation logic for same- and cross-account requests: SCPs at "
    "every level, RCPs at every level, identity policies, permissions boundary, session policy "
    "and resource policy (a role's trust policy for sts:AssumeRole, a KMS key's key policy). The "
    "caller may be an IAM principal, an assumed-role session, an AWS service principal or "
    '"anonymous". The answer is Allowed, ExplicitlyDenied or ImplicitlyDenied, with each '
    "layer's verdict, the statements that decided it, and the layer that blocked it.",
    request=SimulateSerializer,
    responses={200: SimulateResult, **errors(400, 413, 415)},
)
class PolicySimulateView(APIView):
    def post(self, request: Request) -> Response:
        body = SimulateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        given = body.validated_data
        asked = given["request"]
        try:
            result = evaluate(
                RequestContext(
                    principal=asked["principal"],
                    action=asked["action"],
                    resource=asked["resource"],
                    resource_account=asked["resource_account"],
                    context=asked["context"],
                ),
                PolicySet(
                    scps=given["scps"],
                    identity=given["identity_policies"],
                    boundary=given["permissions_boundary"],
                    session=given["session_policy"],
                    resource=given["resource_policy"],
                    rcps=given["rcps"],
                ),
            )
        except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as error:
            raise serializers.ValidationError(
                {"detail": f"A document is not a policy the evaluator can read: {error}"}
            ) from error
        return Response(
            {
                "decision": result.decision,
                "explanation": result.explanation,
                "blocking": result.blocking,
                "layers": [asdict(layer) for layer in result.layers],
            }
        )
