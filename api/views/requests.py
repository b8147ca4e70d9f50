"""/api/v1/requests/: list, submit, one request, approve, reject, cancel."""

from functools import cached_property

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Prefetch
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access_requests import selectors, services
from access_requests.models import AccessRequest, Approval, Mechanism
from api.changes import changes_for, counts_remembered, etag_for, not_modified, validated
from api.pagination import PagePagination, ValuesPaginator
from api.serializers.common import ACCOUNT_ID_REGEX
from api.serializers.requests import (
    LIST_VALUES,
    AccessRequestCreateSerializer,
    AccessRequestDetailSerializer,
    AccessRequestEditSerializer,
    AccessRequestListSerializer,
    ApproveSerializer,
    RejectSerializer,
    ReviewSerializer,
    list_row,
)
from api.views.common import caller, client_address, errors, visible_request


class RequestFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=AccessRequest.Status.values, required=False)
    source_account = serializers.RegexField(ACCOUNT_ID_REGEX, required=False)
    target_account = serializers.RegexField(ACCOUNT_ID_REGEX, required=False)
    requester = serializers.CharField(max_length=150, required=False)
    mechanism = serializers.ChoiceField(choices=Mechanism.values, required=False)
    awaiting = serializers.BooleanField(required=False, default=False)
    batch = serializers.UUIDField(required=False)


_FILTER_NAMES = tuple(RequestFilters._declared_fields)

REQUEST_FILTER_PARAMETERS = [
    OpenApiParameter("status", str, enum=AccessRequest.Status.values),
    OpenApiParameter("source_account", str, pattern=ACCOUNT_ID_REGEX),
    OpenApiParameter("target_account", str, pattern=ACCOUNT_ID_REGEX),
    OpenApiParameter("requester", str, description="A username."),
    OpenApiParameter("mechanism", str, enum=Mechanism.values),
    OpenApiParameter(
        "batch", str, description="The requests submitted together for several accounts."
    ),
    OpenApiParameter(
        "awaiting", bool, description="Only pending requests waiting for the caller's vote."
    ),
]


def _detail(access_request: AccessRequest, request: Request) -> dict:
    fresh = (
        AccessRequest.objects.select_related(
            "requester", "source_account", "target_account", "grant", "reviewed_by"
        )
        .prefetch_related(
            Prefetch("approvals", queryset=Approval.objects.select_related("approver"))
        )
        .get(pk=access_request.pk)
    )
    return AccessRequestDetailSerializer(fresh, context={"user": caller(request)}).data


class _RequestRowsPaginator(ValuesPaginator):
    values = LIST_VALUES


class RequestPagination(PagePagination):
    # Set by the view for a call whose change counter it has read: the page's count is then
    # counted once per caller, filters and counter (api/changes.py).
    count_key: tuple | None = None

    # DRF calls `self.django_paginator_class(queryset, page_size)`: a method serves as well.
    def django_paginator_class(  # type: ignore[override]
        self, queryset, page_size: int
    ) -> _RequestRowsPaginator:
        paginator = _RequestRowsPaginator(queryset, page_size)
        if (key := self.count_key) is not None:
            paginator.counted = lambda: counts_remembered.count(key, queryset.count)
        return paginator


