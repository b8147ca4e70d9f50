"""The signed-in user's start page: requests, live grants, approvals waiting, recent events."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from access_requests.selectors import (
    access_requests_awaiting,
    access_requests_to_review,
    access_requests_visible_to,
    grants_stuck,
)
from audit.selectors import audit_events_visible_to
from core.http import AuthenticatedHttpRequest
from provisioning.selectors import grants_active_of

SHOWN = 10


@login_required
@require_GET
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    awaiting = access_requests_awaiting(user=user)
    to_review = access_requests_to_review(user=user)
    return render(
        request,
        "dashboard.html",
        {
            "my_requests": access_requests_visible_to(user=user).filter(requester=user)[:SHOWN],
            "grants": grants_active_of(user=user),
            "stuck": grants_stuck(user=user)[:SHOWN],
            "awaiting": awaiting[:SHOWN],
            "awaiting_count": awaiting.count(),
            "to_review": to_review[:SHOWN],
            "to_review_count": to_review.count(),
            "events": audit_events_visible_to(user=user)[:SHOWN],
            "now": timezone.now(),
        },
    )
