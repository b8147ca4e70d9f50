"""The Condition element and its operators, written from
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html

- Several operators, and several keys under one operator, are ANDed; several values for one key
  are ORed. Context key names are case-insensitive.
- A key missing from the request context makes the condition false, except for the negated
  operators (``StringNotEquals``, ``StringNotLike``, ``ArnNotLike``, ``NotIpAddress``...), which are
  then true, ``...IfExists`` (true when missing) and ``Null``.
- A negated operator is true when the request value matches none of the policy values.
- ``ForAnyValue:`` is true when at least one request value matches; false for a missing key or an
  empty set. ``ForAllValues:`` is true when every request value matches; true for a missing key or
  an empty set (so it should be paired with ``Null`` to be safe). An empty string counts as an
  empty set, and ``Null`` treats both as missing ("You can prevent missing context keys or context
  keys with empty values from evaluating to true by including a Null condition operator with a
  false value", the multi-valued context key examples page).
- Simplification: a multi-valued request value under a plain operator (no set qualifier) is
  treated like ``ForAnyValue`` (and its negation is "no value matches").
"""

import base64
import binascii
import ipaddress
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import TypeVar

from policy.evaluation.matching import pieces_match
from policy.evaluation.variables import split

Matcher = Callable[[str, str, Mapping[str, object], bool], bool]


def _string_equals(policy: str, value: str, ctx: Mapping[str, object], variables: bool) -> bool:
    pieces = split(policy, ctx, variables)
    return pieces is not None and "".join(t for t, _ in pieces) == value


def _string_equals_ic(policy: str, value: str, ctx: Mapping[str, object], variables: bool) -> bool:
    pieces = split(policy, ctx, variables)
    return pieces is not None and "".join(t for t, _ in pieces).casefold() == value.casefold()


def _string_like(policy: str, value: str, ctx: Mapping[str, object], variables: bool) -> bool:
    pieces = split(policy, ctx, variables)
    return pieces is not None and pieces_match(pieces, value)


def _arn_like(policy: str, value: str, ctx: Mapping[str, object], variables: bool) -> bool:
    """ArnEquals and ArnLike behave alike: each of the six colon-separated parts must match,
    case-sensitively, with * and ? wildcards (the sixth part may itself contain colons)."""
    pieces = split(policy, ctx, variables)
    if pieces is None:
        return False
    parts: list[list[tuple[str, bool]]] = [[]]
    for text, literal in pieces:
        for number, chunk in enumerate(text.split(":")):
            if number and len(parts) < 6:
                parts.append([])
            elif number:
                parts[-1].append((":", True))
            parts[-1].append((chunk, literal))
    v_parts = value.split(":", 5)
    if len(parts) != 6 or len(v_parts) != 6:
        return False
    return all(pieces_match(tuple(p), v) for p, v in zip(parts, v_parts, strict=True))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _date(text: str) -> datetime | None:
    number = _number(text)
    if number is not None:
        return datetime.fromtimestamp(number, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# What a numeric or date operator compares: both sides parse to the same type.
Comparable = TypeVar("Comparable", float, datetime)


def _compare(
    parse: Callable[[str], Comparable | None], test: Callable[[Comparable, Comparable], bool]
) -> Matcher:
    def matcher(policy: str, value: str, ctx: Mapping[str, object], variables: bool) -> bool:
        resolved = split(policy, ctx, variables)
        if resolved is None:
            return False
        left, right = parse(value), parse("".join(t for t, _ in resolved))
        return left is not None and right is not None and test(left, right)

    return matcher


def _bool(policy: str, value: str, ctx: Mapping[str, object], variables: bool) -> bool:
    return policy.lower() in ("true", "false") and policy.lower() == value.lower()


def _binary(policy: str, value: str, ctx: Mapping[str, object], variables: bool) -> bool:
    try:
        return base64.b64decode(policy, validate=True) == base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return policy == value


@lru_cache(maxsize=4096)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _ip(policy: str, value: str, ctx: Mapping[str, object], variables: bool) -> bool:
    """IpAddress: the request's address is in the policy's CIDR block. Both are parsed once and
    cached: parsing was a fifth of an evaluation's time."""
    address, network = _address(value), _network(policy)
    if address is None or network is None:
        return False
    return address.version == network.version and address in network


_EQ = lambda a, b: a == b  # noqa: E731
# base name -> (positive matcher, negated)
OPERATORS: dict[str, tuple[Matcher, bool]] = {
    "stringequals": (_string_equals, False),
    "stringnotequals": (_string_equals, True),
    "stringequalsignorecase": (_string_equals_ic, False),
    "stringnotequalsignorecase": (_string_equals_ic, True),
    "stringlike": (_string_like, False),
    "stringnotlike": (_string_like, True),
    "numericequals": (_compare(_number, _EQ), False),
    "numericnotequals": (_compare(_number, _EQ), True),
    "numericlessthan": (_compare(_number, lambda a, b: a < b), False),
    "numericlessthanequals": (_compare(_number, lambda a, b: a <= b), False),
    "numericgreaterthan": (_compare(_number, lambda a, b: a > b), False),
    "numericgreaterthanequals": (_compare(_number, lambda a, b: a >= b), False),
    "dateequals": (_compare(_date, _EQ), False),
    "datenotequals": (_compare(_date, _EQ), True),
    "datelessthan": (_compare(_date, lambda a, b: a < b), False),
    "datelessthanequals": (_compare(_date, lambda a, b: a <= b), False),
    "dategreaterthan": (_compare(_date, lambda a, b: a > b), False),
    "dategreaterthanequals": (_compare(_date, lambda a, b: a >= b), False),
    "bool": (_bool, False),
    "binaryequals": (_binary, False),
    "ipaddress": (_ip, False),
    "notipaddress": (_ip, True),
    "arnequals": (_arn_like, False),
    "arnlike": (_arn_like, False),
    "arnnotequals": (_arn_like, True),
    "arnnotlike": (_arn_like, True),
}


class UnknownOperatorError(ValueError):
    pass


def _as_list(value: object) -> list[str]:
    values = value if isinstance(value, list | tuple) else [value]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in values]


