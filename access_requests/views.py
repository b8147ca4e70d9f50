"""HTML pages for requests: parse input, call one service or selector, render."""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from access_requests import selectors, services, timeline
from access_requests.drafts import Draft
from access_requests.forms import AccessRequestForm, DecisionForm
from access_requests.models import AccessRequest
from access_requests.policy_changes import resource_policy_changes
from access_requests.services.decisions import quorum
from accounts.models import Account
from accounts.selectors import user_approves_for
from core.errors import ServiceError
from core.http import AuthenticatedHttpRequest, client_address, flash_error
from provisioning.selectors import user_may_manage

PAGE_SIZE = 25


@login_required
@require_GET
def request_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    scope = request.GET.get("scope", "mine")
    query = request.GET.get("q", "").strip()[:200]
    if scope == "awaiting":
        requests = selectors.access_requests_awaiting(user=request.user)
    elif scope == "all":
        requests = selectors.access_requests_visible_to(user=request.user)
    else:
        scope = "mine"
        requests = selectors.access_requests_visible_to(user=request.user).filter(
            requester=request.user
        )
    status = request.GET.get("status", "")
    if status not in AccessRequest.Status.values:
        status = ""
    batch = _uuid(request.GET.get("batch", ""))
    requests = selectors.access_requests_filtered(requests, status=status, query=query, batch=batch)
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    awaiting = selectors.access_requests_awaiting(user=request.user).count()
    return render(
        request,
        "access_requests/list.html",
        {
            "page": page,
            "scope": scope,
            "query": query,
            "status": status,
            "statuses": AccessRequest.Status.choices,
            "awaiting_count": awaiting,
            "batch": batch,
        },
    )


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value[:64]) if value else None
    except ValueError:
        return None


@login_required
@require_GET
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The approver's inbox: every request waiting for my vote, with what approving would write."""
    query = request.GET.get("q", "").strip()[:200]
    waiting = selectors.access_requests_awaiting(user=request.user)
    total = waiting.count() if query else None
    waiting = selectors.access_requests_filtered(waiting, query=query).order_by("created_at", "id")
    page = Paginator(waiting, 10).get_page(request.GET.get("page"))
    to_review = selectors.access_requests_to_review(user=request.user).order_by("created_at", "id")
    return render(
        request,
        "access_requests/inbox.html",
        {"page": page, "query": query, "total": total, "to_review": to_review[:50]},
    )


@login_required
def request_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = AccessRequestForm(request.POST or None, initial=_initial(request))
    draft, drafts = None, None
    if request.method == "POST":
        form_ok = form.is_valid()
        arguments = form.service_arguments()
        accounts = form.target_accounts()
        glass = form.wants_break_glass
        if "preview" in request.POST or not form_ok:
            # Every field's message at once, not only those of Django's own field checks.
            draft, drafts = _previews(request, arguments, accounts, glass, form=form)
        else:
            try:
                if len(accounts) > 1:
                    created = services.access_requests_submit_batch(
                        requester=request.user,
                        client_address=client_address(request),
                        break_glass=glass,
                        target_accounts=list(accounts),
                        **{k: v for k, v in arguments.items() if k != "target_account"},
                    )
                else:
                    created = [
                        services.access_request_submit(
                            requester=request.user,
                            client_address=client_address(request),
                            break_glass=glass,
                            **arguments,
                        )
                    ]
            except ServiceError as error:
                form.add_service_errors(error.field_errors)
                if not error.field_errors:
                    form.add_error(None, error.message)
                draft, drafts = _previews(request, arguments, accounts, glass, form=None)
            else:
                for access_request in created:
                    messages.success(request, _submitted_message(access_request))
                return redirect("request_detail", pk=created[0].pk)
    status = 400 if request.method == "POST" and form.errors else 200
    return render(
        request,
        "access_requests/new.html",
        {
            "form": form,
            "draft": draft,
            "drafts": drafts,
            "third_party_accounts": _third_party_accounts(),
        },
        status=status,
    )


