"""The OpenAPI links: how the output of one operation feeds the next (sign up -> log in ->
refresh, or your own account's routes; open an order -> add items -> complete it; a user
-> an admin's routes for that user), for client generators and schemathesis' stateful
tests. `app.openapi` adds them to the schema."""

import copy
from typing import Any

Link = dict[str, Any]

TOKEN_PAIR_LINKS: dict[str, Link] = {
    "Refresh": {
        "operationId": "refresh_tokens",
        "description": "Exchange the refresh token for a new pair",
        "requestBody": {"refresh_token": "$response.body#/refresh_token"},
    },
    "LogOut": {
        "operationId": "logout",
        "description": "Revoke the refresh token",
        "requestBody": {"refresh_token": "$response.body#/refresh_token"},
    },
}


def _link(operation_id: str, description: str, **fields: Any) -> Link:
    return {"operationId": operation_id, "description": description, **fields}


def _order_links(order_id: str) -> dict[str, Link]:
    """What can follow a response that carries an order (`order_id` points at its id)."""
    first_item = order_id.removesuffix("/id") + "/items/0"
    return {
        "ReadOrder": _link("read_order", "Read the order", parameters={"order_id": order_id}),
        "AddItem": _link(
            "add_order_item",
            "Add a line to the order (the same product again raises its quantity)",
            parameters={"order_id": order_id},
            requestBody={"product_id": f"{first_item}/product_id", "quantity": 1},
        ),
        "UpdateFirstItem": _link(
            "update_order_item",
            "Change the quantity of the order's first line",
            parameters={"order_id": order_id, "item_id": f"{first_item}/id"},
        ),
        "RemoveFirstItem": _link(
            "remove_order_item",
            "Remove the order's first line",
            parameters={"order_id": order_id, "item_id": f"{first_item}/id"},
        ),
        "CompleteOrder": _link(
            "complete_order", "Complete the order", parameters={"order_id": order_id}
        ),
        "CancelOrder": _link("cancel_order", "Cancel the order", parameters={"order_id": order_id}),
    }


def _product_links(product_id: str) -> dict[str, Link]:
    """What can follow a response that carries a product (`product_id` points at its id)."""
    return {
        "ReadProduct": _link(
            "read_product", "Read the product", parameters={"product_id": product_id}
        ),
        "UpdateProduct": _link(
            "update_product",
            "Change the product (admins)",
            parameters={"product_id": product_id},
        ),
        "OrderProduct": _link(
            "create_order",
            "Open an order with this product",
            requestBody={"items": [{"product_id": product_id, "quantity": 1}]},
        ),
    }


def _user_links(user_id: str, which: str = "") -> dict[str, Link]:
    """What an admin can do next with a user a response carries (`user_id` points at its
    id); `which` names that user in the links' names (`First` for a page's first)."""
    parameters = {"user_id": user_id}
    return {
        f"Read{which}User": _link("read_user", "Read the user (admins)", parameters=parameters),
        f"Update{which}User": _link(
            "update_user",
            "Rename, activate, deactivate, promote or demote the user (admins)",
            parameters=parameters,
        ),
        f"Delete{which}User": _link(
            "delete_user", "Delete the user and their orders (admins)", parameters=parameters
        ),
    }


OPEN_ORDER = _link("create_order", "With the access token, open an order")
ORDER_IN_BODY = _order_links("$response.body#/id")
USER_IN_BODY = _user_links("$response.body#/id")
# What a fresh access token opens besides orders: the caller's own account.
OWN_ACCOUNT_LINKS: dict[str, Link] = {
    "ReadMe": _link("read_me", "With the access token, read your account"),
    "UpdateMe": _link("update_me", "With the access token, change your name or email"),
    "ChangePassword": _link(
        "change_password", "With the access token, change your password (logs out other devices)"
    ),
    "DeleteMe": _link("delete_me", "With the access token, close your account"),
}
SIGNED_IN_LINKS = TOKEN_PAIR_LINKS | {"OpenOrder": OPEN_ORDER} | OWN_ACCOUNT_LINKS

# operation id -> response status -> link name -> link (whose target is an operation id).
LINKS: dict[str, dict[str, dict[str, Link]]] = {
    "signup": {
        "201": {
            "LogIn": _link(
                "login",
                "Log in as the new customer with the password just chosen",
                requestBody={
                    "email": "$response.body#/email",
                    "password": "$request.body#/password",
                },
            ),
        }
        | USER_IN_BODY
    },
    "login": {"200": SIGNED_IN_LINKS},
    "login_form": {"200": SIGNED_IN_LINKS},
    "refresh_tokens": {"200": TOKEN_PAIR_LINKS},
    "change_password": {"200": SIGNED_IN_LINKS},
    "list_users": {"200": _user_links("$response.body#/data/0/id", which="First")},
    "read_user": {"200": USER_IN_BODY},
    "update_user": {"200": USER_IN_BODY},
    "list_products": {"200": _product_links("$response.body#/data/0/id")},
    "read_product": {"200": _product_links("$response.body#/id")},
    "create_product": {"201": _product_links("$response.body#/id")},
    "update_product": {"200": _product_links("$response.body#/id")},
    "create_order": {"201": ORDER_IN_BODY},
    "list_orders": {"200": _order_links("$response.body#/data/0/id")},
    "read_order": {"200": ORDER_IN_BODY},
    "add_order_item": {"201": ORDER_IN_BODY},
    "update_order_item": {"200": ORDER_IN_BODY},
    "remove_order_item": {"200": ORDER_IN_BODY},
    "cancel_order": {"200": ORDER_IN_BODY},
    "complete_order": {"200": ORDER_IN_BODY},
}


def add_links(by_id: dict[str, dict[str, Any]]) -> None:
    """Add every link to its operation's response (`by_id`: the operations by id)."""
    for source, by_status in LINKS.items():
        for status_code, links in by_status.items():
            for name, link in links.items():
                if link["operationId"] not in by_id:
                    raise RuntimeError(f"link {source}.{name}: no operation {link['operationId']}")
            response = by_id[source]["responses"][status_code]
            response.setdefault("links", {}).update(copy.deepcopy(links))
