"""Every read of requests that needs a rule: who may see and who may decide; the timeline."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from access_requests.models import AccessRequest, Approval
from accounts.models import Account, Resource
from accounts.selectors import user_approves_for
from policy.arns import arn_parse
from provisioning.explain import role_of
from provisioning.models import Grant


def _accounts_approved_by(user: User) -> tuple[QuerySet[Account, Any], QuerySet[Account, Any]]:
    """The accounts whose approver group the user is in, and those of them that also approve as
    source accounts (two-party approval): subqueries, so a request matches once, whatever the
    number of groups (no DISTINCT), and PostgreSQL can use the foreign keys' indexes."""
    approved = Account.objects.filter(approver_group__in=user.groups.all())
    return approved.values("pk"), approved.filter(source_approval_required=True).values("pk")


def access_requests_visible_q(*, user: User, prefix: str = "") -> Q:
    """access_requests_visible_to's condition, for a query of requests (`prefix` "") or of what
    points at one (`prefix` "access_request__": grants), in that query's own joins."""
    if user.is_superuser:
        return Q()
    as_target, as_source = _accounts_approved_by(user)
    return (
        Q(**{f"{prefix}requester": user})
        | Q(**{f"{prefix}target_account__in": as_target})
        | Q(**{f"{prefix}source_account__in": as_source})
    )


def access_requests_visible_to(*, user: User) -> QuerySet[AccessRequest]:
    """Admins see all; others their own requests and those on accounts they approve for."""
    requests = AccessRequest.objects.select_related(
        "requester", "source_account", "target_account", "grant"
    )
    return requests.filter(access_requests_visible_q(user=user))


def access_request_siblings(
    *, access_request: AccessRequest, user: User
) -> QuerySet[AccessRequest]:
    """The other requests submitted with this one for other accounts (its batch) that `user`
    may see, in the order they were made."""
    if access_request.batch is None:
        return AccessRequest.objects.none()
    return (
        access_requests_visible_to(user=user)
        .filter(batch=access_request.batch)
        .exclude(pk=access_request.pk)
        .order_by("id")
    )


def access_requests_filtered(
    requests: QuerySet[AccessRequest],
    *,
    status: str = "",
    source_account: str = "",
    target_account: str = "",
    requester: str = "",
    mechanism: str = "",
    query: str = "",
    batch: UUID | None = None,
) -> QuerySet[AccessRequest]:
    """The list filters of the request pages and `GET /api/v1/requests/`: each one given narrows
    the requests (accounts by id, the requester by username); `query` matches the number, the
    target account, the requester, the ticket or the justification."""
    exact = {
        "status": status,
        "source_account__account_id": source_account,
        "target_account__account_id": target_account,
        "requester__username": requester,
        "mechanism": mechanism,
    }
    requests = requests.filter(**{field: value for field, value in exact.items() if value})
    if batch is not None:
        requests = requests.filter(batch=batch)
    if not query:
        return requests
    if "\x00" in query:  # PostgreSQL's text holds no NUL: nothing matches (not a 500)
        return requests.none()
    match = Q(justification__icontains=query) | Q(ticket__icontains=query)
    match |= Q(target_account__account_id__icontains=query)
    match |= Q(target_account__name__icontains=query)
    match |= Q(requester__username__icontains=query)
    number = query.lstrip("#")
    if number.isascii() and number.isdigit() and len(number) < 19:
        match |= Q(pk=int(number))
    return requests.filter(match)


def access_request_editable(*, access_request: AccessRequest) -> dict[str, Any]:
    """A pending request's fields as an edit starts from: every field of a submit but the two
    accounts, which stay (the edit page and PATCH /api/v1/requests/{id}/ change these)."""
    return {
        "source_principal": access_request.source_principal,
        "actions": access_request.actions,
        "resources": access_request.resources,
        "access_via": access_request.access_via,
        "mechanism": access_request.requested_mechanism,
        "duration": access_request.duration,
        "justification": access_request.justification,
        "ticket": access_request.ticket,
        "third_party": access_request.third_party,
    }


def access_requests_awaiting(*, user: User) -> QuerySet[AccessRequest]:
    """Pending requests this user may decide and has not voted on yet: platform admins also
    see every privilege escalation."""
    as_target, as_source = _accounts_approved_by(user)
    decides = Q(target_account__in=as_target) | Q(source_account__in=as_source)
    if user.is_superuser:
        decides |= Q(privilege_escalation=True)
    return (
        access_requests_visible_to(user=user)
        .filter(status=AccessRequest.Status.PENDING)
        .filter(decides)
        .exclude(requester=user)
        .exclude(
            Exists(
                Approval.objects.filter(
                    access_request=OuterRef("pk"),
                    approver=user,
                    documents_hash=OuterRef("documents_hash"),
                )
            )
        )
    )


def access_requests_to_review(*, user: User) -> QuerySet[AccessRequest]:
    """Break-glass requests waiting for this user's review afterwards: those of the accounts
    they approve for (SPEC 10.2), never their own."""
    as_target, _as_source = _accounts_approved_by(user)
    return (
        access_requests_visible_to(user=user)
        .filter(
            review_status=AccessRequest.ReviewStatus.PENDING_REVIEW,
            target_account__in=as_target,
        )
        .exclude(requester=user)
    )


def user_may_decide_for(*, user: User, access_request: AccessRequest) -> bool:
    """An approver of the target account, of the source account when it asks for two-party
    approval, and a platform admin on a privilege escalation (whose approval it needs)."""
    if access_request.privilege_escalation and user.is_superuser:
        return True
    if user_approves_for(user=user, account=access_request.target_account):
        return True
    source = access_request.source_account
    return source.source_approval_required and user_approves_for(user=user, account=source)