def _previews(
    request: AuthenticatedHttpRequest,
    arguments: dict,
    accounts: list[Account],
    glass: bool,
    *,
    form: AccessRequestForm | None = None,
) -> tuple[Draft | None, list[tuple[Account, Draft]] | None]:
    """The preview of one account (a draft) or of several (each account's draft); the errors go
    on `form` when given."""
    if len(accounts) > 1:
        drafts = services.access_requests_preview_batch(
            arguments, requester=request.user, target_accounts=accounts, break_glass=glass
        )
        if form is not None:
            form.add_service_errors(services.batch_errors(drafts))
        return None, drafts
    draft = services.access_request_preview(arguments, requester=request.user, break_glass=glass)
    if form is not None:
        form.add_service_errors(draft.errors)
    return draft, None


def _submitted_message(access_request: AccessRequest) -> str:
    """What the requester is told after submitting: who decides now, or which rule did."""
    n = access_request.pk
    into = f" ({access_request.target_account})" if access_request.batch else ""
    if access_request.break_glass:
        return (
            f"Request #{n}{into}: break-glass under the rule {access_request.approved_by_rule}. "
            "It is being provisioned now; the approvers and admins have been told and will "
            "review it."
        )
    if access_request.approved_by_rule:
        return (
            f"Request #{n}{into} approved by the rule {access_request.approved_by_rule}, without "
            "a human: it is being provisioned now."
        )
    return f"Request #{n}{into} submitted: approvers have been asked."


def _third_party_accounts() -> list[str]:
    """The source accounts that are third parties: the form asks for their ExternalId."""
    return list(
        selectors.accounts_selectable()
        .filter(third_party=True)
        .values_list("account_id", flat=True)
    )


def _initial(request: AuthenticatedHttpRequest) -> dict:
    """Prefill from the query string, so a request can be linked to ("request this again")."""
    keys = ("source_account", "target_account", "actions", "resources", "source_principal")
    return {key: request.GET[key][:5000] for key in keys if key in request.GET}


