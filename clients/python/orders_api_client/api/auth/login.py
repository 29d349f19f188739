from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_detail import ErrorDetail
from ...models.login_request import LoginRequest
from ...models.token_pair import TokenPair
from ...models.validation_error_detail import ValidationErrorDetail
from ...types import Response


def _get_kwargs(
    *,
    body: LoginRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/auth/login",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorDetail | TokenPair | ValidationErrorDetail | None:
    if response.status_code == 200:
        response_200 = TokenPair.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorDetail.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorDetail.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorDetail.from_dict(response.json())

        return response_403

    if response.status_code == 413:
        response_413 = ErrorDetail.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = ValidationErrorDetail.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = ErrorDetail.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = ErrorDetail.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorDetail | TokenPair | ValidationErrorDetail]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: LoginRequest,
) -> Response[ErrorDetail | TokenPair | ValidationErrorDetail]:
    """Log in with email and password

     Returns an access token and a refresh token.

    A wrong password and an unknown email get the same 401. After `LOGIN_MAX_FAILURES`
    failures within `LOGIN_FAILURE_WINDOW_MINUTES` from one client address (or ten times
    as many from all addresses together) the email is locked out for that address with 429
    and a `Retry-After` header, even for the right password, until the window passes.

    Args:
        body (LoginRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | TokenPair | ValidationErrorDetail]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: LoginRequest,
) -> ErrorDetail | TokenPair | ValidationErrorDetail | None:
    """Log in with email and password

     Returns an access token and a refresh token.

    A wrong password and an unknown email get the same 401. After `LOGIN_MAX_FAILURES`
    failures within `LOGIN_FAILURE_WINDOW_MINUTES` from one client address (or ten times
    as many from all addresses together) the email is locked out for that address with 429
    and a `Retry-After` header, even for the right password, until the window passes.

    Args:
        body (LoginRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | TokenPair | ValidationErrorDetail
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: LoginRequest,
) -> Response[ErrorDetail | TokenPair | ValidationErrorDetail]:
    """Log in with email and password

     Returns an access token and a refresh token.

    A wrong password and an unknown email get the same 401. After `LOGIN_MAX_FAILURES`
    failures within `LOGIN_FAILURE_WINDOW_MINUTES` from one client address (or ten times
    as many from all addresses together) the email is locked out for that address with 429
    and a `Retry-After` header, even for the right password, until the window passes.

    Args:
        body (LoginRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | TokenPair | ValidationErrorDetail]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: LoginRequest,
) -> ErrorDetail | TokenPair | ValidationErrorDetail | None:
    """Log in with email and password

     Returns an access token and a refresh token.

    A wrong password and an unknown email get the same 401. After `LOGIN_MAX_FAILURES`
    failures within `LOGIN_FAILURE_WINDOW_MINUTES` from one client address (or ten times
    as many from all addresses together) the email is locked out for that address with 429
    and a `Retry-After` header, even for the right password, until the window passes.

    Args:
        body (LoginRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | TokenPair | ValidationErrorDetail
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
