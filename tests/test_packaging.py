"""§11 packaging and §8 settings: what the wheel carries, what `.env.example` lists, what a
bad DATABASE_URL says. The wheel itself is installed and run by `.ci/check_package`."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from app.config import ConfigError, Settings, load_settings, normalize_database_url

ROOT = Path(__file__).resolve().parent.parent


def pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_of_the_app_is_in_the_wheel() -> None:
    listed = set(pyproject()["tool"]["setuptools"]["packages"])  # type: ignore[index]
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "app").rglob("__init__.py")
    }

    assert on_disk <= listed


def test_the_wheel_carries_the_migrations_of_the_repository() -> None:
    package_dir = pyproject()["tool"]["setuptools"]["package-dir"]  # type: ignore[index]

    assert package_dir["app.migrations"] == "alembic"
    assert (ROOT / package_dir["app.migrations"] / "env.py").is_file()


def test_the_license_file_is_mit_as_the_metadata_says() -> None:
    assert pyproject()["project"]["license"] == "MIT"  # type: ignore[index]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_the_package_declares_its_types() -> None:
    assert (ROOT / "app" / "py.typed").is_file()


def test_env_example_lists_every_setting_with_its_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in Settings.model_fields:  # the defaults, not what this run's environment sets
        monkeypatch.delenv(name.upper(), raising=False)
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    defaults = Settings(_env_file=None, secret_key="x" * 32)  # type: ignore[call-arg]

    assert set(example) == {name.upper() for name in Settings.model_fields}
    for name, written in example.items():
        if name not in {"SECRET_KEY", "CORS_ORIGINS"}:
            parsed = Settings(_env_file=None, secret_key="x" * 32, **{name.lower(): written})  # type: ignore[call-arg, arg-type]
            assert getattr(parsed, name.lower()) == getattr(defaults, name.lower()), name


def test_the_version_is_printed() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "--version"], capture_output=True, text=True, check=True
    )

    assert re.fullmatch(r"orders-api \d+\.\d+\.\d+\S*\n", result.stdout)


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("postgresql://u:p@db:5432/orders", "postgresql+asyncpg://u:p@db:5432/orders"),
        ("postgres://u:p@db/orders", "postgresql+asyncpg://u:p@db/orders"),
        ("postgresql+asyncpg://u@db/orders", "postgresql+asyncpg://u@db/orders"),
        ("sqlite:///./orders.db", "sqlite+aiosqlite:///./orders.db"),
        ("sqlite+aiosqlite:///./orders.db", "sqlite+aiosqlite:///./orders.db"),
    ],
)
def test_database_urls_mean_the_async_drivers(given: str, meant: str) -> None:
    assert normalize_database_url(given) == meant


@pytest.mark.parametrize(
    "url", ["mysql://u@db/orders", "postgresql+psycopg://u@db/x", "not a url", "orders.db"]
)
def test_an_unusable_database_url_is_one_line_naming_the_setting(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, secret_key="x" * 32, database_url=url)

    message = str(caught.value)
    assert "\n" not in message
    assert "DATABASE_URL" in message


def test_the_error_of_a_bad_url_does_not_quote_its_password() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            _env_file=None, secret_key="x" * 32, database_url="postgresql://u:s3cret@db:port/x"
        )

    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(("name", "value"), [("LOG_FORMAT", "xml"), ("METRICS_ENABLED", "maybe")])
def test_a_bad_operations_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None, secret_key="x" * 32)

    assert str(caught.value).startswith(f"Invalid settings: {name}: ")
