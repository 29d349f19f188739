"""Password hashing, tokens, and the dependencies that turn a bearer token into a user."""

import asyncio
import contextlib
import os
import secrets
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal, TypeVar

import bcrypt
import jwt
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import SessionDep
from app.errors import AdminRequired, HashingQueueFull, Unauthorized, UserGone
from app.fields import MAX_ID, normalize_password
from app.metrics import password_hashes_queued
from app.request_context import set_user_id
from app.services.callers import active_caller_is_admin
from app.tables import User
from app.timestamps import utcnow

T = TypeVar("T")
ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "type", "exp", "iat", "jti"]
VERIFIED_TOKENS_KEPT = 4096
TokenType = Literal["access", "refresh"]
EXPECTED_TYPE: dict[TokenType, str] = {
    "access": "Expected an access token",
    "refresh": "Expected a refresh token",
}

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/auth/token",
    description="Log in with your email as the username. Tokens last 15 minutes by default.",
)


class InvalidTokenError(Exception):
    """The token is malformed, forged, expired or of the wrong type."""


# ---------------------------------------------------------------- passwords


def _yield_the_cpu() -> None:
    """Run this hashing thread at a lower CPU priority (Linux: priorities are per thread).

    A bcrypt hash takes ~0.25 s of CPU at cost 12. Logins in a burst would otherwise take
    every core from the event loop (and, on the same machine, from the database), and
    every other request would wait behind them. Ten steps nicer than the server, a hash
    still gets any core nothing else wants, so logins keep their speed on an idle server.
    """
    if sys.platform == "linux":
        thread = threading.get_native_id()
        with contextlib.suppress(OSError):
            niceness = os.getpriority(os.PRIO_PROCESS, thread) + HASHING_NICENESS
            os.setpriority(os.PRIO_PROCESS, thread, min(niceness, LOWEST_PRIORITY))


HASHING_NICENESS = 10  # added to the niceness the server runs at
LOWEST_PRIORITY = 19
HASHING_THREADS = os.cpu_count() or 1  # more would only take turns on the same cores
_hashing_pool = ThreadPoolExecutor(
    max_workers=HASHING_THREADS, thread_name_prefix="bcrypt", initializer=_yield_the_cpu
)


# The hashing queue is bounded: a hash admitted waits for at most one round of the threads
# before its own, so a login takes at most about twice its time on an idle server; past
# that, the request is turned away at once (503) rather than piling up behind a flood.
# One client address holds at most a thread's worth of places, so that one client's flood
# leaves room for everyone else.
MAX_HASHING_JOBS = HASHING_THREADS * 2
MAX_HASHING_JOBS_PER_CLIENT = HASHING_THREADS


class _HashingQueue:
    """The hashes running or waiting for a thread in this process, in all and per client."""

    def __init__(self, capacity: int, per_client: int) -> None:
        self.capacity = capacity
        self.per_client = per_client
        self.taken = 0
        self.taken_by: Counter[str] = Counter()


_hashing_queue = _HashingQueue(MAX_HASHING_JOBS, MAX_HASHING_JOBS_PER_CLIENT)
hashing_client: ContextVar[str | None] = ContextVar("hashing_client", default=None)
"""The client address a request's hashes are counted under (set by `app.limits`)."""


def hashing_queue_is_full() -> bool:
    return _hashing_queue.taken >= _hashing_queue.capacity


async def _off_the_loop(function: Callable[..., T], *args: Any) -> T:
    """bcrypt releases the GIL: run it in the hashing threads, one per core at most, once
    it has a place in the bounded queue (`HashingQueueFull` at once when none is free)."""
    client = hashing_client.get()
    queue = _hashing_queue
    if hashing_queue_is_full() or (
        client is not None and queue.taken_by[client] >= queue.per_client
    ):
        raise HashingQueueFull
    queue.taken += 1
    password_hashes_queued.inc()
    if client is not None:
        queue.taken_by[client] += 1
    try:
        return await asyncio.get_running_loop().run_in_executor(_hashing_pool, function, *args)
    finally:
        queue.taken -= 1
        password_hashes_queued.dec()
        if client is not None:
            queue.taken_by[client] -= 1
            if not queue.taken_by[client]:
                del queue.taken_by[client]


async def hash_password(password: str, rounds: int) -> str:
    """Hash off the event loop: bcrypt takes ~0.25 s at cost 12 and releases the GIL."""
    salt = bcrypt.gensalt(rounds)
    hashed = await _off_the_loop(bcrypt.hashpw, normalize_password(password).encode(), salt)
    return hashed.decode()


def needs_rehash(hashed: str, rounds: int) -> bool:
    """Whether a bcrypt hash (`$2b$<cost>$...`) was made at another cost than `rounds`."""
    parts = hashed.split("$")
    return len(parts) < 4 or not parts[2].isdigit() or int(parts[2]) != rounds


async def verify_password(password: str, hashed: str | None, rounds: int) -> bool:
    """Check a password; with no hash (unknown email) check a dummy one so timing is alike."""
    candidate = normalize_password(password).encode()
    if len(candidate) > 72:
        # bcrypt 5 refuses over 72 bytes; such a password can never have been accepted.
        candidate = candidate[:72]
        hashed = None
    target = hashed.encode() if hashed else await _dummy_hash(rounds)
    matches = await _off_the_loop(bcrypt.checkpw, candidate, target)
    return matches and hashed is not None


_dummy_hashes: dict[int, bytes] = {}


async def _dummy_hash(rounds: int) -> bytes:
    """A hash of a random password at this cost, made once, like every hash off the loop."""
    if rounds not in _dummy_hashes:
        salt = bcrypt.gensalt(rounds)
        _dummy_hashes[rounds] = await _off_the_loop(bcrypt.hashpw, secrets.token_bytes(16), salt)
    return _dummy_hashes[rounds]


