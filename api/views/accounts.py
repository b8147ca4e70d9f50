"""/api/v1/accounts/: the accounts a request can name."""

from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access_requests.selectors import accounts_selectable
from api.serializers.common import AccountSerializer
from api.views.common import caller, errors
from api.views.onboarding import IsPlatformAdmin
from provisioning.organizations import organization_sync_request


@extend_schema_view(
    get=extend_schema(
        summary="Accounts the caller can name in a request",
        responses={200: AccountSerializer(many=True), **errors(404)},
    )
)
class AccountListView(generics.ListAPIView):
    serializer_class = AccountSerializer

    def get_queryset(self):
        return accounts_selectable().order_by("account_id")


@extend_schema(
    summary="Sync the accounts from AWS Organizations now (in the background)",
    description="Adds every account of the organization with its name, OU path, provisioner "
    "role and its OU's defaults, marks those that left, and checks every managed account's "
    "provisioner role (`ready`). Platform admins; the beat does it hourly too.",
    request=None,
    responses={
        202: inline_serializer("AccountSyncQueued", {"status": serializers.CharField()}),
        **errors(403),
    },
)
class AccountSyncView(APIView):
    permission_classes = [IsPlatformAdmin]

    def post(self, request: Request) -> Response:
        organization_sync_request(user=caller(request))
        return Response({"status": "queued"}, status=status.HTTP_202_ACCEPTED)
