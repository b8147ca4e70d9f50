from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.selectors import audit_events_visible_to


@login_required
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    events = audit_events_visible_to(user=request.user)
    filters = {key: request.GET.get(key, "").strip()[:64] for key in ("request", "actor", "verb")}
    if filters["request"].isdigit():
        events = events.filter(access_request_id=int(filters["request"]))
    if filters["actor"]:
        events = events.filter(actor__username=filters["actor"])
    if filters["verb"]:
        events = events.filter(verb__startswith=filters["verb"])
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "audit/list.html", {"page": page, "filters": filters})
