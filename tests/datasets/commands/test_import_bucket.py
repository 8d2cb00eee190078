"""``import_bucket``: everything under a prefix of the dataset's storage, registered in place, on S3 and disk."""

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from datasets.models import Dataset, Workspace
from storage_configs.backends import FilesystemBackend, S3Backend, StorageBackend
from storage_configs.models import StorageConfig
from storage_configs.services import storage_config_create
from tests.datasets.commands.conftest import branch_entries, run_command
from tests.storage_configs.conftest import S3_SECRET, unique
from versioning.models import Commit
from versioning.trees import Entry

pytestmark = pytest.mark.django_db

OBJECTS = {
    "photos/cats/a.jpg": b"cat a",
    "photos/cats/b.jpg": b"cat bb",
    "photos/cats/deep/c.jpg": b"cat ccc",
    "photos/dogs/d.jpg": b"dog",
}

Put = Callable[[str, bytes], None]


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, workspace: Workspace, dataset: Dataset, tmp_path: Path) -> Put:
    """The dataset's storage config of each kind (a directory, a moto S3 bucket); returns how to store an object."""
    if request.param == "local":
        config = storage_config_create(workspace=workspace, name="lake", kind="local", file_path="lake")

        def put(key: str, content: bytes) -> None:
            path = tmp_path / "local" / "lake" / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)

    else:
        endpoint = request.getfixturevalue("moto_endpoint")
        bucket = unique("imports")
        client = boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id="AKIATEST", aws_secret_access_key=S3_SECRET
        )
        client.create_bucket(Bucket=bucket)
        config = storage_config_create(
            workspace=workspace,
            name="lake",
            kind="s3",
            file_path="lake",
            endpoint=endpoint,
            bucket=bucket,
            access_key_id="AKIATEST",
            secret=S3_SECRET,
        )

        def put(key: str, content: bytes) -> None:
            client.put_object(Bucket=bucket, Key=f"lake/{key}", Body=content)

    dataset.storage_config = config
    dataset.save()
    for key, content in OBJECTS.items():
        put(key, content)
    return put


def expected(key: str, content: bytes, remote_path: str, segment: str = "") -> Entry:
    sha1 = hashlib.sha1(content).hexdigest()
    return Entry.create(segment=segment, remote_path=remote_path, object_key=key, sha1=sha1, size=len(content))


def test_it_registers_every_object_under_the_prefix_with_its_sha1(dataset: Dataset, storage: Put) -> None:
    run = run_command("import_bucket", "alice/cats", "--storage-config", "lake", "--prefix", "photos/cats/")

    assert not run.failed, run.stderr
    assert "created 3, updated 0, skipped 0, failed 0" in run.stdout
    assert branch_entries(dataset) == [
        expected("photos/cats/a.jpg", b"cat a", "a.jpg"),
        expected("photos/cats/b.jpg", b"cat bb", "b.jpg"),
        expected("photos/cats/deep/c.jpg", b"cat ccc", "deep/c.jpg"),
    ]


def test_it_pages_through_the_listing_into_a_named_segment(
    dataset: Dataset, storage: Put, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages: list[str] = []
    for backend_class in (FilesystemBackend, S3Backend):
        original = backend_class.list

        def spy(self: StorageBackend, *args: Any, original: Any = original, **kwargs: Any) -> Any:
            pages.append(kwargs.get("marker", ""))
            return original(self, *args, **kwargs)

        monkeypatch.setattr(backend_class, "list", spy)

    run = run_command("import_bucket", "alice/cats", "--storage-config", "lake", "--segment", "all", "--page-size", "1")

    assert not run.failed, run.stderr
    assert len(pages) == len(OBJECTS)
    assert [entry.path for entry in branch_entries(dataset)] == [f"all/{key}" for key in sorted(OBJECTS)]


def test_running_it_again_changes_nothing_and_a_rewritten_object_is_an_update(dataset: Dataset, storage: Put) -> None:
    run_command("import_bucket", "alice/cats", "--storage-config", "lake", "--prefix", "photos/")

    again = run_command("import_bucket", "alice/cats", "--storage-config", "lake", "--prefix", "photos/")
    storage("photos/dogs/d.jpg", b"a new dog")
    storage("photos/dogs/e.jpg", b"another dog")
    changed = run_command("import_bucket", "alice/cats", "--storage-config", "lake", "--prefix", "photos/")

    assert "created 0, updated 0, skipped 4, failed 0 — nothing to commit" in again.stdout
    assert "created 1, updated 1, skipped 3, failed 0" in changed.stdout
    assert Commit.objects.filter(dataset=dataset).count() == 2
    assert expected("photos/dogs/d.jpg", b"a new dog", "dogs/d.jpg") in branch_entries(dataset)


def test_dry_run_changes_nothing(dataset: Dataset, storage: Put) -> None:
    run = run_command("import_bucket", "alice/cats", "--storage-config", "lake", "--dry-run")

    assert "created 4, updated 0, skipped 0, failed 0 — dry run" in run.stdout
    assert not Commit.objects.exists()


def test_a_storage_config_the_dataset_does_not_use_is_refused(
    workspace: Workspace, dataset: Dataset, storage: Put
) -> None:
    StorageConfig.objects.create(workspace=workspace, name="other", kind="local", file_path="other")

    run = run_command("import_bucket", "alice/cats", "--storage-config", "other")

    assert run.failed
    assert "keeps its objects in another storage config" in run.stderr
    assert not Commit.objects.exists()
