"""/scim/v2/Users: what an identity provider calls to find a user and to deactivate a leaver.

Every call presents `Authorization: Bearer <PORTAL_SCIM_TOKEN>`, compared in constant time; no
token set means SCIM is off (every call 401). Answers are `application/scim+json`, errors in
RFC 7644's shape (section 3.12). No cookie is read, so no CSRF token is asked for.
"""

import hmac
import json
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from api.leavers import user_deactivate, user_reactivate
from api.scim.patch import USER_SCHEMA, ScimInvalid, filter_username, patch_active
from core.http import client_address

CONTENT_TYPE = "application/scim+json"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
MAX_COUNT = 100


def scim_response(body: dict[str, Any], status: int = 200) -> JsonResponse:
    return JsonResponse(body, status=status, content_type=CONTENT_TYPE)


def scim_error(status: int, detail: str, scim_type: str = "") -> JsonResponse:
    body: dict[str, Any] = {"schemas": [ERROR], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    response = scim_response(body, status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="scim"'
    return response


def scim_token_valid(request: HttpRequest) -> bool:
    """The bearer token is PORTAL_SCIM_TOKEN (constant-time compare); never when none is set."""
    expected = settings.PORTAL_SCIM_TOKEN
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not presented.strip():
        return False
    return hmac.compare_digest(presented.strip().encode(), expected.encode())


def user_resource(user: User) -> dict[str, Any]:
    """A portal user as a SCIM User (RFC 7643 section 4.1); `id` is the user's primary key."""
    resource: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "id": str(user.pk),
        "userName": user.get_username(),
        "name": {"givenName": user.first_name, "familyName": user.last_name},
        "displayName": user.get_full_name() or user.get_username(),
        "active": user.is_active,
        "meta": {
            "resourceType": "User",
            "created": user.date_joined.isoformat(),
            "location": f"{settings.PORTAL_BASE_URL}/scim/v2/Users/{user.pk}",
        },
    }
    if user.email:
        resource["emails"] = [{"value": user.email, "type": "work", "primary": True}]
    return resource


def _positive(raw: str | None, default: int, *, minimum: int) -> int:
    """A paging number as RFC 7644 section 3.4.2.4 reads it: below the minimum is the minimum;
    bounded above so the database's OFFSET never overflows."""
    try:
        return min(max(minimum, int(raw)), 2**31) if raw is not None else default
    except ValueError:
        raise ScimInvalid(f"{raw!r} is not a number.", "invalidValue") from None


@method_decorator(csrf_exempt, name="dispatch")
class ScimView(View):
    """The bearer check before anything else, and ScimInvalid as a 400."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not scim_token_valid(request):
            return scim_error(401, "A valid SCIM bearer token is required.")
        try:
            return super().dispatch(request, *args, **kwargs)
        except ScimInvalid as error:
            return scim_error(400, error.detail, error.scim_type)

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any):
        allowed = ", ".join(m.upper() for m in self.http_method_names if hasattr(self, m))
        response = scim_error(405, f"{request.method} is not supported here (only {allowed}).")
        response["Allow"] = allowed
        return response


class ScimUserListView(ScimView):
    """`GET /scim/v2/Users[?filter=userName eq "x"][&startIndex=1&count=100]`: a ListResponse.
    userName matches without regard to case (RFC 7643 gives it caseExact false)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        users = get_user_model().objects.order_by("pk")
        expression = request.GET.get("filter")
        if expression is not None:
            users = users.filter(username__iexact=filter_username(expression))
        start = _positive(request.GET.get("startIndex"), 1, minimum=1)
        count = min(_positive(request.GET.get("count"), MAX_COUNT, minimum=0), MAX_COUNT)
        page = list(users[start - 1 : start - 1 + count])
        return scim_response(
            {
                "schemas": [LIST_RESPONSE],
                "totalResults": users.count(),
                "startIndex": start,
                "itemsPerPage": len(page),
                "Resources": [user_resource(user) for user in page],
            }
        )


class ScimUserView(ScimView):
    """One user: read it, PATCH `active` (false deactivates, as the admin page does; true lets
    the user sign in again), DELETE (deactivates; the user stays, for the audit trail)."""

    def _user(self, pk: str) -> User | None:
        # ASCII digits only: str.isdigit() also takes "²", which int() refuses (a 500).
        if not (pk.isascii() and pk.isdigit()) or int(pk) > 2**63 - 1:
            return None
        return get_user_model().objects.filter(pk=int(pk)).first()

    def get(self, request: HttpRequest, pk: str) -> HttpResponse:
        user = self._user(pk)
        if user is None:
            return scim_error(404, f"No user {pk}.")
        return scim_response(user_resource(user))

    def patch(self, request: HttpRequest, pk: str) -> HttpResponse:
        user = self._user(pk)
        if user is None:
            return scim_error(404, f"No user {pk}.")
        if len(request.body) > settings.API_MAX_BODY_BYTES:
            return scim_error(413, "The request body is too large.")
        try:
            body = json.loads(request.body or b"null")
        except (ValueError, RecursionError) as error:
            raise ScimInvalid(f"The body is not JSON: {error}") from error
        active = patch_active(body)
        address = client_address(request)
        if active is False:
            user_deactivate(user=user, actor=None, via="scim", client_address=address)
        elif active is True:
            user_reactivate(user=user, actor=None, via="scim", client_address=address)
        user.refresh_from_db()
        return scim_response(user_resource(user))

    def delete(self, request: HttpRequest, pk: str) -> HttpResponse:
        user = self._user(pk)
        if user is None:
            return scim_error(404, f"No user {pk}.")
        user_deactivate(user=user, actor=None, via="scim", client_address=client_address(request))
        return HttpResponse(status=204)
