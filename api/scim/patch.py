"""A SCIM PatchOp body (RFC 7644 section 3.5.2) read for the one attribute the portal acts on:
`active`. Identity providers spell it differently: Okta sends
`{"op": "replace", "value": {"active": false}}`, Entra ID `{"op": "Replace", "path": "active",
"value": "False"}` (a capitalised op and a string). Every other attribute is accepted and left
alone: the portal takes names and groups from the sign-in, not from SCIM."""

import json
import re
from typing import Any

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
OPS = {"add", "replace", "remove"}
# A filter the portal answers: `userName eq "value"` (attribute names and operators are
# case-insensitive, RFC 7644 section 3.4.2.2; the value is a JSON string).
FILTER = re.compile(r'^\s*(userName)\s+eq\s+("(?:[^"\\]|\\.)*")\s*$', re.IGNORECASE)


class ScimInvalid(ValueError):
    """A body or filter the portal cannot read; `scim_type` is RFC 7644's scimType."""

    def __init__(self, detail: str, scim_type: str = "invalidSyntax") -> None:
        super().__init__(detail)
        self.detail = detail
        self.scim_type = scim_type


def _attribute(name: str) -> str:
    """An attribute path without the User schema's URN prefix, lower-cased."""
    lowered = name.strip().lower()
    prefix = USER_SCHEMA.lower() + ":"
    return lowered[len(prefix) :] if lowered.startswith(prefix) else lowered


def _boolean(value: Any) -> bool:
    """SCIM booleans as sent: JSON true/false, or Entra ID's "True"/"False" strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ScimInvalid(f"active must be true or false, not {value!r}.", "invalidValue")


def _operation_active(operation: Any) -> bool | None:
    """What one operation sets `active` to, or None when it does not touch it."""
    if not isinstance(operation, dict):
        raise ScimInvalid("Each operation is an object.")
    op = str(operation.get("op", "")).lower()
    if op not in OPS:
        raise ScimInvalid(f"Unknown op {operation.get('op')!r}: add, replace or remove.")
    path = operation.get("path")
    value = operation.get("value")
    if path is not None:
        if not isinstance(path, str):
            raise ScimInvalid("path is a string.", "invalidPath")
        if _attribute(path) != "active":
            return None
        if op == "remove":
            raise ScimInvalid("active cannot be removed; replace it with false.", "mutability")
        return _boolean(value)
    if op == "remove":
        raise ScimInvalid("remove needs a path.", "noTarget")
    if not isinstance(value, dict):
        raise ScimInvalid("Without a path, value is an object of attributes.", "invalidValue")
    found = [item for key, item in value.items() if _attribute(key) == "active"]
    return _boolean(found[-1]) if found else None


def patch_active(body: Any) -> bool | None:
    """What a PatchOp body sets `active` to (the last operation that names it), or None."""
    if not isinstance(body, dict) or PATCH_OP not in (body.get("schemas") or []):
        raise ScimInvalid(f"The body is a PatchOp: schemas must hold {PATCH_OP}.")
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations:
        raise ScimInvalid("Operations is a list of at least one operation.")
    active = None
    for operation in operations:
        found = _operation_active(operation)
        if found is not None:
            active = found
    return active


def filter_username(expression: str) -> str:
    """The userName that `userName eq "..."` asks for; ScimInvalid for any other filter."""
    matched = FILTER.match(expression)
    if matched is None:
        raise ScimInvalid('Only the filter userName eq "..." is supported.', "invalidFilter")
    try:
        value: str = json.loads(matched.group(2))
    except ValueError as error:
        raise ScimInvalid(
            f"The filter's value is not a JSON string: {error}", "invalidFilter"
        ) from error
    # PostgreSQL's text holds no NUL, and UTF-8 no lone surrogate: no user has such a name.
    if "\x00" in value or any("\ud800" <= char <= "\udfff" for char in value):
        raise ScimInvalid("A userName has no NUL or surrogate characters.", "invalidFilter")
    return value
