"""Settings: one typed object, read from the environment and `.env`, validated once."""

import json
from email.utils import parseaddr
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./orders.db"

# The async drivers the app runs on, by URL scheme; a bare `postgresql://` or
# `postgres://` (as hosting providers hand them out) means asyncpg, a bare `sqlite://`
# means aiosqlite.
ASYNC_SCHEMES = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


def normalize_database_url(value: str) -> str:
    """`value` with the scheme of its async driver; ValueError when no driver here fits."""
    scheme, separator, rest = value.strip().partition("://")
    if not separator or not rest:
        raise ValueError("not a database URL (expected e.g. postgresql://user@host/name)")
    driver = ASYNC_SCHEMES.get(scheme.lower())
    if driver is None:
        raise ValueError(
            f"unsupported scheme {scheme!r}: use postgresql://, postgresql+asyncpg:// "
            "or sqlite+aiosqlite://"
        )
    normalized = f"{driver}://{rest}"
    try:
        make_url(normalized)
    except (ArgumentError, ValueError):
        # The parser's own message quotes the URL, password included.
        raise ValueError("not a valid database URL") from None
    return normalized


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message is one line a person can act on."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = Field(min_length=32, repr=False)
    access_token_expire_minutes: int = Field(default=15, ge=1)
    refresh_token_expire_days: int = Field(default=7, ge=1)
    bcrypt_rounds: int = Field(default=12, ge=4, le=31)
    login_max_failures: int = Field(default=5, ge=1)
    login_failure_window_minutes: int = Field(default=15, ge=1)
    cors_origins: Annotated[list[str], NoDecode] = []
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    # For testing the stock SQLAlchemy path (CI runs the suite with it off too); in
    # production leave it on: the fast paths turn themselves off when the installed
    # libraries are not what they are tested with (see `app.fast_paths`).
    fast_paths: bool = True
    log_format: Literal["text", "json"] = "text"
    access_log: bool = True
    metrics_enabled: bool = True

    # Mail (password reset, notices). No SMTP host: each message is written to the log.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = Field(default="", repr=False)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    mail_from: str = "Orders API <no-reply@localhost>"
    password_reset_url: str = "http://127.0.0.1:8000/reset-password"  # noqa: S105 - a URL
    password_reset_expire_minutes: int = Field(default=30, ge=1)

    @field_validator("database_url")
    @classmethod
    def use_an_async_driver(cls, value: str) -> str:
        return normalize_database_url(value)

    events_ping_seconds: float = Field(default=15, gt=0)
    events_max_streams_per_user: int = Field(default=5, ge=1)
    events_retention_hours: float = Field(default=24, gt=0)
    # Seconds between a server's purges of what has expired (SPEC §12); 0: no purge in
    # the server (run `python -m app purge` from cron or a timer instead).
    purge_interval_seconds: float = Field(default=300, ge=0)

    @field_validator("secret_key")
    @classmethod
    def reject_blank_secret(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def split_origins(cls, value: object) -> object:
        """A comma-separated list, or a JSON list as other pydantic-settings lists take."""
        if isinstance(value, str) and value.lstrip().startswith("["):
            return json.loads(value)
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("smtp_security", mode="before")
    @classmethod
    def lower_smtp_security(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("mail_from")
    @classmethod
    def require_a_from_address(cls, value: str) -> str:
        _name, address = parseaddr(value)
        if "@" not in address:
            raise ValueError("must be an address, optionally with a name: Name <user@host>")
        return value

    @field_validator("password_reset_url")
    @classmethod
    def require_an_http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or "?" in value or "#" in value:
            raise ValueError("must be an http(s) URL without a query or fragment")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def lower_log_format(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning validation errors into one readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        hint = " (generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        raise ConfigError(
            f"Invalid settings: {problems}" + (hint if "SECRET_KEY" in problems else "")
        ) from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()
