"""Real storage servers for the storage tests, started once per session on loopback.

- S3 and OSS: moto's ``ThreadedMotoServer`` (``pip install -r requirements/test.txt``).
- Azure: Azurite from ``.ci/node_modules`` (``npm ci --prefix .ci``).
- OSS listing: moto answers ListObjects in S3's dialect of the XML (S3 namespace, no OSS ``<Type>`` per
  object), which ``oss2`` refuses to parse. So OSS runs through ``oss_endpoint``, a loopback proxy to the
  same moto server that forwards every request (with the slashes of the OSS signature replaced: moto does
  not check OSS signatures and misreads one with four slashes as an AWS credential scope) and, in XML
  answers only, drops the S3 namespace and adds ``<Type>Normal</Type>`` to each object. Listing, prefixes
  and paging (marker, max-keys, truncation, NextMarker) are still computed by moto; only the XML spelling
  is translated.

A server that cannot start makes its tests skip with the reason; CI treats skips as failures.
"""

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from django.conf import LazySettings

from datasets.models import User, Workspace
from storage_configs.backends import StorageBackend, backend_for
from storage_configs.models import StorageConfig
from storage_configs.services import storage_config_create

REPOSITORY = Path(__file__).resolve().parents[2]
AZURITE = REPOSITORY / ".ci" / "node_modules" / ".bin" / "azurite-blob"
# Azurite's fixed development account (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
S3_SECRET = "s3-secret-never-shown-7f3a"
OSS_SECRET = "oss-secret-never-shown-91bd"
KINDS = ["s3", "azure", "oss", "local"]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, seconds: float = 60) -> bool:
    """Whether something accepts connections on the port within ``seconds`` (a loaded machine starts a Node or
    Python server slowly)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """An S3 server (moto) on loopback."""
    server_module = pytest.importorskip(
        "moto.server", reason="moto[server] is not installed: pip install -r requirements/test.txt"
    )
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class NamespaceStrippingProxy(BaseHTTPRequestHandler):
    """Forward a request to moto verbatim; drop the S3 namespace from XML answers so ``oss2`` parses them."""

    upstream = ""
    protocol_version = "HTTP/1.1"

    def upstream_url(self) -> str:
        """Where on moto this request goes: the same path (OSS path-style, as on a loopback endpoint)."""
        return self.upstream + self.path

    def forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        # moto does not check OSS signatures, but reads one whose base64 holds four slashes as an AWS credential
        # scope naming another service; with the slashes replaced it routes every request to S3.
        headers = {
            name: value.replace("/", "_") if name.lower() == "authorization" and value.startswith("OSS ") else value
            for name, value in self.headers.items()
            if name.lower() != "host"
        }
        answer = requests.request(
            self.command, self.upstream_url(), data=body, headers=headers, allow_redirects=False, timeout=30
        )
        content = answer.content
        if answer.headers.get("Content-Type", "").endswith("xml"):
            content = content.replace(b' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"', b"")
            content = content.replace(b"</Contents>", b"<Type>Normal</Type></Contents>")
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                self.send_header(name, value)
        if self.command == "HEAD":
            self.send_header("Content-Length", answer.headers.get("Content-Length", "0"))
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    # http.server dispatches on these names.
    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = forward  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="session")
def oss_endpoint(moto_endpoint: str) -> Iterator[str]:
    """The moto server seen through the namespace-stripping proxy (see the module docstring)."""
    handler = type("Proxy", (NamespaceStrippingProxy,), {"upstream": moto_endpoint})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class VirtualHostedProxy(NamespaceStrippingProxy):
    """The same forwarding for OSS's virtual-hosted requests (``<bucket>.oss-<region>.aliyuncs.com``)."""

    def upstream_url(self) -> str:
        return f"{self.upstream}/{self.headers['Host'].split('.', 1)[0]}{self.path}"


class TlsInterceptingProxy(BaseHTTPRequestHandler):
    """An HTTPS proxy that answers CONNECT itself: it terminates TLS with ``context`` and hands the requests
    inside to ``inner``, so a client configured with a public endpoint (and ``HTTPS_PROXY`` plus a CA bundle
    trusting the certificate) talks to the moto server without knowing it."""

    context: ssl.SSLContext
    inner: type[BaseHTTPRequestHandler]

    def do_CONNECT(self) -> None:
        self.send_response(200, "Connection established")
        self.end_headers()
        with self.context.wrap_socket(self.connection, server_side=True) as tls:
            self.inner(tls, self.client_address, self.server)  # type: ignore[arg-type]
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        return


@dataclass(frozen=True)
class PublicOssEndpoint:
    """Alibaba OSS's public endpoint for ``region``, answered by moto through ``proxy`` (see ``oss_public``)."""

    region: str
    proxy: str
    ca_bundle: Path

    def client_environment(self) -> dict[str, str]:
        """What a process needs to reach moto through the public endpoint: the proxy and the CA bundle."""
        proxies = {name: self.proxy for name in ("HTTPS_PROXY", "https_proxy")}
        return {**proxies, "NO_PROXY": "", "no_proxy": "", "REQUESTS_CA_BUNDLE": str(self.ca_bundle)}


