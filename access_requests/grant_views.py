"""HTML pages for grants: the session page, revoke, retry, extend, re-apply, emergency revoke and
*Why denied?*."""

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from access_requests.forms import ExtensionForm
from access_requests.grant_forms import EmergencyRevokeForm, WhyDeniedForm
from access_requests.selectors import explain_scope, grants_visible_to
from access_requests.services import access_revoke_all, grant_extension_request
from core.errors import ServiceError
from core.http import AuthenticatedHttpRequest, client_address, flash_error
from provisioning import console, drift, services, sessions
from provisioning.explain import explain
from provisioning.models import Grant


def _visible_grant(request: AuthenticatedHttpRequest, pk: int) -> Grant:
    return get_object_or_404(grants_visible_to(user=request.user), pk=pk)


def _grant_button(
    request: AuthenticatedHttpRequest, pk: int, action: Callable[..., object], done: str
) -> HttpResponse:
    """A button of the request page that calls one grant service: what came of it as a message,
    and back to the request."""
    grant = _visible_grant(request, pk)
    try:
        action(grant=grant, user=request.user, client_address=client_address(request))
        messages.success(request, done)
    except ServiceError as error:
        flash_error(request, error)
    return redirect("request_detail", pk=grant.access_request_id)


@never_cache
@login_required
def grant_session(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """GET: what a session will be; POST: assume the role and show the credentials once.

    The response carries Cache-Control: no-store; the secrets exist only in this response."""
    grant = _visible_grant(request, pk)
    context = {
        "grant": grant,
        "req": grant.access_request,
        "region": settings.AWS_REGION,
        "profile_name": grant.role_name,
    }
    status = 200
    try:
        sessions.session_may_start(grant=grant, user=request.user)
        context["session_seconds"], context["capped_by"] = sessions.session_duration(
            grant=grant, role_chained=True
        )
    except ServiceError as error:
        context["refusal"] = error.message
        status = 403 if error.kind == ServiceError.FORBIDDEN else 409
    if request.method == "POST" and "refusal" not in context:
        try:
            assumed, issue, capped_by = sessions.session_start(
                grant_id=grant.pk, user=request.user, client_address=client_address(request)
            )
        except ServiceError as error:
            context["refusal"] = error.message
            status = 502 if error.kind == ServiceError.UNAVAILABLE else 409
        else:
            credentials = assumed.credentials
            context.update(
                {
                    "credentials": credentials,
                    "issue": issue,
                    "capped_by": capped_by,
                    "process_json": sessions.credential_process_document(credentials),
                }
            )
    context["chain_capped"] = context.get("capped_by", "").startswith("role chaining")
    response = render(request, "provisioning/session.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@login_required
@require_POST
def grant_console(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """ "Open the AWS console": a fresh session exchanged for a console sign-in link, shown on the
    session page (a link, not a redirect: the page's form-action policy keeps forms on the
    portal). The link is good for 15 minutes and shown once (Cache-Control: no-store)."""
    grant = _visible_grant(request, pk)
    context = {"grant": grant, "req": grant.access_request, "region": settings.AWS_REGION}
    status = 200
    try:
        signed_in = console.console_sign_in(
            grant_id=grant.pk, user=request.user, client_address=client_address(request)
        )
    except ServiceError as error:
        context["refusal"] = error.message
        status = {ServiceError.FORBIDDEN: 403, ServiceError.UNAVAILABLE: 502}.get(error.kind, 409)
    else:
        context.update({"console_url": signed_in.url, "console_region": signed_in.region})
    response = render(request, "provisioning/session.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def grant_revoke(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _grant_button(
        request,
        pk,
        services.grant_revoke_request,
        "Revoking: the portal removes exactly what it wrote.",
    )


@login_required
@require_POST
def grant_retry(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _grant_button(request, pk, services.grant_retry, "Trying again.")


@login_required
def grant_extend(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Ask for more time on an active grant, through the same approvals, with no gap."""
    grant = _visible_grant(request, pk)
    form = ExtensionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            extension = grant_extension_request(
                grant=grant,
                user=request.user,
                duration=form.cleaned_data["duration"],
                justification=form.cleaned_data["justification"],
                client_address=client_address(request),
            )
        except ServiceError as error:
            for name, problems in error.field_errors.items():
                for problem in problems:
                    form.add_error(name if name in form.fields else None, problem)
            if not error.field_errors:
                form.add_error(None, error.message)
        else:
            messages.success(request, f"Extension #{extension.pk} is waiting for approval.")
            return redirect("request_detail", pk=extension.pk)
    status = 400 if request.method == "POST" and form.errors else 200
    return render(
        request,
        "provisioning/extend.html",
        {"grant": grant, "req": grant.access_request, "form": form},
        status=status,
    )


@login_required
@require_POST
def grant_reapply(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _grant_button(
        request, pk, drift.grant_reapply_request, "Re-applying the approved documents."
    )


@login_required
def grants_emergency_revoke(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Admins: revoke every live grant of a user or of an account in one action."""
    if not request.user.is_superuser:
        raise PermissionDenied
    form = EmergencyRevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            started, cancelled = access_revoke_all(
                admin=request.user,
                requester=form.cleaned_data["user"],
                account_id=form.cleaned_data["account"].account_id
                if form.cleaned_data["account"]
                else "",
                client_address=client_address(request),
            )
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                f"Revoking {len(started)} grant(s); {len(cancelled)} pending request(s) cancelled.",
            )
            return redirect("grants_emergency_revoke")
    return render(request, "provisioning/emergency_revoke.html", {"form": form})


@login_required
def why_denied(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Explain a decision from the SCPs and the grants' documents the user may see."""
    form = WhyDeniedForm(request.GET or None)
    result = None
    if request.GET and form.is_valid():
        scope = explain_scope(
            user=request.user,
            principal=form.cleaned_data["principal"].strip(),
            resource=form.cleaned_data["resource"].strip(),
        )
        if scope is None:
            raise PermissionDenied(
                "Ask about the principals and resources of your own grants (approvers: of the "
                "accounts you approve for)."
            )
        result = explain(
            principal=form.cleaned_data["principal"].strip(),
            action=form.cleaned_data["action"].strip(),
            resource=form.cleaned_data["resource"].strip(),
            context=form.cleaned_data["context"],
            only_policies=scope.only_policies,
        )
    return render(request, "provisioning/why_denied.html", {"form": form, "result": result})
