"""A live server losing its database, cache or storage: the dialect's error (or a degraded answer where the
part is optional), never a 500; and after recovery the data is exactly as before the failed request.

Each service is reached through something the test can cut: the database and the storage through a
``TcpProxy``, the cache is a private ``redis-server`` the test stops and starts again.
"""

import hashlib
import io
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import boto3
import pytest
import requests
from django.db import connection

from datasets import selectors as catalog
from datasets import services
from datasets.models import Dataset, User, Workspace
from storage_configs.backends import backend_for
from storage_configs.models import StorageConfig
from storage_configs.services import storage_config_create
from tests.acceptance.conftest import HubServer, free_port, running_hub, server_database_url
from tests.acceptance.tcp_proxy import TcpProxy
from versioning import selectors as versioning_selectors
from versioning import services as versioning_services
from versioning.models import Commit, Draft, StagedEntry
from versioning.trees import Entry

pytestmark = pytest.mark.django_db(transaction=True)

UNLIMITED = {"RATE_LIMIT_PER_KEY": "0", "RATE_LIMIT_PER_ADDRESS": "0"}
# What a MySQL client sends to commit a transaction: a COM_QUERY packet (length 7, sequence 0, command 3).
MYSQL_COMMIT = b"\x07\x00\x00\x00\x03COMMIT"
S3_SECRET = "fault-s3-secret-never-shown"


@pytest.fixture
def owner(db: None) -> tuple[User, Workspace, str]:
    """A user, their workspace and an access key in it."""
    user = User.objects.create(username="faulty")
    workspace = services.personal_workspace(user=user)
    return user, workspace, services.access_key_create(user=user, workspace=workspace)[1]


def signed_query(user: User, workspace: Workspace) -> dict[str, str]:
    """A fresh signed query for the institution dialect."""
    key, secret = services.signing_key_create(user=user, workspace=workspace)
    query = {"SecretId": key.secret_id, "Timestamp": str(int(time.time() * 1000))}
    canonical = "&".join(f"{name}={quote(value, safe='')}" for name, value in sorted(query.items()))
    return query | {"Signature": services.signature_compute(secret=secret, message=canonical)}


def get_lists(hub: HubServer, user: User, workspace: Workspace, key: str) -> dict[str, requests.Response]:
    """One list request in each dialect."""
    token = {"X-Token": key}
    return {
        "whalerun": requests.get(f"{hub.url}api/datasets/", timeout=60),
        "aidmp": requests.get(f"{hub.url}aids/aidmp/data/v1/datasets", timeout=60),
        "institution": requests.get(f"{hub.url}api/v1/datasets", params=signed_query(user, workspace), timeout=60),
        "tensorbay": requests.get(f"{hub.url}v1/datasets", headers=token, timeout=60),
        "graviti": requests.get(f"{hub.url}v2/datasets", headers=token, timeout=60),
    }


UNAVAILABLE = {
    "whalerun": {"code": 1000, "message": "Internal Server Error", "data": {}},
    "aidmp": {"code": 14, "message": "database unavailable", "details": []},
    "institution": {"code": 207, "message": "服务内部错误"},
    "tensorbay": {"code": "InternalServerError", "message": "database unavailable"},
    "graviti": {"message": "database unavailable"},
}


def assert_no_traceback(hub: HubServer) -> None:
    assert "Traceback" not in hub.log()


# The database


@pytest.fixture
def database_proxy(db: None) -> Iterator[TcpProxy]:
    """A proxy in front of the test database's server."""
    settings = connection.settings_dict
    with TcpProxy(settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 3306)) as proxy:
        yield proxy


@pytest.fixture
def hub_over_proxy(database_proxy: TcpProxy, tmp_path: Path) -> Iterator[HubServer]:
    """A server that reaches the database only through the proxy."""
    parts = urlsplit(server_database_url())
    credentials = parts.netloc.rsplit("@", 1)[0]
    url = urlunsplit(parts._replace(netloc=f"{credentials}@127.0.0.1:{database_proxy.port}"))
    with running_hub(tmp_path, tls=False, workers=2, threads=4, env={**UNLIMITED, "DATABASE_URL": url}) as server:
        yield server


