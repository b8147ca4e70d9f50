"""The request wizard's JSON endpoints: the resource picker (a managed account's inventory), the
action picker (the IAM action catalog, by access level) and the on-demand inventory refresh.

The request form's textareas stay the source of truth: these only suggest what to put there.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from access_requests.drafts import resources_for_account
from accounts.inventory import accounts_requestable, inventory_refresh, resources_search
from accounts.models import Account, Resource
from accounts.scps import scp_denials
from policy.arns import arn_parse
from policy.catalog import Action, action_lookup, actions_of_service, service_known

MAX_QUERY = 100
MAX_RESOURCES = 50
ACTIONS_LIMIT = 60
# The catalog's access levels, in the order the picker shows them.
ACCESS_LEVELS = ["Read", "Write", "List", "Permissions management", "Tagging"]
# Least privilege by default: picking a resource adds no action. These are the common data-plane
# reads of the resources the inventory holds, offered as one click (each only where it takes a
# chosen resource: s3:ListBucket the bucket, s3:GetObject an object); every other action, a
# table's other 12 Read actions among them, is chosen one by one.
COMMON_READS = frozenset(
    {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "s3:ListBucket",
        "s3:GetObject",
        "sqs:ReceiveMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "sns:GetTopicAttributes",
        "kms:Decrypt",
        "kms:DescribeKey",
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
    }
)


def _json_login_required(view):
    """401 for anonymous fetches; a browser's plain form post is sent to the login page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if _wants_json(request):
            return JsonResponse({"detail": "Sign in first."}, status=401)
        return redirect_to_login(request.get_full_path())

    return wrapper


def _wants_json(request: HttpRequest) -> bool:
    return request.method == "GET" or "application/json" in request.headers.get("Accept", "")


def _account(value: str) -> Account | None:
    """A target account the user may request into, by its 12-digit id (one query)."""
    value = (value or "").strip()
    if not (len(value) == 12 and value.isdigit()):
        return None
    return accounts_requestable().filter(account_id=value).first()


def _inventory_state(account: Account) -> dict:
    return {
        "account_id": account.account_id,
        "name": account.name,
        "synced_at": account.inventory_synced_at.isoformat()
        if account.inventory_synced_at
        else None,
        "error": account.inventory_error,
        "refresh_requested_at": (
            account.inventory_requested_at.isoformat() if account.inventory_requested_at else None
        ),
    }


def _no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store"
    return response


@_json_login_required
@require_GET
def wizard_resources(request: HttpRequest) -> JsonResponse:
    """?account=999999999999&q=MyT: the account's inventory matching q, names first, capped."""
    account = _account(request.GET.get("account", ""))
    if account is None:
        return JsonResponse({"detail": "No such account to request access into."}, status=404)
    found = resources_search(account=account, query=request.GET.get("q", "")[:MAX_QUERY])
    kinds = dict(Resource.Kind.choices)
    return _no_store(
        JsonResponse(
            {
                "inventory": _inventory_state(account),
                "results": [
                    {
                        "arn": r.arn,
                        "name": r.name,
                        "kind": r.kind,
                        "kind_label": kinds.get(r.kind, r.kind),
                        "region": r.region,
                    }
                    for r in found
                ],
            }
        )
    )


@_json_login_required
@require_POST
def wizard_inventory_refresh(request: HttpRequest) -> HttpResponse:
    """Queue a sync of one account's inventory (at most every 30 seconds per account)."""
    account = _account(request.POST.get("account", ""))
    if account is None:
        if _wants_json(request):
            return JsonResponse({"detail": "No such account to request access into."}, status=404)
        messages.error(request, "No such account to request access into.")
        return redirect("request_new")
    queued = inventory_refresh(account=account)
    account.refresh_from_db()
    if _wants_json(request):
        return JsonResponse({"queued": queued, "inventory": _inventory_state(account)}, status=202)
    messages.success(
        request,
        f"The inventory of {account} is being refreshed."
        if queued
        else f"The inventory of {account} was refreshed moments ago.",
    )
    return redirect(
        reverse("request_new") + "?" + urlencode({"target_account": account.account_id})
    )


def _lines(value: str) -> list[str]:
    return [item for item in value.replace(",", "\n").split() if item][:MAX_RESOURCES]


def _candidates(resources: list[str], query: str) -> tuple[list[tuple[Action, list[str]]], bool]:
    """The catalog actions for the resources' services and a typed `service:` prefix, each with
    the resources it applies to. With resources, only actions that take one of them."""
    services = {a.service for r in resources if (a := arn_parse(r)) and service_known(a.service)}
    typed_service, _, typed_name = query.rpartition(":")
    typed_service = typed_service.lower()
    if typed_service and service_known(typed_service):
        services.add(typed_service)
    else:
        typed_service, typed_name = "", query
    needle = typed_name.lower()
    candidates = []
    for service in sorted(services):
        for qualified in actions_of_service(service):
            action = action_lookup(qualified)
            if action is None or (needle and needle not in action.name.lower()):
                continue
            applies = action.resources_taken(resources)
            if resources and not applies and service != typed_service:
                continue
            candidates.append((action, applies))
    return candidates, bool(services)


@_json_login_required
@require_GET
def wizard_actions(request: HttpRequest) -> JsonResponse:
    """?resources=ARN…&q=Get&source=…&target=…: catalog actions grouped by access level, and the
    common reads of the resources that the page offers as one click (less those an SCP denies)."""
    resources = _lines(request.GET.get("resources", "")[:20000])
    query = request.GET.get("q", "").strip()[:MAX_QUERY]
    target = request.GET.get("target", "")
    if target.isascii() and target.isdigit() and len(target) == 12:
        # "${Account}" (a request for several accounts) as the target account's resources.
        resources = resources_for_account(resources, target)
    candidates, any_service = _candidates(resources, query)
    ids = [
        i
        for i in (request.GET.get("source", ""), request.GET.get("target", ""))
        if i.isascii() and i.isdigit()
    ]
    accounts = list(Account.objects.filter(account_id__in=ids[:2])) if ids else []
    common = [a for a, applies in candidates if a.qualified in COMMON_READS and applies]
    # The SCP check covers the common reads and the other Read actions the list shows.
    checked = [a for a, applies in candidates if applies and a.access_level == "Read"]
    denied: dict[str, str] = {}
    if accounts:
        qualified = list(dict.fromkeys(a.qualified for a in [*common, *checked]))
        for denial in scp_denials(accounts=accounts, actions=qualified, resources=resources):
            denied.setdefault(denial.action, denial.scp)
    groups: dict[str, list[dict]] = {level: [] for level in ACCESS_LEVELS}
    shown = 0
    exact = query.lower()
    ranked = sorted(candidates, key=lambda c: (c[0].qualified.lower() != exact, c[0].qualified))
    for action, applies in ranked:
        level = action.access_level if action.access_level in groups else "Write"
        if shown >= ACTIONS_LIMIT:
            break
        groups[level].append(
            {
                "action": action.qualified,
                "resources": applies,
                "common": action.qualified in COMMON_READS and bool(applies),
                "denied_by": denied.get(action.qualified, ""),
            }
        )
        shown += 1
    return _no_store(
        JsonResponse(
            {
                "groups": [
                    {"level": level, "actions": groups[level]}
                    for level in ACCESS_LEVELS
                    if groups[level]
                ],
                "truncated": len(candidates) > shown,
                "hint": ""
                if any_service
                else "Pick a resource, or type a service prefix such as dynamodb:",
                "common_reads": [a.qualified for a in common if a.qualified not in denied],
                "denied": denied,
            }
        )
    )
