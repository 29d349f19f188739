"""The OpenAPI schema tells the truth: ids, codes, bodies, examples, security and links.

Clients are generated from this schema and schemathesis tests the app against it, so every
operation must carry a summary, a description, a stable operation id, a body model for every
status code it can return and an example for every request body.
"""

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from app import schemas, tables
from app.openapi_components import readable_name

PUBLIC = frozenset(
    {
        "signup",
        "login",
        "login_form",
        "refresh_tokens",
        "logout",
        "request_password_reset",
        "confirm_password_reset",
        "health",
        "health_live",
        "health_ready",
        "metrics",
    }
)
TOKEN_OPTIONAL = frozenset({"list_products", "read_product"})
WITH_BODY = frozenset(
    {
        "signup",
        "login",
        "login_form",
        "refresh_tokens",
        "logout",
        "request_password_reset",
        "confirm_password_reset",
        "update_me",
        "change_password",
        "delete_me",
        "update_user",
        "create_product",
        "update_product",
        "create_order",
        "add_order_item",
        "update_order_item",
    }
)
FORM_BODY = "LoginForm"
STREAM = ("get", "/orders/events")

# (method, path) -> (operation id, every status code the operation can return): the codes
# of docs/API.md, plus 400 (a body that cannot be decoded) and 413 on every route with
# a body, 422 on every route with a body or parameters, and 503 everywhere.
OPERATIONS: dict[tuple[str, str], tuple[str, set[int]]] = {
    ("post", "/auth/signup"): ("signup", {201, 400, 409, 413, 422, 429, 503}),
    ("post", "/auth/login"): ("login", {200, 400, 401, 403, 413, 422, 429, 503}),
    ("post", "/auth/token"): ("login_form", {200, 400, 401, 403, 413, 422, 429, 503}),
    ("post", "/auth/refresh"): ("refresh_tokens", {200, 400, 401, 413, 422, 429, 503}),
    ("post", "/auth/logout"): ("logout", {204, 400, 401, 413, 422, 503}),
    ("post", "/auth/password-reset"): ("request_password_reset", {202, 400, 413, 422, 429, 503}),
    ("post", "/auth/password-reset/confirm"): (
        "confirm_password_reset",
        {204, 400, 413, 422, 429, 503},
    ),
    ("get", "/users/me"): ("read_me", {200, 401, 503}),
    # A wrong current password counts as a failed login: hence 429.
    ("patch", "/users/me"): ("update_me", {200, 400, 401, 403, 409, 413, 422, 429, 503}),
    ("post", "/users/me/password"): (
        "change_password",
        {200, 400, 401, 403, 413, 422, 429, 503},
    ),
    ("delete", "/users/me"): ("delete_me", {204, 400, 401, 403, 409, 413, 422, 429, 503}),
    ("get", "/users"): ("list_users", {200, 401, 403, 422, 503}),
    ("get", "/users/{user_id}"): ("read_user", {200, 401, 403, 404, 422, 503}),
    ("patch", "/users/{user_id}"): (
        "update_user",
        {200, 400, 401, 403, 404, 409, 413, 422, 503},
    ),
    ("delete", "/users/{user_id}"): ("delete_user", {204, 401, 403, 404, 409, 422, 503}),
    # A token is optional on the menu, but one that is sent must be valid: hence 401.
    ("get", "/products"): ("list_products", {200, 401, 422, 503}),
    ("get", "/products/{product_id}"): ("read_product", {200, 401, 404, 422, 503}),
    ("post", "/products"): ("create_product", {201, 400, 401, 403, 409, 413, 422, 503}),
    ("patch", "/products/{product_id}"): (
        "update_product",
        {200, 400, 401, 403, 404, 409, 413, 422, 503},
    ),
    ("post", "/orders"): ("create_order", {201, 400, 401, 404, 409, 413, 422, 503}),
    ("get", "/orders"): ("list_orders", {200, 401, 422, 503}),
    ("get", "/orders/events"): ("stream_order_events", {200, 401, 422, 429, 503}),
    ("get", "/orders/{order_id}"): ("read_order", {200, 401, 404, 422, 503}),
    ("post", "/orders/{order_id}/items"): (
        "add_order_item",
        {201, 400, 401, 404, 409, 413, 422, 503},
    ),
    ("patch", "/orders/{order_id}/items/{item_id}"): (
        "update_order_item",
        {200, 400, 401, 404, 409, 413, 422, 503},
    ),
    ("delete", "/orders/{order_id}/items/{item_id}"): (
        "remove_order_item",
        {200, 401, 404, 409, 422, 503},
    ),
    ("post", "/orders/{order_id}/cancel"): ("cancel_order", {200, 401, 404, 409, 422, 503}),
    ("post", "/orders/{order_id}/complete"): ("complete_order", {200, 401, 404, 409, 422, 503}),
    ("get", "/health"): ("health", {200, 503}),
    ("get", "/health/ready"): ("health_ready", {200, 503}),
    ("get", "/health/live"): ("health_live", {200, 503}),
    ("get", "/metrics"): ("metrics", {200, 503}),
}


