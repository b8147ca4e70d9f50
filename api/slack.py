"""POST /integrations/slack/interactions/: Approve and Reject clicked in Slack, and the reject modal
submitted. Decided by the same services as the pages and the API (no self-approval, the quorum,
the hash of the documents the message showed, an admin's approval for a privilege escalation,
the second factor an approver with a password must have enrolled).

Slack signs every request with the app's signing secret: HMAC-SHA256 over
`v0:<X-Slack-Request-Timestamp>:<raw body>`, hex, in `X-Slack-Signature` as `v0=<hex>`. A
signature that does not match (compared in constant time) or a timestamp more than five minutes
off is a 401 and nothing is read from the body.
https://api.slack.com/authentication/verifying-requests-from-slack
https://api.slack.com/reference/interaction-payloads/block-actions
https://api.slack.com/reference/interaction-payloads/views#view_submission
"""

import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from slack_sdk.signature import SignatureVerifier

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve, access_request_reject, decision_check
from accounts.selectors import user_by_slack_id
from core.errors import ServiceError
from core.http import client_address
from notifications import slack, slack_blocks
from notifications.messages import request_url
from notifications.services import slack_answer

logger = logging.getLogger(__name__)


def _unlinked(slack_user_id: str) -> str:
    return (
        f"Your Slack account ({slack_user_id}) is not linked to a portal user, so nothing was "
        "recorded. A platform admin can add your Slack member id to your user in the portal's "
        "admin; until then, decide in the portal."
    )


def signature_valid(request: HttpRequest) -> bool:
    """Slack's check (slack-sdk's SignatureVerifier: the five-minute window and a constant-time
    comparison); a missing or non-numeric timestamp is not valid."""
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    if not timestamp.isdigit() or not signature:
        return False
    verifier = SignatureVerifier(settings.PORTAL_SLACK_SIGNING_SECRET)
    try:
        return verifier.is_valid(body=request.body, timestamp=timestamp, signature=signature)
    except (UnicodeDecodeError, TypeError):  # a body not UTF-8, a signature not ASCII
        return False


def _payload(request: HttpRequest) -> dict[str, Any] | None:
    try:
        payload = json.loads(request.POST.get("payload", ""))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


@csrf_exempt
@require_POST
def interactions(request: HttpRequest) -> HttpResponse:
    if not settings.PORTAL_SLACK_SIGNING_SECRET:
        return JsonResponse({"detail": "Slack is not set up on this portal."}, status=404)
    if not signature_valid(request):
        return JsonResponse(
            {"detail": "The Slack signature is missing, wrong or more than 5 minutes old."},
            status=401,
        )
    payload = _payload(request)
    if payload is None:
        return JsonResponse({"detail": "The body has no JSON `payload`."}, status=400)
    try:
        if payload.get("type") == "block_actions":
            return _block_actions(request, payload)
        if payload.get("type") == "view_submission":
            return _view_submission(request, payload)
    except (LookupError, TypeError, ValueError, AttributeError):
        return JsonResponse({"detail": "The payload is not one the portal sent for."}, status=400)
    return HttpResponse(status=200)  # other interactions: acknowledged, nothing to do


def _block_actions(request: HttpRequest, payload: dict[str, Any]) -> HttpResponse:
    action = payload["actions"][0]
    action_id = action["action_id"]
    if action_id not in (slack_blocks.APPROVE, slack_blocks.REJECT):
        return HttpResponse(status=200)  # "Open in the portal" is a link: nothing to record
    slack_user_id = str(payload["user"]["id"])
    channel = str((payload.get("channel") or {}).get("id") or payload["container"]["channel_id"])
    ts = str((payload.get("container") or {}).get("message_ts") or payload["message"]["ts"])
    block_id = str(action.get("block_id", ""))
    shown_hash = block_id.removeprefix(slack_blocks.DECIDE_PREFIX)
    request_id = int(action["value"])

    def answer(text: str) -> HttpResponse:
        slack_answer(channel=channel, user=slack_user_id, text=text)
        return HttpResponse(status=200)

    user = user_by_slack_id(slack_user_id)
    if user is None:
        return answer(_unlinked(slack_user_id))
    access_request = AccessRequest.objects.filter(pk=request_id).first()
    if access_request is None or not block_id.startswith(slack_blocks.DECIDE_PREFIX):
        return answer(f"Request #{request_id} is not one this message can decide.")
    try:
        if action_id == slack_blocks.APPROVE:
            access_request_approve(
                access_request=access_request,
                approver=user,
                documents_hash=shown_hash,
                client_address=client_address(request),
            )
            return answer(f"You approved request #{request_id}.")
        decision_check(access_request=access_request, approver=user)
        if shown_hash != access_request.documents_hash:
            raise ServiceError(
                "The request has changed since this message was posted: "
                "look at it again before you decide."
            )
    except ServiceError as error:
        return answer(f"Request #{request_id}: {error.message}")
    try:
        slack.reject_modal_open(
            trigger_id=str(payload["trigger_id"]),
            access_request=access_request,
            channel=channel,
            ts=ts,
        )
    except Exception as error:
        logger.warning("Slack did not open the reject modal for #%s: %s", request_id, error)
        url = request_url(settings.PORTAL_BASE_URL, request_id)
        return answer(f"Slack did not open the form for the reason: reject in the portal, {url}")
    return HttpResponse(status=200)


def _view_submission(request: HttpRequest, payload: dict[str, Any]) -> HttpResponse:
    view = payload["view"]
    if view.get("callback_id") != slack_blocks.REJECT_CALLBACK:
        return HttpResponse(status=200)
    metadata = json.loads(view["private_metadata"])
    values = view["state"]["values"][slack_blocks.REASON_BLOCK][slack_blocks.REASON_INPUT]
    reason = str(values.get("value") or "")

    def refused(text: str) -> HttpResponse:
        # Shown under the reason field; the modal stays open.
        return JsonResponse(
            {"response_action": "errors", "errors": {slack_blocks.REASON_BLOCK: text[:150]}}
        )

    slack_user_id = str(payload["user"]["id"])
    user = user_by_slack_id(slack_user_id)
    if user is None:
        return refused(_unlinked(slack_user_id))
    access_request = AccessRequest.objects.filter(pk=int(metadata["request"])).first()
    if access_request is None:
        return refused("This request no longer exists.")
    try:
        access_request_reject(
            access_request=access_request,
            approver=user,
            reason=reason,
            documents_hash=str(metadata["hash"]),
            client_address=client_address(request),
        )
    except ServiceError as error:
        return refused(error.message)
    return HttpResponse(status=200)  # the modal closes; the message shows the rejection