# ---------------------------------------------------------------- tokens


def encode_token(
    user_id: int, token_type: TokenType, ttl: timedelta, settings: Settings, jti: str | None = None
) -> tuple[str, datetime]:
    issued_at = utcnow()
    expires_at = issued_at + ttl
    claims = {
        "sub": str(user_id),
        "type": token_type,
        "iat": issued_at,
        "exp": expires_at,
        "jti": jti or uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM), expires_at


@lru_cache(maxsize=VERIFIED_TOKENS_KEPT)
def _verified_claims(token: str, secret_key: str) -> dict[str, Any]:
    """The claims of a token whose algorithm, signature and required claims check out.

    Remembered per token and key: PyJWT's checks (a character-by-character scan of the
    base64 in Python, sniffing the key's format, JSON) cost more than all the rest of a
    small authenticated request. Failures are not remembered, and the expiry is checked
    again at every use, so a remembered token is still refused once it expires.
    """
    claims: dict[str, Any] = jwt.decode(
        token, secret_key, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS}
    )
    return claims


def decode_token(token: str, expected_type: TokenType, settings: Settings) -> dict[str, Any]:
    try:
        claims = dict(_verified_claims(token, settings.secret_key))
    except jwt.ExpiredSignatureError as exc:
        raise InvalidTokenError("Token has expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidTokenError("Could not validate token") from exc
    if int(claims["exp"]) <= utcnow().timestamp():  # PyJWT's rule, for a token decoded before
        raise InvalidTokenError("Token has expired")
    if claims["type"] != expected_type:
        raise InvalidTokenError(EXPECTED_TYPE[expected_type])
    if not isinstance(claims["jti"], str) or not _is_user_id(claims["sub"]):
        raise InvalidTokenError("Could not validate token")
    return claims


def _is_user_id(subject: object) -> bool:
    return (
        isinstance(subject, str)
        and subject.isascii()
        and subject.isdigit()
        and len(subject) <= len(str(MAX_ID))
        and 1 <= int(subject) <= MAX_ID
    )


def token_user_id(claims: dict[str, Any]) -> int:
    return int(claims["sub"])


# ---------------------------------------------------------------- dependencies


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_settings_from_app(request: Request) -> Settings:
    # `async` although it awaits nothing: FastAPI runs a plain `def` dependency in its
    # thread pool, a hand-off that costs about as much as a whole small request.
    return app_settings(request)


SettingsDep = Annotated[Settings, Depends(get_settings_from_app)]


# The user dependencies read the settings from the request rather than through
# `SettingsDep`, and the bearer token by calling the scheme rather than declaring it as a
# sub-dependency: FastAPI resolves each sub-dependency on every request, a step that
# costs a small authenticated request a noticeable share of its time. So no route has the
# scheme among its dependencies, and every route that depends on one of these declares its
# token with `openapi_extra` (`app.openapi.BEARER_TOKEN_REQUIRED`, `BEARER_TOKEN_OPTIONAL`).


async def _bearer_token(request: Request) -> str:
    """The request's bearer token; without one, the scheme's own 401 ("Not authenticated")."""
    token = await oauth2_scheme(request)
    assert token is not None  # auto_error: the scheme raises rather than return None
    return token


def _user_id_of_token(request: Request, token: str) -> int:
    """The user id of a valid access token (401 otherwise), without a database round trip."""
    try:
        claims = decode_token(token, "access", app_settings(request))
    except InvalidTokenError as exc:
        raise Unauthorized(str(exc)) from exc
    user_id = token_user_id(claims)
    set_user_id(user_id)  # for the request's log lines
    return user_id


async def active_user(session: AsyncSession, user_id: int) -> User:
    """The user a valid token names: 401 when they no longer exist or are deactivated."""
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise UserGone
    return user


async def get_current_user(request: Request, session: SessionDep) -> User:
    return await active_user(session, _user_id_of_token(request, await _bearer_token(request)))


async def get_admin_user(user: Annotated[User, Depends(get_current_user)]) -> User:
    if not user.is_admin:
        raise AdminRequired
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
AdminUser = Annotated[User, Depends(get_admin_user)]


# ---------------------------------------------------------------- public routes, hot paths

optional_oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/auth/token", auto_error=False, description=oauth2_scheme.model.description
)


async def get_token_user_id(request: Request) -> int:
    """The user id of a valid access token, checked without a database round trip.

    Only for routes whose own query checks, in the same statement, that this user still
    exists and is active (the orders routes); such a route must answer 401 when not.
    """
    return _user_id_of_token(request, await _bearer_token(request))


async def get_optional_token_user_id(request: Request) -> int | None:
    """For public routes: None without a token, else the user id of a valid access token
    (a forged or expired one is a 401, never treated as anonymous). With no session among
    its dependencies, an anonymous request costs FastAPI one resolution step less; the
    route checks the user with `caller_is_admin`, only when a token came."""
    token = await optional_oauth2_scheme(request)
    return None if token is None else _user_id_of_token(request, token)


async def caller_is_admin(session: AsyncSession, user_id: int | None) -> bool:
    """Whether the caller of a public route (from `OptionalTokenUserId`) is an admin:
    False when anonymous, else as `active_caller_is_admin`: one column read directly,
    where loading the whole `User` through the ORM would cost as much as the rest of a
    signed-in read of the menu."""
    return user_id is not None and await active_caller_is_admin(session, user_id)


OptionalTokenUserId = Annotated[int | None, Depends(get_optional_token_user_id)]
TokenUserId = Annotated[int, Depends(get_token_user_id)]