@pytest.fixture
def schema(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def all_operations(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, path_item in schema["paths"].items()
        for method, operation in path_item.items()
    }


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """The object schema behind a reference (or behind the one reference in `X | None`)."""
    if "anyOf" in node:
        [node] = [alternative for alternative in node["anyOf"] if "$ref" in alternative]
    while "$ref" in node:
        name = node["$ref"].removeprefix("#/components/schemas/")
        node = schema["components"]["schemas"][name]
    return node


def test_schema_has_exactly_the_operations_of_the_contract_with_stable_ids(
    schema: dict[str, Any],
) -> None:
    found = {key: operation["operationId"] for key, operation in all_operations(schema).items()}
    assert found == {key: operation_id for key, (operation_id, _) in OPERATIONS.items()}


def test_every_operation_documents_exactly_the_codes_it_can_return(
    schema: dict[str, Any],
) -> None:
    documented = {
        operation["operationId"]: {int(code) for code in operation["responses"]}
        for operation in all_operations(schema).values()
    }
    assert documented == dict(OPERATIONS.values())


def test_every_operation_has_a_summary_and_a_description(schema: dict[str, Any]) -> None:
    for key, operation in all_operations(schema).items():
        assert operation.get("summary", "").strip(), key
        assert operation.get("description", "").strip(), key
        assert operation.get("tags"), key


def test_every_response_except_204_has_a_json_body_model(schema: dict[str, Any]) -> None:
    for key, operation in all_operations(schema).items():
        for code, response in operation["responses"].items():
            assert response["description"], (key, code)
            if code == "204":
                assert "content" not in response, key
                continue
            if key == ("get", "/metrics") and code == "200":  # Prometheus' text format
                assert set(response["content"]) == {"text/plain"}
                continue
            if key == STREAM:
                continue  # text/event-stream: see the test below
            body_schema = response["content"]["application/json"]["schema"]
            assert resolve(schema, body_schema).get("properties"), (key, code)


def test_the_event_stream_documents_its_media_type_event_names_and_data(
    schema: dict[str, Any],
) -> None:
    success = all_operations(schema)[STREAM]["responses"]["200"]
    [media_type] = success["content"]
    assert media_type == "text/event-stream"
    for kind in ("order.created", "order.updated", "order.completed", "order.cancelled"):
        assert kind in success["description"]
    data = success["content"][media_type]["x-event-data"]
    assert resolve(schema, data) == schema["components"]["schemas"]["OrderPublic"]


# The readiness check's 503 says which state it is in, besides why.
OWN_ERROR_BODIES = {(("get", "/health"), "503"), (("get", "/health/ready"), "503")}


def test_every_422_is_the_list_of_validation_problems(schema: dict[str, Any]) -> None:
    for key, operation in all_operations(schema).items():
        if "422" in operation["responses"]:
            body_schema = operation["responses"]["422"]["content"]["application/json"]["schema"]
            assert body_schema == {"$ref": "#/components/schemas/ValidationErrorDetail"}, key


def test_every_other_error_is_the_detail_sentence(schema: dict[str, Any]) -> None:
    for key, operation in all_operations(schema).items():
        for code, response in operation["responses"].items():
            if int(code) >= 400 and code != "422" and (key, code) not in OWN_ERROR_BODIES:
                body_schema = response["content"]["application/json"]["schema"]
                assert body_schema == {"$ref": "#/components/schemas/ErrorDetail"}, (key, code)


def test_error_models_type_their_detail(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    assert components["ErrorDetail"]["properties"]["detail"]["type"] == "string"
    issues = components["ValidationErrorDetail"]["properties"]["detail"]
    assert issues["items"] == {"$ref": "#/components/schemas/ValidationIssue"}
    assert components["ValidationIssue"]["required"] == ["loc", "msg", "type"]


def test_error_responses_declare_the_headers_sent_with_them(schema: dict[str, Any]) -> None:
    expected = {"401": "WWW-Authenticate", "429": "Retry-After", "503": "Retry-After"}
    for key, operation in all_operations(schema).items():
        for code, header in expected.items():
            if code in operation["responses"]:
                assert operation["responses"][code]["headers"][header]["required"], (key, code)


def test_every_response_declares_its_request_id(schema: dict[str, Any]) -> None:
    for key, operation in all_operations(schema).items():
        for code, response in operation["responses"].items():
            assert response["headers"]["X-Request-ID"]["required"], (key, code)


def test_a_replayed_order_declares_its_header(schema: dict[str, Any]) -> None:
    created = schema["paths"]["/orders"]["post"]["responses"]["201"]
    assert created["headers"]["Idempotent-Replayed"]["schema"] == {
        "type": "string",
        "enum": ["true"],
    }


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        ("OrderPublic", {"status", "total_cents"}),
        ("ProductPublic", {"description", "is_available"}),
        ("TokenPair", {"token_type"}),
    ],
)
def test_response_fields_with_defaults_are_required(
    schema: dict[str, Any], model: str, fields: set[str]
) -> None:
    assert fields <= set(schema["components"]["schemas"][model]["required"])


