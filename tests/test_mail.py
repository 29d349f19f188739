"""Mail delivery: over SMTP to a real server, tried again when it fails, never blocking the
request; with no SMTP host, written to the log whole."""

import asyncio
import logging
from email.message import EmailMessage

import pytest

from app.config import Settings
from app.mail import SEND_ATTEMPTS, Mailer, compose
from tests.conftest import sending_to
from tests.live_server import free_port
from tests.mail_server import SMTPServer

QUICK_RETRIES = (0.01, 0.01)
LINK = "http://127.0.0.1:8000/reset-password?token=Xq3u9mF1c2Vh8T0aLr5pW7yN4eK6dJ2bQ1sZ8vH3gA0"


def a_message(settings: Settings, to: str = "carla@example.com") -> EmailMessage:
    return compose(settings, to, "Reset your password", f"Open this link:\n\n{LINK}\n")


def app_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the app logged (the test's SMTP server logs too)."""
    return [record for record in caplog.records if record.name.startswith("app")]


async def test_a_message_is_delivered_over_smtp(settings: Settings, smtp: SMTPServer) -> None:
    mailer = Mailer(sending_to(settings, smtp), retry_delays=QUICK_RETRIES)

    mailer.send_later(compose(settings, "carla@example.com", "Hello", "A line of text.\n"))
    await mailer.drain()

    [mail] = smtp.mailbox.to("carla@example.com")
    assert mail.message["Subject"] == "Hello"
    assert mail.message["From"] == settings.mail_from
    assert mail.message["Message-ID"]
    assert mail.message["Date"]
    assert mail.message.get_content_type() == "text/plain"
    assert mail.text.splitlines() == ["A line of text."]
    assert mail.sender == "no-reply@localhost"


async def test_a_long_link_is_sent_on_one_line(settings: Settings, smtp: SMTPServer) -> None:
    mailer = Mailer(sending_to(settings, smtp), retry_delays=QUICK_RETRIES)

    mailer.send_later(a_message(settings))
    await mailer.drain()

    [mail] = smtp.mailbox.to("carla@example.com")
    assert LINK in mail.message.as_string()
    assert mail.reset_link() == LINK


async def test_a_refused_message_is_sent_again_until_the_server_accepts_it(
    settings: Settings, smtp: SMTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    smtp.mailbox.refusals_left = SEND_ATTEMPTS - 1
    mailer = Mailer(sending_to(settings, smtp), retry_delays=QUICK_RETRIES)

    with caplog.at_level(logging.INFO, logger="app.mail"):
        mailer.send_later(a_message(settings))
        await mailer.drain()

    assert smtp.mailbox.attempts == SEND_ATTEMPTS
    assert len(smtp.mailbox.to("carla@example.com")) == 1
    retries = [r for r in app_records(caplog) if r.levelno == logging.WARNING]
    assert len(retries) == SEND_ATTEMPTS - 1
    assert all("example.com" in r.getMessage() for r in retries)


async def test_a_message_given_up_is_logged_by_domain_without_the_token(
    settings: Settings, smtp: SMTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    smtp.mailbox.refusals_left = SEND_ATTEMPTS
    mailer = Mailer(sending_to(settings, smtp), retry_delays=QUICK_RETRIES)

    with caplog.at_level(logging.INFO, logger="app.mail"):
        mailer.send_later(a_message(settings))
        await mailer.drain()

    assert smtp.mailbox.received == []
    [error] = [r for r in app_records(caplog) if r.levelno == logging.ERROR]
    assert "example.com" in error.getMessage()
    assert f"{SEND_ATTEMPTS} attempts" in error.getMessage()
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("app"))
    assert "carla@" not in logged
    assert "token=" not in logged


async def test_an_unreachable_server_is_retried_then_given_up(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    closed_port = free_port()  # free: nothing listens there
    unreachable = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": closed_port, "smtp_security": "none"}
    )
    mailer = Mailer(unreachable, retry_delays=QUICK_RETRIES, timeout=2)

    with caplog.at_level(logging.INFO, logger="app.mail"):
        mailer.send_later(a_message(settings))
        await mailer.drain()

    levels = [r.levelno for r in app_records(caplog)]
    assert levels.count(logging.WARNING) == SEND_ATTEMPTS - 1
    assert levels.count(logging.ERROR) == 1


async def test_without_an_smtp_host_the_whole_message_is_logged(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    assert settings.smtp_host == ""
    mailer = Mailer(settings)

    with caplog.at_level(logging.INFO, logger="app.mail"):
        mailer.send_later(a_message(settings))
        await mailer.drain()

    [record] = app_records(caplog)
    assert record.levelno == logging.INFO
    assert LINK in record.getMessage()
    assert "To: carla@example.com" in record.getMessage()
    assert "Subject: Reset your password" in record.getMessage()


async def test_send_later_returns_before_the_server_answers(
    settings: Settings, smtp: SMTPServer
) -> None:
    mailer = Mailer(sending_to(settings, smtp), retry_delays=QUICK_RETRIES)

    mailer.send_later(a_message(settings))

    assert smtp.mailbox.received == []
    await mailer.drain()
    assert len(smtp.mailbox.received) == 1


async def test_closing_cancels_deliveries_still_waiting_after_the_grace_period(
    settings: Settings, smtp: SMTPServer
) -> None:
    smtp.mailbox.refusals_left = SEND_ATTEMPTS
    mailer = Mailer(sending_to(settings, smtp), retry_delays=(60.0, 60.0))
    mailer.send_later(a_message(settings))
    await asyncio.sleep(0.5)  # the first attempt is refused; the retry waits a minute

    await asyncio.wait_for(mailer.close(grace=0.1), timeout=5)

    assert smtp.mailbox.received == []
