"""§11 metrics: /metrics in Prometheus' text format, with the series the spec names."""

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from app.config import Settings
from app.main import create_app
from tests.conftest import Account, CreateProduct


async def samples(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_are_prometheus_text(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")

    assert response.headers["Content-Type"].startswith("text/plain")
    assert "# TYPE http_requests_total counter" in response.text
    assert "# TYPE http_request_duration_seconds histogram" in response.text
    assert "# TYPE event_streams_open gauge" in response.text


async def test_requests_are_counted_by_route_template_and_status(
    client: httpx.AsyncClient,
) -> None:
    labels = {"method": "GET", "route": "/products/{product_id}", "status": "404"}
    before = value(await samples(client), "http_requests_total", **labels)

    await client.get("/products/987654")

    after = await samples(client)
    assert value(after, "http_requests_total", **labels) == before + 1
    assert not any("987654" in str(key) for key in after)


async def test_request_durations_are_a_histogram_by_route(client: httpx.AsyncClient) -> None:
    await client.get("/health/live")

    found = await samples(client)
    count = value(found, "http_request_duration_seconds_count", method="GET", route="/health/live")
    assert count >= 1


async def test_unmatched_paths_share_one_route_label(client: httpx.AsyncClient) -> None:
    labels = {"method": "GET", "route": "(unmatched)", "status": "404"}
    before = value(await samples(client), "http_requests_total", **labels)

    await client.get("/random/a")
    await client.get("/random/b")

    assert value(await samples(client), "http_requests_total", **labels) == before + 2


async def test_logins_are_counted_by_outcome(client: httpx.AsyncClient, customer: Account) -> None:
    before = await samples(client)

    await client.post("/auth/login", json={"email": customer.email, "password": "wrong pass"})
    await client.post("/auth/login", json={"email": customer.email, "password": customer.password})

    after = await samples(client)
    for outcome in ("failure", "success"):
        assert value(after, "logins_total", outcome=outcome) == (
            value(before, "logins_total", outcome=outcome) + 1
        )


async def test_orders_are_counted_when_created_completed_and_cancelled(
    client: httpx.AsyncClient, customer: Account, create_product: CreateProduct
) -> None:
    product = await create_product()
    before = await samples(client)

    first = await client.post(
        "/orders",
        json={"items": [{"product_id": product.id, "quantity": 1}]},
        headers=customer.headers,
    )
    second = await client.post("/orders", headers=customer.headers)
    await client.post(f"/orders/{first.json()['id']}/complete", headers=customer.headers)
    await client.post(f"/orders/{second.json()['id']}/cancel", headers=customer.headers)

    after = await samples(client)
    for event, added in (("created", 2), ("completed", 1), ("cancelled", 1)):
        assert value(after, "orders_total", event=event) == (
            value(before, "orders_total", event=event) + added
        )


async def test_no_event_stream_is_open(client: httpx.AsyncClient) -> None:
    assert value(await samples(client), "event_streams_open") == 0


async def test_metrics_disabled_is_404(settings: Settings) -> None:
    application: FastAPI = create_app(settings.model_copy(update={"metrics_enabled": False}))
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/metrics")
    await application.state.db.dispose()

    assert response.status_code == 404


async def test_a_made_up_method_is_counted_as_other(client: httpx.AsyncClient) -> None:
    await client.request("BREW", "/products")

    found = await samples(client)
    assert not any(("method", "BREW") in labels for _, labels in found)
    assert any(("method", "OTHER") in labels for _, labels in found)