def test_every_response_field_is_required(schema: dict[str, Any]) -> None:
    """The routes write every field of their models: a client may count on each one."""
    for name, component in schema["components"]["schemas"].items():
        if name.endswith(("Public", "Page")) or name in {"TokenPair", "Message"}:
            assert set(component["required"]) == set(component["properties"]), name


@pytest.mark.parametrize(
    ("model", "fields"),
    [("ProductCreate", {"description", "is_available"}), ("OrderCreate", {"items"})],
)
def test_request_fields_with_defaults_are_optional(
    schema: dict[str, Any], model: str, fields: set[str]
) -> None:
    assert not fields & set(schema["components"]["schemas"][model].get("required", []))


def test_optional_parameters_and_bodies_offer_no_null(schema: dict[str, Any]) -> None:
    checked = 0
    for key, operation in all_operations(schema).items():
        optional = [p["schema"] for p in operation.get("parameters", []) if not p["required"]]
        body = operation.get("requestBody", {"required": True})
        if not body.get("required"):
            optional += [media_type["schema"] for media_type in body["content"].values()]
        for node in optional:
            assert {"type": "null"} not in node.get("anyOf", []), key
            assert node.get("type") != "null", key
            checked += 1
    assert checked >= 10


def test_component_names_are_identifiers_without_underscores(schema: dict[str, Any]) -> None:
    for name in schema["components"]["schemas"]:
        assert re.fullmatch("[A-Z][A-Za-z0-9]*", name), name
    assert {"OrderPage", "ProductPage", "UserPage", "LoginForm"} <= set(
        schema["components"]["schemas"]
    )


def test_body_schemas_use_json_schema_keywords_only(schema: dict[str, Any]) -> None:
    """Pydantic spellings (`ge`, `le`...) leaking into the schema would mean no bounds at all."""

    def keys(node: Any) -> set[str]:
        if isinstance(node, dict):
            return set(node) | {key for value in node.values() for key in keys(value)}
        if isinstance(node, list):
            return {key for value in node for key in keys(value)}
        return set()

    found = keys(schema["components"]["schemas"])
    assert not found & {"ge", "gt", "le", "lt", "min_length", "max_length", "strict"}
    assert {"minimum", "maximum", "minLength", "maxLength", "pattern"} <= found


def test_update_bodies_do_not_offer_null(schema: dict[str, Any]) -> None:
    """A field of a PATCH body may be left out but not sent as null (that is a 422)."""
    for name in ("UserUpdate", "ProductUpdate"):
        for field in schema["components"]["schemas"][name]["properties"].values():
            assert "anyOf" not in field, name
            assert field.get("type") != "null", name
            assert "default" not in field, name


