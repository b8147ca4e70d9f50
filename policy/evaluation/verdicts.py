"""The three decisions AWS can reach, and one layer's verdict on a request."""

from dataclasses import dataclass, field

ALLOWED = "Allowed"
EXPLICITLY_DENIED = "ExplicitlyDenied"
IMPLICITLY_DENIED = "ImplicitlyDenied"
NOT_APPLICABLE = "NotApplicable"


@dataclass
class LayerVerdict:
    layer: str
    verdict: str
    statements: list[str] = field(default_factory=list)
    detail: str = ""
