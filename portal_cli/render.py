"""Text for people and exact formats for machines (credential_process, shell exports)."""

import json
import shlex
import sys

CREDENTIAL_KEYS = ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")


class FormatError(Exception):
    """An API answer that lacks what the output format needs."""


def ref(value: object) -> str:
    """A related object as a short text: a username, an account id, or an id."""
    if isinstance(value, dict):
        for key in ("username", "account_id", "id", "name", "arn"):
            if value.get(key) not in (None, ""):
                return str(value[key])
        return json.dumps(value, sort_keys=True)
    return "" if value is None else str(value)


def pick(item: dict, *keys: str) -> object:
    for key in keys:
        if item.get(key) not in (None, ""):
            return item[key]
    return None


def credential_process(credentials: dict) -> str:
    """Exactly the AWS CLI's credential_process JSON (Version 1), one line, nothing else."""
    missing = [key for key in CREDENTIAL_KEYS if not credentials.get(key)]
    if missing:
        raise FormatError(f"the API's answer has no {', '.join(missing)}")
    return json.dumps({"Version": 1, **{key: credentials[key] for key in CREDENTIAL_KEYS}})


def shell_exports(credentials: dict) -> str:
    credential_process(credentials)  # the same completeness check
    # Field names of the credential_process document, not secrets (bandit B105 guesses so).
    names = {
        "AWS_ACCESS_KEY_ID": "AccessKeyId",
        "AWS_SECRET_ACCESS_KEY": "SecretAccessKey",  # nosec B105
        "AWS_SESSION_TOKEN": "SessionToken",  # nosec B105
        "AWS_CREDENTIAL_EXPIRATION": "Expiration",
    }
    return "\n".join(
        f"export {name}={shlex.quote(str(credentials[key]))}" for name, key in names.items()
    )


def pretty(data: object) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [header, *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def grants_table(grants: list[dict]) -> str:
    if not grants:
        return "No grants."
    header = ["ID", "REQUEST", "STATUS", "MECHANISM", "TARGET", "EXPIRES", "ROLE"]
    rows = [
        [
            ref(grant.get("id")),
            ref(pick(grant, "access_request", "request", "request_id")),
            ref(pick(grant, "status", "end_status")),
            ref(grant.get("mechanism")),
            ref(pick(grant, "target_account", "account")),
            ref(grant.get("expires_at")),
            ref(grant.get("role_arn")),
        ]
        for grant in grants
    ]
    return table(rows, header)


def _finding(finding: object) -> str:
    if not isinstance(finding, dict):
        return str(finding)
    text = pick(finding, "message", "detail", "problem") or json.dumps(finding, sort_keys=True)
    if finding.get("correction"):
        text = f"{text} (did you mean {finding['correction']}?)"
    severity = finding.get("severity") or finding.get("level")
    return f"[{severity}] {text}" if severity else str(text)


def _approval(approval: object) -> str:
    if not isinstance(approval, dict):
        return str(approval)
    who = ref(pick(approval, "approver", "user", "username")) or "someone"
    decision = approval.get("decision", "decided")
    decision = {"approve": "approved", "reject": "rejected"}.get(decision, decision)
    when = approval.get("created_at")
    line = f"{who} {decision}" + (f" at {when}" if when else "")
    comment = approval.get("comment")
    return line + (f": {comment}" if comment else "")


def _grant(grant: object) -> str:
    if not isinstance(grant, dict):
        return ref(grant)
    parts = [f"id {grant.get('id')}"]
    if grant.get("expires_at"):
        parts.append(f"expires {grant['expires_at']}")
    if grant.get("role_arn"):
        parts.append(f"role {grant['role_arn']}")
    return ", ".join(parts)


def _sibling(sibling: object) -> str:
    if not isinstance(sibling, dict):
        return ref(sibling)
    return (
        f"request {sibling.get('id')} in {sibling.get('target_account')}: {sibling.get('status')}"
    )


def request_summary(request: dict) -> str:
    """`portal-cli status`: status, mechanism, approvals and grant, then the rest."""
    fields: list[tuple[str, list[str]]] = []
    mechanism = ref(request.get("mechanism")) or "-"
    recommended = ref(request.get("recommended_mechanism"))
    if recommended and recommended != mechanism:
        mechanism += f" (recommended: {recommended})"
    fields.append(("mechanism", [mechanism]))
    reasons = request.get("recommendation_reasons") or []
    if reasons:
        fields.append(("because", [ref(reason) for reason in reasons]))
    approvals = request.get("approvals") or []
    fields.append(("approvals", [_approval(a) for a in approvals] or ["none yet"]))
    grant = request.get("grant")
    fields.append(("grant", [_grant(grant) if grant else "none"]))
    source = ref(request.get("source_account"))
    if request.get("source_principal"):
        source += f" ({request['source_principal']})"
    fields += [
        ("source", [source]),
        ("target", [ref(request.get("target_account"))]),
    ]
    siblings = request.get("siblings") or []
    if siblings:  # submitted together for other accounts (target_accounts)
        fields.append(("together", [_sibling(s) for s in siblings]))
    fields += [
        ("actions", [str(a) for a in request.get("actions") or []]),
        ("resources", [str(r) for r in request.get("resources") or []]),
    ]
    if request.get("duration") is not None:
        fields.append(("duration", [f"{request['duration']}s"]))
    simulation = request.get("simulation")
    if isinstance(simulation, dict) and pick(simulation, "decision", "verdict"):
        fields.append(("simulation", [str(pick(simulation, "decision", "verdict"))]))
    findings = request.get("findings") or []
    if findings:
        fields.append(("findings", [_finding(f) for f in findings]))
    lines = [f"Request {request.get('id')}: {request.get('status', 'unknown')}"]
    for label, values in fields:
        for index, value in enumerate(values or ["-"]):
            lines.append(f"  {label if index == 0 else '':<11}{value}")
    return "\n".join(lines)


def out(text: str) -> None:
    """One result on standard output (progress and errors go to standard error)."""
    sys.stdout.write(text + "\n")


def an_object(answer: object) -> dict:
    """The API's answer, which must be a JSON object."""
    if not isinstance(answer, dict):
        raise FormatError("the API's answer is not a JSON object")
    return answer
