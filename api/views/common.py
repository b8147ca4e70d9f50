"""What every API view shares: the documented error responses and the visibility lookups."""

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from access_requests.models import AccessRequest
from access_requests.selectors import access_requests_visible_to, grants_visible_to
from api.serializers.common import ErrorSerializer, field_errors_schema
from provisioning.models import Grant

BAD_REQUEST = OpenApiResponse(field_errors_schema(), description="Bad input: a message per field.")
UNAUTHORIZED = OpenApiResponse(ErrorSerializer, description="No or a wrong token / session.")
FORBIDDEN = OpenApiResponse(
    ErrorSerializer, description="Not allowed (or a session call without its CSRF token)."
)
NOT_FOUND = OpenApiResponse(
    ErrorSerializer, description="No such object, or one the caller may not see."
)
CONFLICT = OpenApiResponse(ErrorSerializer, description="Not possible in the object's state.")
TOO_LARGE = OpenApiResponse(ErrorSerializer, description="The body is larger than 256 KB.")
THROTTLED = OpenApiResponse(ErrorSerializer, description="Too many requests; see Retry-After.")
UNSUPPORTED = OpenApiResponse(ErrorSerializer, description="The body is not JSON.")
BAD_GATEWAY = OpenApiResponse(ErrorSerializer, description="AWS refused or could not be reached.")


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The error responses of an endpoint; 401 always, 400/413/415 for those with a body."""
    table = {
        400: BAD_REQUEST,
        401: UNAUTHORIZED,
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: CONFLICT,
        413: TOO_LARGE,
        415: UNSUPPORTED,
        429: THROTTLED,
        502: BAD_GATEWAY,
    }
    return {code: table[code] for code in (401, *codes)}


def caller(request: Request) -> User:
    """The signed-in caller. Every endpoint but the token login needs IsAuthenticated (the default
    permission class), so no anonymous request gets this far; were one to, it is a 401."""
    user = request.user
    if not user.is_authenticated:
        raise NotAuthenticated
    return user


def client_address(request: Request) -> str | None:
    from core.http import client_address as address

    return address(request._request)


BIGINT_MAX = 2**63 - 1


def valid_id(pk: int) -> int:
    """A primary key as the database can hold it; 404 otherwise (never a 500)."""
    if not 0 < pk <= BIGINT_MAX:
        raise Http404
    return pk


def visible_request(request: Request, pk: int) -> AccessRequest:
    """A request the caller may see; others' are 404, as if they did not exist (no IDOR leak)."""
    pk = valid_id(pk)
    return get_object_or_404(access_requests_visible_to(user=caller(request)), pk=pk)


def grants_visible(request: Request) -> QuerySet[Grant]:
    """Grants of the requests the caller can see."""
    return grants_visible_to(user=caller(request))


def visible_grant(request: Request, pk: int) -> Grant:
    """A grant the caller may see; others' are 404, as if they did not exist (no IDOR leak)."""
    pk = valid_id(pk)
    return get_object_or_404(grants_visible(request), pk=pk)