@pytest.mark.mysql_only
def test_an_unreachable_database_is_each_dialects_503_until_it_returns(
    hub_over_proxy: HubServer, database_proxy: TcpProxy, owner: tuple[User, Workspace, str]
) -> None:
    user, workspace, key = owner
    services.dataset_create(workspace=workspace, creator=user, name="public-one", is_public=True)
    database_proxy.refuse()
    answers = get_lists(hub_over_proxy, user, workspace, key)
    assert {name: (a.status_code, a.json()) for name, a in answers.items()} == {
        name: (503, body) for name, body in UNAVAILABLE.items()
    }
    database_proxy.restore()
    answers = get_lists(hub_over_proxy, user, workspace, key)
    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(UNAVAILABLE, 200)
    assert_no_traceback(hub_over_proxy)


def staged_draft(dataset: Dataset, paths: list[str]) -> Draft:
    """A draft on the default branch with one staged entry per path."""
    draft = versioning_services.draft_create(dataset=dataset, title="pending")
    entries = []
    for path in paths:
        sha1 = hashlib.sha1(path.encode()).hexdigest()
        key = catalog.dataset_object_key(dataset=dataset, sha1=sha1)
        entries.append(Entry.create(segment="seg", remote_path=path, object_key=key, sha1=sha1, size=len(path)))
    versioning_services.draft_stage_upserts(draft=draft, entries=entries)
    return draft


COMMIT_REQUESTS = {
    "tensorbay": lambda hub, dataset, number: (
        f"{hub.url}v1/datasets/{dataset.hex_id}/commits",
        {"title": "lost on the way", "draftNumber": number},
    ),
    "graviti": lambda hub, dataset, number: (
        f"{hub.url}v2/datasets/{dataset.workspace.name}/{dataset.name}/commits",
        {"title": "lost on the way", "draft_number": number},
    ),
}


@pytest.mark.mysql_only
@pytest.mark.parametrize("dialect", sorted(COMMIT_REQUESTS))
def test_a_commit_whose_database_connection_drops_leaves_no_trace_and_can_be_retried(
    hub_over_proxy: HubServer, database_proxy: TcpProxy, owner: tuple[User, Workspace, str], dialect: str
) -> None:
    user, workspace, key = owner
    dataset = services.dataset_create(workspace=workspace, creator=user, name=f"dropped-{dialect}")
    base = versioning_services.draft_commit(draft=staged_draft(dataset, ["base.txt"]), title="base")
    draft = staged_draft(dataset, ["new-1.txt", "new-2.txt"])
    url, body = COMMIT_REQUESTS[dialect](hub_over_proxy, dataset, draft.number)

    database_proxy.drop_on(MYSQL_COMMIT)
    answer = requests.post(url, json=body, headers={"X-Token": key}, timeout=60)
    assert database_proxy.dropped.is_set()
    assert (answer.status_code, answer.json()) == (503, UNAVAILABLE[dialect] | {"message": "database unavailable"})
    draft.refresh_from_db()
    assert draft.state == Draft.State.OPEN
    assert versioning_selectors.branch_get(dataset=dataset, name=dataset.default_branch).head == base
    assert list(Commit.objects.filter(dataset=dataset)) == [base]
    assert StagedEntry.objects.filter(draft=draft).count() == 2

    answer = requests.post(url, json=body, headers={"X-Token": key}, timeout=60)
    assert answer.status_code in (200, 201)
    draft.refresh_from_db()
    assert draft.state == Draft.State.COMMITTED
    assert Commit.objects.filter(dataset=dataset).count() == 2
    assert_no_traceback(hub_over_proxy)


# The cache


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


