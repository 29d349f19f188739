from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_detail import ErrorDetail
from ...models.order_item_update import OrderItemUpdate
from ...models.order_public import OrderPublic
from ...models.validation_error_detail import ValidationErrorDetail
from ...types import Response


def _get_kwargs(
    order_id: int,
    item_id: int,
    *,
    body: OrderItemUpdate,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/orders/{order_id}/items/{item_id}".format(
            order_id=quote(str(order_id), safe=""),
            item_id=quote(str(item_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorDetail | OrderPublic | ValidationErrorDetail | None:
    if response.status_code == 200:
        response_200 = OrderPublic.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorDetail.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorDetail.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ErrorDetail.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = ErrorDetail.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = ErrorDetail.from_dict(response.json())

        return response_413

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
    body: OrderItemUpdate,
) -> Response[ErrorDetail | OrderPublic | ValidationErrorDetail]:
    """Change a line's quantity

     Sets the line's quantity and returns the whole order. Lowering it is always allowed;
    raising it needs the product to be still available (409 otherwise). 409 when the order
    is not pending; 404 when the order or the line does not exist.

    Args:
        order_id (int): The order's id
        item_id (int): The item's id
        body (OrderItemUpdate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | OrderPublic | ValidationErrorDetail]
    """

    kwargs = _get_kwargs(
        order_id=order_id,
        item_id=item_id,
        body=body,
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
    body: OrderItemUpdate,
) -> ErrorDetail | OrderPublic | ValidationErrorDetail | None:
    """Change a line's quantity

     Sets the line's quantity and returns the whole order. Lowering it is always allowed;
    raising it needs the product to be still available (409 otherwise). 409 when the order
    is not pending; 404 when the order or the line does not exist.

    Args:
        order_id (int): The order's id
        item_id (int): The item's id
        body (OrderItemUpdate):

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
        body=body,
    ).parsed


async def asyncio_detailed(
    order_id: int,
    item_id: int,
    *,
    client: AuthenticatedClient,
    body: OrderItemUpdate,
) -> Response[ErrorDetail | OrderPublic | ValidationErrorDetail]:
    """Change a line's quantity

     Sets the line's quantity and returns the whole order. Lowering it is always allowed;
    raising it needs the product to be still available (409 otherwise). 409 when the order
    is not pending; 404 when the order or the line does not exist.

    Args:
        order_id (int): The order's id
        item_id (int): The item's id
        body (OrderItemUpdate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | OrderPublic | ValidationErrorDetail]
    """

    kwargs = _get_kwargs(
        order_id=order_id,
        item_id=item_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    order_id: int,
    item_id: int,
    *,
    client: AuthenticatedClient,
    body: OrderItemUpdate,
) -> ErrorDetail | OrderPublic | ValidationErrorDetail | None:
    """Change a line's quantity

     Sets the line's quantity and returns the whole order. Lowering it is always allowed;
    raising it needs the product to be still available (409 otherwise). 409 when the order
    is not pending; 404 when the order or the line does not exist.

    Args:
        order_id (int): The order's id
        item_id (int): The item's id
        body (OrderItemUpdate):

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
            body=body,
        )
    ).parsed
