"""The official tensorbay SDK 1.24.2 against the live server over TLS: flows (a)-(d) of the spec on every storage.

Each flow runs on the hub's own filesystem storage, on a ``local`` storage config, on S3 (moto) and on Azure
(Azurite): create a dataset, upload a segment of more than 50 files with several jobs, commit with a tag,
branch, list commits and tags, diff, change the branch, then read every byte back at the branch, at the tag
and at the old commit; upload again with ``skip_uploaded_files``; and check another workspace cannot see it.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip(
    "tensorbay", reason="the tensorbay SDK is not installed: pip install --no-deps -r requirements/tensorbay.txt"
)

from tensorbay import GAS
from tensorbay.client import config as sdk_config
from tensorbay.client.struct import ROOT_COMMIT_ID
from tensorbay.dataset import Data, Dataset
from tensorbay.exception import ForbiddenError, NameConflictError, ResourceNotExistError
from tensorbay.label import Classification, ClassificationSubcatalog

from datasets import services
from datasets.models import User, Workspace
from storage_configs.services import storage_config_create
from tests.acceptance.conftest import HubServer
from tests.factories import UserFactory
from tests.storage_configs.conftest import (  # noqa: F401  (session fixtures of the storage servers)
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    S3_SECRET,
    azurite_endpoint,
    moto_endpoint,
    unique,
)

pytestmark = pytest.mark.django_db(transaction=True)

# On the shared two-core CI machine one request can stall past the SDK's 30 s read timeout; give the flows
# more patience (the SDK reads these when it first builds its session).
sdk_config.timeout = 90
sdk_config.max_retries = 5

FILES = 60
STORAGES = ["hub", "local", "s3", "azure"]


@dataclass(frozen=True)
class Caller:
    """A GAS client of one user's workspace."""

    gas: GAS
    user: User
    workspace: Workspace


def caller(hub_server: HubServer, username: str) -> Caller:
    user = UserFactory(username=username)
    workspace = services.personal_workspace(user=user)
    key = services.access_key_create(user=user, workspace=workspace)[1]
    return Caller(gas=GAS(key, hub_server.url), user=user, workspace=workspace)


@pytest.fixture
def alice(hub_server: HubServer) -> Caller:
    return caller(hub_server, "tb-alice")


def config_for(kind: str, workspace: Workspace, request: pytest.FixtureRequest) -> str | None:
    """Create a storage config of this kind in the workspace (None: the hub's own storage); return its name."""
    if kind == "hub":
        return None
    if kind == "s3":
        import boto3

        endpoint = request.getfixturevalue("moto_endpoint")
        bucket = unique("tb-s3")
        boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id="AKIATEST", aws_secret_access_key=S3_SECRET
        ).create_bucket(Bucket=bucket)
        fields = {"endpoint": endpoint, "bucket": bucket, "access_key_id": "AKIATEST", "secret": S3_SECRET}
    elif kind == "azure":
        from azure.storage.blob import BlobServiceClient

        endpoint = request.getfixturevalue("azurite_endpoint")
        container = unique("tb-azure")
        BlobServiceClient(
            endpoint, credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
        ).create_container(container)
        fields = {
            "endpoint": endpoint,
            "bucket": container,
            "account_type": "Global",
            "access_key_id": AZURITE_ACCOUNT,
            "secret": AZURITE_KEY,
        }
    else:
        fields = {"endpoint": "127.0.0.1"}
    storage_config_create(workspace=workspace, name=f"{kind}-config", kind=kind, file_path="tb", **fields)
    return f"{kind}-config"


def write_files(directory: Path, count: int, salt: str) -> dict[str, bytes]:
    """Write ``count`` files of distinct binary content; return their bytes by name."""
    directory.mkdir(parents=True, exist_ok=True)
    contents = {}
    for index in range(count):
        name = f"f{index:03d}.bin"
        content = f"{salt}-{index}-".encode() + os.urandom(200 + index) + bytes(range(256))
        (directory / name).write_bytes(content)
        contents[name] = content
    return contents


def local_dataset(name: str, directory: Path, labelled: str | None = None) -> Dataset:
    """A local dataset with one segment ``seg1`` holding every file of the directory."""
    dataset = Dataset(name)
    if labelled:
        dataset.catalog.classification = ClassificationSubcatalog()
        dataset.catalog.classification.add_category("cat")
        dataset.notes.is_continuous = True
    segment = dataset.create_segment("seg1")
    for path in sorted(directory.iterdir()):
        data = Data(str(path))
        if path.name == labelled:
            data.label.classification = Classification("cat")
        segment.append(data)
    return dataset


def read_back(gas: GAS, name: str, revision: str | None) -> dict[str, bytes]:
    """Every file of ``seg1`` at the revision, read through the URLs the server signs."""
    remote = Dataset(name, gas, revision=revision)
    assert [segment.name for segment in remote] == ["seg1"]
    return {data.path: data.open().read() for data in remote["seg1"]}


