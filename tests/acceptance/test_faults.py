"""A live server losing its database, cache or storage: the dialect's error (or a degraded answer where the
part is optional), never a 500; and after recovery the data is exactly as before the failed request.

Each service is reached through something the test can cut: the database and the storage through a
``TcpProxy``, the cache is a private ``redis-server`` the test stops and starts again.
"""

import hashlib
import io
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
from datasets.models import Dataset, DatasetFile, User, Workspace
from storage_configs.backends import backend_for
from storage_configs.models import StorageConfig
from storage_configs.services import storage_config_create
from tests.acceptance.conftest import HubServer, running_hub, server_database_url
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


@pytest.mark.mysql_only
@pytest.mark.parametrize("dialect", sorted(COMMIT_REQUESTS))
def test_a_commit_whose_answer_is_lost_landed_whole_and_its_retry_is_refused(
    hub_over_proxy: HubServer, database_proxy: TcpProxy, owner: tuple[User, Workspace, str], dialect: str
) -> None:
    user, workspace, key = owner
    dataset = services.dataset_create(workspace=workspace, creator=user, name=f"unanswered-{dialect}")
    base = versioning_services.draft_commit(draft=staged_draft(dataset, ["base.txt"]), title="base")
    draft = staged_draft(dataset, ["new-1.txt", "new-2.txt"])
    url, body = COMMIT_REQUESTS[dialect](hub_over_proxy, dataset, draft.number)
    # The SDKs send a retry with the first attempt's X-Request-Id.
    headers = {"X-Token": key, "X-Request-Id": f"lost-answer-{dialect}"}

    # The server commits; the connection is lost before its OK reaches the hub.
    database_proxy.drop_after(MYSQL_COMMIT)
    answer = requests.post(url, json=body, headers=headers, timeout=60)
    assert database_proxy.dropped.is_set()
    assert (answer.status_code, answer.json()) == (503, UNAVAILABLE[dialect] | {"message": "database unavailable"})
    head = versioning_selectors.branch_get(dataset=dataset, name=dataset.default_branch).head
    draft.refresh_from_db()
    assert head is not None
    assert (head.parent_id, draft.state, draft.committed_as_id) == (base.pk, Draft.State.COMMITTED, head.pk)
    revision = versioning_selectors.revision_resolve(dataset=dataset, revision=head.pk)
    assert [entry.path for entry in versioning_selectors.entry_list(revision=revision).items] == [
        "seg/base.txt", "seg/new-1.txt", "seg/new-2.txt",
    ]  # fmt: skip
    assert StagedEntry.objects.filter(draft=draft).count() == 0

    retry = requests.post(url, json=body, headers=headers, timeout=60)
    assert (retry.status_code, retry.json()) == (
        403,
        {"code": "Forbidden", "message": f"draft {draft.number} is COMMITTED"},
    )
    assert Commit.objects.filter(dataset=dataset).count() == 2
    assert_no_traceback(hub_over_proxy)


def post_object(policy: dict, content: bytes) -> requests.Response:
    """Upload the bytes with a TensorBay policy the way the SDK does (``fps`` to the hub, or an S3 POST)."""
    result = {name: value for name, value in policy["result"].items() if name != "multipleUploadLimit"}
    extra, sha1 = policy["extra"], hashlib.sha1(content).hexdigest()
    fields = {**result, "key": extra["objectPrefix"] + sha1}
    if extra["backendType"] == "s3":
        fields["Content-Type"] = "application/octet-stream"
    filename = sha1 if extra["backendType"] == "fps" else ""
    return requests.post(extra["host"], data=fields, files={"file": (filename, content)}, timeout=120)


def upload_urls(hub: HubServer, dataset: Dataset) -> tuple[str, str]:
    """The TensorBay policy and callback URLs of a dataset."""
    base = f"{hub.url}v1/datasets/{dataset.hex_id}"
    return f"{base}/policies", f"{base}/multi/callback"


