"""A real SMTP server for the tests (aiosmtpd, on a free port of 127.0.0.1), keeping every
message it accepts. No mock of the mail client: the app talks SMTP to it as it would to
any mail server. It can also refuse the next few messages (`451`, a temporary failure), so
a test can watch the app try again.

It speaks plain SMTP, or, given a certificate, one of `SMTP_SECURITY`'s TLS modes:
`starttls` (mail only after STARTTLS: a client that skips it is refused) or `tls`
(implicit TLS from the first byte).
"""

import asyncio
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Literal

from aiosmtpd.controller import Controller

from tests.live_server import free_port
from tests.private_ca import SERVER_ADDRESS, ServerCertificate

# aiosmtpd logs every connection from its own thread, which outlives the test whose
# captured output the app's log handler writes to: its lines are the test server's, not
# the app's, and are kept out of the app's handlers.
logging.getLogger("mail.log").propagate = False

WAIT_SECONDS = 10.0
RESET_LINK = re.compile(r"https?://\S+\?token=[A-Za-z0-9_-]+")
Security = Literal["starttls", "tls", "none"]


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain",))
        assert body is not None
        content: str = body.get_content()  # type: ignore[attr-defined]
        return content

    def reset_link(self) -> str:
        [link] = RESET_LINK.findall(self.text)
        return link

    def reset_token(self) -> str:
        return self.reset_link().rpartition("?token=")[2]


@dataclass
class Mailbox:
    """What the server has accepted, and how many messages it is to refuse first."""

    received: list[ReceivedMail] = field(default_factory=list)
    refusals_left: int = 0
    attempts: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        with self._lock:
            self.attempts += 1
            if self.refusals_left:
                self.refusals_left -= 1
                return "451 4.3.0 Try again later"
            message = message_from_bytes(envelope.content, policy=policy.default)
            assert isinstance(message, EmailMessage)
            self.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[ReceivedMail]:
        with self._lock:
            return [mail for mail in self.received if address in mail.recipients]

    def wait_for(self, address: str, count: int = 1) -> list[ReceivedMail]:
        """The mails to `address` once there are `count` (from another process: polled)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while len(self.to(address)) < count:
            assert time.monotonic() < deadline, f"no mail to {address} within {WAIT_SECONDS} s"
            time.sleep(0.05)
        return self.to(address)

    async def wait_for_async(self, address: str, count: int = 1) -> list[ReceivedMail]:
        deadline = time.monotonic() + WAIT_SECONDS
        while len(self.to(address)) < count:
            assert time.monotonic() < deadline, f"no mail to {address} within {WAIT_SECONDS} s"
            await asyncio.sleep(0.02)
        return self.to(address)


@dataclass(frozen=True)
class SMTPServer:
    host: str
    port: int
    mailbox: Mailbox
    security: Security = "none"
    """The `SMTP_SECURITY` a client needs to talk to it."""


def _tls_options(security: Security, certificate: ServerCertificate | None) -> dict[str, Any]:
    """aiosmtpd's options for `security`."""
    if security == "none":
        return {}
    if certificate is None:
        raise ValueError(f"an SMTP server with {security!r} needs a certificate")
    if security == "tls":
        return {"ssl_context": certificate.server_context()}
    return {"tls_context": certificate.server_context(), "require_starttls": True}


@contextmanager
def smtp_server(
    security: Security = "none", certificate: ServerCertificate | None = None
) -> Iterator[SMTPServer]:
    """An SMTP server on a thread of its own (aiosmtpd's controller), until the block ends."""
    mailbox = Mailbox()
    controller = Controller(
        mailbox,
        hostname=SERVER_ADDRESS,
        port=free_port(),
        **_tls_options(security, certificate),
    )
    controller.start()
    try:
        yield SMTPServer(controller.hostname, controller.port, mailbox, security)
    finally:
        controller.stop()
