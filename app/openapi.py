"""The OpenAPI schema, completed with what route decorators cannot say on their own.

- Every operation documents the 503 it returns when the database is down, and every
  operation with a body the 400 it returns for a body that cannot be decoded (bytes that
  are not UTF-8 JSON, a broken form).
- The bearer scheme is declared here, and each route says where it is declared which
  token it needs (`openapi_extra=BEARER_TOKEN_REQUIRED` or `BEARER_TOKEN_OPTIONAL`): the
  dependencies that read the token call the scheme rather than declare it as a
  sub-dependency (see `app.security`), so FastAPI cannot infer the requirement. Routes
  that anyone may call but that look at a token when one is sent (the menu) list "no
  token" as an alternative.
- Error bodies are typed: every 422 is `ValidationErrorDetail` (`detail` lists each problem
  as `{loc, msg, type}`), every other error `ErrorDetail` (`detail` is a sentence).
- Responses declare the headers the app sends with them: `X-Request-ID` on every one,
  `WWW-Authenticate` on 401, `Retry-After` on 429 and 503.
- A field of a response model that has a default is still always sent (the routes write
  every field), so it is required in every schema that only responses use: generated
  clients then type it as present. In request-only schemas a default is said in words,
  and the field is optional in every generated client (see `_settle_defaults`).
- An optional parameter or body is left out when it has no value: a query string or a
  header cannot carry null, and FastAPI reads a `null` body as no body. Their schemas offer
  no `null`, so generated clients do not send one.
- Component names read well in generated code: `OrderPage`, not `Page_OrderPublic_`;
  `LoginForm`, not `Body_login_form`.
- OpenAPI links say how the output of one operation feeds the next (sign up -> log in ->
  refresh, or your own account's routes; open an order -> add items -> complete it; a user
  -> an admin's routes for that user), for client generators and for schemathesis'
  stateful tests.
- The OAuth2 password form (`/auth/token`) says what its fields must be (they are checked
  as the JSON login's are: `username` is an email) and gets a request example like every
  JSON body.

The schema is built once per app and cached, as FastAPI does. It is also what a 405 answer
goes by: its `Allow` header lists every method the schema declares for the path (the
router alone would name only the methods of the one route it tried).
"""

import json
import re
from functools import cache
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from app.openapi_components import REF_PREFIX, reachable, rename_components
from app.openapi_links import add_links
from app.request_context import VALID_REQUEST_ID
from app.routers.common import ERROR_DESCRIPTIONS
from app.schemas import ErrorDetail, LoginRequest, ValidationErrorDetail
from app.security import oauth2_scheme

ERROR_DETAIL_REF = REF_PREFIX + ErrorDetail.__name__
VALIDATION_ERROR_REF = REF_PREFIX + ValidationErrorDetail.__name__
ERROR_MODELS = (ErrorDetail, ValidationErrorDetail)
NULL = {"type": "null"}

BEARER_SCHEME = oauth2_scheme.scheme_name
BEARER_TOKEN_REQUIRED: dict[str, Any] = {"security": [{BEARER_SCHEME: []}]}
"""A route's `openapi_extra` when it needs a valid access token."""
BEARER_TOKEN_OPTIONAL: dict[str, Any] = {"security": [{}, {BEARER_SCHEME: []}]}
"""A route's `openapi_extra` when it serves anyone but checks a token that is sent."""

