"""The domain's refusals: what a service raises when the rules say no.

Each error carries the detail the client reads. The services know nothing of HTTP: the
status code and headers of each error are chosen in one table, `app.error_handlers`.
"""

USER_GONE = "User is inactive or no longer exists"
LAST_ACTIVE_ADMIN = "There must be at least one active admin"


class DomainError(Exception):
    """A request the rules refuse, with the detail the client is told."""

    detail: str = "The request was refused"

    def __init__(self, detail: str | None = None) -> None:
        if detail is not None:
            self.detail = detail
        super().__init__(self.detail)


class BadRequest(DomainError):
    """The request names something that cannot be used, such as a spent or unknown token."""


class NotFound(DomainError):
    """What the request names does not exist, or is not the caller's to see."""


class Conflict(DomainError):
    """The request does not fit the current state of the data."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class Unauthorized(DomainError):
    """The caller could not be identified: a missing, invalid or stale credential."""


class InvalidPage(DomainError):
    """A page that cannot be served as asked: a cursor or an offset the lists refuse.
    `parameter` names the query parameter at fault."""

    parameter = "cursor"


class Throttled(DomainError):
    """Too many attempts: the caller may try again in `retry_after` seconds."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class UserGone(Unauthorized):
    detail = USER_GONE


class IncorrectLogin(Unauthorized):
    detail = "Incorrect email or password"


class RefreshTokenReplayed(Unauthorized):
    """A retired refresh token came back: its whole family is revoked, and that revocation
    is kept even though the request is refused."""

    detail = "Refresh token was already used or revoked; log in again"


class UnknownRefreshToken(Unauthorized):
    detail = "Unknown refresh token"


class AccountDeactivated(Forbidden):
    """The password was right, so the email's failed logins are cleared and that is kept,
    but the account may not log in."""

    detail = "This account is deactivated"


class AdminRequired(Forbidden):
    detail = "Admin privileges required"


class WrongCurrentPassword(Forbidden):
    detail = "Current password is incorrect"


class OrderNotFound(NotFound):
    detail = "Order not found"


class ItemNotFound(NotFound):
    detail = "Item not found in this order"


class ProductNotFound(NotFound):
    detail = "Product not found"


class UserNotFound(NotFound):
    detail = "User not found"


class OrderNotPending(Conflict):
    def __init__(self, order_status: str, action: str) -> None:
        super().__init__(f"The order is {order_status}; only a pending order can {action}")


class EmailTaken(Conflict):
    detail = "An account with this email already exists"


class LastActiveAdmin(Conflict):
    detail = LAST_ACTIVE_ADMIN


class ProductNameTaken(Conflict):
    detail = "A product with this name already exists"


class DataChanged(Conflict):
    """A constraint the database checks failed: another request changed the data first."""

    detail = "The request conflicts with data that changed meanwhile; retry it"


class InvalidResetToken(BadRequest):
    detail = "Invalid or expired reset token"


class LoginThrottled(Throttled):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many failed logins for this email; try again in {retry_after} seconds",
            retry_after,
        )


class TooManyStreams(Throttled):
    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many open event streams; close one first", retry_after)


class InvalidCursor(InvalidPage):
    detail = "Invalid cursor: pass a `next_cursor` exactly as a page of this list returned it"


class CursorWithOffset(InvalidPage):
    detail = "Pass either `cursor` or `offset`, not both"
    parameter = "offset"


class OffsetTooDeep(InvalidPage):
    """Offsets serve the first pages; a client reads further by cursor."""

    parameter = "offset"