def test_strings_say_they_refuse_nul(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    for name, field in [
        ("UserCreate", "name"),
        ("UserCreate", "password"),
        ("LoginRequest", "password"),
        ("RefreshRequest", "refresh_token"),
        ("ProductCreate", "name"),
        ("ProductCreate", "description"),
    ]:
        pattern = re.compile(components[name]["properties"][field]["pattern"])
        assert pattern.fullmatch("Margherita 42"), (name, field)
        assert not pattern.fullmatch("Marghe\x00rita"), (name, field)


@pytest.mark.parametrize("model", ["UserCreate", "ProductCreate", "ProductUpdate"])
def test_names_say_they_may_not_be_blank(schema: dict[str, Any], model: str) -> None:
    pattern = re.compile(schema["components"]["schemas"][model]["properties"]["name"]["pattern"])
    assert pattern.fullmatch(" Carla ")
    for blank in (" ", "\t\n", "\u3000\u00a0"):
        assert not pattern.fullmatch(blank)


def test_the_token_form_says_username_is_an_email(schema: dict[str, Any]) -> None:
    fields = schema["components"]["schemas"][FORM_BODY]["properties"]
    assert fields["username"]["format"] == "email"
    assert fields["password"]["maxLength"] == 1024


def test_the_token_form_offers_no_null_and_no_empty_password(schema: dict[str, Any]) -> None:
    """A form cannot send null, and FastAPI reads an empty field as a missing one."""
    fields = schema["components"]["schemas"][FORM_BODY]["properties"]
    assert all("anyOf" not in field and field["type"] == "string" for field in fields.values())
    assert fields["grant_type"]["pattern"] == "^password$"
    assert fields["password"]["minLength"] == 1


def test_every_request_body_has_an_example(schema: dict[str, Any]) -> None:
    with_body = set()
    for operation in all_operations(schema).values():
        if "requestBody" in operation:
            with_body.add(operation["operationId"])
            [media_type] = operation["requestBody"]["content"].values()
            assert resolve(schema, media_type["schema"]).get("examples"), operation["operationId"]
    assert with_body == WITH_BODY


def model_named(name: str) -> type[BaseModel]:
    """The model of a schema component: a table family's, or one of the other shapes."""
    model: type[BaseModel] = getattr(tables, name, None) or getattr(schemas, name)
    return model


def test_request_examples_are_accepted_by_their_models(schema: dict[str, Any]) -> None:
    for name, component in schema["components"]["schemas"].items():
        if "examples" not in component or name == FORM_BODY:
            continue
        model = model_named(name)
        for example in component["examples"]:
            model.model_validate(example)


async def test_the_token_form_example_is_a_well_formed_login(
    schema: dict[str, Any], client: httpx.AsyncClient
) -> None:
    form_schema = schema["paths"]["/auth/token"]["post"]["requestBody"]["content"][
        "application/x-www-form-urlencoded"
    ]["schema"]
    assert form_schema == {"$ref": f"#/components/schemas/{FORM_BODY}"}
    [example] = resolve(schema, form_schema)["examples"]
    response = await client.post("/auth/token", data=example)
    # Well formed, so the app looks the user up: unknown here, hence 401 and not 422.
    assert response.status_code == 401


def test_bearer_scheme_is_the_oauth2_password_flow_at_auth_token(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert list(schemes) == ["OAuth2PasswordBearer"]
    scheme = schemes["OAuth2PasswordBearer"]
    assert scheme["type"] == "oauth2"
    assert list(scheme["flows"]) == ["password"]
    assert scheme["flows"]["password"]["tokenUrl"] == "/auth/token"


def test_protected_operations_require_the_bearer_scheme(schema: dict[str, Any]) -> None:
    for key, operation in all_operations(schema).items():
        if operation["operationId"] in PUBLIC:
            assert "security" not in operation, key
        elif operation["operationId"] in TOKEN_OPTIONAL:
            assert operation["security"] == [{}, {"OAuth2PasswordBearer": []}], key
        else:
            assert operation["security"] == [{"OAuth2PasswordBearer": []}], key
            assert "401" in operation["responses"], key


def test_path_ids_are_bounded_to_positive_32_bit_integers(schema: dict[str, Any]) -> None:
    path_ids = 0
    for operation in all_operations(schema).values():
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["schema"]["type"] == "integer"
                assert parameter["schema"]["minimum"] == 1
                assert parameter["schema"]["maximum"] == 2**31 - 1
                path_ids += 1
    assert path_ids >= 1


def test_links_name_existing_operations_parameters_and_body_fields(
    schema: dict[str, Any],
) -> None:
    by_id = {operation["operationId"]: operation for operation in all_operations(schema).values()}
    links = 0
    for operation in by_id.values():
        for response in operation["responses"].values():
            for name, link in response.get("links", {}).items():
                links += 1
                target = by_id[link["operationId"]]
                assert link["description"], name
                target_parameters = {p["name"] for p in target.get("parameters", [])}
                assert set(link.get("parameters", {})) <= target_parameters, name
                if "requestBody" in link:
                    [media_type] = target["requestBody"]["content"].values()
                    fields = resolve(schema, media_type["schema"])["properties"]
                    assert set(link["requestBody"]) <= set(fields), name
    assert links >= 8


def test_sign_up_links_to_login_and_login_to_refresh(schema: dict[str, Any]) -> None:
    by_id = {operation["operationId"]: operation for operation in all_operations(schema).values()}
    signup_links = by_id["signup"]["responses"]["201"]["links"]
    assert signup_links["LogIn"]["operationId"] == "login"
    login_links = by_id["login_form"]["responses"]["200"]["links"]
    assert login_links["Refresh"]["requestBody"] == {
        "refresh_token": "$response.body#/refresh_token"
    }


async def test_served_schema_is_the_completed_one(
    schema: dict[str, Any], client: httpx.AsyncClient
) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == schema


@pytest.mark.parametrize(
    ("generated", "readable"),
    [
        ("Page_OrderPublic_", "OrderPage"),
        ("Body_login_form", "LoginForm"),
        ("Body_reset_password", "ResetPasswordBody"),
        ("UserPublic-Output", "UserPublic"),
        ("UserPublic-Input", "UserPublicInput"),
        ("OrderPublic", "OrderPublic"),
    ],
)
def test_generated_component_names_are_made_readable(generated: str, readable: str) -> None:
    assert readable_name(generated) == readable


# ---------------------------------------------------------------- the accounts' routes (§9)

ACCOUNT_OPERATIONS = (
    "update_me",
    "change_password",
    "delete_me",
    "read_user",
    "update_user",
    "delete_user",
    "request_password_reset",
    "confirm_password_reset",
)
DEFAULT_DESCRIPTION = "Successful Response"


def success_of(operation: dict[str, Any]) -> dict[str, Any]:
    [success] = [r for code, r in operation["responses"].items() if code.startswith("2")]
    return success


def operations_by_id(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {operation["operationId"]: operation for operation in all_operations(schema).values()}


def link_targets(operation: dict[str, Any]) -> set[str]:
    return {link["operationId"] for link in success_of(operation).get("links", {}).values()}


@pytest.mark.parametrize("operation_id", ACCOUNT_OPERATIONS)
def test_each_account_operation_says_what_its_success_means(
    schema: dict[str, Any], operation_id: str
) -> None:
    success = success_of(operations_by_id(schema)[operation_id])
    assert success["description"] != DEFAULT_DESCRIPTION


@pytest.mark.parametrize("operation_id", ACCOUNT_OPERATIONS)
def test_each_account_operation_with_a_body_shows_one_its_model_accepts(
    schema: dict[str, Any], operation_id: str
) -> None:
    success = success_of(operations_by_id(schema)[operation_id])
    if "content" not in success:  # 204: no body
        return
    media_type = success["content"]["application/json"]
    model_name = media_type["schema"]["$ref"].rsplit("/", 1)[-1]
    model = model_named(model_name)
    model.model_validate(media_type["example"])
    assert set(media_type["example"]) == set(model.model_fields)  # every field shown


def test_a_password_change_links_its_token_pair_as_a_login_does(schema: dict[str, Any]) -> None:
    by_id = operations_by_id(schema)
    assert success_of(by_id["change_password"])["links"] == success_of(by_id["login"])["links"]


def test_a_login_links_to_the_callers_own_account(schema: dict[str, Any]) -> None:
    own_account = {"read_me", "update_me", "change_password", "delete_me"}
    by_id = operations_by_id(schema)
    for login in ("login", "login_form"):
        assert own_account <= link_targets(by_id[login]), login


@pytest.mark.parametrize("operation_id", ["signup", "list_users", "read_user", "update_user"])
def test_a_response_with_a_user_links_to_an_admins_routes_for_that_user(
    schema: dict[str, Any], operation_id: str
) -> None:
    targets = link_targets(operations_by_id(schema)[operation_id])
    assert {"read_user", "update_user", "delete_user"} <= targets
