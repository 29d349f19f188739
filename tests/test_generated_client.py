"""The README's walk-through, through the Python client that `make client` generates
(clients/python), against a real server: every body parses into its typed model, the
errors included. mypy checks this file strictly (`make lint`), so the client's types are
checked as a user's code would use them."""

from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any, TypeVar

import pytest
from orders_api_client import AuthenticatedClient, Client
from orders_api_client.api.auth import login, signup
from orders_api_client.api.orders import (
    add_order_item,
    complete_order,
    create_order,
    list_orders,
    read_order,
    update_order_item,
)
from orders_api_client.api.products import list_products, read_product, update_product
from orders_api_client.api.users import list_users, read_me
from orders_api_client.models import (
    ErrorDetail,
    LoginRequest,
    OrderCreate,
    OrderItemCreate,
    OrderItemUpdate,
    OrderPage,
    OrderPublic,
    OrderStatus,
    ProductPage,
    ProductPublic,
    ProductUpdate,
    TokenPair,
    UserCreate,
    UserPage,
    UserPublic,
    ValidationErrorDetail,
)
from orders_api_client.types import Response

from tests.conftest import TEST_DATABASE_URL
from tests.events_support import scratch_postgresql
from tests.live_server import LiveServer, live_server

ADMIN_EMAIL = "boss@example.com"
ADMIN_PASSWORD = "a long admin password"
PASSWORD = "margherita-42"

Model = TypeVar("Model")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The README's server: the demo menu and an admin made from the command line."""
    workdir = tmp_path_factory.mktemp("generated-client")
    # A database of its own, which `serve` migrates.
    with (
        scratch_postgresql(TEST_DATABASE_URL, "client")
        if TEST_DATABASE_URL
        else nullcontext(f"sqlite+aiosqlite:///{workdir / 'client.db'}")
    ) as database_url:
        yield from readme_server(database_url, workdir)


def readme_server(database_url: str, workdir: Path) -> Iterator[LiveServer]:
    with live_server(database_url, workdir) as running:
        running.cli("seed-demo")
        running.cli(
            "create-admin", "--email", ADMIN_EMAIL, "--name", "Boss", stdin=ADMIN_PASSWORD + "\n"
        )
        yield running


def parsed(response: Response[Any], status_code: int, model: type[Model]) -> Model:
    """The response's body as `model`, once its status is the one expected."""
    assert response.status_code == status_code, response.content
    assert isinstance(response.parsed, model), response.parsed
    return response.parsed


async def log_in(server: LiveServer, email: str, password: str) -> AuthenticatedClient:
    async with Client(base_url=server.base_url) as anonymous:
        body = LoginRequest(email=email, password=password)
        tokens = parsed(await login.asyncio_detailed(client=anonymous, body=body), 200, TokenPair)
    assert tokens.token_type == "bearer"
    return AuthenticatedClient(base_url=server.base_url, token=tokens.access_token)


async def sign_up(server: LiveServer, name: str, email: str) -> AuthenticatedClient:
    async with Client(base_url=server.base_url) as anonymous:
        body = UserCreate(name=name, email=email, password=PASSWORD)
        user = parsed(await signup.asyncio_detailed(client=anonymous, body=body), 201, UserPublic)
    assert user.email == email.lower()
    assert not user.is_admin
    return await log_in(server, user.email, PASSWORD)


async def menu(client: AuthenticatedClient) -> dict[str, ProductPublic]:
    """The menu by name. Anyone may read it, but its operations list the bearer token as an
    option (admins see more), which openapi-python-client reads as required."""
    page = parsed(await list_products.asyncio_detailed(client=client, limit=100), 200, ProductPage)
    return {product.name: product for product in page.data}


