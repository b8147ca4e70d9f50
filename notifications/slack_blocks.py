"""The Slack messages of an approval: Block Kit documents built from a request's facts (pure).

https://api.slack.com/reference/block-kit/blocks · https://api.slack.com/surfaces/modals
The Approve and Reject buttons carry the request id as their `value` (SPEC 10.6); the actions
block's `block_id` carries the documents hash the message shows, so a click on a message about
documents that have changed since is refused (the approve page sends the same hash).
"""

import json
from dataclasses import dataclass

from notifications.messages import Facts, human_duration, request_url

APPROVE, REJECT, OPEN = "approve", "reject", "open"
REJECT_CALLBACK = "reject"
REASON_BLOCK, REASON_INPUT = "reason", "reason"
DECIDE_PREFIX = "decide:"
# Block Kit's limits: a section's text 3000 characters, a header's 150, a modal title's 24.
SECTION_LIMIT = 2900
LIST_LIMIT = 10
FINDINGS_LIMIT = 5


@dataclass(frozen=True)
class Vote:
    approver: str
    decision: str  # "approve" or "reject"
    comment: str = ""


@dataclass(frozen=True)
class State:
    """Where the request stands, for the message's last lines: its status and the votes on the
    documents the message shows."""

    status: str
    documents_hash: str
    votes: tuple[Vote, ...] = ()
    findings: tuple[str, ...] = ()


def escape(text: str) -> str:
    """Slack's three control characters: no mention (<!channel>) or link can be smuggled in.
    https://api.slack.com/reference/surfaces/formatting#escaping"""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _quoted(text: str) -> str:
    """What someone typed, as a block quote: `>` opens every line, so a line of it cannot pass
    for the message's own (a fake "*Approved* by carol" or "*Ticket*" under the quote)."""
    return "\n".join(f">{escape(line)}" for line in text.splitlines() or [""])


def _one_line(text: str) -> str:
    return escape(" ".join(text.split()))


def _cut(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _code_list(items: tuple[str, ...]) -> str:
    shown = [f"`{escape(item)}`" for item in items[:LIST_LIMIT]]
    if len(items) > LIST_LIMIT:
        shown.append(f"and {len(items) - LIST_LIMIT} more")
    return _cut("\n".join(shown))


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text)}}


def headline(facts: Facts) -> str:
    what = "Extension request" if facts.extends_request_id else "Access request"
    return f"{what} #{facts.request_id}: {facts.requester} → {facts.target_account}"


def summary_blocks(facts: Facts) -> list[dict]:
    """What the request asks for, as the approve page shows it."""
    fields = [
        f"*Requester*\n{escape(facts.requester)}",
        f"*From*\n{escape(facts.source_account)}",
        f"*To*\n{escape(facts.target_account)}",
        f"*Mechanism*\n{escape(facts.mechanism)}",
        f"*Duration*\n{human_duration(facts.duration)}",
    ]
    if facts.ticket:
        fields.append(f"*Ticket*\n{_one_line(facts.ticket)}")
    return [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(headline(facts), 150)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
        _section(f"*Actions*\n{_code_list(facts.actions)}"),
        _section(f"*Resources*\n{_code_list(facts.resources)}"),
        _section(f"*Justification*\n{_quoted(facts.justification)}"),
    ]


def _findings_blocks(facts: Facts, state: State) -> list[dict]:
    blocks = []
    if state.findings:
        lines = [f"• {escape(line)}" for line in state.findings[:FINDINGS_LIMIT]]
        if len(state.findings) > FINDINGS_LIMIT:
            lines.append(f"and {len(state.findings) - FINDINGS_LIMIT} more on the request page")
        blocks.append(_section(":warning: *Findings*\n" + "\n".join(lines)))
    if facts.escalation:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": ":rotating_light: Privilege escalation: a platform admin must "
                        "approve as well.",
                    }
                ],
            }
        )
    return blocks


def _names(votes: list[Vote]) -> str:
    names = [escape(vote.approver) for vote in votes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _outcome_blocks(facts: Facts, state: State, base_url: str) -> list[dict]:
    """The buttons while the request is pending; who decided once it is not."""
    approvals = [vote for vote in state.votes if vote.decision == APPROVE]
    rejections = [vote for vote in state.votes if vote.decision == REJECT]
    link = f"<{request_url(base_url, facts.request_id)}|Open request #{facts.request_id}>"
    if state.status == "pending":
        blocks = []
        if approvals:
            blocks.append(
                {
                    "type": "context",
                    "elements": [
                        {
                            "type": "mrkdwn",
                            "text": f"Approved so far by {_names(approvals)}; "
                            "waiting for more approvals.",
                        }
                    ],
                }
            )
        blocks.append(
            {
                "type": "actions",
                "block_id": DECIDE_PREFIX + state.documents_hash,
                "elements": [
                    _button("Approve", APPROVE, str(facts.request_id), style="primary"),
                    _button("Reject", REJECT, str(facts.request_id), style="danger"),
                    {
                        "type": "button",
                        "action_id": OPEN,
                        "text": {"type": "plain_text", "text": "Open in the portal"},
                        "url": request_url(base_url, facts.request_id),
                    },
                ],
            }
        )
        return blocks
    if rejections:
        # The reason goes last, quoted: it is the approver's text.
        vote = rejections[-1]
        reason = f"\n{_quoted(vote.comment)}" if vote.comment else ""
        return [_section(f":x: *Rejected* by {escape(vote.approver)} · {link}{reason}")]
    if state.status == "cancelled":
        text = f":heavy_minus_sign: *Cancelled* by {escape(facts.requester)}"
    elif approvals:
        text = f":white_check_mark: *Approved* by {_names(approvals)}"
    elif facts.approved_by_rule:
        text = f":white_check_mark: *Approved* by the access rule {escape(facts.approved_by_rule)}"
    else:
        text = f"*{escape(state.status.capitalize())}*"
    return [_section(f"{text} · {link}")]


def _button(text: str, action_id: str, value: str, *, style: str) -> dict:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": value,
        "style": style,
    }


def request_message(facts: Facts, state: State, *, base_url: str) -> dict:
    """chat.postMessage / chat.update arguments: `text` (the notification's fallback) and
    `blocks`."""
    blocks = [
        *summary_blocks(facts),
        *_findings_blocks(facts, state),
        {"type": "divider"},
        *_outcome_blocks(facts, state, base_url),
    ]
    return {"text": headline(facts), "blocks": blocks}


def reject_modal(facts: Facts, *, documents_hash: str, channel: str, ts: str) -> dict:
    """The modal Reject opens: the reason (required, as on the web). `private_metadata` says
    which request and which documents the approver saw, and which message to answer in."""
    metadata = {"request": facts.request_id, "hash": documents_hash, "channel": channel, "ts": ts}
    return {
        "type": "modal",
        "callback_id": REJECT_CALLBACK,
        "private_metadata": json.dumps(metadata),
        "title": {"type": "plain_text", "text": f"Reject #{facts.request_id}"[:24]},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _section(f"*{escape(headline(facts))}*\n{_quoted(facts.justification)}"),
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": {"type": "plain_text", "text": "Why do you reject it?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_INPUT,
                    "multiline": True,
                    "max_length": 2000,
                },
            },
        ],
    }
