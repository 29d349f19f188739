from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.message import Message
from ...models.unavailable import Unavailable
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/health",
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Message | Unavailable | None:
    if response.status_code == 200:
        response_200 = Message.from_dict(response.json())

        return response_200

    if response.status_code == 503:
        response_503 = Unavailable.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Message | Unavailable]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[Message | Unavailable]:
    """Can the service read and write its database?

     200 `{"status": "ok"}` when the database answers a read and accepts a write
    (a write probe, rolled back); else 503 `{"status": "unavailable", "detail": <why>}` with
    `Retry-After`. Load balancers send traffic only to a ready instance.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Message | Unavailable]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
) -> Message | Unavailable | None:
    """Can the service read and write its database?

     200 `{"status": "ok"}` when the database answers a read and accepts a write
    (a write probe, rolled back); else 503 `{"status": "unavailable", "detail": <why>}` with
    `Retry-After`. Load balancers send traffic only to a ready instance.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Message | Unavailable
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[Message | Unavailable]:
    """Can the service read and write its database?

     200 `{"status": "ok"}` when the database answers a read and accepts a write
    (a write probe, rolled back); else 503 `{"status": "unavailable", "detail": <why>}` with
    `Retry-After`. Load balancers send traffic only to a ready instance.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Message | Unavailable]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
) -> Message | Unavailable | None:
    """Can the service read and write its database?

     200 `{"status": "ok"}` when the database answers a read and accepts a write
    (a write probe, rolled back); else 503 `{"status": "unavailable", "detail": <why>}` with
    `Retry-After`. Load balancers send traffic only to a ready instance.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Message | Unavailable
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