def access_request_may_decide(*, user: User, access_request: AccessRequest) -> bool:
    return (
        access_request.is_pending
        and access_request.requester_id != user.pk
        and user_may_decide_for(user=user, access_request=access_request)
        and not access_request.approvals.filter(
            approver=user, documents_hash=access_request.documents_hash
        ).exists()
    )


def grants_visible_to(*, user: User) -> QuerySet[Grant]:
    """Grants of the requests `user` can see: the visibility rule on the grant's own joins (not
    `IN` every visible request), with the accounts and the requester."""
    return Grant.objects.select_related(
        "access_request__source_account",
        "access_request__target_account",
        "access_request__requester",
    ).filter(access_requests_visible_q(user=user, prefix="access_request__"))


def grants_stuck(*, user: User) -> QuerySet[Grant]:
    """Grants of the requests `user` can see whose removal stopped on an error and waits for a
    retry: a failed grant's rollback, or a revoke. What the dashboard asks people to look at."""
    stopped = Q(
        access_request__status=AccessRequest.Status.FAILED, rolled_back_at__isnull=True
    ) & ~Q(rollback_error="")
    stopped |= Q(access_request__status=AccessRequest.Status.REVOKING) & ~Q(last_error="")
    return grants_visible_to(user=user).filter(stopped).order_by("pk")


@dataclass(frozen=True)
class ExplainScope:
    """What *Why denied?* may read for one question: everything of the principal's role, or
    (`only_policies`) only the asker's own grant's policies on a role other grants share."""

    only_policies: frozenset[str] | None = None


def _resource_account(resource: str) -> str:
    """The account of a resource: from its ARN, or for an S3 bucket or object (whose ARN names
    none) from the inventory; "" when unknown."""
    arn = arn_parse(resource)
    if arn is None:
        return ""
    if arn.account:
        return arn.account
    if arn.service == "s3":
        bucket = f"arn:{arn.partition}:s3:::{arn.resource.split('/', 1)[0]}"
        owner = Resource.objects.filter(kind=Resource.Kind.S3_BUCKET, arn=bucket)
        return owner.values_list("account__account_id", flat=True).first() or ""
    return ""


def _covers(patterns: list[str], resource: str) -> bool:
    return resource in patterns or any(
        pattern.endswith("*") and resource.startswith(pattern.rstrip("*")) for pattern in patterns
    )


def _principal_of(principal: str, owned: set[str]) -> bool:
    """`principal` is one of the `owned` ARNs, or a session of one of those roles."""
    if principal in owned:
        return True
    account, role_name = role_of(principal)
    return (
        bool(role_name)
        and principal.startswith(f"arn:aws:sts::{account}:assumed-role/")
        and any(role_of(arn) == (account, role_name) for arn in owned)
    )


def explain_scope(*, user: User, principal: str, resource: str) -> ExplainScope | None:
    """What *Why denied?* may read for `user`, or None: it reads live policies, which are not for
    everyone's eyes. Admins ask about anything; approvers about principals and resources of the
    accounts they approve for; everyone about their own grants that went live (active or ended):
    the grant's role or its sessions, or the identity a resource-policy grant was for, by exact
    ARN (never by role name), with the grant's resources. On the source account's broker role,
    which every grant's identity policy sits on, only the asker's own grant's policy is read."""
    if user.is_superuser:
        return ExplainScope()
    grants = Grant.objects.filter(
        access_request__requester=user, activated_at__isnull=False
    ).select_related("access_request__source_account")
    for grant in grants:
        access_request = grant.access_request
        if not _covers(access_request.resources, resource) and resource != grant.role_arn:
            continue
        broker = access_request.source_account.broker_role_arn
        owned = {grant.role_arn}
        if access_request.access_via == AccessRequest.AccessVia.OWN_IDENTITY:
            owned.add(access_request.source_principal)
        if _principal_of(principal, owned - {"", broker}):
            return ExplainScope()
        if broker and grant.source_policy_name and _principal_of(principal, {broker}):
            return ExplainScope(only_policies=frozenset({grant.source_policy_name}))
    approved = set(
        Account.objects.filter(pk__in=_accounts_approved_by(user)[0]).values_list(
            "account_id", flat=True
        )
    )
    account, _role_name = role_of(principal)
    if account in approved and _resource_account(resource) in approved:
        return ExplainScope()
    return None


def accounts_selectable() -> QuerySet[Account]:
    return Account.objects.all()


# --- The request page's timeline ---------------------------------------------------------------


def access_request_approvals(*, access_request: AccessRequest) -> list[Approval]:
    return list(access_request.approvals.select_related("approver"))


def operations_figures() -> list[tuple[str, str, float]]:
    """The gauges of a metrics scrape, as (name, help, value): two index probes (the status index
    counts the active requests, whose grants are the active ones; the status and creation index
    finds the oldest pending request), never a scan of the table."""
    active = AccessRequest.objects.filter(status=AccessRequest.Status.ACTIVE).count()
    oldest = (
        AccessRequest.objects.filter(status=AccessRequest.Status.PENDING)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    waiting = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    return [
        ("portal_grants_active", "Grants active now.", float(active)),
        (
            "portal_pending_request_oldest_seconds",
            "Seconds the oldest pending request has waited for its approvers (0: none waits).",
            waiting,
        ),
    ]
