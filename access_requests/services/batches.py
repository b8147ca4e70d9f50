"""One submission for several target accounts (SPEC 10.6): one request per account, linked by a
batch id, each checked against its own access rules, simulated, decided by its own approvers and
provisioned on its own. All or nothing: when any account's request is refused, none is stored."""

import uuid
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from access_requests.drafts import Draft
from access_requests.models import AccessRequest
from access_requests.services.submission import access_request_preview, access_request_submit
from accounts.models import Account
from core.errors import ServiceError

MAX_TARGET_ACCOUNTS = 20


def _account_errors(account: Account, error: ServiceError) -> dict[str, list[str]]:
    """The refusal of one account's request, each message naming the account. What the single
    request says on `target_account` is said on `target_accounts`, the field the caller sent."""
    named: dict[str, list[str]] = {}
    errors = error.field_errors or {"target_accounts": [error.message]}
    for name, messages in errors.items():
        key = "target_accounts" if name == "target_account" else name
        for message in messages:
            text = f"{account.name} ({account.account_id}): {message}"
            if text not in named.setdefault(key, []):
                named[key].append(text)
    return named


def _checked_accounts(target_accounts: list[Account | None]) -> list[Account]:
    if not target_accounts:
        raise ServiceError(
            "Choose at least one target account.",
            field_errors={"target_accounts": ["Choose at least one target account."]},
        )
    if len(target_accounts) > MAX_TARGET_ACCOUNTS:
        message = f"At most {MAX_TARGET_ACCOUNTS} target accounts in one submission."
        raise ServiceError(message, field_errors={"target_accounts": [message]})
    accounts = [a for a in target_accounts if a is not None]
    if len(accounts) != len(target_accounts):
        message = "Every target account must be one the portal knows."
        raise ServiceError(message, field_errors={"target_accounts": [message]})
    seen: set[str] = set()
    for account in accounts:
        if account.account_id in seen:
            message = f"{account.account_id} is listed twice: one request per account."
            raise ServiceError(message, field_errors={"target_accounts": [message]})
        seen.add(account.account_id)
    return accounts


@transaction.atomic
def access_requests_submit_batch(
    *,
    requester: User,
    target_accounts: list[Account | None],
    client_address: str | None = None,
    **fields: Any,
) -> list[AccessRequest]:
    """Submit the same ask (`fields`: every argument of access_request_submit but the target
    account) into each of `target_accounts`, "${Account}" in a resource ARN standing for each
    account's id. Every account is tried, so the refusal names each account that is refused;
    then, if any was, the whole submission is rolled back (notifications and provisioning are
    queued after the commit only, so nothing of it leaves the database)."""
    accounts = _checked_accounts(target_accounts)
    batch = uuid.uuid4() if len(accounts) > 1 else None
    created: list[AccessRequest] = []
    errors: dict[str, list[str]] = {}
    kinds: set[str] = set()
    refused: list[str] = []
    for account in accounts:
        try:
            # Each submit is atomic itself: a refused one leaves this transaction usable.
            created.append(
                access_request_submit(
                    requester=requester,
                    target_account=account,
                    batch=batch,
                    client_address=client_address,
                    **fields,
                )
            )
        except ServiceError as error:
            kinds.add(error.kind)
            refused.append(f"{account.name} ({account.account_id})")
            for name, messages in _account_errors(account, error).items():
                errors.setdefault(name, []).extend(messages)
    if errors:
        kind = kinds.pop() if len(kinds) == 1 else ServiceError.INVALID
        raise ServiceError(
            f"Nothing was submitted: the request for {' and '.join(refused)} is refused.",
            kind=kind,
            field_errors=errors,
        )
    return created


def access_requests_preview_batch(
    fields: dict[str, Any],
    *,
    requester: User,
    target_accounts: list[Account],
    break_glass: bool = False,
) -> list[tuple[Account, Draft]]:
    """Each account's draft of the same ask: the documents, rule and simulation per account, as
    the wizard shows them before a submission for several accounts."""
    return [
        (
            account,
            access_request_preview(
                fields | {"target_account": account}, requester=requester, break_glass=break_glass
            ),
        )
        for account in target_accounts[:MAX_TARGET_ACCOUNTS]
    ]


def batch_errors(drafts: list[tuple[Account, Draft]]) -> dict[str, list[str]]:
    """The drafts' errors, each message naming its account (as a refused submission does)."""
    errors: dict[str, list[str]] = {}
    for account, draft in drafts:
        if draft.errors:
            refusal = ServiceError("", field_errors=draft.errors)
            for name, messages in _account_errors(account, refusal).items():
                errors.setdefault(name, []).extend(messages)
    return errors
