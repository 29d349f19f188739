"""Mail over TLS, each of `SMTP_SECURITY`'s TLS modes (`starttls`, `tls`), to a real SMTP
server whose certificate a private CA signed: trusted the standard way, the CA named by
`SSL_CERT_FILE`, and refused when it is not trusted."""

import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.mail import SEND_ATTEMPTS, Mailer, compose
from tests.conftest import Account, delivered, sending_to
from tests.mail_server import SMTPServer, smtp_server
from tests.private_ca import ServerCertificate, make_server_certificate

TLS_MODES = ("starttls", "tls")


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> ServerCertificate:
    return make_server_certificate(tmp_path_factory.mktemp("private-ca"))


@pytest.fixture(params=TLS_MODES)
def tls_smtp(
    request: pytest.FixtureRequest, certificate: ServerCertificate
) -> Iterator[SMTPServer]:
    with smtp_server(request.param, certificate) as server:
        yield server


@pytest.fixture
def settings(settings: Settings, tls_smtp: SMTPServer) -> Settings:
    return sending_to(settings, tls_smtp)


@pytest.fixture
def trusted_private_ca(monkeypatch: pytest.MonkeyPatch, certificate: ServerCertificate) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.ca_file))


@pytest.mark.usefixtures("trusted_private_ca")
async def test_a_reset_mail_is_delivered_over_tls(
    client: httpx.AsyncClient,
    app: FastAPI,
    tls_smtp: SMTPServer,
    customer: Account,
    settings: Settings,
) -> None:
    response = await client.post("/auth/password-reset", json={"email": customer.email})

    assert response.status_code == 202
    [mail] = (await delivered(app, tls_smtp)).to(customer.email)
    assert mail.reset_link().startswith(f"{settings.password_reset_url}?token=")


async def test_a_server_whose_certificate_is_not_trusted_gets_no_mail(
    settings: Settings,
    tls_smtp: SMTPServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)  # the system's CAs only
    mailer = Mailer(settings, retry_delays=(0.01, 0.01))

    with caplog.at_level(logging.INFO, logger="app.mail"):
        mailer.send_later(compose(settings, "carla@example.com", "Hello", "A line of text.\n"))
        await mailer.drain()

    assert tls_smtp.mailbox.received == []
    [given_up] = [r for r in caplog.records if r.name == "app.mail" and r.levelno == logging.ERROR]
    assert f"after {SEND_ATTEMPTS} attempts" in given_up.getMessage()
