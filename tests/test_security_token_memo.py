"""decode_token remembers the tokens it verified: a remembered token still obeys every rule."""

from datetime import timedelta

import pytest

import app.security
from app.config import Settings
from app.security import InvalidTokenError, decode_token, encode_token
from app.timestamps import utcnow
from tests.conftest import TEST_SECRET_KEY


@pytest.fixture
def token_settings() -> Settings:
    return Settings(_env_file=None, secret_key=TEST_SECRET_KEY)  # type: ignore[call-arg]


def test_a_token_decoded_before_is_refused_once_it_expires(
    token_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, expires_at = encode_token(7, "access", timedelta(minutes=15), token_settings)
    decode_token(token, "access", token_settings)

    monkeypatch.setattr(app.security, "utcnow", lambda: expires_at + timedelta(seconds=1))

    with pytest.raises(InvalidTokenError, match="Token has expired"):
        decode_token(token, "access", token_settings)


def test_a_token_decoded_before_is_still_good_until_it_expires(
    token_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, expires_at = encode_token(7, "access", timedelta(minutes=15), token_settings)
    decode_token(token, "access", token_settings)

    monkeypatch.setattr(app.security, "utcnow", lambda: expires_at - timedelta(seconds=1))

    assert decode_token(token, "access", token_settings)["sub"] == "7"


def test_a_token_decoded_before_is_refused_under_another_key(token_settings: Settings) -> None:
    token, _ = encode_token(7, "access", timedelta(minutes=15), token_settings)
    decode_token(token, "access", token_settings)
    other = token_settings.model_copy(update={"secret_key": "y" * 48})

    with pytest.raises(InvalidTokenError, match="Could not validate token"):
        decode_token(token, "access", other)


def test_a_token_decoded_before_is_refused_as_the_other_type(token_settings: Settings) -> None:
    token, _ = encode_token(7, "refresh", timedelta(days=7), token_settings)
    decode_token(token, "refresh", token_settings)

    with pytest.raises(InvalidTokenError, match="Expected an access token"):
        decode_token(token, "access", token_settings)


def test_changing_the_returned_claims_does_not_change_the_next_decode(
    token_settings: Settings,
) -> None:
    token, _ = encode_token(7, "access", timedelta(minutes=15), token_settings)
    claims = decode_token(token, "access", token_settings)
    claims["sub"] = "8"
    claims["exp"] = int((utcnow() - timedelta(days=1)).timestamp())

    again = decode_token(token, "access", token_settings)

    assert again["sub"] == "7"
    assert again["exp"] > utcnow().timestamp()
