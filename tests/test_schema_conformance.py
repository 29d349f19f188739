"""The check every test's client runs: a response its schema does not describe fails."""

import httpx
import pytest
from fastapi import FastAPI

from tests.schema_conformance import SchemaMismatchError, checker_for

READ_ORDER = httpx.Request("GET", "http://test/orders/1")
REQUEST_ID = {"X-Request-ID": "0123abcd"}
ORDER = {
    "status": "pending",
    "total_cents": 0,
    "id": 1,
    "user_id": 1,
    "created_at": "2026-12-02T15:00:00Z",
    "updated_at": "2026-12-02T15:00:00Z",
    "items": [],
}


def test_a_response_as_the_schema_says_passes(app: FastAPI) -> None:
    checker_for(app).check(READ_ORDER, httpx.Response(200, json=ORDER, headers=REQUEST_ID))


def test_a_body_missing_a_field_the_schema_requires_fails(app: FastAPI) -> None:
    body = {name: value for name, value in ORDER.items() if name != "total_cents"}

    with pytest.raises(SchemaMismatchError, match="total_cents"):
        checker_for(app).check(READ_ORDER, httpx.Response(200, json=body, headers=REQUEST_ID))


def test_a_status_the_operation_does_not_document_fails(app: FastAPI) -> None:
    response = httpx.Response(403, json={"detail": "no"}, headers=REQUEST_ID)

    with pytest.raises(SchemaMismatchError, match="does not document"):
        checker_for(app).check(READ_ORDER, response)


def test_a_response_without_a_required_header_fails(app: FastAPI) -> None:
    with pytest.raises(SchemaMismatchError, match="X-Request-ID"):
        checker_for(app).check(READ_ORDER, httpx.Response(200, json=ORDER))


def test_an_error_detail_of_the_wrong_shape_fails(app: FastAPI) -> None:
    response = httpx.Response(422, json={"detail": "a sentence"}, headers=REQUEST_ID)

    with pytest.raises(SchemaMismatchError, match="detail"):
        checker_for(app).check(READ_ORDER, response)
