"""A real server for whole-flow tests: gunicorn over TLS with a throwaway certificate, on the test database.

Tests that use ``hub_server`` must be ``@pytest.mark.django_db(transaction=True)`` so the rows they create
are committed and visible to the server process (and flushed afterwards).

The graviti SDK's portex types come from a git repository the tests build (``portex_package``); git is
pointed at it here, before any test module imports ``graviti``.
"""

import atexit
import datetime
import importlib
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.apps import apps
from django.db import connection

from datasets.models import User
from tests.acceptance import portex_package

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 90
CURATOR_PASSWORD = "curator-password-8d1f"

assert "graviti" not in sys.modules, "graviti reads the git redirect of its portex types when first imported"
PORTEX_DIRECTORY = Path(tempfile.mkdtemp(prefix="hub-portex-"))
atexit.register(shutil.rmtree, PORTEX_DIRECTORY, ignore_errors=True)
os.environ.update(portex_package.redirect_environment(PORTEX_DIRECTORY / "repository"))


@dataclass(frozen=True)
class HubServer:
    """A running server: its base URL (with a trailing slash), CA bundle (``None`` over plain HTTP), storage
    directory and the file its output goes to."""

    url: str
    ca_bundle: Path | None
    media_root: Path
    log_path: Path

    def log(self) -> str:
        """Everything the server has written so far."""
        return self.log_path.read_text(errors="replace")


def tls_certificate(directory: Path, hosts: tuple[str, ...] = ("localhost",)) -> tuple[Path, Path]:
    """Write a self-signed certificate for these host names and 127.0.0.1 and its key; return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
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
            x509.SubjectAlternativeName([*map(x509.DNSName, hosts), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
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


@contextmanager
def running_hub(
    directory: Path,
    *,
    tls: bool = True,
    workers: int = 3,
    threads: int = 8,
    env: Mapping[str, str] | None = None,
) -> Iterator[HubServer]:
    """Run gunicorn on the test database (unless ``env`` names another) until the block ends.

    ``env`` is added to the environment after the defaults, so it can point the server at another database
    (``DATABASE_URL``), a cache (``REDIS_URL``) or storage, or turn settings off.
    """
    directory.mkdir(parents=True, exist_ok=True)
    media_root = directory / "media"
    media_root.mkdir(exist_ok=True)
    port = free_port()
    server_env = {
        **os.environ,
        "DATABASE_URL": server_database_url(),
        "MEDIA_ROOT": str(media_root),
        "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
        # The SDK flows send many requests from 127.0.0.1; the rate-limit tests start servers of their own.
        "RATE_LIMIT_PER_KEY": "0",
        "RATE_LIMIT_PER_ADDRESS": "0",
    }
    server_env.pop("DB_ENGINE", None)
    server_env.update(env or {})
    command = [
        sys.executable, "-m", "gunicorn", "project.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads), "--timeout", "120",
    ]  # fmt: skip
    cert_path: Path | None = None
    if tls:
        cert_path, key_path = tls_certificate(directory)
        command += ["--certfile", str(cert_path), "--keyfile", str(key_path)]
    log_path = directory / "gunicorn.log"
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/"
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=server_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            # A busy machine can take a while to boot the workers; wait up to STARTUP_SECONDS. Any answer will
            # do: a test may start the server with a part of the service away.
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"gunicorn exited: {log_path.read_text()}")
                try:
                    requests.get(f"{url}healthz", timeout=10, verify=str(cert_path) if cert_path else True)
                    break
                except requests.RequestException:
                    if time.monotonic() > deadline:
                        raise RuntimeError("gunicorn did not answer in time") from None
                    time.sleep(0.2)
            yield HubServer(url=url, ca_bundle=cert_path, media_root=media_root, log_path=log_path)
        finally:
            server.terminate()
            server.wait(timeout=20)


@pytest.fixture(scope="session")
def hub_server(
    django_db_setup: None, django_db_blocker: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HubServer]:
    """Start gunicorn over TLS on the test database; point ``requests`` at its certificate."""
    with running_hub(tmp_path_factory.mktemp("hub-server")) as server:
        previous_bundle = os.environ.get("REQUESTS_CA_BUNDLE")
        os.environ["REQUESTS_CA_BUNDLE"] = str(server.ca_bundle)
        try:
            yield server
        finally:
            if previous_bundle is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = previous_bundle


@pytest.fixture
def start_hub(django_db_setup: None, tmp_path: Path) -> Iterator[Callable[..., HubServer]]:
    """Start servers of the test's own (see ``running_hub`` for the arguments); all stop when the test ends."""
    with ExitStack() as stack:
        started = iter(range(1_000))

        def start(**options: Any) -> HubServer:
            return stack.enter_context(running_hub(tmp_path / f"hub-{next(started)}", **options))

        yield start


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Keep each phase's report on the test, so the browser fixture can tell a failed test at teardown."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def browser(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Headless Chromium (tests/acceptance/browser.py); a failing test leaves a screenshot of its last page."""
    pytest.importorskip("selenium.webdriver", reason="selenium is not installed: see requirements/test.txt")
    from tests.acceptance.browser import save_screenshot, start_chromium

    # Never let selenium-manager look for (or fetch) a browser or driver.
    monkeypatch.setenv("SE_OFFLINE", "true")
    driver = start_chromium(tmp_path / "chromium-profile")
    try:
        yield driver
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            try:
                path = save_screenshot(driver, request.node.name)
                print(f"screenshot of the page at failure ({driver.current_url}): {path}")
            except Exception as error:  # the browser itself may be what failed
                print(f"no screenshot: {error!r}")
        driver.quit()


@pytest.fixture
def curator(transactional_db: None) -> User:
    """A staff user in the curator group.

    Transactional tests flush the database afterwards, data migrations' rows included, so the group is
    made again by the very function of the migration that creates it.
    """
    importlib.import_module("datasets.migrations.0007_curator_group").create_curator_group(apps, None)
    curator = User.objects.create_user(username="carol", password=CURATOR_PASSWORD, is_staff=True)
    curator.groups.add(apps.get_model("auth", "Group").objects.get(name="curator"))
    return curator


def answers_ping(port: int) -> bool:
    """Whether a Redis server on the loopback port answers PING."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
            probe.sendall(b"PING\r\n")
            return probe.recv(16) == b"+PONG\r\n"
    except OSError:
        return False


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """A redis-server of the test's own: its URL and a function that stops (``False``) or starts it (``True``)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    running: list[subprocess.Popen] = []

    def switch(on: bool) -> None:
        if on:
            process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            running.append(process)
            deadline = time.monotonic() + 20
            while not answers_ping(port):
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)
        else:
            process = running.pop()
            process.terminate()
            process.wait(timeout=20)

    switch(True)
    yield f"redis://127.0.0.1:{port}/0", switch
    while running:
        switch(False)


@pytest.fixture(scope="session")
def portex_repository() -> Path:
    """The tests' own portex type package, as a local git repository."""
    return portex_package.build_repository(PORTEX_DIRECTORY / "repository")


@pytest.fixture
def portex_standard(portex_repository: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The standard package built by the graviti SDK from the tests' repository.

    The SDK caches checkouts under ``$TMPDIR/portex`` and reuses any clean one, so the cache is this run's own.
    """
    import graviti.portex as pt

    cache = PORTEX_DIRECTORY / "cache"
    cache.mkdir(exist_ok=True)
    monkeypatch.setattr(tempfile, "tempdir", str(cache))
    return pt.build_package(pt.STANDARD_URL, "main")