async def test_the_readme_flow_through_the_generated_client(server: LiveServer) -> None:
    async with await sign_up(server, "Mario Rossi", "Mario@Example.com") as mario:
        products = await menu(mario)
        margherita, tiramisu = products["Margherita"], products["Tiramisu"]
        assert margherita.is_available
        me = parsed(await read_me.asyncio_detailed(client=mario), 200, UserPublic)
        first_line = OrderCreate(items=[OrderItemCreate(product_id=margherita.id, quantity=2)])
        key = "5b0e7c2a-mario-dinner"
        created = await create_order.asyncio_detailed(
            client=mario, body=first_line, idempotency_key=key
        )
        order = parsed(created, 201, OrderPublic)
        assert "Idempotent-Replayed" not in created.headers
        retried = await create_order.asyncio_detailed(
            client=mario, body=first_line, idempotency_key=key
        )
        assert parsed(retried, 201, OrderPublic).id == order.id
        assert retried.headers["Idempotent-Replayed"] == "true"

        added = await add_order_item.asyncio_detailed(
            order.id, client=mario, body=OrderItemCreate(product_id=tiramisu.id, quantity=1)
        )
        order = parsed(added, 201, OrderPublic)
        assert order.total_cents == 2 * margherita.price_cents + tiramisu.price_cents
        [dessert] = [line for line in order.items if line.product_id == tiramisu.id]
        changed = await update_order_item.asyncio_detailed(
            order.id, dessert.id, client=mario, body=OrderItemUpdate(quantity=3)
        )
        order = parsed(changed, 200, OrderPublic)
        assert order.total_cents == 2 * margherita.price_cents + 3 * tiramisu.price_cents
        completed = await complete_order.asyncio_detailed(order.id, client=mario)
        assert parsed(completed, 200, OrderPublic).status == OrderStatus.COMPLETED

    async with await log_in(server, ADMIN_EMAIL, ADMIN_PASSWORD) as boss:
        listed = await list_orders.asyncio_detailed(
            client=boss, status=OrderStatus.COMPLETED, user_id=me.id
        )
        assert [found.id for found in parsed(listed, 200, OrderPage).data] == [order.id]
        users = parsed(await list_users.asyncio_detailed(client=boss), 200, UserPage)
        assert me.id in {user.id for user in users.data}
        withdrawn = await update_product.asyncio_detailed(
            tiramisu.id, client=boss, body=ProductUpdate(is_available=False)
        )
        assert not parsed(withdrawn, 200, ProductPublic).is_available
    async with await log_in(server, me.email, PASSWORD) as mario:
        gone = await read_product.asyncio_detailed(tiramisu.id, client=mario)
        assert parsed(gone, 404, ErrorDetail).detail == "Product not found"


async def test_an_order_opened_without_a_body_starts_empty(server: LiveServer) -> None:
    async with await sign_up(server, "Nora Empty", "nora@example.com") as nora:
        order = parsed(await create_order.asyncio_detailed(client=nora), 201, OrderPublic)

    assert order.items == []
    assert order.total_cents == 0
    assert order.status == OrderStatus.PENDING


async def test_someone_elses_order_is_a_typed_404(server: LiveServer) -> None:
    async with await sign_up(server, "Olga Owner", "olga@example.com") as olga:
        order = parsed(await create_order.asyncio_detailed(client=olga), 201, OrderPublic)
    async with await sign_up(server, "Pia Prying", "pia@example.com") as pia:
        response = await read_order.asyncio_detailed(order.id, client=pia)

    assert parsed(response, 404, ErrorDetail).detail == "Order not found"


async def test_completing_an_empty_order_is_a_typed_409(server: LiveServer) -> None:
    async with await sign_up(server, "Quinn Quick", "quinn@example.com") as quinn:
        order = parsed(await create_order.asyncio_detailed(client=quinn), 201, OrderPublic)
        response = await complete_order.asyncio_detailed(order.id, client=quinn)

    assert "item" in parsed(response, 409, ErrorDetail).detail


async def test_a_quantity_past_the_limit_is_a_typed_422(server: LiveServer) -> None:
    async with await sign_up(server, "Rita Greedy", "rita@example.com") as rita:
        margherita = (await menu(rita))["Margherita"]
        order = parsed(await create_order.asyncio_detailed(client=rita), 201, OrderPublic)
        response = await add_order_item.asyncio_detailed(
            order.id, client=rita, body=OrderItemCreate(product_id=margherita.id, quantity=101)
        )

    [issue] = parsed(response, 422, ValidationErrorDetail).detail
    assert issue.loc == ["body", "quantity"]
    assert issue.type_ == "less_than_equal"
    assert issue.msg
