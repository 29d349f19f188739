"""Mail: messages composed as `EmailMessage`, delivered over SMTP off the request's path.

A route commits first, then hands its messages to the app's `Mailer`, which delivers each
in an asyncio task of its own: the response never waits for the mail server and never
fails because of it. A delivery that fails is tried again (`SEND_ATTEMPTS` in about a
minute), then given up with an error in the log that names the recipient's domain only.
With no `SMTP_HOST` (the default, so `make run` needs no mail server) each message is
written whole to the log instead, where a developer copies the link from.
"""

import asyncio
import logging
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

import aiosmtplib

from app.config import Settings

logger = logging.getLogger("app.mail")

SEND_ATTEMPTS = 3
# Waits between attempts: with the timeout of each, three attempts take about a minute.
RETRY_DELAYS_SECONDS = (10.0, 30.0)
SMTP_TIMEOUT_SECONDS = 10.0
# At shutdown, deliveries in flight get this long to finish before they are cancelled.
SHUTDOWN_GRACE_SECONDS = 10.0
DELIVERY_ERRORS = (aiosmtplib.SMTPException, OSError, TimeoutError)


def compose(settings: Settings, to: str, subject: str, text: str) -> EmailMessage:
    """A text/plain message from `MAIL_FROM` to `to`.

    An ASCII body is sent as it is (7bit), never quoted-printable, whose soft line breaks
    would cut a long link in two for whoever reads the raw message or the log.
    """
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=domain_of(settings.mail_from) or None)
    message.set_content(text, cte="7bit" if text.isascii() else "8bit")
    return message


def domain_of(address: str) -> str:
    """The domain of an address (`Name <user@example.com>` or `user@example.com`)."""
    return parseaddr(address)[1].rpartition("@")[2]


def _describe(error: BaseException) -> str:
    """A failure in words that hold no address and nothing of the message."""
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return f"{type(error).__name__} (SMTP {error.code})"
    return type(error).__name__


class Mailer:
    """Delivers messages in background tasks that the app owns: `close` at shutdown waits
    for the ones in flight (up to a grace period), then cancels the rest."""

    def __init__(
        self,
        settings: Settings,
        retry_delays: Sequence[float] = RETRY_DELAYS_SECONDS,
        timeout: float = SMTP_TIMEOUT_SECONDS,
    ) -> None:
        assert len(retry_delays) == SEND_ATTEMPTS - 1
        self._settings = settings
        self._retry_delays = tuple(retry_delays)
        self._timeout = timeout
        self._deliveries: set[asyncio.Task[None]] = set()

    def send_later(self, *messages: EmailMessage) -> None:
        """Start delivering `messages` and return at once (call it after the commit)."""
        for message in messages:
            delivery = asyncio.get_running_loop().create_task(self._deliver(message))
            self._deliveries.add(delivery)
            delivery.add_done_callback(self._deliveries.discard)

    async def drain(self) -> None:
        """Wait until every delivery started so far has succeeded or given up."""
        while self._deliveries:
            await asyncio.gather(*self._deliveries, return_exceptions=True)

    async def close(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Let deliveries in flight finish for up to `grace` seconds, then cancel them."""
        if not self._deliveries:
            return
        _done, pending = await asyncio.wait(set(self._deliveries), timeout=grace)
        for delivery in pending:
            delivery.cancel()
        if pending:
            logger.warning("shutting down: %d mail deliveries cancelled", len(pending))
            await asyncio.gather(*pending, return_exceptions=True)

    async def _deliver(self, message: EmailMessage) -> None:
        if not self._settings.smtp_host:
            logger.info(
                "mail not sent (SMTP_HOST is empty); the whole message follows:\n%s",
                message.as_string(),
            )
            return
        domain = domain_of(str(message["To"]))
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                await self._send(message)
            except DELIVERY_ERRORS as error:
                failure = _describe(error)
            else:
                logger.info("mail delivered to a recipient at %s", domain)
                return
            if attempt < SEND_ATTEMPTS:
                logger.warning(
                    "mail to a recipient at %s failed (attempt %d of %d, %s); trying again",
                    domain,
                    attempt,
                    SEND_ATTEMPTS,
                    failure,
                )
                await asyncio.sleep(self._retry_delays[attempt - 1])
        logger.error(
            "mail to a recipient at %s not delivered after %d attempts (%s)",
            domain,
            SEND_ATTEMPTS,
            failure,
        )

    async def _send(self, message: EmailMessage) -> None:
        settings = self._settings
        # aiosmtplib logs in when it is given a username: only when one is set.
        username = settings.smtp_username or None
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            timeout=self._timeout,
            username=username,
            password=settings.smtp_password if username else None,
        )
