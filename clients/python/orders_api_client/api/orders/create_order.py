from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_detail import ErrorDetail
from ...models.order_create import OrderCreate
from ...models.order_public import OrderPublic
from ...models.validation_error_detail import ValidationErrorDetail
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: OrderCreate | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/orders",
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorDetail | OrderPublic | ValidationErrorDetail | None:
    if response.status_code == 201:
        response_201 = OrderPublic.from_dict(response.json())

        return response_201

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
    *,
    client: AuthenticatedClient,
    body: OrderCreate | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Response[ErrorDetail | OrderPublic | ValidationErrorDetail]:
    """Open an order, optionally with items

     Opens a `pending` order for the caller. The body is optional: no body, `{}` or
    `{"items": [{"product_id": 1, "quantity": 2}]}` (at most 100 entries). The same
    product twice is merged into one line; a line holds at most 100 (409 past that). Each
    line copies the product's current name and price.

    404 when a product does not exist, 409 when one is not available.

    Args:
        idempotency_key (str | Unset): Any unique string (1-255 printable ASCII characters, e.g. a
            UUID) that makes retrying safe: the same key with the same body returns the first response
            again (with `Idempotent-Replayed: true`) instead of opening a second order; the same key
            with another body is 409. Keys are per user and kept for 24 hours; sent again after that,
            a key opens a new order. A request that failed stored nothing, so its key can be retried.
        body (OrderCreate | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | OrderPublic | ValidationErrorDetail]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: OrderCreate | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> ErrorDetail | OrderPublic | ValidationErrorDetail | None:
    """Open an order, optionally with items

     Opens a `pending` order for the caller. The body is optional: no body, `{}` or
    `{"items": [{"product_id": 1, "quantity": 2}]}` (at most 100 entries). The same
    product twice is merged into one line; a line holds at most 100 (409 past that). Each
    line copies the product's current name and price.

    404 when a product does not exist, 409 when one is not available.

    Args:
        idempotency_key (str | Unset): Any unique string (1-255 printable ASCII characters, e.g. a
            UUID) that makes retrying safe: the same key with the same body returns the first response
            again (with `Idempotent-Replayed: true`) instead of opening a second order; the same key
            with another body is 409. Keys are per user and kept for 24 hours; sent again after that,
            a key opens a new order. A request that failed stored nothing, so its key can be retried.
        body (OrderCreate | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | OrderPublic | ValidationErrorDetail
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: OrderCreate | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Response[ErrorDetail | OrderPublic | ValidationErrorDetail]:
    """Open an order, optionally with items

     Opens a `pending` order for the caller. The body is optional: no body, `{}` or
    `{"items": [{"product_id": 1, "quantity": 2}]}` (at most 100 entries). The same
    product twice is merged into one line; a line holds at most 100 (409 past that). Each
    line copies the product's current name and price.

    404 when a product does not exist, 409 when one is not available.

    Args:
        idempotency_key (str | Unset): Any unique string (1-255 printable ASCII characters, e.g. a
            UUID) that makes retrying safe: the same key with the same body returns the first response
            again (with `Idempotent-Replayed: true`) instead of opening a second order; the same key
            with another body is 409. Keys are per user and kept for 24 hours; sent again after that,
            a key opens a new order. A request that failed stored nothing, so its key can be retried.
        body (OrderCreate | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorDetail | OrderPublic | ValidationErrorDetail]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: OrderCreate | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> ErrorDetail | OrderPublic | ValidationErrorDetail | None:
    """Open an order, optionally with items

     Opens a `pending` order for the caller. The body is optional: no body, `{}` or
    `{"items": [{"product_id": 1, "quantity": 2}]}` (at most 100 entries). The same
    product twice is merged into one line; a line holds at most 100 (409 past that). Each
    line copies the product's current name and price.

    404 when a product does not exist, 409 when one is not available.

    Args:
        idempotency_key (str | Unset): Any unique string (1-255 printable ASCII characters, e.g. a
            UUID) that makes retrying safe: the same key with the same body returns the first response
            again (with `Idempotent-Replayed: true`) instead of opening a second order; the same key
            with another body is 409. Keys are per user and kept for 24 hours; sent again after that,
            a key opens a new order. A request that failed stored nothing, so its key can be retried.
        body (OrderCreate | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorDetail | OrderPublic | ValidationErrorDetail
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