@pytest.fixture(scope="session")
def oss_public(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PublicOssEndpoint]:
    """``https://oss-cn-hangzhou.aliyuncs.com`` served by moto: a CONNECT proxy with a throwaway certificate."""
    from tests.acceptance.conftest import tls_certificate

    region = "cn-hangzhou"
    host = f"oss-{region}.aliyuncs.com"
    cert_path, key_path = tls_certificate(tmp_path_factory.mktemp("oss-public"), hosts=(host, f"*.{host}"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    inner = type("Inner", (VirtualHostedProxy,), {"upstream": moto_endpoint})
    handler = type("Connect", (TlsInterceptingProxy,), {"context": context, "inner": inner})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield PublicOssEndpoint(region=region, proxy=f"http://127.0.0.1:{server.server_address[1]}", ca_bundle=cert_path)
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def azurite_endpoint() -> Iterator[str]:
    """Azurite's blob service on loopback, in memory."""
    if not AZURITE.exists() or shutil.which("node") is None:
        pytest.skip(f"Azurite is not installed at {AZURITE}: run `npm ci --prefix .ci` (needs Node.js 18+)")
    port = free_port()
    process = subprocess.Popen(
        [
            str(AZURITE),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--loose",
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # Node takes a while to start on a busy machine (15 s seen with two cores shared by several suites).
    if not wait_for_port(port, process):
        process.kill()
        stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
        pytest.skip(f"Azurite did not start on 127.0.0.1:{port}: {stderr.strip()[:300]}")
    yield f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    # In-memory only, so nothing is lost; Azurite waits for idle keep-alive connections on a polite stop.
    process.kill()
    process.wait()


@pytest.fixture
def workspace() -> Workspace:
    """A team workspace owned by one user; the test chooses the kind of database access."""
    owner = User.objects.create(username="storage-owner")
    return Workspace.objects.create(name="storage-team", owner=owner)


@pytest.fixture(autouse=True)
def storage_settings(settings: LazySettings, tmp_path: Path) -> LazySettings:
    """Filesystem storage (and static files) under a temporary directory, never in the checkout."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGE_LOCAL_ROOT = tmp_path / "local"
    settings.STORAGE_PUBLIC_URL = "http://testserver"
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()
    return settings


_counter = iter(range(1_000_000))


def unique(name: str) -> str:
    """A bucket or container name no other test uses (they share one server per session)."""
    return f"{name}-{next(_counter)}-{int(time.time() * 1000) % 1_000_000}"


def make_config(kind: str, request: pytest.FixtureRequest, workspace: Workspace) -> StorageConfig:
    """Create a config of this kind on its real server, with a fresh bucket or container."""
    if kind == "s3":
        import boto3

        endpoint = request.getfixturevalue("moto_endpoint")
        bucket = unique("hub-s3")
        client = boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id="AKIATEST", aws_secret_access_key=S3_SECRET
        )
        client.create_bucket(Bucket=bucket)
        return storage_config_create(
            workspace=workspace,
            name="s3-config",
            kind="s3",
            file_path="datasets",
            endpoint=endpoint,
            bucket=bucket,
            access_key_id="AKIATEST",
            secret=S3_SECRET,
        )
    if kind == "oss":
        import boto3

        moto = request.getfixturevalue("moto_endpoint")
        endpoint = request.getfixturevalue("oss_endpoint")
        bucket = unique("hub-oss")
        boto3.client(
            "s3", endpoint_url=moto, aws_access_key_id="LTAITEST", aws_secret_access_key=OSS_SECRET
        ).create_bucket(Bucket=bucket)
        return storage_config_create(
            workspace=workspace,
            name="oss-config",
            kind="oss",
            file_path="datasets",
            endpoint=endpoint,
            bucket=bucket,
            access_key_id="LTAITEST",
            secret=OSS_SECRET,
        )
    if kind == "azure":
        from azure.storage.blob import BlobServiceClient

        endpoint = request.getfixturevalue("azurite_endpoint")
        container = unique("hub-azure")
        BlobServiceClient(
            endpoint, credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
        ).create_container(container)
        return storage_config_create(
            workspace=workspace,
            name="azure-config",
            kind="azure",
            file_path="datasets",
            endpoint=endpoint,
            bucket=container,
            account_type="Global",
            access_key_id=AZURITE_ACCOUNT,
            secret=AZURITE_KEY,
        )
    return storage_config_create(
        workspace=workspace, name="local-config", kind="local", file_path="datasets", endpoint="127.0.0.1"
    )


@pytest.fixture(params=KINDS)
def storage_config(request: pytest.FixtureRequest, storage_settings: LazySettings) -> StorageConfig:
    """A config of each kind; local ones run with a live server so their signed URLs answer real HTTP.

    Tests using it need ``django_db(transaction=True)``: the live server reads the rows from its own thread.
    """
    if request.param == "local":
        storage_settings.STORAGE_PUBLIC_URL = request.getfixturevalue("live_server").url
    workspace = request.getfixturevalue("workspace")
    return make_config(request.param, request, workspace)


@pytest.fixture
def make_storage_config(request: pytest.FixtureRequest, workspace: Workspace) -> Callable[[str], StorageConfig]:
    """Create a config of the given kind on its real server."""
    return lambda kind: make_config(kind, request, workspace)


@pytest.fixture
def backend(storage_config: StorageConfig) -> StorageBackend:
    """The backend of each kind, built by the factory from its config."""
    return backend_for(storage_config)
