"""Wildcard matching of actions, resources and principals.

Actions match case-insensitively and resources case-sensitively, with ``*`` (any run of
characters) and ``?`` (one character):
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
Principals (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html):
``"*"`` and ``{"AWS": "*"}`` match everyone; an account id or ``arn:aws:iam::ACCT:root`` matches
every principal of that account; a role ARN matches the role and its assumed-role sessions; other
ARNs match exactly. The documentation forbids partial wildcards in principals, so ``"arn:...:*"``
is compared literally (and so never matches a real caller).
"""

import re
from functools import lru_cache

from policy.evaluation.variables import Pieces

_ACCOUNT_ID = re.compile(r"^\d{12}$")


@lru_cache(maxsize=8192)
def _compile(pieces: Pieces, ignore_case: bool) -> re.Pattern[str]:
    """The pattern as a regular expression for fullmatch. Each `*` as a plain `.*` backtracks
    polynomially ("*a*a*a*a*a*b" against 2,000 "a"s runs for hours, and the simulate API takes
    both from any caller), so the runs between stars (fixed length: `?` is one character) are
    found as fnmatch finds them: the earliest place a run fits is as good as any later one, so
    it is taken and kept (an atomic group). Linear in the value."""
    runs: list[str] = [""]
    for text, literal in pieces:
        if literal:
            runs[-1] += re.escape(text)
            continue
        for char in text:
            if char == "*":
                runs.append("")
            else:
                runs[-1] += "." if char == "?" else re.escape(char)
    if len(runs) == 1:
        expression = runs[0]
    else:
        first, *middle, last = runs
        expression = first + "".join(f"(?>.*?{run})" for run in middle) + f".*{last}"
    return re.compile(expression, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def pieces_match(pieces: Pieces, value: str, *, ignore_case: bool = False) -> bool:
    """Match ``value`` against a pattern split by :func:`variables.split`."""
    if len(pieces) == 1 and not pieces[0][1]:  # one piece, no variable: the common case
        return glob_match(pieces[0][0], value, ignore_case=ignore_case)
    return _compile(pieces, ignore_case).fullmatch(value) is not None


@lru_cache(maxsize=8192)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str] | None:
    """The pattern's regular expression, or None when it has no wildcard (compare it as text)."""
    if "*" not in pattern and "?" not in pattern:
        return None
    return _compile(((pattern, False),), ignore_case)


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    if pattern == "*":
        return True
    compiled = _glob(pattern, ignore_case)
    if compiled is None:
        return pattern.casefold() == value.casefold() if ignore_case else pattern == value
    return compiled.fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    """Actions are not case-sensitive: ``S3:get*`` matches ``s3:GetObject``."""
    return glob_match(pattern, action, ignore_case=True)


def arn_account(arn: str) -> str:
    """The account id of an ARN (``arn:aws:iam::ACCT:...``), or ``""``."""
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[0] == "arn" else ""


def session_role_arn(principal: str) -> str | None:
    """``arn:aws:sts::A:assumed-role/R/S`` -> ``arn:aws:iam::A:role/R``; None for other callers."""
    parts = principal.split(":", 5)
    if len(parts) != 6 or parts[2] != "sts" or not parts[5].startswith("assumed-role/"):
        return None
    role_name = parts[5].split("/")[1]
    return f"arn:{parts[1]}:iam::{parts[4]}:role/{role_name}"


def _role_name(role_arn: str) -> str:
    return role_arn.split(":", 5)[5].rsplit("/", 1)[-1]


def principal_entry_matches(kind: str, value: str, principal: str) -> str | None:
    """How a ``Principal`` entry names the caller: ``"wildcard"``, ``"account"``, ``"role"``,
    ``"direct"`` (the exact user, session, service...), or None when it does not match."""
    if value == "*" and kind in ("*", "AWS"):
        return "wildcard"
    if kind != "AWS":  # Service, Federated, CanonicalUser: exact, case-sensitive
        return "direct" if value == principal else None
    account = arn_account(principal)
    if _ACCOUNT_ID.match(value):
        return "account" if value == account else None
    parts = value.split(":", 5)
    if len(parts) == 6 and parts[2] == "iam" and parts[5] == "root":
        return "account" if parts[4] == account else None
    if value == principal:
        return "direct" if ":assumed-role/" in value or ":user/" in value else "role"
    if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
        role = session_role_arn(principal)
        if role is not None and arn_account(value) == account:
            return "role" if _role_name(value) == _role_name(role) else None
    return None


def principal_block_matches(block: object, principal: str) -> str | None:
    """The strongest way a ``Principal``/``NotPrincipal`` value names the caller, or None."""
    entries: list[tuple[str, str]] = []
    if isinstance(block, str):
        entries.append(("*" if block == "*" else "AWS", block))
    elif isinstance(block, dict):
        for kind, values in block.items():
            for value in [values] if isinstance(values, str) else list(values or []):
                entries.append((kind, str(value)))
    rank = {"direct": 3, "role": 2, "wildcard": 1, "account": 0}
    best: str | None = None
    for kind, value in entries:
        how = principal_entry_matches(kind, value, principal)
        if how is not None and (best is None or rank[how] > rank[best]):
            best = how
    return best


def not_principal_excludes(block: object, principal: str, has_boundary: bool = False) -> bool:
    """Whether a ``NotPrincipal`` block excludes the caller. AWS checks every identity of the
    caller (the account, the role for a role session, the caller itself), so the block excludes
    the caller only when it lists each of them; and it never excludes a principal that has a
    permissions boundary (both from the NotPrincipal and permissions boundaries pages)."""
    if has_boundary:
        return False
    listed: set[str] = set()
    if isinstance(block, str):
        listed.add(block)
    elif isinstance(block, dict):
        for values in block.values():
            listed.update([values] if isinstance(values, str) else [str(v) for v in values or []])
    if "*" in listed:
        return True
    account = arn_account(principal)
    if not account:  # a service or federated principal: listed by name
        return principal in listed
    chain_ok = principal in listed
    if principal.split(":", 5)[5] != "root":
        chain_ok = chain_ok and (account in listed or f"arn:aws:iam::{account}:root" in listed)
    role = session_role_arn(principal)
    if role is not None:
        chain_ok = chain_ok and any(
            arn_account(v) == account
            and v.split(":", 5)[5].startswith("role/")
            and v.rsplit("/", 1)[-1] == role.rsplit("/", 1)[-1]
            for v in listed
        )
    return chain_ok
