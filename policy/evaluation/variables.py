"""Policy variables: ``${aws:username}``, ``${key, 'default'}`` and the ``${*}``, ``${?}``, ``${$}``
escapes (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html).

A template is split into pieces ``(text, literal)``: ``literal`` pieces (substituted values and
escapes) never act as wildcards; the other pieces keep ``*`` and ``?`` as wildcards.
Variables are only substituted in policies whose Version is ``2012-10-17``; in older policies the
text is taken literally, as the documentation says. A variable whose key is missing (or is
multi-valued) and has no default makes the template unresolvable (``None``): the statement then
does not match.
"""

import re
from collections.abc import Mapping

POLICY_VERSION_WITH_VARIABLES = "2012-10-17"
Pieces = tuple[tuple[str, bool], ...]

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_BODY = re.compile(r"^\s*([^,\s']+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?$")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


def split(template: str, context: Mapping[str, object], enabled: bool = True) -> Pieces | None:
    """Resolve the variables of ``template`` against ``context`` (keys lower case)."""
    if not enabled or "${" not in template:
        return ((template, False),)
    pieces: list[tuple[str, bool]] = []
    position = 0
    for found in _VARIABLE.finditer(template):
        if found.start() > position:
            pieces.append((template[position : found.start()], False))
        position = found.end()
        body = found.group(1)
        if body in _ESCAPES:
            pieces.append((_ESCAPES[body], True))
            continue
        parsed = _BODY.match(body)
        if parsed is None:  # not a variable: keep the text as written
            pieces.append((found.group(0), False))
            continue
        value = context.get(parsed.group(1).lower())
        if isinstance(value, str):
            pieces.append((value, True))
        elif parsed.group(2) is not None:
            pieces.append((parsed.group(2).replace("''", "'"), True))
        else:
            return None
    if position < len(template):
        pieces.append((template[position:], False))
    return tuple(pieces)


def substitute(template: str, context: Mapping[str, object], enabled: bool = True) -> str | None:
    """The template as one plain string (for operators without wildcards), or None."""
    pieces = split(template, context, enabled)
    if pieces is None:
        return None
    return "".join(text for text, _literal in pieces)
