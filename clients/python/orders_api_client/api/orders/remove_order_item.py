from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_detail import ErrorDetail
from ...models.order_public import OrderPublic
from ...models.validation_error_detail import ValidationErrorDetail
from ...types import Response


def _get_kwargs(
    order_id: int,
    item_id: int,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/orders/{order_id}/items/{item_id}".format(
            order_id=quote(str(order_id), safe=""),
            item_id=quote(str(item_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorDetail | OrderPublic | ValidationErrorDetail | None:
    if response.status_code == 200:
        response_200 = OrderPublic.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorDetail.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ErrorDetail.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = ErrorDetail.from_dict(response.json())

        return response_409

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
) -> Response[ErrorDetail | OrderPublic | ValidationErrorDetail]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    order_id: int,
    item_id: int,
    *,
    client: AuthenticatedClient,
) -> Response[ErrorDetail | OrderPublic | ValidationErrorDetail]:
    """Remove a line

     Removes the line and returns the whole order (which may end up with no items).
    409 when the order is not pending; 404 when the order or the line does not exist.

    Args:
        order_id (int): The order's id
        item_id (int): The item's id

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | OrderPublic | ValidationErrorDetail]
    """

    kwargs = _get_kwargs(
        order_id=order_id,
        item_id=item_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    order_id: int,
    item_id: int,
    *,
    client: AuthenticatedClient,
) -> ErrorDetail | OrderPublic | ValidationErrorDetail | None:
    """Remove a line

     Removes the line and returns the whole order (which may end up with no items).
    409 when the order is not pending; 404 when the order or the line does not exist.

    Args:
        order_id (int): The order's id
        item_id (int): The item's id

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | OrderPublic | ValidationErrorDetail
    """

    return sync_detailed(
        order_id=order_id,
        item_id=item_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    order_id: int,
    item_id: int,
    *,
    client: AuthenticatedClient,
) -> Response[ErrorDetail | OrderPublic | ValidationErrorDetail]:
    """Remove a line

     Removes the line and returns the whole order (which may end up with no items).
    409 when the order is not pending; 404 when the order or the line does not exist.

    Args:
        order_id (int): The order's id
        item_id (int): The item's id

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | OrderPublic | ValidationErrorDetail]
    """

    kwargs = _get_kwargs(
        order_id=order_id,
        item_id=item_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    order_id: int,
    item_id: int,
    *,
    client: AuthenticatedClient,
) -> ErrorDetail | OrderPublic | ValidationErrorDetail | None:
    """Remove a line

     Removes the line and returns the whole order (which may end up with no items).
    409 when the order is not pending; 404 when the order or the line does not exist.

    Args:
        order_id (int): The order's id
        item_id (int): The item's id

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | OrderPublic | ValidationErrorDetail
    """

    return (
        await asyncio_detailed(
            order_id=order_id,
            item_id=item_id,
            client=client,
        )
    ).parsed
