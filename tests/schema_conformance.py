"""Every response the suite receives is checked against the OpenAPI schema.

The `client` fixture is a `SchemaCheckedClient`: each answer of an operation the schema
declares must have a documented status code, the headers the schema says are sent with it
(each matching its schema), and a body of the declared media type that validates against
the declared JSON Schema. So a route whose schema and answers disagree fails every test
that calls it, whatever the test itself asserts; generated clients rely on the schema.

Requests the schema does not declare (HEAD, unknown paths, the docs pages) and streamed
responses (read by the test as they come) are not checked.
"""

import json
import re
from functools import cache
from typing import Any

import httpx
import jsonschema_rs
from fastapi import FastAPI
from starlette.routing import BaseRoute

DIALECT = "https://json-schema.org/draft/2020-12/schema"


class SchemaMismatchError(AssertionError):
    """A response that its operation's schema does not describe."""


class ResponseChecker:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.paths: dict[str, dict[str, Any]] = schema["paths"]
        self.templates = [(_template_regex(path), path) for path in self.paths]
        self.validators: dict[str, jsonschema_rs.Validator] = {}

    def check(self, request: httpx.Request, response: httpx.Response) -> None:
        operation = self._operation(request.method.lower(), request.url.path)
        if operation is None:
            return
        where = f"{request.method} {request.url.path} answered {response.status_code}"
        declared = operation["responses"].get(str(response.status_code))
        if declared is None:
            raise SchemaMismatchError(f"{where}, a status its schema does not document")
        self._check_headers(where, declared.get("headers", {}), response.headers)
        self._check_body(where, declared.get("content"), response)

    def _operation(self, method: str, path: str) -> dict[str, Any] | None:
        """As OpenAPI matches paths: a concrete path before the templates it also fits."""
        if path in self.paths:
            return self.paths[path].get(method)
        for regex, template in self.templates:
            if regex.fullmatch(path) and method in self.paths[template]:
                operation: dict[str, Any] = self.paths[template][method]
                return operation
        return None

    def _check_headers(self, where: str, declared: dict[str, Any], headers: httpx.Headers) -> None:
        for name, header in declared.items():
            if name not in headers:
                if header.get("required"):
                    raise SchemaMismatchError(f"{where} without its required header {name}")
                continue
            self._validate(f"{where}: header {name}", header["schema"], headers[name])

    def _check_body(
        self, where: str, content: dict[str, Any] | None, response: httpx.Response
    ) -> None:
        if content is None:
            if response.content:
                raise SchemaMismatchError(f"{where} with a body its schema does not declare")
            return
        media_type = response.headers.get("content-type", "").partition(";")[0].strip()
        if media_type not in content:
            raise SchemaMismatchError(f"{where} with {media_type!r}, not one of {sorted(content)}")
        body_schema = content[media_type].get("schema")
        if media_type == "application/json" and body_schema is not None:
            self._validate(f"{where}: body", body_schema, json.loads(response.content))

    def _validate(self, where: str, node: dict[str, Any], instance: Any) -> None:
        key = json.dumps(node, sort_keys=True)
        validator = self.validators.get(key)
        if validator is None:
            document = {"$schema": DIALECT, "components": self.schema["components"], **node}
            validator = self.validators[key] = jsonschema_rs.validator_for(document)
        problems = [
            f"{'/'.join(map(str, error.instance_path)) or '(root)'}: {error.message}"
            for error in validator.iter_errors(instance)
        ]
        if problems:
            raise SchemaMismatchError(f"{where} does not match its schema: {'; '.join(problems)}")


@cache
def _template_regex(template: str) -> re.Pattern[str]:
    literal_parts = re.split(r"\{[^/{}]+\}", template)
    return re.compile("[^/]+".join(re.escape(part) for part in literal_parts))


_checkers: dict[tuple[tuple[str, tuple[str, ...]], ...], ResponseChecker] = {}


def checker_for(app: FastAPI) -> ResponseChecker:
    """One checker per set of routes: apps of the same routes share a schema, which is
    built once for the whole suite rather than once per test."""
    key = tuple(sorted(_route_key(route) for route in app.routes))
    if key not in _checkers:
        _checkers[key] = ResponseChecker(app.openapi())
    return _checkers[key]


def _route_key(route: BaseRoute) -> tuple[str, tuple[str, ...]]:
    return getattr(route, "path", ""), tuple(sorted(getattr(route, "methods", None) or ()))


class SchemaCheckedClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` of the app at `http://test` that checks every whole response
    against the app's schema. `peer` is the client address the app sees."""

    def __init__(
        self, app: FastAPI, *, peer: tuple[str, int] = ("127.0.0.1", 123), **kwargs: Any
    ) -> None:
        transport = httpx.ASGITransport(app=app, client=peer)
        super().__init__(transport=transport, base_url="http://test", **kwargs)
        self.app = app

    async def send(
        self, request: httpx.Request, *, stream: bool = False, **kwargs: Any
    ) -> httpx.Response:
        response = await super().send(request, stream=stream, **kwargs)
        if not stream:
            checker_for(self.app).check(request, response)
        return response
