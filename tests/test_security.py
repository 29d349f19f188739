"""app.security on its own: the password byte rule, bcrypt off the loop, token claims."""

import asyncio
import os
import sys
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import bcrypt
import jwt
import pytest
from pydantic import ValidationError

from app.config import Settings
from app.security import (
    ALGORITHM,
    HASHING_NICENESS,
    LOWEST_PRIORITY,
    InvalidTokenError,
    decode_token,
    encode_token,
    hash_password,
    verify_password,
)
from app.tables import UserCreate
from app.timestamps import utcnow
from tests.conftest import TEST_SECRET_KEY

ROUNDS = 4


def user_create(password: str) -> UserCreate:
    return UserCreate(name="Carla", email="carla@example.com", password=password)


# ---------------------------------------------------------------- the 8..72 byte rule


@pytest.mark.parametrize(
    "password",
    ["x" * 8, "x" * 72, "\u00e9" * 4, "\u20ac" * 24, "\U0001f355" * 18, "\u00e9" * 36],
    ids=["8-ascii", "72-ascii", "4-e-acute", "24-euro", "18-pizza-emoji", "36-e-acute"],
)
def test_passwords_of_8_to_72_utf8_bytes_are_valid(password: str) -> None:
    assert user_create(password).password == password


@pytest.mark.parametrize(
    ("password", "size"),
    [
        ("x" * 7, 7),
        ("x" * 73, 73),
        ("\u20ac\u20ac", 6),
        ("\u20ac" * 25, 75),
        ("\U0001f355" * 19, 76),
        ("\u00e9" * 37, 74),
    ],
    ids=["7-ascii", "73-ascii", "2-euro", "25-euro", "19-pizza-emoji", "37-e-acute"],
)
def test_passwords_outside_8_to_72_utf8_bytes_are_invalid(password: str, size: int) -> None:
    with pytest.raises(ValidationError) as caught:
        user_create(password)

    (error,) = caught.value.errors()
    assert error["loc"] == ("password",)
    assert f"must be 8 to 72 bytes of UTF-8 (got {size})" in error["msg"]


def test_the_password_rule_counts_bytes_not_characters() -> None:
    """Eight characters, but 'é' is two bytes: 9 bytes, and 25 euro signs are 75."""
    assert user_create("\u00e9" + "x" * 7).password
    with pytest.raises(ValidationError):
        user_create("\u20ac" * 25)


# ---------------------------------------------------------------- hashing


async def test_hash_password_makes_a_bcrypt_hash_at_the_given_cost() -> None:
    hashed = await hash_password("pizza-margherita", ROUNDS)

    assert hashed.startswith("$2b$04$")
    assert bcrypt.checkpw(b"pizza-margherita", hashed.encode())


async def test_hash_password_salts_every_hash() -> None:
    first, second = await asyncio.gather(
        hash_password("pizza-margherita", ROUNDS), hash_password("pizza-margherita", ROUNDS)
    )

    assert first != second


async def test_verify_password_accepts_the_right_password() -> None:
    hashed = await hash_password("pizza-margherita", ROUNDS)

    assert await verify_password("pizza-margherita", hashed, ROUNDS) is True


async def test_verify_password_refuses_a_wrong_password() -> None:
    hashed = await hash_password("pizza-margherita", ROUNDS)

    assert await verify_password("pizza-marinara", hashed, ROUNDS) is False


async def test_verify_password_accepts_the_password_in_another_normal_form() -> None:
    hashed = await hash_password("caf\u00e9-latte", ROUNDS)

    assert await verify_password("cafe\u0301-latte", hashed, ROUNDS) is True


async def test_hash_password_hashes_the_nfkc_form() -> None:
    hashed = await hash_password("cafe\u0301-latte", ROUNDS)

    assert bcrypt.checkpw("caf\u00e9-latte".encode(), hashed.encode())


async def test_verify_password_refuses_a_password_that_only_shares_the_first_72_bytes() -> None:
    hashed = await hash_password("p" * 72, ROUNDS)

    assert await verify_password("p" * 72 + "x", hashed, ROUNDS) is False


async def test_verify_password_without_a_hash_is_false_but_still_runs_bcrypt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checks = record_calls(monkeypatch, "checkpw")

    assert await verify_password("pizza-margherita", None, ROUNDS) is False
    assert len(checks) == 1


def record_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[threading.Thread]:
    """Replace `bcrypt.<name>` with a wrapper noting the thread of every call."""
    threads: list[threading.Thread] = []
    real: Callable[..., Any] = getattr(bcrypt, name)

    def recording(*args: Any) -> Any:
        threads.append(threading.current_thread())
        return real(*args)

    monkeypatch.setattr(bcrypt, name, recording)
    return threads


async def test_hashing_runs_in_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads = record_calls(monkeypatch, "hashpw")

    await hash_password("pizza-margherita", ROUNDS)

    assert threads
    assert threading.main_thread() not in threads


async def test_checking_runs_in_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    hashed = await hash_password("pizza-margherita", ROUNDS)
    threads = record_calls(monkeypatch, "checkpw")

    await verify_password("pizza-margherita", hashed, ROUNDS)

    assert threads
    assert threading.main_thread() not in threads


