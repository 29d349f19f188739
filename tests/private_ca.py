"""A private certificate authority and a server certificate it signed for 127.0.0.1, made
by the `openssl` command line tool (the system's OpenSSL, no Python package needed).

A client trusts the server once the CA's certificate is in its trust store: for Python's
default SSL context (aiosmtplib's), the standard `SSL_CERT_FILE` environment variable
names that store, as a deployment behind a private CA sets it.
"""

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

SERVER_ADDRESS = "127.0.0.1"
DAYS_VALID = "2"
NEW_EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
SERVER_EXTENSIONS = f"""\
subjectAltName = IP:{SERVER_ADDRESS}
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


@dataclass(frozen=True)
class ServerCertificate:
    ca_file: Path
    """The CA's certificate: what a client trusts."""
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """What a TLS server presents: this certificate and its key."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _openssl(directory: Path, *args: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the TLS tests need the openssl command line tool (openssl package)")
    subprocess.run(  # noqa: S603 - the system's openssl, fixed arguments
        [openssl, *args], cwd=directory, check=True, capture_output=True, timeout=60
    )


def make_server_certificate(directory: Path) -> ServerCertificate:
    """A new CA, and a certificate for `SERVER_ADDRESS` that it signed, in `directory`."""
    _openssl(
        directory,
        *("req", "-x509", "-new", *NEW_EC_KEY, "-keyout", "ca.key", "-out", "ca.pem"),
        *("-days", DAYS_VALID, "-subj", "/CN=Orders API test CA"),
        *("-addext", "basicConstraints=critical,CA:TRUE"),
        *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
    )
    _openssl(
        directory,
        *("req", "-new", *NEW_EC_KEY, "-keyout", "server.key", "-out", "server.csr"),
        *("-subj", f"/CN={SERVER_ADDRESS}"),
    )
    (directory / "server.ext").write_text(SERVER_EXTENSIONS)
    _openssl(
        directory,
        *("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key"),
        *("-set_serial", "1", "-days", DAYS_VALID, "-extfile", "server.ext"),
        *("-out", "server.pem"),
    )
    return ServerCertificate(
        directory / "ca.pem", directory / "server.pem", directory / "server.key"
    )
