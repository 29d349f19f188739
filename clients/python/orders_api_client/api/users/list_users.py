from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_detail import ErrorDetail
from ...models.user_page import UserPage
from ...models.validation_error_detail import ValidationErrorDetail
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    limit: int | Unset = 20,
    offset: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    params["offset"] = offset

    params["cursor"] = cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/users",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorDetail | UserPage | ValidationErrorDetail | None:
    if response.status_code == 200:
        response_200 = UserPage.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorDetail.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorDetail.from_dict(response.json())

        return response_403

    if response.status_code == 422:
        response_422 = ValidationErrorDetail.from_dict(response.json())

        return response_422

    if response.status_code == 503:
        response_503 = ErrorDetail.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorDetail | UserPage | ValidationErrorDetail]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 20,
    offset: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> Response[ErrorDetail | UserPage | ValidationErrorDetail]:
    """List users (admin)

     Every user, newest first. Page through with `next_cursor` (pass it as `cursor`)
    until it is null; `offset` serves the first pages (at most 10,000).

    Args:
        limit (int | Unset): Items per page Default: 20.
        offset (int | Unset): Items to skip, 0 to 10,000 (default 0); not with `cursor`. Past the
            first pages, follow `next_cursor` instead
        cursor (str | Unset): Where the page starts: a page's `next_cursor`, exactly as it was
            returned, with the same filters. Not with `offset`

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | UserPage | ValidationErrorDetail]
    """

    kwargs = _get_kwargs(
        limit=limit,
        offset=offset,
        cursor=cursor,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 20,
    offset: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> ErrorDetail | UserPage | ValidationErrorDetail | None:
    """List users (admin)

     Every user, newest first. Page through with `next_cursor` (pass it as `cursor`)
    until it is null; `offset` serves the first pages (at most 10,000).

    Args:
        limit (int | Unset): Items per page Default: 20.
        offset (int | Unset): Items to skip, 0 to 10,000 (default 0); not with `cursor`. Past the
            first pages, follow `next_cursor` instead
        cursor (str | Unset): Where the page starts: a page's `next_cursor`, exactly as it was
            returned, with the same filters. Not with `offset`

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | UserPage | ValidationErrorDetail
    """

    return sync_detailed(
        client=client,
        limit=limit,
        offset=offset,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 20,
    offset: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> Response[ErrorDetail | UserPage | ValidationErrorDetail]:
    """List users (admin)

     Every user, newest first. Page through with `next_cursor` (pass it as `cursor`)
    until it is null; `offset` serves the first pages (at most 10,000).

    Args:
        limit (int | Unset): Items per page Default: 20.
        offset (int | Unset): Items to skip, 0 to 10,000 (default 0); not with `cursor`. Past the
            first pages, follow `next_cursor` instead
        cursor (str | Unset): Where the page starts: a page's `next_cursor`, exactly as it was
            returned, with the same filters. Not with `offset`

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | UserPage | ValidationErrorDetail]
    """

    kwargs = _get_kwargs(
        limit=limit,
        offset=offset,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 20,
    offset: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> ErrorDetail | UserPage | ValidationErrorDetail | None:
    """List users (admin)

     Every user, newest first. Page through with `next_cursor` (pass it as `cursor`)
    until it is null; `offset` serves the first pages (at most 10,000).

    Args:
        limit (int | Unset): Items per page Default: 20.
        offset (int | Unset): Items to skip, 0 to 10,000 (default 0); not with `cursor`. Past the
            first pages, follow `next_cursor` instead
        cursor (str | Unset): Where the page starts: a page's `next_cursor`, exactly as it was
            returned, with the same filters. Not with `offset`

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | UserPage | ValidationErrorDetail
    """

    return (
        await asyncio_detailed(
            client=client,
            limit=limit,
            offset=offset,
            cursor=cursor,
        )
    ).parsed
