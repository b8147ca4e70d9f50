"""What the access rules do to a request: eligibility for the draft, and at submit the approval
by rule (auto) or break-glass (SPEC 10.2). The matching is accounts/rules.py."""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from access_requests.drafts import Draft
from access_requests.models import AccessRequest
from access_requests.services.decisions import locked_request, request_decided
from accounts.access_rules import AccessRule
from accounts.mfa import second_factor_enrolment_check
from accounts.models import Account
from accounts.rules import eligibility, rule_summary
from accounts.selectors import user_approves_for
from audit.services import audit_record
from core.errors import ServiceError
from notifications.services import notify
from policy.escalation import privilege_escalations
from provisioning.services import grant_create


def draft_rule_check(
    draft: Draft,
    *,
    requester: User,
    account: Account,
    source_account: Account | None,
    duration: int | None,
    break_glass: bool,
) -> bool:
    """Put the rules' word on the draft: the rule it goes under and how it is approved, or what
    no rule allows (on `actions` or `duration`, or `forbidden`). True when it is eligible."""
    found = eligibility(
        user=requester,
        account=account,
        actions=draft.actions,
        duration=duration,
        break_glass=break_glass,
    )
    if not found.checked:
        return True
    if found.forbidden:
        draft.forbidden = found.forbidden
        draft.add("target_account", found.forbidden)
        return False
    for name, messages in found.errors.items():
        for message in messages:
            draft.add(name, message)
    if found.rule is None:
        return False
    draft.rule = _rule_facts(
        found.rule,
        escalation=bool(privilege_escalations(draft.actions)),
        two_party=source_account
        if source_account is not None and source_account.source_approval_required
        else None,
    )
    return True


def _rule_facts(
    rule: AccessRule, *, escalation: bool, two_party: Account | None
) -> dict[str, object]:
    """What the wizard, the request page and the API say about the rule that applies, and why.
    `two_party` is the source account when it asks for two-party approval: an auto rule speaks
    for the target account only, so the source's approver is still asked, as for an escalation
    the admin is."""
    auto = rule.approval == AccessRule.Approval.AUTO and not rule.break_glass
    if rule.break_glass:
        approval = "break-glass: provisioned at once, reviewed by the account's approvers after"
    elif auto and escalation:
        approval = (
            "the account's approvers and a platform admin: a privilege escalation never goes "
            "through an auto rule"
        )
    elif auto and two_party is not None:
        approval = (
            f"the account's approvers and an approver of {two_party}: a source account with "
            "two-party approval never goes through an auto rule"
        )
    elif auto:
        approval = "approved by rule at submit, without a human"
    else:
        approval = "the account's approver quorum"
    return {
        "name": rule.name,
        "summary": rule_summary(rule),
        "max_duration": rule.max_duration,
        "auto": auto and not escalation and two_party is None,
        "break_glass": rule.break_glass,
        "approval": approval,
    }


def request_rule_apply(
    access_request: AccessRequest, *, rule: dict[str, object], client_address: str | None
) -> None:
    """At submit, in its transaction: approve the request by its rule, or open the glass.
    Anything else stays pending for the approvers. Provisioning is queued after the commit."""
    if rule.get("break_glass"):
        access_request.break_glass = True
        access_request.review_status = AccessRequest.ReviewStatus.PENDING_REVIEW
        verb, event = "request.break_glass", "request.break_glass"
    elif rule.get("auto"):
        verb, event = "request.auto_approved", "request.auto_approved"
    else:
        return
    access_request.approved_by_rule = str(rule["name"])
    access_request.save(update_fields=["approved_by_rule", "break_glass", "review_status"])
    grant = grant_create(access_request=access_request)
    request_decided(
        access_request,
        AccessRequest.Status.APPROVED,
        actor=access_request.requester if rule.get("break_glass") else None,
        verb=verb,
        client_address=client_address,
        grant=grant.pk,
        rule=rule["name"],
    )
    notify(event=event, access_request_id=access_request.pk)


@transaction.atomic
def access_request_review(
    *,
    access_request: AccessRequest,
    reviewer: User,
    comment: str = "",
    client_address: str | None = None,
) -> AccessRequest:
    """A break-glass request's review after the fact, by one of the target account's approvers
    (not the requester): the glass was broken in their account. A source account's approver
    (two-party approval) decides on ordinary requests only; the review is not theirs, and
    marking it reviewed would take it out of the target approvers' "To review". Revoking is the
    other answer; it is the grant's revoke."""
    locked = locked_request(access_request)
    if locked.requester_id == reviewer.pk:
        raise ServiceError("You cannot review your own request.", kind=ServiceError.FORBIDDEN)
    if not user_approves_for(user=reviewer, account=locked.target_account):
        raise ServiceError(
            f"You are not an approver for {locked.target_account}.", kind=ServiceError.FORBIDDEN
        )
    second_factor_enrolment_check(reviewer)
    if locked.review_status != AccessRequest.ReviewStatus.PENDING_REVIEW:
        raise ServiceError(
            "This request waits for no review."
            if not locked.review_status
            else "This request is already reviewed.",
            kind=ServiceError.CONFLICT,
        )
    if len(comment) > 2000:
        raise ServiceError("At most 2000 characters.", field_errors={"comment": ["Too long."]})
    locked.review_status = AccessRequest.ReviewStatus.REVIEWED
    locked.reviewed_by = reviewer
    locked.reviewed_at = timezone.now()
    locked.review_comment = comment.strip()
    locked.save(
        update_fields=[
            "review_status",
            "reviewed_by",
            "reviewed_at",
            "review_comment",
            "updated_at",
        ]
    )
    audit_record(
        actor=reviewer,
        verb="request.reviewed",
        obj=locked,
        access_request_id=locked.pk,
        before={"review_status": AccessRequest.ReviewStatus.PENDING_REVIEW},
        after={"review_status": locked.review_status, "comment": locked.review_comment},
        client_address=client_address,
    )
    access_request.refresh_from_db()
    return locked