def callback_body(draft: Draft, content: bytes) -> dict[str, Any]:
    """The callback that registers the uploaded content as ``seg/a.txt`` in the draft."""
    return {
        "segmentName": "seg",
        "draftNumber": draft.number,
        "objects": [{"checksum": hashlib.sha1(content).hexdigest(), "fileSize": len(content), "remotePath": "a.txt"}],
    }


def stored_files(directory: Path) -> list[Path]:
    """Every file under the directory."""
    return sorted(path for path in directory.rglob("*") if path.is_file())


@pytest.mark.mysql_only
def test_an_upload_to_the_hub_while_the_database_is_away_stores_nothing_and_the_retry_lands(
    hub_over_proxy: HubServer, database_proxy: TcpProxy, owner: tuple[User, Workspace, str]
) -> None:
    # The hub's own upload endpoint writes only to filesystem storage (object stores take uploads directly), so
    # what it can lose is the database, which it asks for the storage a config token names.
    user, workspace, key = owner
    config = storage_config_create(workspace=workspace, name="local-faults", kind="local", file_path="uploads")
    dataset = services.dataset_create(workspace=workspace, creator=user, name="on-local", storage_config=config)
    draft = versioning_services.draft_create(dataset=dataset, title="uploads")
    policy_url, callback_url = upload_urls(hub_over_proxy, dataset)
    policy = requests.get(policy_url, params={"draftNumber": draft.number}, headers={"X-Token": key}, timeout=60)
    assert (policy.status_code, policy.json()["extra"]["backendType"]) == (200, "fps")
    content = b"an object for the hub's own upload endpoint"
    sha1 = hashlib.sha1(content).hexdigest()
    local_root = hub_over_proxy.media_root / "local"

    database_proxy.refuse()
    answer = post_object(policy.json(), content)
    assert (answer.status_code, answer.json()) == (503, {"code": "unavailable", "message": "database unavailable"})
    assert stored_files(local_root) == []

    database_proxy.restore()
    assert post_object(policy.json(), content).status_code == 201
    assert stored_files(local_root) == [local_root / "uploads" / dataset.hex_id / sha1]
    callback = callback_body(draft, content)
    assert requests.put(callback_url, json=callback, headers={"X-Token": key}, timeout=60).status_code == 200
    assert list(StagedEntry.objects.filter(draft=draft).values_list("path", "sha1")) == [("seg/a.txt", sha1)]
    assert_no_traceback(hub_over_proxy)


# The cache


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


def s3_client(endpoint: str) -> Any:
    """A client of the S3 server at the endpoint, with the keys every storage of these tests uses."""
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="AKIAFAULT", aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    )  # fmt: skip


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
    s3_client(endpoint).create_bucket(Bucket="faults")
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


HUB_BUCKET = "hub-faults"


@pytest.fixture
def hub_on_s3(storage_proxy: TcpProxy, start_hub: Any) -> HubServer:
    """A server whose own storage (``STORAGE_BACKEND=s3``) is the S3 server behind the proxy."""
    endpoint = f"http://127.0.0.1:{storage_proxy.port}"
    s3_client(endpoint).create_bucket(Bucket=HUB_BUCKET)
    return start_hub(
        tls=False, workers=1, threads=4,
        env={
            **UNLIMITED,
            "STORAGE_BACKEND": "s3",
            "STORAGE_S3_BUCKET": HUB_BUCKET,
            "STORAGE_S3_ACCESS_KEY_ID": "AKIAFAULT",
            "STORAGE_S3_SECRET_ACCESS_KEY": S3_SECRET,
            "STORAGE_S3_ENDPOINT_URL": endpoint,
            "STORAGE_S3_REGION": "us-east-1",
        },
    )  # fmt: skip


def hub_bucket_keys(storage_proxy: TcpProxy) -> list[str]:
    """The keys in the hub's own bucket."""
    listed = s3_client(f"http://127.0.0.1:{storage_proxy.port}").list_objects_v2(Bucket=HUB_BUCKET)
    return [item["Key"] for item in listed.get("Contents", [])]


