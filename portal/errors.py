"""The one exception type services raise when they refuse, with a message meant for the user."""


class ServiceError(Exception):
    """A refusal. `kind` maps to HTTP: invalid 400, forbidden 403, not_found 404, conflict 409."""

    INVALID = "invalid"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"

    def __init__(
        self,
        message: str,
        *,
        kind: str = INVALID,
        field_errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.field_errors = field_errors or {}
