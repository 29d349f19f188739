"""The one table from domain errors to HTTP: status codes, headers and details."""

import json

import pytest

from app.error_handlers import STATUS_OF, error_response
from app.errors import (
    USER_GONE,
    AccountDeactivated,
    Conflict,
    DataChanged,
    DomainError,
    InvalidResetToken,
    LoginThrottled,
    OrderNotFound,
    OrderNotPending,
    ProductNameTaken,
    Unauthorized,
    UserGone,
)


def body_of(error: DomainError) -> object:
    return json.loads(error_response(error).body)


@pytest.mark.parametrize(
    ("error", "status_code"),
    [
        (InvalidResetToken(), 400),
        (UserGone(), 401),
        (AccountDeactivated(), 403),
        (OrderNotFound(), 404),
        (OrderNotPending("cancelled", "be completed"), 409),
        (ProductNameTaken(), 409),
        (DataChanged(), 409),
        (LoginThrottled(30), 429),
    ],
)
def test_each_domain_error_answers_with_its_familys_status(
    error: DomainError, status_code: int
) -> None:
    assert error_response(error).status_code == status_code


def test_an_unauthorized_error_asks_for_a_bearer_token() -> None:
    response = error_response(Unauthorized("Token has expired"))

    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert body_of(Unauthorized("Token has expired")) == {"detail": "Token has expired"}


def test_a_throttled_login_says_when_to_retry() -> None:
    response = error_response(LoginThrottled(42))

    assert response.headers["Retry-After"] == "42"
    assert body_of(LoginThrottled(42)) == {
        "detail": "Too many failed logins for this email; try again in 42 seconds"
    }


def test_a_conflict_sends_no_extra_headers() -> None:
    response = error_response(Conflict("Product 3 is not available"))

    assert "Retry-After" not in response.headers
    assert "WWW-Authenticate" not in response.headers


def test_an_error_carries_its_own_detail() -> None:
    assert body_of(UserGone()) == {"detail": USER_GONE}
    assert body_of(OrderNotPending("cancelled", "be completed")) == {
        "detail": "The order is cancelled; only a pending order can be completed"
    }


def test_every_family_in_the_table_is_a_domain_error() -> None:
    assert all(issubclass(family, DomainError) for family in STATUS_OF)
