"""The domain's refusals: what a service raises when the rules say no.

Each error carries the detail the client reads. The services know nothing of HTTP: the
status code of each family is chosen in one table, `app.error_handlers`.
"""

LAST_ACTIVE_ADMIN = "There must be at least one active admin"


class DomainError(Exception):
    """A request the rules refuse, with the detail the client is told."""

    detail: str = "The request was refused"

    def __init__(self, detail: str | None = None) -> None:
        if detail is not None:
            self.detail = detail
        super().__init__(self.detail)


class BadRequest(DomainError):
    """The request names something that cannot be used (a spent or unknown token)."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class NotFound(DomainError):
    """What the request names does not exist, or is not the caller's to see."""


class Conflict(DomainError):
    """The request does not fit the current state of the data."""


class WrongCurrentPassword(Forbidden):
    detail = "Current password is incorrect"


class UserNotFound(NotFound):
    detail = "User not found"


class EmailTaken(Conflict):
    detail = "An account with this email already exists"


class LastActiveAdmin(Conflict):
    detail = LAST_ACTIVE_ADMIN


class InvalidResetToken(BadRequest):
    detail = "Invalid or expired reset token"
