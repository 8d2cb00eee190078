"""A real server for whole-flow tests: gunicorn over TLS with a throwaway certificate, on the test database.

Tests that use ``hub_server`` must be ``@pytest.mark.django_db(transaction=True)`` so the rows they create
are committed and visible to the server process (and flushed afterwards).
"""

import datetime
import ipaddress
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 90


@dataclass(frozen=True)
class HubServer:
    """A running server: its https base URL (with a trailing slash), CA bundle and storage directory."""

    url: str
    ca_bundle: Path
    media_root: Path


def tls_certificate(directory: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for localhost and 127.0.0.1 and its key; return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def server_database_url() -> str:
    """The URL of the database pytest-django created, for the server process."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    credentials = quote(settings["USER"], safe="") + (
        ":" + quote(settings["PASSWORD"], safe="") if settings["PASSWORD"] else ""
    )
    return f"mysql://{credentials}@{settings['HOST']}:{settings['PORT'] or 3306}/{settings['NAME']}"


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def hub_server(
    django_db_setup: None, django_db_blocker: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HubServer]:
    """Start gunicorn over TLS on the test database; point ``requests`` at its certificate."""
    directory = tmp_path_factory.mktemp("hub-server")
    cert_path, key_path = tls_certificate(directory)
    media_root = directory / "media"
    media_root.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": server_database_url(),
        "MEDIA_ROOT": str(media_root),
        "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
        # The SDK flows send many requests from 127.0.0.1; the rate-limit tests start servers of their own.
        "RATE_LIMIT_PER_KEY": "0",
        "RATE_LIMIT_PER_ADDRESS": "0",
    }
    env.pop("DB_ENGINE", None)
    log = (directory / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "project.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", "3", "--threads", "8", "--timeout", "120",
            "--certfile", str(cert_path), "--keyfile", str(key_path),
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"https://127.0.0.1:{port}/"
    previous_bundle = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = str(cert_path)
    try:
        # A busy machine can take a while to boot the workers; wait up to STARTUP_SECONDS.
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {(directory / 'gunicorn.log').read_text()}")
            try:
                requests.get(f"{url}healthz", timeout=10)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not answer in time") from None
                time.sleep(0.2)
        yield HubServer(url=url, ca_bundle=cert_path, media_root=media_root)
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
        if previous_bundle is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous_bundle
