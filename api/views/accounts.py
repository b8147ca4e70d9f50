"""/api/v1/accounts/: the accounts a request can name."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics

from access_requests.selectors import accounts_selectable
from api.serializers.common import AccountSerializer
from api.views.common import errors


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
