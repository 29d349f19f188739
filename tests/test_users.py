"""GET /users/me, and user management for admins: GET /users, PATCH /users/{id}."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import Account, CreateUser, detail_of

# ---------------------------------------------------------------- /users/me


async def test_me_returns_the_caller(client: httpx.AsyncClient, customer: Account) -> None:
    response = await client.get("/users/me", headers=customer.headers)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == customer.id
    assert body["email"] == "customer@example.com"
    assert body["name"] == "Carla Customer"
    assert (body["is_active"], body["is_admin"]) == (True, False)
    assert set(body) == {"id", "name", "email", "is_active", "is_admin", "created_at"}


async def test_me_without_a_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/me")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


# ---------------------------------------------------------------- GET /users


async def test_admin_lists_users_as_a_page(
    client: httpx.AsyncClient, admin: Account, customer: Account
) -> None:
    response = await client.get("/users", headers=admin.headers)

    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"data", "count", "count_exact", "limit", "offset", "next_cursor"}
    assert (page["count"], page["limit"], page["offset"]) == (2, 20, 0)
    assert {user["email"] for user in page["data"]} == {admin.email, customer.email}
    assert all("hashed_password" not in user for user in page["data"])


async def test_listing_users_is_403_for_a_customer(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await client.get("/users", headers=customer.headers)

    assert response.status_code == 403
    assert detail_of(response) == "Admin privileges required"


async def test_listing_users_is_401_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/users")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_users_are_listed_newest_first(
    client: httpx.AsyncClient, admin: Account, create_user: CreateUser
) -> None:
    created = [await create_user(log_in=False) for _ in range(3)]

    page = (await client.get("/users", headers=admin.headers)).json()

    listed = [user["id"] for user in page["data"]]
    assert listed == [user.id for user in reversed(created)] + [admin.id]
    timestamps = [user["created_at"] for user in page["data"]]
    assert timestamps == sorted(timestamps, reverse=True)


async def test_users_page_honours_limit_and_offset_and_counts_all(
    client: httpx.AsyncClient, admin: Account, create_user: CreateUser
) -> None:
    created = [await create_user(log_in=False) for _ in range(4)]
    newest_first = [user.id for user in reversed(created)] + [admin.id]

    page = (await client.get("/users?limit=2&offset=1", headers=admin.headers)).json()

    assert [user["id"] for user in page["data"]] == newest_first[1:3]
    assert (page["count"], page["limit"], page["offset"]) == (5, 2, 1)


async def test_users_page_past_the_end_is_empty_but_counts_all(
    client: httpx.AsyncClient, admin: Account
) -> None:
    page = (await client.get("/users?offset=50", headers=admin.headers)).json()

    assert page["data"] == []
    assert page["count"] == 1


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=-1",
        "offset=-1",
        "limit=99999999999999999999999999",
        "limit=ten",
        "offset=1.5",
    ],
)
async def test_users_page_parameters_out_of_bounds_are_422(
    client: httpx.AsyncClient, admin: Account, query: str
) -> None:
    response = await client.get(f"/users?{query}", headers=admin.headers)

    assert response.status_code == 422
    assert detail_of(response)[0]["loc"][0] == "query"


@pytest.mark.parametrize("query", ["limit=1", "limit=100", "offset=0", "offset=10000"])
async def test_users_page_parameters_at_their_bounds_are_accepted(
    client: httpx.AsyncClient, admin: Account, query: str
) -> None:
    response = await client.get(f"/users?{query}", headers=admin.headers)

    assert response.status_code == 200


# ---------------------------------------------------------------- PATCH /users/{id}


async def test_admin_deactivates_a_user(
    client: httpx.AsyncClient, admin: Account, customer: Account
) -> None:
    response = await client.patch(
        f"/users/{customer.id}", json={"is_active": False}, headers=admin.headers
    )

    assert response.status_code == 200
    assert response.json()["id"] == customer.id
    assert response.json()["is_active"] is False
    assert response.json()["is_admin"] is False


async def test_a_deactivated_user_can_no_longer_log_in(
    client: httpx.AsyncClient, admin: Account, customer: Account
) -> None:
    await client.patch(f"/users/{customer.id}", json={"is_active": False}, headers=admin.headers)

    response = await client.post(
        "/auth/login", json={"email": customer.email, "password": customer.password}
    )

    assert response.status_code == 403


async def test_admin_reactivates_a_user(
    client: httpx.AsyncClient, admin: Account, create_user: CreateUser
) -> None:
    user = await create_user(is_active=False, log_in=False)

    response = await client.patch(
        f"/users/{user.id}", json={"is_active": True}, headers=admin.headers
    )
    login = await client.post("/auth/login", json={"email": user.email, "password": user.password})

    assert response.json()["is_active"] is True
    assert login.status_code == 200


async def test_admin_promotes_a_customer_who_then_may_list_users(
    client: httpx.AsyncClient, admin: Account, customer: Account
) -> None:
    response = await client.patch(
        f"/users/{customer.id}", json={"is_admin": True}, headers=admin.headers
    )

    assert response.status_code == 200
    assert response.json()["is_admin"] is True
    assert (await client.get("/users", headers=customer.headers)).status_code == 200


async def test_patch_changes_only_the_fields_sent(
    client: httpx.AsyncClient, admin: Account, customer: Account
) -> None:
    path = f"/users/{customer.id}"
    await client.patch(path, json={"is_admin": True}, headers=admin.headers)

    response = await client.patch(path, json={"is_active": False}, headers=admin.headers)

    assert (response.json()["is_admin"], response.json()["is_active"]) == (True, False)


async def test_patch_with_an_empty_body_changes_nothing(
    client: httpx.AsyncClient, admin: Account, customer: Account
) -> None:
    before = (await client.get("/users/me", headers=customer.headers)).json()

    response = await client.patch(f"/users/{customer.id}", json={}, headers=admin.headers)

    assert response.status_code == 200
    assert response.json() == before


async def test_patch_persists_the_change(
    client: httpx.AsyncClient, admin: Account, customer: Account
) -> None:
    await client.patch(f"/users/{customer.id}", json={"is_admin": True}, headers=admin.headers)

    listed = (await client.get("/users", headers=admin.headers)).json()["data"]

    assert {user["id"]: user["is_admin"] for user in listed}[customer.id] is True


async def test_patching_an_unknown_user_is_404(client: httpx.AsyncClient, admin: Account) -> None:
    response = await client.patch("/users/999999", json={"is_admin": True}, headers=admin.headers)

    assert response.status_code == 404
    assert detail_of(response) == "User not found"


async def test_patching_a_user_is_403_for_a_customer(
    client: httpx.AsyncClient, customer: Account, admin: Account
) -> None:
    response = await client.patch(
        f"/users/{customer.id}", json={"is_admin": True}, headers=customer.headers
    )

    assert response.status_code == 403
    me = (await client.get("/users/me", headers=customer.headers)).json()
    assert me["is_admin"] is False


async def test_patching_a_user_is_401_without_a_token(
    client: httpx.AsyncClient, customer: Account
) -> None:
    response = await client.patch(f"/users/{customer.id}", json={"is_admin": True})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "body",
    [
        {"email": "new@example.com"},
        {"hashed_password": "x"},
        {"is_admin": True, "id": 5},
    ],
    ids=["email", "hashed_password", "id"],
)
async def test_patch_rejects_unknown_fields(
    client: httpx.AsyncClient, admin: Account, customer: Account, body: dict[str, Any]
) -> None:
    response = await client.patch(f"/users/{customer.id}", json=body, headers=admin.headers)

    assert response.status_code == 422
    me = (await client.get("/users/me", headers=customer.headers)).json()
    assert me["is_admin"] is False


@pytest.mark.parametrize("field", ["is_active", "is_admin"])
async def test_patch_rejects_an_explicit_null(
    client: httpx.AsyncClient, admin: Account, customer: Account, field: str
) -> None:
    response = await client.patch(
        f"/users/{customer.id}", json={field: None}, headers=admin.headers
    )

    assert response.status_code == 422
    assert detail_of(response)[0]["loc"] == ["body", field]


@pytest.mark.parametrize("value", ["maybe", 2, [True], {"on": True}, 10**40])
async def test_patch_rejects_a_value_that_is_not_a_boolean(
    client: httpx.AsyncClient, admin: Account, customer: Account, value: object
) -> None:
    response = await client.patch(
        f"/users/{customer.id}", json={"is_admin": value}, headers=admin.headers
    )

    assert response.status_code == 422


@pytest.mark.parametrize("body", [[], "is_admin", None, 1])
async def test_patch_rejects_a_body_that_is_not_an_object(
    client: httpx.AsyncClient, admin: Account, customer: Account, body: object
) -> None:
    response = await client.patch(f"/users/{customer.id}", json=body, headers=admin.headers)

    assert response.status_code == 422


@pytest.mark.parametrize("user_id", ["0", "-1", "2147483648", "99999999999999999999999", "abc"])
async def test_patch_with_an_id_out_of_range_is_422(
    client: httpx.AsyncClient, admin: Account, user_id: str
) -> None:
    response = await client.patch(
        f"/users/{user_id}", json={"is_admin": True}, headers=admin.headers
    )

    assert response.status_code == 422
    assert detail_of(response)[0]["loc"] == ["path", "user_id"]


async def test_patch_with_the_largest_id_is_404(client: httpx.AsyncClient, admin: Account) -> None:
    response = await client.patch(
        "/users/2147483647", json={"is_admin": True}, headers=admin.headers
    )

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "codes"),
    [
        ("get", "/users/me", {"200", "401", "503"}),
        ("get", "/users", {"200", "401", "403", "422", "503"}),
        ("patch", "/users/{user_id}", {"200", "401", "403", "404", "413", "422", "503"}),
    ],
)
def test_openapi_declares_every_code_a_users_route_returns(
    app: FastAPI, method: str, path: str, codes: set[str]
) -> None:
    responses = app.openapi()["paths"][path][method]["responses"]

    assert codes <= set(responses), f"undeclared: {codes - set(responses)}"
    for code in codes - {"200", "422"}:
        schema = responses[code]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorDetail"}