def run_flows(gas: GAS, other: GAS, name: str, config_name: str | None, tmp_path: Path) -> None:
    # (a) create, list, get
    gas.create_dataset(name, config_name=config_name)
    assert name in list(gas.list_dataset_names())
    client = gas.get_dataset(name)
    assert client.status.commit_id == ROOT_COMMIT_ID
    with pytest.raises(NameConflictError):
        gas.create_dataset(name)
    with pytest.raises(ForbiddenError):
        client.create_branch("from-root")

    # (b) draft and upload with several jobs: more than one callback batch of 50
    first = write_files(tmp_path / "v1", FILES, "v1")
    client.create_draft("t")
    uploaded = gas.upload_dataset(local_dataset(name, tmp_path / "v1", labelled="f000.bin"), jobs=4)
    assert sorted(uploaded.get_segment("seg1").list_data_paths()) == sorted(first)

    # (c) commit with a tag, branch, list commits and tags, diff
    uploaded.commit("first", tag="v1")
    c1 = uploaded.status.commit_id
    uploaded.create_branch("dev")
    commits = list(uploaded.list_commits())
    assert [(commit.commit_id, commit.parent_commit_id, commit.title) for commit in commits] == [
        (c1, ROOT_COMMIT_ID, "first")
    ]
    assert [(tag.name, tag.commit_id) for tag in uploaded.list_tags()] == [("v1", c1)]
    diff = uploaded.get_diff()
    assert [(segment.name, segment.action) for segment in diff] == [("seg1", "add")]
    data_diffs = list(diff[0])
    assert len(data_diffs) == FILES and {d.action for d in data_diffs} == {"add"}
    assert data_diffs[0].remote_path == "f000.bin"

    # a second commit on dev replaces one file and adds one
    uploaded.create_draft("second")
    changed = write_files(tmp_path / "v2", 2, "v2")
    second = gas.upload_dataset(local_dataset(name, tmp_path / "v2"), branch_name="dev", jobs=2)
    second.commit("second")
    assert [commit.title for commit in second.list_commits()] == ["second", "first"]
    dev_diff = second.get_diff()
    assert [(segment.name, segment.action) for segment in dev_diff] == [("seg1", "modify")]
    assert sorted((d.remote_path, d.action) for d in dev_diff[0]) == [("f000.bin", "modify"), ("f001.bin", "modify")]

    # (d) every byte back at the branch, at the tag and at the old commit
    assert read_back(gas, name, "dev") == {**first, **changed}
    assert read_back(gas, name, "v1") == first
    assert read_back(gas, name, c1) == first
    assert read_back(gas, name, None) == first  # main did not move
    at_tag = Dataset(name, gas, revision="v1")
    assert at_tag["seg1"][0].label.classification.category == "cat"
    assert [category.name for category in at_tag.catalog.classification.categories] == ["cat"]
    assert at_tag.notes.is_continuous is True

    # skip_uploaded_files: paths already in the draft are not uploaded again, so their content stays
    write_files(tmp_path / "v3", FILES + 2, "v3")
    client = gas.get_dataset(name)
    client.create_draft("skip", branch_name="main")
    skipped = gas.upload_dataset(local_dataset(name, tmp_path / "v3"), skip_uploaded_files=True, jobs=3)
    skipped.commit("skip")
    after = read_back(gas, name, "main")
    assert set(after) == {f"f{index:03d}.bin" for index in range(FILES + 2)}
    assert {path: after[path] for path in first} == first

    # another workspace does not see the private dataset, by name or by id
    with pytest.raises(ResourceNotExistError):
        other.get_dataset(name)
    with pytest.raises(ResourceNotExistError):
        params = {"segmentName": "seg1", "commit": c1}
        other._client.open_api_do("GET", "data/details", client.dataset_id, params=params)


@pytest.mark.parametrize("storage", STORAGES)
def test_sdk_flows_on_every_storage(
    storage: str, alice: Caller, hub_server: HubServer, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    config_name = config_for(storage, alice.workspace, request)
    bob = caller(hub_server, "tb-bob")
    run_flows(alice.gas, bob.gas, f"flows-{storage}", config_name, tmp_path)


def test_another_workspace_cannot_see_a_private_dataset(alice: Caller, hub_server: HubServer) -> None:
    dataset_id = alice.gas.create_dataset("private").dataset_id
    empty = Dataset("private", alice.gas)
    assert (len(empty), empty.catalog.dumps(), empty.notes.is_continuous) == (0, {}, False)
    bob = caller(hub_server, "tb-dave")
    with pytest.raises(ResourceNotExistError):
        bob.gas.get_dataset("private")
    with pytest.raises(ResourceNotExistError):
        bob.gas._client.open_api_do("GET", "", dataset_id)
    with pytest.raises(ResourceNotExistError):
        bob.gas._client.open_api_do("POST", "drafts", dataset_id, json={"title": "x", "branchName": "main"})


def test_a_public_dataset_is_readable_by_another_workspace(alice: Caller, hub_server: HubServer) -> None:
    dataset_id = alice.gas.create_dataset("open", is_public=True).dataset_id
    bob = caller(hub_server, "tb-carol")
    info = bob.gas._client.open_api_do("GET", "", dataset_id).json()
    assert (info["isPublic"], info["commitId"]) == (True, ROOT_COMMIT_ID)