@extend_schema_view(
    get=extend_schema(
        summary="The caller's visible requests",
        description="Admins see all; others their own and those of accounts they approve for. "
        "Every page carries an ETag: ask again with it in If-None-Match and the answer is 304, "
        "with no body, while nothing the page could show has changed.",
        parameters=[
            *REQUEST_FILTER_PARAMETERS,
            OpenApiParameter(
                "If-None-Match",
                str,
                location=OpenApiParameter.HEADER,
                description="The ETag of a page read before.",
            ),
        ],
        responses={
            200: AccessRequestListSerializer(many=True),
            304: OpenApiResponse(description="Not modified: the page read before is current."),
            **errors(400, 404),
        },
    ),
    post=extend_schema(
        summary="Submit a request",
        description="With `target_account`: 201 with the request. With `target_accounts`: 201 "
        'with `{"requests": [...]}`, one request per account, linked by their `batch`.',
        request=AccessRequestCreateSerializer,
        responses={
            201: PolymorphicProxySerializer(
                component_name="SubmittedRequests",
                serializers=[
                    AccessRequestDetailSerializer,
                    inline_serializer(
                        "SubmittedBatch",
                        {"requests": AccessRequestDetailSerializer(many=True)},
                    ),
                ],
                resource_type_field_name=None,
            ),
            **errors(400, 403, 413, 415),
        },
    ),
)
class RequestListView(generics.ListAPIView):
    serializer_class = AccessRequestListSerializer
    pagination_class = RequestPagination

    @cached_property
    def filter_values(self) -> dict:
        """The query's filters, validated (400 otherwise)."""
        # Most calls filter nothing: no serializer to build for them.
        if not any(name in self.request.query_params for name in _FILTER_NAMES):
            return {}
        filters = RequestFilters(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return filters.validated_data

    def get_queryset(self):
        values = self.filter_values
        user = caller(self.request)
        if values.get("awaiting"):
            requests = selectors.access_requests_awaiting(user=user)
        else:
            requests = selectors.access_requests_visible_to(user=user)
        narrowing = (
            "status",
            "source_account",
            "target_account",
            "requester",
            "mechanism",
            "batch",
        )
        requests = selectors.access_requests_filtered(
            requests, **{name: values[name] for name in narrowing if name in values}
        )
        return requests.order_by("-created_at", "-id")

    def list(self, request: Request, *args, **kwargs) -> Response:
        """A page of rows straight from their values (api.serializers.requests.list_row), with
        an ETag; 304 to an If-None-Match that names the current one (api/changes.py)."""
        self.filter_values  # noqa: B018 (a bad query is a 400, never a 304)
        # The counter before the rows: a change in between can only make the ETag older.
        changes = changes_for(request)
        etag = None if changes is None else etag_for(request, changes=changes)
        if etag is not None and (unchanged := not_modified(request, etag)) is not None:
            return unchanged
        if changes is not None and isinstance(self.paginator, RequestPagination):
            filters = sorted((name, str(value)) for name, value in self.filter_values.items())
            self.paginator.count_key = (caller(request).pk, tuple(filters), changes)
        page = self.paginate_queryset(self.get_queryset())
        if page is None:
            raise ImproperlyConfigured("RequestListView lists in pages: it needs a paginator.")
        response = self.get_paginated_response([list_row(values) for values in page])
        return response if etag is None else validated(response, etag)

    def post(self, request: Request) -> Response:
        body = AccessRequestCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        if "target_accounts" in fields:
            submitted = services.access_requests_submit_batch(
                requester=caller(request), client_address=client_address(request), **fields
            )
            return Response(
                {"requests": [_detail(r, request) for r in submitted]},
                status=status.HTTP_201_CREATED,
            )
        access_request = services.access_request_submit(
            requester=caller(request), client_address=client_address(request), **fields
        )
        return Response(_detail(access_request, request), status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        summary="One request with its approvals, documents, findings, simulation and grant",
        responses={200: AccessRequestDetailSerializer, **errors(404)},
    ),
    patch=extend_schema(
        summary="Edit a pending request (its requester): votes given so far stop counting",
        request=AccessRequestEditSerializer,
        responses={200: AccessRequestDetailSerializer, **errors(400, 403, 404, 409, 413, 415)},
    ),
)
class RequestDetailView(APIView):
    def get(self, request: Request, pk: int) -> Response:
        return Response(_detail(visible_request(request, pk), request))

    def patch(self, request: Request, pk: int) -> Response:
        access_request = visible_request(request, pk)
        body = AccessRequestEditSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        current = selectors.access_request_editable(access_request=access_request)
        edited = services.access_request_edit(
            access_request=access_request,
            user=caller(request),
            client_address=client_address(request),
            **(current | body.validated_data),
        )
        return Response(_detail(edited, request))


@extend_schema(
    summary="Approve (one vote; the account's quorum approves and provisions)",
    request=ApproveSerializer,
    responses={200: AccessRequestDetailSerializer, **errors(400, 403, 404, 409, 413, 415)},
)
class RequestApproveView(APIView):
    def post(self, request: Request, pk: int) -> Response:
        access_request = visible_request(request, pk)
        body = ApproveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.access_request_approve(
            access_request=access_request,
            approver=caller(request),
            comment=body.validated_data["comment"],
            documents_hash=body.validated_data.get("documents_hash"),
            client_address=client_address(request),
        )
        return Response(_detail(access_request, request))


@extend_schema(
    summary="Reject (any reject rejects)",
    request=RejectSerializer,
    responses={200: AccessRequestDetailSerializer, **errors(400, 403, 404, 409, 413, 415)},
)
class RequestRejectView(APIView):
    def post(self, request: Request, pk: int) -> Response:
        access_request = visible_request(request, pk)
        body = RejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.access_request_reject(
            access_request=access_request,
            approver=caller(request),
            reason=body.validated_data["reason"],
            client_address=client_address(request),
        )
        return Response(_detail(access_request, request))


@extend_schema(
    summary="Cancel a pending request (its requester)",
    request=None,
    responses={200: AccessRequestDetailSerializer, **errors(403, 404, 409)},
)
class RequestCancelView(APIView):
    def post(self, request: Request, pk: int) -> Response:
        access_request = visible_request(request, pk)
        services.access_request_cancel(
            access_request=access_request,
            user=caller(request),
            client_address=client_address(request),
        )
        return Response(_detail(access_request, request))


@extend_schema(
    summary="Review a break-glass request after the fact (the account's approvers)",
    request=ReviewSerializer,
    responses={200: AccessRequestDetailSerializer, **errors(400, 403, 404, 409, 413, 415)},
)
class RequestReviewView(APIView):
    def post(self, request: Request, pk: int) -> Response:
        access_request = visible_request(request, pk)
        body = ReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.access_request_review(
            access_request=access_request,
            reviewer=caller(request),
            comment=body.validated_data["comment"],
            client_address=client_address(request),
        )
        return Response(_detail(access_request, request))
