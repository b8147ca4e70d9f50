"""Every write to access requests. Pages and the API call these, so each rule lives once."""

from access_requests.services.batches import (
    access_requests_preview_batch,
    access_requests_submit_batch,
    batch_errors,
)
from access_requests.services.decisions import (
    access_request_approve,
    access_request_reject,
    decision_check,
)
from access_requests.services.emergency import access_revoke_all, user_access_end
from access_requests.services.extensions import grant_extension_request
from access_requests.services.rules import access_request_review
from access_requests.services.submission import (
    access_request_cancel,
    access_request_edit,
    access_request_preview,
    access_request_submit,
)

__all__ = [
    "access_request_approve",
    "access_request_cancel",
    "access_request_edit",
    "access_request_preview",
    "access_request_reject",
    "access_request_review",
    "access_request_submit",
    "access_requests_preview_batch",
    "access_requests_submit_batch",
    "batch_errors",
    "access_revoke_all",
    "decision_check",
    "grant_extension_request",
    "user_access_end",
]