def test_without_redis_the_dialects_still_answer_and_signed_requests_wait_for_it(
    private_redis: tuple[str, Any], owner: tuple[User, Workspace, str], start_hub: Any
) -> None:
    user, workspace, key = owner
    url, switch = private_redis
    hub = start_hub(tls=False, workers=2, threads=4, env={**UNLIMITED, "REDIS_URL": url})
    switch(False)

    answers = get_lists(hub, user, workspace, key)
    assert {name: a.status_code for name, a in answers.items()} == {
        "whalerun": 200, "aidmp": 200, "institution": 503, "tensorbay": 200, "graviti": 200,
    }  # fmt: skip
    assert answers["institution"].json() == UNAVAILABLE["institution"]
    created = requests.post(
        f"{hub.url}v2/datasets", json={"name": "made-without-redis"}, headers={"X-Token": key, "X-Request-Id": "a1"},
        timeout=60,
    )  # fmt: skip
    assert (created.status_code, created.headers["X-Request-Id"]) == (201, "a1")
    health = requests.get(f"{hub.url}healthz", timeout=60)
    assert (health.status_code, health.json()["cache"].startswith("unavailable")) == (503, True)

    switch(True)
    answers = get_lists(hub, user, workspace, key)
    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(UNAVAILABLE, 200)
    assert Dataset.objects.filter(name="made-without-redis").count() == 1
    assert_no_traceback(hub)


# The storage


@pytest.fixture
def storage_proxy() -> Iterator[TcpProxy]:
    """An S3 server (moto) behind a proxy."""
    server_module = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with TcpProxy(host, port) as proxy:
        yield proxy
    server.stop()


@pytest.fixture
def s3_config(storage_proxy: TcpProxy, owner: tuple[User, Workspace, str]) -> StorageConfig:
    """An S3 storage config of the owner's workspace whose endpoint is the proxy."""
    endpoint = f"http://127.0.0.1:{storage_proxy.port}"
    boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="AKIAFAULT", aws_secret_access_key=S3_SECRET
    ).create_bucket(Bucket="faults")
    return storage_config_create(
        workspace=owner[1], name="s3-faults", kind="s3", file_path="datasets", endpoint=endpoint,
        bucket="faults", access_key_id="AKIAFAULT", secret=S3_SECRET,
    )  # fmt: skip


def test_a_callback_while_storage_is_away_registers_nothing_and_the_retry_works(
    storage_proxy: TcpProxy, s3_config: StorageConfig, owner: tuple[User, Workspace, str], start_hub: Any
) -> None:
    user, workspace, key = owner
    hub = start_hub(tls=False, workers=1, threads=4, env=UNLIMITED)
    dataset = services.dataset_create(workspace=workspace, creator=user, name="on-s3", storage_config=s3_config)
    draft = versioning_services.draft_create(dataset=dataset, title="uploads")
    content = b"an object uploaded straight to S3"
    sha1 = hashlib.sha1(content).hexdigest()
    backend_for(s3_config).save(catalog.dataset_object_key(dataset=dataset, sha1=sha1), io.BytesIO(content))
    url = f"{hub.url}v1/datasets/{dataset.hex_id}/multi/callback"
    body = {
        "segmentName": "seg",
        "draftNumber": draft.number,
        "objects": [{"checksum": sha1, "fileSize": len(content), "remotePath": "a.txt"}],
    }

    storage_proxy.refuse()
    answer = requests.put(url, json=body, headers={"X-Token": key}, timeout=120)
    unavailable = {"code": "InternalServerError", "message": "storage unavailable"}
    assert (answer.status_code, answer.json()) == (503, unavailable)
    assert StagedEntry.objects.filter(draft=draft).count() == 0
    assert S3_SECRET not in hub.log()

    storage_proxy.restore()
    answer = requests.put(url, json=body, headers={"X-Token": key}, timeout=120)
    assert answer.status_code == 200
    assert list(StagedEntry.objects.filter(draft=draft).values_list("path", "sha1")) == [("seg/a.txt", sha1)]
    assert_no_traceback(hub)
