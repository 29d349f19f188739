from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_detail import ErrorDetail
from ...models.validation_error_detail import ValidationErrorDetail
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    last_event_id_query: int | Unset = UNSET,
    last_event_id_header: int | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id_header, Unset):
        headers["Last-Event-ID"] = str(last_event_id_header)

    params: dict[str, Any] = {}

    params["last_event_id"] = last_event_id_query

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/orders/events",
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorDetail | ValidationErrorDetail | str | None:
    if response.status_code == 200:
        response_200 = response.text
        return response_200

    if response.status_code == 401:
        response_401 = ErrorDetail.from_dict(response.json())

        return response_401

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
) -> Response[ErrorDetail | ValidationErrorDetail | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    last_event_id_query: int | Unset = UNSET,
    last_event_id_header: int | Unset = UNSET,
) -> Response[ErrorDetail | ValidationErrorDetail | str]:
    """A live stream of changes to your orders (every order for an admin)

     Server-Sent Events (`text/event-stream`) of every change to the orders you may see:
    a customer their own, an admin every order. Event names: `order.created`,
    `order.updated` (items added, changed or removed), `order.completed`,
    `order.cancelled`; each event's `data` is the order (`OrderPublic`) right after the
    change, and its `id` increases in commit order.

    Reconnect with `Last-Event-ID` (as browsers' `EventSource` does by itself) to get every
    kept event after it first: a reconnect loses nothing. The stream ends when the access
    token that opened it expires, or when your account is deactivated; reconnect with a
    fresh token. 429 past `EVENTS_MAX_STREAMS_PER_USER` open streams of yours.

    Try it: `curl -N -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/orders/events`

    Args:
        last_event_id_query (int | Unset): As the `Last-Event-ID` header (which wins when both are
            sent)
        last_event_id_header (int | Unset): Resume after this event id: every kept event after it
            that you may see is sent first, then the live ones. Without it the stream starts with the
            changes committed after it opens.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | ValidationErrorDetail | str]
    """

    kwargs = _get_kwargs(
        last_event_id_query=last_event_id_query,
        last_event_id_header=last_event_id_header,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    last_event_id_query: int | Unset = UNSET,
    last_event_id_header: int | Unset = UNSET,
) -> ErrorDetail | ValidationErrorDetail | str | None:
    """A live stream of changes to your orders (every order for an admin)

     Server-Sent Events (`text/event-stream`) of every change to the orders you may see:
    a customer their own, an admin every order. Event names: `order.created`,
    `order.updated` (items added, changed or removed), `order.completed`,
    `order.cancelled`; each event's `data` is the order (`OrderPublic`) right after the
    change, and its `id` increases in commit order.

    Reconnect with `Last-Event-ID` (as browsers' `EventSource` does by itself) to get every
    kept event after it first: a reconnect loses nothing. The stream ends when the access
    token that opened it expires, or when your account is deactivated; reconnect with a
    fresh token. 429 past `EVENTS_MAX_STREAMS_PER_USER` open streams of yours.

    Try it: `curl -N -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/orders/events`

    Args:
        last_event_id_query (int | Unset): As the `Last-Event-ID` header (which wins when both are
            sent)
        last_event_id_header (int | Unset): Resume after this event id: every kept event after it
            that you may see is sent first, then the live ones. Without it the stream starts with the
            changes committed after it opens.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | ValidationErrorDetail | str
    """

    return sync_detailed(
        client=client,
        last_event_id_query=last_event_id_query,
        last_event_id_header=last_event_id_header,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    last_event_id_query: int | Unset = UNSET,
    last_event_id_header: int | Unset = UNSET,
) -> Response[ErrorDetail | ValidationErrorDetail | str]:
    """A live stream of changes to your orders (every order for an admin)

     Server-Sent Events (`text/event-stream`) of every change to the orders you may see:
    a customer their own, an admin every order. Event names: `order.created`,
    `order.updated` (items added, changed or removed), `order.completed`,
    `order.cancelled`; each event's `data` is the order (`OrderPublic`) right after the
    change, and its `id` increases in commit order.

    Reconnect with `Last-Event-ID` (as browsers' `EventSource` does by itself) to get every
    kept event after it first: a reconnect loses nothing. The stream ends when the access
    token that opened it expires, or when your account is deactivated; reconnect with a
    fresh token. 429 past `EVENTS_MAX_STREAMS_PER_USER` open streams of yours.

    Try it: `curl -N -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/orders/events`

    Args:
        last_event_id_query (int | Unset): As the `Last-Event-ID` header (which wins when both are
            sent)
        last_event_id_header (int | Unset): Resume after this event id: every kept event after it
            that you may see is sent first, then the live ones. Without it the stream starts with the
            changes committed after it opens.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | ValidationErrorDetail | str]
    """

    kwargs = _get_kwargs(
        last_event_id_query=last_event_id_query,
        last_event_id_header=last_event_id_header,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    last_event_id_query: int | Unset = UNSET,
    last_event_id_header: int | Unset = UNSET,
) -> ErrorDetail | ValidationErrorDetail | str | None:
    """A live stream of changes to your orders (every order for an admin)

     Server-Sent Events (`text/event-stream`) of every change to the orders you may see:
    a customer their own, an admin every order. Event names: `order.created`,
    `order.updated` (items added, changed or removed), `order.completed`,
    `order.cancelled`; each event's `data` is the order (`OrderPublic`) right after the
    change, and its `id` increases in commit order.

    Reconnect with `Last-Event-ID` (as browsers' `EventSource` does by itself) to get every
    kept event after it first: a reconnect loses nothing. The stream ends when the access
    token that opened it expires, or when your account is deactivated; reconnect with a
    fresh token. 429 past `EVENTS_MAX_STREAMS_PER_USER` open streams of yours.

    Try it: `curl -N -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/orders/events`

    Args:
        last_event_id_query (int | Unset): As the `Last-Event-ID` header (which wins when both are
            sent)
        last_event_id_header (int | Unset): Resume after this event id: every kept event after it
            that you may see is sent first, then the live ones. Without it the stream starts with the
            changes committed after it opens.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | ValidationErrorDetail | str
    """

    return (
        await asyncio_detailed(
            client=client,
            last_event_id_query=last_event_id_query,
            last_event_id_header=last_event_id_header,
        )
    ).parsed
