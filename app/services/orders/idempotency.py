"""The Idempotency-Key of `POST /orders`: the first response, stored with the caller's
key in the order's own transaction, replayed on a retry with the same body.

A key is kept for a day, as payment APIs keep theirs: far longer than any client retries
a request, and the table does not grow without end. An older key is forgotten: sent
again, it opens a new order. A caller's expired keys are deleted when they store a new
one (their rows only, found through the (user_id, key) index).
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict
from app.tables import KEYS, IdempotencyKey, OrderCreate

KEY_LIFETIME = timedelta(hours=24)
# The `response_status` column records the status of the stored response: only a new
# order's response is stored, and it is always 201 Created.
STORED_RESPONSE_STATUS = 201

STORED_RESPONSE = select(KEYS.c.request_fingerprint, KEYS.c.response_body).where(
    KEYS.c.user_id == bindparam("caller_id"),
    KEYS.c.key == bindparam("idempotency_key"),
    KEYS.c.created_at > bindparam("kept_since"),
)
EXPIRED_KEYS = delete(KEYS).where(
    KEYS.c.user_id == bindparam("caller_id"), KEYS.c.created_at <= bindparam("kept_since")
)


@dataclass(frozen=True)
class CreatedOrder:
    """The new order as the JSON body of the response, and whether it is a replay."""

    body: str
    replayed: bool = False


def request_fingerprint(body: OrderCreate) -> str:
    """SHA-256 of the validated body as canonical JSON: equal requests, equal fingerprints."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def stored_response(
    session: AsyncSession, caller_id: int, key: str, fingerprint: str, kept_since: datetime
) -> CreatedOrder | None:
    """The response stored with the caller's key, unless it expired; `Conflict` for a
    request with another body."""
    params = {"caller_id": caller_id, "idempotency_key": key, "kept_since": kept_since}
    stored = (await session.execute(STORED_RESPONSE, params)).first()
    if stored is None:
        return None
    if stored.request_fingerprint != fingerprint:
        raise Conflict("This Idempotency-Key was already used with a different request body")
    return CreatedOrder(stored.response_body, replayed=True)


async def store_response(
    session: AsyncSession,
    caller_id: int,
    key: str,
    fingerprint: str,
    kept_since: datetime,
    order_id: int,
    created: CreatedOrder,
) -> None:
    """Keep the response with the key, making room for it should the key have expired.
    Flushed: a concurrent request that stored this key first fails the unique index here."""
    await session.execute(EXPIRED_KEYS, {"caller_id": caller_id, "kept_since": kept_since})
    session.add(
        IdempotencyKey(
            user_id=caller_id,
            key=key,
            request_fingerprint=fingerprint,
            order_id=order_id,
            response_status=STORED_RESPONSE_STATUS,
            response_body=created.body,
        )
    )
    await session.flush()