@lru_cache(maxsize=1024)
def parse_operator(name: str) -> tuple[str | None, str, bool]:
    """``ForAllValues:StringLikeIfExists`` -> ``("forallvalues", "stringlike", True)``."""
    qualifier, _, base = name.rpartition(":")
    qualifier_key = qualifier.lower() or None
    if qualifier_key not in (None, "foranyvalue", "forallvalues"):
        raise UnknownOperatorError(name)
    base_key = base.lower()
    if_exists = base_key.endswith("ifexists") and base_key != "null"
    if if_exists:
        base_key = base_key[: -len("ifexists")]
    if base_key not in OPERATORS and base_key != "null":
        raise UnknownOperatorError(name)
    return qualifier_key, base_key, if_exists


def _null(policy_values: list[str], present: bool) -> bool:
    # "true": the key must be absent; "false": it must be present. Several values are ORed.
    return any((v.lower() == "true") != present for v in policy_values)


def key_matches(
    operator: str, key: str, policy_value: object, ctx: Mapping[str, object], variables: bool = True
) -> bool:
    """One operator applied to one key (values ORed)."""
    qualifier, base, if_exists = parse_operator(operator)
    raw = ctx.get(key.lower())
    # No value, an empty set and an empty string all count as missing ("a null data set").
    request_values = [] if raw is None or raw == "" else _as_list(raw)
    present = len(request_values) > 0
    policy_values = _as_list(policy_value)
    if base == "null":
        return _null(policy_values, present)
    matcher, negated = OPERATORS[base]

    def hit(value: str) -> bool:
        return any(matcher(p, value, ctx, variables) for p in policy_values)

    if qualifier == "forallvalues":
        if not present:
            return True
        return all((not hit(v)) if negated else hit(v) for v in request_values)
    if not present:
        if if_exists:
            return True
        return qualifier is None and negated
    if qualifier == "foranyvalue":
        return any((not hit(v)) if negated else hit(v) for v in request_values)
    matched = any(hit(v) for v in request_values)
    return not matched if negated else matched


def conditions_match(
    block: object, ctx: Mapping[str, object], variables: bool = True
) -> tuple[bool, str]:
    """All operators and keys of a Condition block (ANDed). Returns (ok, first failing test)."""
    if not block:
        return True, ""
    if not isinstance(block, dict):
        return False, "malformed Condition"
    for operator, tests in block.items():
        if not isinstance(tests, dict):
            return False, f"malformed {operator}"
        for key, value in tests.items():
            try:
                ok = key_matches(operator, key, value, ctx, variables)
            except UnknownOperatorError:
                return False, f"unknown condition operator {operator}"
            if not ok:
                return False, f"{operator} {key} not satisfied"
    return True, ""
