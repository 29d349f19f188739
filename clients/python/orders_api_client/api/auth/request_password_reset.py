from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_detail import ErrorDetail
from ...models.notice import Notice
from ...models.password_reset_request import PasswordResetRequest
from ...models.validation_error_detail import ValidationErrorDetail
from ...types import Response


def _get_kwargs(
    *,
    body: PasswordResetRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/auth/password-reset",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorDetail | Notice | ValidationErrorDetail | None:
    if response.status_code == 202:
        response_202 = Notice.from_dict(response.json())

        return response_202

    if response.status_code == 400:
        response_400 = ErrorDetail.from_dict(response.json())

        return response_400

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
) -> Response[ErrorDetail | Notice | ValidationErrorDetail]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: PasswordResetRequest,
) -> Response[ErrorDetail | Notice | ValidationErrorDetail]:
    """Mail a password reset link

     Always 202 with the same answer, in about the same time, whether or not the email
    has an account. For an active account, mails a link to `PASSWORD_RESET_URL` with
    `?token=...`, good once for `PASSWORD_RESET_EXPIRE_MINUTES`; a newer request voids the
    earlier links. At most 3 mails per address per hour: past that, nothing is sent.

    Args:
        body (PasswordResetRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | Notice | ValidationErrorDetail]
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
    body: PasswordResetRequest,
) -> ErrorDetail | Notice | ValidationErrorDetail | None:
    """Mail a password reset link

     Always 202 with the same answer, in about the same time, whether or not the email
    has an account. For an active account, mails a link to `PASSWORD_RESET_URL` with
    `?token=...`, good once for `PASSWORD_RESET_EXPIRE_MINUTES`; a newer request voids the
    earlier links. At most 3 mails per address per hour: past that, nothing is sent.

    Args:
        body (PasswordResetRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | Notice | ValidationErrorDetail
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: PasswordResetRequest,
) -> Response[ErrorDetail | Notice | ValidationErrorDetail]:
    """Mail a password reset link

     Always 202 with the same answer, in about the same time, whether or not the email
    has an account. For an active account, mails a link to `PASSWORD_RESET_URL` with
    `?token=...`, good once for `PASSWORD_RESET_EXPIRE_MINUTES`; a newer request voids the
    earlier links. At most 3 mails per address per hour: past that, nothing is sent.

    Args:
        body (PasswordResetRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | Notice | ValidationErrorDetail]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: PasswordResetRequest,
) -> ErrorDetail | Notice | ValidationErrorDetail | None:
    """Mail a password reset link

     Always 202 with the same answer, in about the same time, whether or not the email
    has an account. For an active account, mails a link to `PASSWORD_RESET_URL` with
    `?token=...`, good once for `PASSWORD_RESET_EXPIRE_MINUTES`; a newer request voids the
    earlier links. At most 3 mails per address per hour: past that, nothing is sent.

    Args:
        body (PasswordResetRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | Notice | ValidationErrorDetail
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