def test_an_upload_while_the_hubs_own_s3_storage_is_away_registers_nothing_and_the_retry_lands(
    hub_on_s3: HubServer, storage_proxy: TcpProxy, owner: tuple[User, Workspace, str]
) -> None:
    user, workspace, key = owner
    dataset = services.dataset_create(workspace=workspace, creator=user, name="on-hub-s3")
    draft = versioning_services.draft_create(dataset=dataset, title="uploads")
    before = Draft.objects.values().get(pk=draft.pk)
    policy_url, callback_url = upload_urls(hub_on_s3, dataset)
    content = b"an object for the hub's own S3 storage"
    sha1 = hashlib.sha1(content).hexdigest()
    callback = callback_body(draft, content)
    token = {"X-Token": key}

    storage_proxy.refuse()
    # Signing the policy takes no round trip to the storage; the upload itself goes straight to S3 and fails there.
    policy = requests.get(policy_url, params={"draftNumber": draft.number}, headers=token, timeout=60)
    assert (policy.status_code, policy.json()["extra"]["backendType"]) == (200, "s3")
    with pytest.raises(requests.ConnectionError):
        post_object(policy.json(), content)
    answer = requests.put(callback_url, json=callback, headers=token, timeout=120)
    assert (answer.status_code, answer.json()) == (
        503,
        {"code": "InternalServerError", "message": "storage unavailable"},
    )
    assert StagedEntry.objects.filter(draft=draft).count() == 0
    assert Draft.objects.values().get(pk=draft.pk) == before
    assert S3_SECRET not in answer.text + hub_on_s3.log()

    storage_proxy.restore()
    assert hub_bucket_keys(storage_proxy) == []
    assert post_object(policy.json(), content).status_code == 201
    answer = requests.put(callback_url, json=callback, headers=token, timeout=120)
    assert answer.status_code == 200
    assert list(StagedEntry.objects.filter(draft=draft).values_list("path", "sha1")) == [("seg/a.txt", sha1)]
    assert_no_traceback(hub_on_s3)


# Register a file while the storage is away, or while the hub reads the object to hash it: the GET of its
# bytes (not the HEAD that checks it) is answered with only its first 64 KiB.
STORAGE_FAULTS = {
    "refused": lambda proxy: proxy.refuse(),
    "cut_mid_read": lambda proxy: proxy.drop_after(f"GET /{HUB_BUCKET}/".encode(), answer_bytes=64 * 1024),
}


@pytest.mark.parametrize("fault", sorted(STORAGE_FAULTS))
def test_a_whalerun_file_registered_while_storage_fails_is_1000_and_the_retry_registers_it(
    hub_on_s3: HubServer, storage_proxy: TcpProxy, owner: tuple[User, Workspace, str], fault: str
) -> None:
    user = owner[0]
    content = bytes(range(256)) * 1024
    s3_client(f"http://127.0.0.1:{storage_proxy.port}").put_object(Bucket=HUB_BUCKET, Key="files/a.bin", Body=content)
    body = {"user_id": user.pk, "name": "a.bin", "oss_object": "files/a.bin", "size": len(content)}
    url = f"{hub_on_s3.url}api/dataset_files/"

    STORAGE_FAULTS[fault](storage_proxy)
    answer = requests.post(url, json=body, timeout=120)
    assert (answer.status_code, answer.json()) == (503, UNAVAILABLE["whalerun"])
    assert DatasetFile.objects.count() == 0
    assert S3_SECRET not in answer.text + hub_on_s3.log()

    storage_proxy.restore()
    answer = requests.post(url, json=body, timeout=120)
    assert (answer.status_code, answer.json()["code"]) == (200, 0)
    registered = DatasetFile.objects.get()
    assert (registered.oss_object, registered.size, registered.sha1) == (
        "files/a.bin", len(content), hashlib.sha1(content).hexdigest(),
    )  # fmt: skip
    assert_no_traceback(hub_on_s3)
