"""An object store that hangs up in the middle of an object's bytes: on every backend the read fails as the
storage being unavailable (the dialects' 503), never as an unexpected error (500)."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from project.api.errors import ErrorRecord, normalise
from storage_configs.backends import StorageBackend, backend_for
from storage_configs.models import StorageConfig
from tests.storage_configs.conftest import AZURITE_ACCOUNT, AZURITE_KEY

PROMISED = 100_000
SENT = 1_000


class CutShort(BaseHTTPRequestHandler):
    """Answer every request 200 with a body of ``PROMISED`` bytes, and hang up after ``SENT`` of them."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        for name, value in {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(PROMISED),
            "Content-Range": f"bytes 0-{PROMISED - 1}/{PROMISED}",
            "ETag": '"cut-short"',
            "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT",
            "x-ms-blob-type": "BlockBlob",
        }.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(b"x" * SENT)
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def cut_short_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), CutShort)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def config_at(kind: str, endpoint: str) -> StorageConfig:
    """A config of the kind whose service is the endpoint (never saved)."""
    config = StorageConfig(name=kind, kind=kind, endpoint=endpoint, bucket="bucket", access_key_id="AKIACUT")
    secret = "cut-secret-never-shown"
    if kind == StorageConfig.Kind.AZURE:
        config.access_key_id, config.account_type, secret = AZURITE_ACCOUNT, "Global", AZURITE_KEY
    config.set_secret(secret)
    return config


def read_error(backend: StorageBackend) -> Exception:
    """What reading a whole object raises."""
    try:
        b"".join(backend.iter_chunks("objects/a.bin"))
    except Exception as error:
        return error
    raise AssertionError("an object cut short was read without an error")


@pytest.mark.parametrize("kind", ["s3", "oss", "azure"])
def test_an_object_cut_short_is_unavailable_storage(cut_short_endpoint: str, kind: str) -> None:
    error = read_error(backend_for(config_at(kind, cut_short_endpoint)))
    assert normalise(error) == ErrorRecord(
        kind="unavailable", message="storage unavailable", context={"part": "storage"}
    )
