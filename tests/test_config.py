"""Settings (§8): one typed object from the environment and `.env`, refused when unsafe."""

import logging
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from app.config import DEFAULT_DATABASE_URL, ConfigError, Settings, load_settings
from app.main import create_app
from app.tables import User
from tests.conftest import TEST_SECRET_KEY, CreateUser
from tests.schema_conformance import SchemaCheckedClient

SETTING_NAMES = [
    "DATABASE_URL",
    "SECRET_KEY",
    "ACCESS_TOKEN_EXPIRE_MINUTES",
    "REFRESH_TOKEN_EXPIRE_DAYS",
    "BCRYPT_ROUNDS",
    "LOGIN_MAX_FAILURES",
    "LOGIN_FAILURE_WINDOW_MINUTES",
    "CORS_ORIGINS",
    "LOG_LEVEL",
    "DB_POOL_SIZE",
    "DB_MAX_OVERFLOW",
    "FAST_PATHS",
]


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No setting in the environment and no `.env` in the working directory: a blank slate."""
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def config_error(**overrides: object) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(**overrides)
    return str(caught.value)


# ---------------------------------------------------------------- SECRET_KEY


def test_a_missing_secret_key_is_a_one_line_config_error(environment: pytest.MonkeyPatch) -> None:
    message = config_error()

    assert "\n" not in message
    assert message.startswith("Invalid settings: SECRET_KEY: Field required")
    assert "secrets.token_urlsafe" in message


def test_a_secret_key_under_32_characters_is_a_one_line_config_error(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("SECRET_KEY", "k" * 31)

    message = config_error()

    assert "\n" not in message
    assert "SECRET_KEY: String should have at least 32 characters" in message


def test_a_secret_key_of_32_characters_is_accepted(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("SECRET_KEY", "k" * 32)

    assert load_settings().secret_key == "k" * 32


def test_a_blank_secret_key_is_refused(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("SECRET_KEY", " " * 40)

    assert "SECRET_KEY" in config_error()


def test_the_secret_key_never_appears_in_the_settings_repr(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("SECRET_KEY", TEST_SECRET_KEY)

    assert TEST_SECRET_KEY not in repr(load_settings())


def test_the_config_error_names_every_invalid_setting_on_one_line(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("BCRYPT_ROUNDS", "3")
    environment.setenv("LOG_LEVEL", "chatty")

    message = config_error()

    assert "\n" not in message
    for name in ("SECRET_KEY", "BCRYPT_ROUNDS", "LOG_LEVEL"):
        assert name in message


# ---------------------------------------------------------------- sources and defaults


def test_defaults_follow_the_specification(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("SECRET_KEY", TEST_SECRET_KEY)

    settings = load_settings()

    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite+aiosqlite:///./orders.db"
    assert settings.access_token_expire_minutes == 15
    assert settings.refresh_token_expire_days == 7
    assert settings.bcrypt_rounds == 12
    assert settings.login_max_failures == 5
    assert settings.login_failure_window_minutes == 15
    assert settings.cors_origins == []
    assert settings.log_level == "INFO"


def test_every_setting_is_read_from_the_environment(environment: pytest.MonkeyPatch) -> None:
    values = {
        "DATABASE_URL": "postgresql+asyncpg://app@db/orders",
        "SECRET_KEY": TEST_SECRET_KEY,
        "ACCESS_TOKEN_EXPIRE_MINUTES": "5",
        "REFRESH_TOKEN_EXPIRE_DAYS": "30",
        "BCRYPT_ROUNDS": "10",
        "LOGIN_MAX_FAILURES": "3",
        "LOGIN_FAILURE_WINDOW_MINUTES": "60",
        "CORS_ORIGINS": "https://pizza.example",
        "LOG_LEVEL": "DEBUG",
    }
    for name, value in values.items():
        environment.setenv(name, value)

    settings = load_settings()

    assert settings.database_url == "postgresql+asyncpg://app@db/orders"
    assert settings.secret_key == TEST_SECRET_KEY
    assert settings.access_token_expire_minutes == 5
    assert settings.refresh_token_expire_days == 30
    assert settings.bcrypt_rounds == 10
    assert settings.login_max_failures == 3
    assert settings.login_failure_window_minutes == 60
    assert settings.cors_origins == ["https://pizza.example"]
    assert settings.log_level == "DEBUG"
    assert not settings.is_sqlite


def test_settings_are_read_from_a_dotenv_file(environment: pytest.MonkeyPatch) -> None:
    Path(".env").write_text(f"SECRET_KEY={TEST_SECRET_KEY}\nBCRYPT_ROUNDS=9\n")

    settings = load_settings()

    assert (settings.secret_key, settings.bcrypt_rounds) == (TEST_SECRET_KEY, 9)


def test_the_environment_wins_over_the_dotenv_file(environment: pytest.MonkeyPatch) -> None:
    Path(".env").write_text(f"SECRET_KEY={TEST_SECRET_KEY}\nBCRYPT_ROUNDS=9\n")
    environment.setenv("BCRYPT_ROUNDS", "11")

    assert load_settings().bcrypt_rounds == 11


def test_unrelated_dotenv_entries_are_ignored(environment: pytest.MonkeyPatch) -> None:
    Path(".env").write_text(f"SECRET_KEY={TEST_SECRET_KEY}\nADMIN_PASSWORD=not-a-setting\n")

    assert load_settings().secret_key == TEST_SECRET_KEY


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BCRYPT_ROUNDS", "3"),
        ("BCRYPT_ROUNDS", "32"),
        ("ACCESS_TOKEN_EXPIRE_MINUTES", "0"),
        ("REFRESH_TOKEN_EXPIRE_DAYS", "-1"),
        ("LOGIN_MAX_FAILURES", "0"),
        ("LOGIN_FAILURE_WINDOW_MINUTES", "soon"),
    ],
)
def test_an_out_of_range_number_is_a_config_error_naming_it(
    environment: pytest.MonkeyPatch, name: str, value: str
) -> None:
    environment.setenv("SECRET_KEY", TEST_SECRET_KEY)
    environment.setenv(name, value)

    message = config_error()

    assert "\n" not in message
    assert message.startswith(f"Invalid settings: {name}: ")


# ---------------------------------------------------------------- CORS_ORIGINS


@pytest.mark.parametrize(
    ("raw", "origins"),
    [
        ("", []),
        ("https://pizza.example", ["https://pizza.example"]),
        (
            "https://pizza.example, http://localhost:5173 ,",
            ["https://pizza.example", "http://localhost:5173"],
        ),
        (
            '["https://pizza.example", "http://localhost:5173"]',
            ["https://pizza.example", "http://localhost:5173"],
        ),
        ("*", ["*"]),
    ],
    ids=["empty", "one", "comma-separated", "json-list", "wildcard"],
)
def test_cors_origins_are_parsed_from_the_environment(
    environment: pytest.MonkeyPatch, raw: str, origins: list[str]
) -> None:
    environment.setenv("SECRET_KEY", TEST_SECRET_KEY)
    environment.setenv("CORS_ORIGINS", raw)

    assert load_settings().cors_origins == origins


async def preflight(application: FastAPI, origin: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.options(
            "/auth/login",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )


async def test_a_listed_origin_passes_the_cors_preflight(settings: Settings) -> None:
    application = create_app(
        settings.model_copy(update={"cors_origins": ["https://pizza.example"]})
    )

    response = await preflight(application, "https://pizza.example")

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://pizza.example"


async def test_an_unlisted_origin_gets_no_cors_permission(settings: Settings) -> None:
    application = create_app(
        settings.model_copy(update={"cors_origins": ["https://pizza.example"]})
    )

    response = await preflight(application, "https://evil.example")

    assert "Access-Control-Allow-Origin" not in response.headers


async def test_without_cors_origins_no_origin_gets_cors_permission(settings: Settings) -> None:
    response = await preflight(create_app(settings), "https://pizza.example")

    assert "Access-Control-Allow-Origin" not in response.headers


async def test_cors_headers_reach_error_responses_too(settings: Settings) -> None:
    application = create_app(
        settings.model_copy(update={"cors_origins": ["https://pizza.example"]})
    )
    async with SchemaCheckedClient(application) as client:
        response = await client.get("/users/me", headers={"Origin": "https://pizza.example"})

    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == "https://pizza.example"


# ---------------------------------------------------------------- LOG_LEVEL


@pytest.mark.parametrize(("raw", "level"), [("debug", "DEBUG"), ("Warning", "WARNING")])
def test_log_level_is_case_insensitive(
    environment: pytest.MonkeyPatch, raw: str, level: str
) -> None:
    environment.setenv("SECRET_KEY", TEST_SECRET_KEY)
    environment.setenv("LOG_LEVEL", raw)

    assert load_settings().log_level == level


def test_an_unknown_log_level_is_a_config_error(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("SECRET_KEY", TEST_SECRET_KEY)
    environment.setenv("LOG_LEVEL", "verbose")

    assert config_error().startswith("Invalid settings: LOG_LEVEL: ")


@pytest.mark.parametrize("level", ["DEBUG", "WARNING"])
def test_the_app_logs_at_the_configured_level(settings: Settings, level: str) -> None:
    app_logger = logging.getLogger("app")
    previous = app_logger.level
    try:
        create_app(settings.model_copy(update={"log_level": level}))

        assert app_logger.getEffectiveLevel() == getattr(logging, level)
    finally:
        app_logger.setLevel(previous)


# ---------------------------------------------------------------- settings reach the app


async def test_the_access_token_lifetime_follows_its_setting(
    settings: Settings, create_user: CreateUser, app: FastAPI
) -> None:
    short = create_app(settings.model_copy(update={"access_token_expire_minutes": 5}))
    user = await create_user(log_in=False)
    async with SchemaCheckedClient(short) as client:
        response = await client.post(
            "/auth/login", json={"email": user.email, "password": user.password}
        )
    await short.state.db.dispose()

    assert response.json()["expires_in"] == 300


async def test_the_bcrypt_cost_follows_its_setting(
    settings: Settings, app: FastAPI, client: httpx.AsyncClient
) -> None:
    costly = create_app(settings.model_copy(update={"bcrypt_rounds": 5}))
    async with SchemaCheckedClient(costly) as costly_client:
        await costly_client.post(
            "/auth/signup",
            json={"name": "Carla", "email": "carla@example.com", "password": "pizza-pie"},
        )
    await costly.state.db.dispose()

    async with app.state.db.read_sessions() as session:
        user = await session.scalar(select(User))
    assert user is not None
    assert user.hashed_password.startswith("$2b$05$")


def test_a_malformed_json_list_of_cors_origins_is_a_config_error(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("SECRET_KEY", TEST_SECRET_KEY)
    environment.setenv("CORS_ORIGINS", '["https://pizza.example"')

    assert config_error().startswith("Invalid settings: CORS_ORIGINS: ")
