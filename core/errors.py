"""The project's error types: what a service refuses, and what failed outside the portal."""


class ServiceError(Exception):
    """A refusal, with a message meant for the user. `kind` maps to HTTP: invalid 400,
    forbidden 403, not_found 404, conflict 409, unavailable 502 (AWS or another system the
    portal depends on failed)."""

    INVALID = "invalid"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    UNAVAILABLE = "unavailable"

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


class ExternalError(Exception):
    """Work outside the portal's database failed: an AWS call, a lock held by another task.
    `retryable` says whether trying again later can help; the retrying tasks read it."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
