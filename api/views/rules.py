"""/api/v1/access-rules/: the access rules as code (SPEC 10.2). Everyone signed in reads them
(they say what one may ask for); platform admins replace the whole list."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.rule_changes import access_rules_list, access_rules_replace
from api.views.common import caller, client_address, errors


class AccessRuleSerializer(serializers.Serializer):
    """One rule, for the schema; the service checks the body (a bad set changes nothing)."""

    name = serializers.CharField()
    accounts = serializers.ListField(child=serializers.CharField())
    requester_groups = serializers.ListField(child=serializers.CharField())
    services = serializers.ListField(child=serializers.CharField(), required=False)
    access_levels = serializers.ListField(child=serializers.CharField(), required=False)
    max_duration = serializers.IntegerField()
    approval = serializers.ChoiceField(choices=["auto", "account"])
    break_glass = serializers.BooleanField()


class AccessRulesSerializer(serializers.Serializer):
    rules = AccessRuleSerializer(many=True)


@extend_schema_view(
    get=extend_schema(
        summary="The access rules: who may ask for what, for how long, with which approval",
        responses={200: AccessRulesSerializer, **errors()},
    ),
    put=extend_schema(
        summary="Replace every access rule (platform admins); a set with any error changes nothing",
        request=AccessRulesSerializer,
        responses={200: AccessRulesSerializer, **errors(400, 403, 413, 415)},
    ),
)
class AccessRulesView(APIView):
    def get(self, request: Request) -> Response:
        caller(request)
        return Response({"rules": access_rules_list()})

    def put(self, request: Request) -> Response:
        user = caller(request)  # who may change them: access_rules_replace
        body = request.data
        rules = body.get("rules") if isinstance(body, dict) else body
        after = access_rules_replace(rules, actor=user, client_address=client_address(request))
        return Response({"rules": after})