@login_required
@require_POST
def request_preview(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The live preview: the documents and the errors for what is in the form right now."""
    form = AccessRequestForm(request.POST)
    form.is_valid()
    draft, drafts = _previews(
        request, form.service_arguments(), form.target_accounts(), form.wants_break_glass
    )
    if drafts is not None:
        return render(request, "access_requests/_previews.html", {"drafts": drafts, "live": True})
    return render(request, "access_requests/_preview.html", {"draft": draft, "live": True})


def _visible(request: AuthenticatedHttpRequest, pk: int) -> AccessRequest:
    return get_object_or_404(selectors.access_requests_visible_to(user=request.user), pk=pk)


@login_required
@require_GET
def request_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    access_request = _visible(request, pk)
    approvals = selectors.access_request_approvals(access_request=access_request)
    waiting_for = quorum(access_request)[1] if access_request.is_pending else ""
    grant = getattr(access_request, "grant", None)
    approves_target = request.user.is_superuser or user_approves_for(
        user=request.user, account=access_request.target_account
    )
    return render(
        request,
        "access_requests/detail.html",
        {
            "req": access_request,
            "approvals": approvals,
            "timeline": timeline.access_request_timeline(
                access_request=access_request, approvals=approvals, waiting_for=waiting_for
            ),
            "timeline_version": timeline.access_request_timeline_version(
                access_request_id=access_request.pk
            ),
            # The whole resource policy names who else has access: the target account's
            # approvers judge it; the requester sees the statement the portal adds.
            "policy_changes": resource_policy_changes(access_request=access_request)
            if approves_target
            else [],
            "grant": grant,
            "may_decide": selectors.access_request_may_decide(
                user=request.user, access_request=access_request
            ),
            "is_requester": access_request.requester_id == request.user.pk,
            "may_manage": user_may_manage(user=request.user, access_request=access_request),
            "decision_form": DecisionForm(),
            "waiting_for": waiting_for,
            "pending_extension": _pending_extension(grant),
            "siblings": selectors.access_request_siblings(
                access_request=access_request, user=request.user
            ),
        },
    )


def _pending_extension(grant) -> AccessRequest | None:
    if grant is None:
        return None
    return grant.extensions.filter(status=AccessRequest.Status.PENDING).first()


@login_required
@require_GET
def request_status(request: AuthenticatedHttpRequest, pk: int) -> JsonResponse:
    """For the page's live updates: its status, and its newest audit event (an approval that
    does not reach the quorum yet, a session started, an expiry notice)."""
    access_request = _visible(request, pk)
    return JsonResponse(
        {
            "id": access_request.pk,
            "status": access_request.status,
            "version": timeline.access_request_timeline_version(
                access_request_id=access_request.pk
            ),
        },
        headers={"Cache-Control": "no-store"},
    )


@login_required
@require_POST
def request_decide(request: AuthenticatedHttpRequest, pk: int, decision: str) -> HttpResponse:
    access_request = _visible(request, pk)
    form = DecisionForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    try:
        if decision == "approve":
            services.access_request_approve(
                access_request=access_request,
                approver=request.user,
                comment=comment,
                # What the page showed; a form without it approves nothing.
                documents_hash=request.POST.get("documents_hash", ""),
                client_address=client_address(request),
            )
            messages.success(request, "Your approval is recorded.")
        else:
            services.access_request_reject(
                access_request=access_request,
                approver=request.user,
                reason=comment,
                client_address=client_address(request),
            )
            messages.success(request, "The request is rejected.")
    except ServiceError as error:
        flash_error(request, error)
    return redirect("request_detail", pk=pk)


@login_required
@require_POST
def request_review(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """An approver marks a break-glass request reviewed (revoking is the grant's button)."""
    access_request = _visible(request, pk)
    form = DecisionForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    try:
        services.access_request_review(
            access_request=access_request,
            reviewer=request.user,
            comment=comment,
            client_address=client_address(request),
        )
        messages.success(request, "The break-glass access is marked reviewed.")
    except ServiceError as error:
        flash_error(request, error)
    return redirect("request_detail", pk=pk)


@login_required
@require_POST
def request_cancel(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    access_request = _visible(request, pk)
    try:
        services.access_request_cancel(
            access_request=access_request, user=request.user, client_address=client_address(request)
        )
        messages.success(request, "The request is cancelled.")
    except ServiceError as error:
        flash_error(request, error)
    return redirect("request_detail", pk=pk)


@login_required
def request_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The requester changes a pending request; approvals on the earlier documents stop counting."""
    access_request = _visible(request, pk)
    if access_request.requester_id != request.user.pk or not access_request.is_pending:
        messages.error(
            request, "Only the requester can edit a request, and only while it is pending."
        )
        return redirect("request_detail", pk=pk)
    current = selectors.access_request_editable(access_request=access_request)
    initial = current | {
        "source_account": access_request.source_account,
        "target_account": access_request.target_account,
        "actions": "\n".join(current["actions"]),
        "resources": "\n".join(current["resources"]),
    }
    form = AccessRequestForm(request.POST or None, initial=initial, editing=True)
    draft = None
    if request.method == "POST":
        form_ok = form.is_valid()
        arguments = form.service_arguments()
        if "preview" in request.POST or not form_ok:
            draft = services.access_request_preview(
                arguments, requester=request.user, request_id=access_request.pk
            )
            form.add_service_errors(draft.errors)
        else:
            try:
                services.access_request_edit(
                    access_request=access_request,
                    user=request.user,
                    client_address=client_address(request),
                    **arguments,
                )
            except ServiceError as error:
                form.add_service_errors(error.field_errors)
                if not error.field_errors:
                    form.add_error(None, error.message)
            else:
                messages.success(request, "Saved. Approvers see the new documents.")
                return redirect("request_detail", pk=pk)
    status = 400 if request.method == "POST" and form.errors else 200
    return render(
        request,
        "access_requests/new.html",
        {
            "form": form,
            "draft": draft,
            "editing": access_request,
            "third_party_accounts": _third_party_accounts(),
        },
        status=status,
    )
