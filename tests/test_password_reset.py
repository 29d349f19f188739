"""Password reset by email (SPEC section 9): the request, the mail, the confirmation."""

import hashlib
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import col, select

from app.auth_tables import PasswordResetToken
from app.config import Settings
from app.timestamps import utcnow
from tests.conftest import Account, CreateUser, delivered, detail_of, sending_to
from tests.mail_server import SMTPServer

REQUESTED = {"detail": "If that email has an account, a reset link is on its way"}
INVALID = "Invalid or expired reset token"
NEW_PASSWORD = "a brand new password"


@pytest.fixture
def settings(settings: Settings, smtp: SMTPServer) -> Settings:
    return sending_to(settings, smtp)


async def request_reset(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/auth/password-reset", json={"email": email})


async def mailed_token(
    client: httpx.AsyncClient, app: FastAPI, smtp: SMTPServer, email: str
) -> str:
    """Ask for a reset of `email`; the token of the mail that arrives."""
    before = len(smtp.mailbox.to(email))
    assert (await request_reset(client, email)).status_code == 202
    mails = (await delivered(app, smtp)).to(email)
    assert len(mails) == before + 1
    return mails[-1].reset_token()


async def confirm(client: httpx.AsyncClient, token: str, password: str) -> httpx.Response:
    return await client.post(
        "/auth/password-reset/confirm", json={"token": token, "new_password": password}
    )


async def log_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


async def test_a_reset_request_mails_a_link_to_the_account(
    client: httpx.AsyncClient, app: FastAPI, smtp: SMTPServer, customer: Account, settings: Settings
) -> None:
    response = await request_reset(client, customer.email)

    assert response.status_code == 202
    assert response.json() == REQUESTED
    [mail] = (await delivered(app, smtp)).to(customer.email)
    assert mail.message["To"] == customer.email
    assert mail.reset_link().startswith(f"{settings.password_reset_url}?token=")
    assert len(mail.reset_token()) >= 43  # 32 random bytes, URL-safe base64


async def test_a_reset_request_for_an_unknown_email_answers_the_same_and_mails_nothing(
    client: httpx.AsyncClient, app: FastAPI, smtp: SMTPServer
) -> None:
    response = await request_reset(client, "nobody@example.com")

    assert response.status_code == 202
    assert response.json() == REQUESTED
    assert (await delivered(app, smtp)).received == []


async def test_a_deactivated_account_gets_no_reset_mail(
    client: httpx.AsyncClient, app: FastAPI, smtp: SMTPServer, create_user: CreateUser
) -> None:
    inactive = await create_user(email="gone@example.com", is_active=False, log_in=False)

    response = await request_reset(client, inactive.email)

    assert response.status_code == 202
    assert (await delivered(app, smtp)).received == []


async def test_an_address_gets_at_most_three_reset_mails_an_hour(
    client: httpx.AsyncClient, app: FastAPI, smtp: SMTPServer, customer: Account
) -> None:
    statuses = [(await request_reset(client, customer.email)).status_code for _ in range(5)]

    assert statuses == [202] * 5
    assert len((await delivered(app, smtp)).to(customer.email)) == 3


async def test_the_email_is_matched_case_insensitively(
    client: httpx.AsyncClient, app: FastAPI, smtp: SMTPServer, customer: Account
) -> None:
    await request_reset(client, customer.email.upper())

    assert len((await delivered(app, smtp)).to(customer.email)) == 1


async def test_only_the_tokens_sha256_is_stored(
    client: httpx.AsyncClient, app: FastAPI, smtp: SMTPServer, customer: Account
) -> None:
    token = await mailed_token(client, app, smtp, customer.email)

    async with app.state.db.read_sessions() as session:
        [stored] = (await session.scalars(select(PasswordResetToken))).all()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in stored.model_dump_json()


async def test_a_reset_sets_the_new_password(
    client: httpx.AsyncClient, app: FastAPI, smtp: SMTPServer, customer: Account
) -> None:
    token = await mailed_token(client, app, smtp, customer.email)

    response = await confirm(client, token, NEW_PASSWORD)

    assert response.status_code == 204
    assert response.content == b""
    assert (await log_in(client, customer.email, NEW_PASSWORD)).status_code == 200
    assert (await log_in(client, customer.email, customer.password)).status_code == 401


async def test_a_reset_revokes_every_refresh_token(
    client: httpx.AsyncClient, app: FastAPI, smtp: SMTPServer, customer: Account
) -> None:
    refresh_token = (await log_in(client, customer.email, customer.password)).json()[
        "refresh_token"
    ]
    token = await mailed_token(client, app, smtp, customer.email)

    await confirm(client, token, NEW_PASSWORD)

    refreshed = await client.post("/auth/refresh", json={"refresh_token": refresh_token})
    assert refreshed.status_code == 401


async def test_a_reset_clears_the_emails_failed_logins(
    client: httpx.AsyncClient, app: FastAPI, smtp: SMTPServer, customer: Account, settings: Settings
) -> None:
    for _ in range(settings.login_max_failures):
        await log_in(client, customer.email, "wrong password!")
    assert (await log_in(client, customer.email, customer.password)).status_code == 429
    token = await mailed_token(client, app, smtp, customer.email)

    await confirm(client, token, NEW_PASSWORD)

    assert (await log_in(client, customer.email, NEW_PASSWORD)).status_code == 200


async def test_a_token_works_once(
    client: httpx.AsyncClient, app: FastAPI, smtp: SMTPServer, customer: Account
) -> None:
    token = await mailed_token(client, app, smtp, customer.email)
    await confirm(client, token, NEW_PASSWORD)

    again = await confirm(client, token, "yet another password")

    assert again.status_code == 400
    assert detail_of(again) == INVALID
    assert (await log_in(client, customer.email, NEW_PASSWORD)).status_code == 200


async def test_a_newer_request_voids_the_earlier_token(
    client: httpx.AsyncClient, app: FastAPI, smtp: SMTPServer, customer: Account
) -> None:
    earlier = await mailed_token(client, app, smtp, customer.email)
    newer = await mailed_token(client, app, smtp, customer.email)

    assert (await confirm(client, earlier, NEW_PASSWORD)).status_code == 400
    assert (await confirm(client, newer, NEW_PASSWORD)).status_code == 204


async def test_a_password_change_voids_the_token(
    client: httpx.AsyncClient, app: FastAPI, smtp: SMTPServer, customer: Account
) -> None:
    token = await mailed_token(client, app, smtp, customer.email)
    changed = await client.post(
        "/users/me/password",
        json={"current_password": customer.password, "new_password": "changed meanwhile"},
        headers=customer.headers,
    )
    assert changed.status_code == 200

    assert (await confirm(client, token, NEW_PASSWORD)).status_code == 400


async def test_an_expired_token_is_refused(
    client: httpx.AsyncClient, app: FastAPI, smtp: SMTPServer, customer: Account
) -> None:
    token = await mailed_token(client, app, smtp, customer.email)
    async with app.state.db.write_sessions() as session:
        await session.execute(
            update(PasswordResetToken).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()

    response = await confirm(client, token, NEW_PASSWORD)

    assert response.status_code == 400
    assert detail_of(response) == INVALID


async def test_the_token_expires_after_the_configured_minutes(
    client: httpx.AsyncClient, app: FastAPI, smtp: SMTPServer, customer: Account, settings: Settings
) -> None:
    await mailed_token(client, app, smtp, customer.email)

    async with app.state.db.read_sessions() as session:
        stored = (await session.scalars(select(PasswordResetToken))).one()
    lifetime = stored.expires_at - stored.created_at
    assert abs(lifetime - timedelta(minutes=settings.password_reset_expire_minutes)) < timedelta(
        seconds=5
    )


async def test_an_unknown_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await confirm(client, "not-a-token-we-ever-sent", NEW_PASSWORD)

    assert response.status_code == 400
    assert detail_of(response) == INVALID


async def test_a_token_of_a_since_deactivated_account_is_refused(
    client: httpx.AsyncClient, app: FastAPI, smtp: SMTPServer, customer: Account, admin: Account
) -> None:
    token = await mailed_token(client, app, smtp, customer.email)
    await client.patch(f"/users/{customer.id}", json={"is_active": False}, headers=admin.headers)

    assert (await confirm(client, token, NEW_PASSWORD)).status_code == 400


async def test_a_too_short_new_password_is_422_and_keeps_the_token(
    client: httpx.AsyncClient, app: FastAPI, smtp: SMTPServer, customer: Account
) -> None:
    token = await mailed_token(client, app, smtp, customer.email)

    response = await confirm(client, token, "short")

    assert response.status_code == 422
    assert (await confirm(client, token, NEW_PASSWORD)).status_code == 204


async def test_a_422_never_echoes_the_token_or_the_password(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/password-reset/confirm",
        json={"token": "secret-token-value", "new_password": "short", "extra": 1},
    )

    assert response.status_code == 422
    assert "secret-token-value" not in response.text
    assert "short" not in response.text.replace("too_short", "").replace("too short", "")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/auth/password-reset", {"email": "carla@example.com", "is_admin": True}),
        ("/auth/password-reset/confirm", {"token": "t", "new_password": NEW_PASSWORD, "x": 1}),
    ],
    ids=["request", "confirm"],
)
async def test_reset_bodies_reject_unknown_fields(
    client: httpx.AsyncClient, path: str, body: dict[str, object]
) -> None:
    assert (await client.post(path, json=body)).status_code == 422


async def test_a_reset_request_with_a_malformed_email_is_422(client: httpx.AsyncClient) -> None:
    assert (await request_reset(client, "not an email")).status_code == 422


async def test_an_unreachable_mail_server_does_not_fail_the_request(
    client: httpx.AsyncClient, customer: Account, smtp: SMTPServer
) -> None:
    smtp.mailbox.refusals_left = 10

    response = await request_reset(client, customer.email)

    assert response.status_code == 202


async def test_the_reset_tokens_of_a_user_go_with_the_account(
    client: httpx.AsyncClient, app: FastAPI, smtp: SMTPServer, customer: Account, admin: Account
) -> None:
    await mailed_token(client, app, smtp, customer.email)

    await client.delete(f"/users/{customer.id}", headers=admin.headers)

    async with app.state.db.read_sessions() as session:
        left = (await session.scalars(select(col(PasswordResetToken.id)))).all()
    assert left == []
