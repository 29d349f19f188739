"""The purge of what expires (§12): `python -m app purge`, and the server's own."""

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlmodel import SQLModel

from app.auth_tables import AuthRateCounter, LoginFailure, RefreshToken
from app.config import Settings
from app.main import create_app
from app.services.orders.idempotency import KEY_LIFETIME
from app.services.purge import BATCH_SIZE, purge_everything
from app.tables import IdempotencyKey, Order
from app.timestamps import utcnow
from tests.conftest import Account
from tests.test_cli import cli_env, run_cli  # noqa: F401 - the fixture, used by name
from tests.test_health import closed_port


async def add_rows(app: FastAPI, rows: list[SQLModel]) -> None:
    async with app.state.db.write_sessions() as session:
        session.add_all(rows)
        await session.commit()


async def count(app: FastAPI, model: type[SQLModel]) -> int:
    async with app.state.db.read_sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def expired_refresh_tokens(app: FastAPI) -> int:
    async with app.state.db.read_sessions() as session:
        expired = select(func.count()).where(RefreshToken.expires_at <= utcnow())  # type: ignore[arg-type]
        return int(await session.scalar(expired) or 0)


def refresh_token(user: Account, jti: str, expires_at: datetime) -> RefreshToken:
    return RefreshToken(jti=jti, family_id="family", user_id=user.id, expires_at=expires_at)


async def add_idempotency_key(app: FastAPI, user: Account, key: str, created_at: datetime) -> None:
    async with app.state.db.write_sessions() as session:
        now = utcnow()
        order = Order(user_id=user.id, created_at=now, updated_at=now)
        session.add(order)
        await session.flush()
        assert order.id is not None
        session.add(
            IdempotencyKey(
                user_id=user.id,
                key=key,
                request_fingerprint="0" * 64,
                order_id=order.id,
                response_status=201,
                response_body="{}",
                created_at=created_at,
            )
        )
        await session.commit()


@pytest.mark.usefixtures("cli_env")
async def test_purge_deletes_expired_refresh_tokens_and_keeps_live_ones(
    app: FastAPI, customer: Account
) -> None:
    now = utcnow()
    await add_rows(
        app,
        [
            refresh_token(customer, "expired", now - timedelta(seconds=1)),
            refresh_token(customer, "live", now + timedelta(days=1)),
        ],
    )
    live_before = await count(app, RefreshToken) - 1

    assert await run_cli("purge") == 0

    async with app.state.db.read_sessions() as session:
        jtis = set(await session.scalars(select(RefreshToken.jti)))  # type: ignore[call-overload]
    assert "expired" not in jtis
    assert "live" in jtis
    assert len(jtis) == live_before


@pytest.mark.usefixtures("cli_env")
async def test_purge_deletes_failed_logins_that_left_the_window(
    app: FastAPI, settings: Settings
) -> None:
    window = timedelta(minutes=settings.login_failure_window_minutes)
    now = utcnow()
    await add_rows(
        app,
        [
            LoginFailure(email="old@example.com", created_at=now - window - timedelta(seconds=1)),
            LoginFailure(email="recent@example.com", created_at=now - window / 2),
        ],
    )

    assert await run_cli("purge") == 0

    async with app.state.db.read_sessions() as session:
        emails = set(await session.scalars(select(LoginFailure.email)))  # type: ignore[call-overload]
    assert emails == {"recent@example.com"}


@pytest.mark.usefixtures("cli_env")
async def test_purge_deletes_expired_idempotency_keys(app: FastAPI, customer: Account) -> None:
    now = utcnow()
    await add_idempotency_key(app, customer, "old", now - KEY_LIFETIME - timedelta(seconds=1))
    await add_idempotency_key(app, customer, "fresh", now - KEY_LIFETIME / 2)

    assert await run_cli("purge") == 0

    async with app.state.db.read_sessions() as session:
        keys = set(await session.scalars(select(IdempotencyKey.key)))  # type: ignore[call-overload]
    assert keys == {"fresh"}


def rate_counter(address: str, window_end: int) -> AuthRateCounter:
    return AuthRateCounter(
        route="/auth/login",
        client_address=address,
        window_start=window_end - 60,
        requests=1,
        expires_at=window_end,
    )


@pytest.mark.usefixtures("cli_env")
async def test_purge_deletes_rate_counters_of_ended_windows_and_keeps_live_ones(
    app: FastAPI,
) -> None:
    now = int(time.time())
    await add_rows(
        app,
        [
            rate_counter("198.51.100.1", window_end=now - 60),
            rate_counter("198.51.100.2", window_end=now - 1),
            rate_counter("198.51.100.3", window_end=now + 60),
        ],
    )

    assert await run_cli("purge") == 0

    async with app.state.db.read_sessions() as session:
        addresses = set(await session.scalars(select(AuthRateCounter.client_address)))  # type: ignore[call-overload]
    assert addresses == {"198.51.100.3"}


@pytest.mark.usefixtures("cli_env")
async def test_purge_says_what_it_deleted(
    app: FastAPI, customer: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    await add_rows(app, [refresh_token(customer, "expired", utcnow() - timedelta(days=1))])

    assert await run_cli("purge") == 0

    assert "1 expired refresh tokens" in capsys.readouterr().out


@pytest.mark.usefixtures("cli_env")
async def test_purge_works_through_a_backlog_of_many_batches(
    app: FastAPI, customer: Account
) -> None:
    expired = utcnow() - timedelta(days=1)
    await add_rows(
        app,
        [refresh_token(customer, f"expired-{n}", expired) for n in range(2 * BATCH_SIZE + 7)],
    )

    assert await run_cli("purge") == 0

    assert await expired_refresh_tokens(app) == 0


@pytest.mark.usefixtures("cli_env")
async def test_purge_with_an_unreachable_database_exits_1_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/x")

    assert await run_cli("purge") == 1

    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1


async def test_purges_running_at_once_delete_each_row_once(
    app: FastAPI, settings: Settings, customer: Account
) -> None:
    expired = utcnow() - timedelta(days=1)
    await add_rows(
        app, [refresh_token(customer, f"expired-{n}", expired) for n in range(3 * BATCH_SIZE)]
    )
    sessions = app.state.db.write_sessions

    passes: list[Any] = await asyncio.gather(
        *(purge_everything(sessions, settings) for _ in range(3))
    )

    assert sum(purged["expired refresh tokens"] for purged in passes) == 3 * BATCH_SIZE
    assert await expired_refresh_tokens(app) == 0


async def test_the_server_purges_at_its_interval(settings: Settings, customer: Account) -> None:
    server = create_app(settings.model_copy(update={"purge_interval_seconds": 0.05}))
    await add_rows(server, [refresh_token(customer, "expired", utcnow() - timedelta(days=1))])

    async with server.router.lifespan_context(server):
        for _ in range(100):
            if await expired_refresh_tokens(server) == 0:
                break
            await asyncio.sleep(0.05)
    remaining = await expired_refresh_tokens(server)
    await server.state.db.dispose()

    assert remaining == 0