async def test_the_dummy_hash_for_unknown_emails_is_made_in_a_worker_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("app.security._dummy_hashes", {})
    hashing = record_calls(monkeypatch, "hashpw")
    checking = record_calls(monkeypatch, "checkpw")

    await verify_password("pizza-margherita", None, ROUNDS)

    assert len(hashing) == len(checking) == 1
    assert threading.main_thread() not in hashing + checking


@pytest.mark.skipif(sys.platform != "linux", reason="thread priorities are per thread on Linux")
async def test_hashing_threads_run_at_a_lower_cpu_priority_than_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    priorities: list[int] = []
    real_hashpw = bcrypt.hashpw

    def noting_hashpw(password: bytes, salt: bytes) -> bytes:
        priorities.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return real_hashpw(password, salt)

    monkeypatch.setattr(bcrypt, "hashpw", noting_hashpw)

    await hash_password("pizza-margherita", ROUNDS)

    loop_priority = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert priorities == [min(loop_priority + HASHING_NICENESS, LOWEST_PRIORITY)]


async def test_the_event_loop_keeps_running_while_a_hash_is_computed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    real_hashpw = bcrypt.hashpw

    def held_hashpw(password: bytes, salt: bytes) -> bytes:
        release.wait(timeout=5)
        return real_hashpw(password, salt)

    monkeypatch.setattr(bcrypt, "hashpw", held_hashpw)
    hashing = asyncio.create_task(hash_password("pizza-margherita", ROUNDS))

    for _ in range(10):
        await asyncio.sleep(0)  # the loop turns while the hash is held in its thread

    assert not hashing.done()
    release.set()
    assert (await hashing).startswith("$2b$04$")


# ---------------------------------------------------------------- tokens


@pytest.fixture
def token_settings() -> Settings:
    return Settings(_env_file=None, secret_key=TEST_SECRET_KEY)  # type: ignore[call-arg]


def test_an_encoded_token_carries_the_required_claims(token_settings: Settings) -> None:
    token, expires_at = encode_token(42, "access", timedelta(minutes=15), token_settings)

    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, TEST_SECRET_KEY, algorithms=[ALGORITHM])
    assert header["alg"] == "HS256"
    assert set(claims) == {"sub", "type", "exp", "iat", "jti"}
    assert (claims["sub"], claims["type"]) == ("42", "access")
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["exp"] == int(expires_at.timestamp())
    assert abs(claims["iat"] - utcnow().timestamp()) < 60


def test_every_token_gets_its_own_jti(token_settings: Settings) -> None:
    tokens = [encode_token(1, "refresh", timedelta(days=7), token_settings)[0] for _ in range(5)]

    jtis = {jwt.decode(t, TEST_SECRET_KEY, algorithms=[ALGORITHM])["jti"] for t in tokens}
    assert len(jtis) == 5


def test_a_given_jti_is_kept(token_settings: Settings) -> None:
    jti = uuid.uuid4().hex
    token, _ = encode_token(1, "refresh", timedelta(days=7), token_settings, jti=jti)

    assert decode_token(token, "refresh", token_settings)["jti"] == jti


def test_decode_returns_the_claims_of_a_good_token(token_settings: Settings) -> None:
    token, _ = encode_token(7, "access", timedelta(minutes=15), token_settings)

    claims = decode_token(token, "access", token_settings)

    assert (claims["sub"], claims["type"]) == ("7", "access")


@pytest.mark.parametrize(
    ("issued", "expected", "message"),
    [
        ("access", "refresh", "Expected a refresh token"),
        ("refresh", "access", "Expected an access token"),
    ],
)
def test_decode_refuses_the_other_token_type(
    token_settings: Settings, issued: Any, expected: Any, message: str
) -> None:
    token, _ = encode_token(7, issued, timedelta(minutes=15), token_settings)

    with pytest.raises(InvalidTokenError, match=message):
        decode_token(token, expected, token_settings)


def test_decode_refuses_an_expired_token(token_settings: Settings) -> None:
    token, _ = encode_token(7, "access", timedelta(seconds=-1), token_settings)

    with pytest.raises(InvalidTokenError, match="Token has expired"):
        decode_token(token, "access", token_settings)


def test_decode_refuses_a_token_signed_with_another_key(token_settings: Settings) -> None:
    other = token_settings.model_copy(update={"secret_key": "x" * 48})
    token, _ = encode_token(7, "access", timedelta(minutes=15), other)

    with pytest.raises(InvalidTokenError, match="Could not validate token"):
        decode_token(token, "access", token_settings)


def test_decode_refuses_an_unsigned_token(token_settings: Settings) -> None:
    now = int(utcnow().timestamp())
    claims = {"sub": "7", "type": "access", "iat": now, "exp": now + 60, "jti": "j"}
    token = jwt.encode(claims, key=None, algorithm="none")

    with pytest.raises(InvalidTokenError):
        decode_token(token, "access", token_settings)


@pytest.mark.parametrize("jti", [7, None, ["a"]], ids=["integer", "null", "list"])
def test_decode_refuses_a_jti_that_is_not_a_string(token_settings: Settings, jti: Any) -> None:
    now = int(utcnow().timestamp())
    claims = {"sub": "7", "type": "access", "iat": now, "exp": now + 60, "jti": jti}
    token = jwt.encode(claims, TEST_SECRET_KEY, algorithm=ALGORITHM)

    with pytest.raises(InvalidTokenError):
        decode_token(token, "access", token_settings)