RESPONSE_HEADERS: dict[str, dict[str, dict[str, Any]]] = {
    "401": {
        "WWW-Authenticate": {
            "description": "The scheme to authenticate with: `Bearer`",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    "429": {
        "Retry-After": {
            "description": "Seconds to wait before trying again",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
    "503": {
        "Retry-After": {
            "description": "Seconds to wait before retrying",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}

REQUEST_ID_HEADER: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": (
            "The request's id, on the server's log lines for it: the client's own "
            "`X-Request-ID` when it sent a well-formed one"
        ),
        "required": True,
        "schema": {"type": "string", "pattern": f"^{VALID_REQUEST_ID.pattern}$"},
    }
}


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` (and so `/openapi.json`) return the completed schema."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            complete_schema(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_exception_handler(status.HTTP_405_METHOD_NOT_ALLOWED, _method_not_allowed)


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    root_path = request.scope.get("root_path", "")
    path = request.url.path.removeprefix(root_path) or "/"
    methods = allowed_methods(request.app.openapi(), path)
    if methods:
        exc.headers = {**(exc.headers or {}), "Allow": ", ".join(methods)}
    return await http_exception_handler(request, exc)


def allowed_methods(schema: dict[str, Any], path: str) -> list[str]:
    """The methods the schema declares for a request path, as OpenAPI matches paths: a
    concrete path (`/users/me`) before the templates it also fits (`/users/{user_id}`)."""
    paths: dict[str, dict[str, Any]] = schema["paths"]
    matching = [path] if path in paths else [t for t in paths if _template_regex(t).fullmatch(path)]
    methods = {method.upper() for template in matching for method in paths[template]}
    if "GET" in methods:
        methods.add("HEAD")  # see `HeadAsGetMiddleware`
    return sorted(methods)


@cache
def _template_regex(template: str) -> re.Pattern[str]:
    literal_parts = re.split(r"\{[^/{}]+\}", template)
    return re.compile("[^/]+".join(re.escape(part) for part in literal_parts))


def operations(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The schema's operations by operation id."""
    return {
        operation["operationId"]: operation
        for path_item in schema["paths"].values()
        for operation in path_item.values()
    }


def complete_schema(schema: dict[str, Any]) -> None:
    rename_components(schema)
    by_id = operations(schema)
    for operation in by_id.values():
        # Every route reads the database (a bearer token is checked against it too).
        _add_error_response(operation, 503)
        if "requestBody" in operation:
            _add_error_response(operation, 400)
        _type_error_bodies(operation)
        _drop_null_from_optional_inputs(operation)
        _add_response_headers(operation)
    _declare_error_models(schema)
    _drop_unreferenced_components(schema)
    _settle_defaults(schema)
    _declare_bearer_scheme(schema)
    _describe_token_form(schema, by_id["login_form"])
    add_links(by_id)


# ---------------------------------------------------------------- error bodies


def _type_error_bodies(operation: dict[str, Any]) -> None:
    """A 422 always lists its problems, whatever a route declared (FastAPI's own default
    body included); the other errors carry a sentence."""
    for code, response in operation["responses"].items():
        if code == "422":
            response["content"] = {"application/json": {"schema": {"$ref": VALIDATION_ERROR_REF}}}


def _declare_error_models(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in ERROR_MODELS:
        model_schema = model.model_json_schema(ref_template=REF_PREFIX + "{model}")
        for name, definition in model_schema.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components.setdefault(model.__name__, model_schema)


def _drop_unreferenced_components(schema: dict[str, Any]) -> None:
    """FastAPI's own validation error models, unused once every 422 is typed."""
    used = reachable(schema, schema["paths"])
    components = schema["components"]["schemas"]
    schema["components"]["schemas"] = {
        name: component for name, component in sorted(components.items()) if name in used
    }


# ---------------------------------------------------------------- required and optional


def _drop_null_from_optional_inputs(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        if not parameter.get("required"):
            _without_null(parameter["schema"])
    body = operation.get("requestBody")
    if body is not None and not body.get("required"):
        for media_type in body["content"].values():
            _without_null(media_type["schema"])
            if "$ref" in media_type["schema"]:
                media_type["schema"].pop("title", None)  # FastAPI's name for the argument


def _without_null(node: dict[str, Any]) -> None:
    alternatives = [alternative for alternative in node.get("anyOf", []) if alternative != NULL]
    if "anyOf" in node and len(alternatives) < len(node["anyOf"]):
        del node["anyOf"]
        if len(alternatives) == 1:
            node.update(alternatives[0])
        else:
            node["anyOf"] = alternatives
    if "default" in node and node["default"] is None:
        del node["default"]


def _settle_defaults(schema: dict[str, Any]) -> None:
    """What a field's default means depends on which way the model travels.

    Response models are written whole (by FastAPI, or by `json_response` in the same
    shape): a field with a default is sent like any other, so it is required. In a request
    a field with a default may be left out; the default is said in words rather than as
    `default`, which TypeScript generators read as "always present" and so make the field
    required to send. A component both sides use keeps its schema as it is.
    """
    in_requests: set[str] = set()
    in_responses: set[str] = set()
    for operation in operations(schema).values():
        in_requests |= reachable(schema, operation.get("requestBody", {}))
        in_requests |= reachable(schema, operation.get("parameters", []))
        in_responses |= reachable(schema, operation["responses"])
    components = schema["components"]["schemas"]
    for name in in_responses - in_requests:
        _require_defaulted_fields(components[name])
    for name in in_requests - in_responses:
        for field in components[name].get("properties", {}).values():
            _default_in_words(field)


def _require_defaulted_fields(component: dict[str, Any]) -> None:
    properties: dict[str, Any] = component.get("properties", {})
    required = set(component.get("required", []))
    defaulted = {name for name, field in properties.items() if "default" in field}
    if defaulted:
        component["required"] = [name for name in properties if name in required | defaulted]


def _default_in_words(field: dict[str, Any]) -> None:
    if "default" in field:
        default = json.dumps(field.pop("default"), ensure_ascii=False)
        sentence = f"Left out, it is `{default}`."
        field["description"] = (
            f"{field['description']} {sentence}" if "description" in field else sentence
        )


def _declare_bearer_scheme(schema: dict[str, Any]) -> None:
    """The scheme that the routes' security requirements name."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})[BEARER_SCHEME] = jsonable_encoder(
        oauth2_scheme.model, by_alias=True, exclude_none=True
    )


def _add_error_response(operation: dict[str, Any], status_code: int) -> None:
    operation["responses"].setdefault(
        str(status_code),
        {
            "description": ERROR_DESCRIPTIONS[status_code],
            "content": {"application/json": {"schema": {"$ref": ERROR_DETAIL_REF}}},
        },
    )


def _add_response_headers(operation: dict[str, Any]) -> None:
    for status_code, response in operation["responses"].items():
        headers = response.setdefault("headers", {})
        headers.update(REQUEST_ID_HEADER)
        headers.update(RESPONSE_HEADERS.get(status_code, {}))


def _describe_token_form(schema: dict[str, Any], operation: dict[str, Any]) -> None:
    """The OAuth2 form's fields as the app reads them.

    A form has no null, and FastAPI reads an empty field as a missing one: optional fields
    are plain strings (sent or left out), required ones need at least one character.
    `username` and `password` are then checked like the JSON login's fields.
    """
    form_ref = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    form = schema["components"]["schemas"][form_ref["$ref"].rsplit("/", 1)[-1]]
    fields = form["properties"]
    for field in fields.values():
        if "anyOf" in field:
            [alternative] = [a for a in field.pop("anyOf") if a != {"type": "null"}]
            field |= alternative
    # The app ignores client credentials; a `format` would promise a check that never runs.
    fields["client_secret"].pop("format")
    login = LoginRequest.model_json_schema()
    fields["username"] |= login["properties"]["email"] | {
        "title": "Username",
        "description": "Your email address",
    }
    fields["password"] |= login["properties"]["password"] | {"minLength": 1}
    form["examples"] = [
        {"username": example["email"], "password": example["password"]}
        for example in login["examples"]
    ]
