"""The parameters read by plan (`app.fast_params`) give what FastAPI's own function gives,
values and errors alike, for every parameter of every route of the app, present, absent or
invalid; and the hot routes' parameters are all planned (none falls back unnoticed)."""

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, _IncludedRouter
from starlette.datastructures import Headers, QueryParams

from app import fast_params

SAMPLES = ["", "1", "0", "-1", "20", "101", "10001", "2147483648", "abc", "true", "pending"]
SAMPLES += ["x" * 600, "Z" * 32]
HOT_ROUTES = {("GET", "/products"), ("GET", "/orders"), ("GET", "/orders/{order_id}")}
HOT_ROUTES |= {("POST", "/orders/{order_id}/items")}


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, _IncludedRouter):
            yield from _routes(route.original_router.routes)
        elif isinstance(route, APIRoute):
            yield route


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub_dependant in dependant.dependencies:
        yield from _dependants(sub_dependant)


def parameter_lists(app: FastAPI) -> Iterator[tuple[str, list[Any], Callable[..., Any]]]:
    """Each non-empty list of parameters of the app, with the route's name and a maker of
    what FastAPI reads that kind of parameter from."""
    for route in _routes(app.router.routes):
        for dependant in _dependants(route.dependant):
            for fields, make in (
                (dependant.path_params, dict),
                (dependant.query_params, QueryParams),
                (dependant.header_params, lambda values: Headers(headers=values)),
                (dependant.cookie_params, dict),
            ):
                if fields:
                    yield route.name, list(fields), make


def received_variants(fields: list[Any], make: Callable[..., Any]) -> Iterator[Any]:
    yield make({})
    keys = {key for field in fields for key in (field.alias, field.alias.replace("_", "-"))}
    for sample in SAMPLES:
        yield make(dict.fromkeys(keys, sample))


def comparable(value: Any) -> Any:
    """`value` with exceptions (in errors' `ctx`) as their type and message."""
    if isinstance(value, dict):
        return {key: comparable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [comparable(item) for item in value]
    if isinstance(value, Exception):
        return (type(value).__name__, str(value))
    return value


def test_every_parameter_of_every_route_reads_as_fastapi_reads_it(app: FastAPI) -> None:
    compared = 0
    for _route, fields, make in parameter_lists(app):
        for received in received_variants(fields, make):
            planned = fast_params.request_params_to_args(fields, received)
            own = fast_params.FASTAPI_READER(fields, received)
            assert comparable(planned) == comparable(own), (fields, received)
            compared += 1
    assert compared > 100


def test_the_hot_routes_parameters_all_have_a_plan(app: FastAPI) -> None:
    hot = [
        field
        for route in _routes(app.router.routes)
        if any((method, route.path) in HOT_ROUTES for method in route.methods)
        for dependant in _dependants(route.dependant)
        for field in (*dependant.path_params, *dependant.query_params)
    ]

    assert {field.name for field in hot} >= {"limit", "offset", "cursor", "order_id"}
    assert [field.name for field in hot if fast_params._plan(field) is None] == []
