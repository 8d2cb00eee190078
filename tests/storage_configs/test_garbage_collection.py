"""Garbage collection deletes unreachable objects from every kind of storage and keeps the reachable ones."""

import hashlib
import io
import time
from datetime import timedelta

import pytest

from datasets.models import Dataset
from datasets.services import dataset_delete
from storage_configs.backends import StorageBackend
from storage_configs.models import StorageConfig
from versioning import selectors, services
from versioning.trees import Entry

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def committed(dataset: Dataset, backend: StorageBackend, content: bytes) -> Entry:
    """Store an object under the dataset's prefix and commit an entry pointing at it."""
    sha1 = hashlib.sha1(content).hexdigest()
    key = f"{dataset.hex_id}/{sha1}"
    backend.save(key, io.BytesIO(content))
    entry = Entry.create(segment="s", remote_path=sha1, object_key=key, sha1=sha1, size=len(content))
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_stage_upserts(draft=draft, entries=[entry])
    services.draft_commit(draft=draft, title="t")
    return entry


def test_collection_deletes_unreachable_objects_on_every_backend(
    storage_config: StorageConfig, backend: StorageBackend
) -> None:
    workspace = storage_config.workspace
    dataset = Dataset.objects.create(workspace=workspace, name="kept", storage_config=storage_config)
    gone = Dataset.objects.create(workspace=workspace, name="gone", storage_config=storage_config)
    live = committed(dataset, backend, b"reachable")
    of_gone = committed(gone, backend, b"of a deleted dataset")
    orphan = f"{dataset.hex_id}/{hashlib.sha1(b'orphan').hexdigest()}"
    backend.save(orphan, io.BytesIO(b"orphan"))
    dataset_delete(dataset=gone)
    time.sleep(1.1)  # object stores stamp writes to the second

    report = services.garbage_collect(grace=timedelta(0))

    assert not backend.exists(orphan)
    assert not backend.exists(of_gone.object_key)
    main = selectors.revision_resolve(dataset=dataset, revision="main")
    (entry,) = selectors.entry_list(revision=main, segment="s").items
    assert b"".join(backend.iter_chunks(entry.object_key)) == b"reachable" and entry == live
    tally = report.tallies["storage objects"]
    assert (tally.found, tally.deleted, tally.deleted_bytes) == (2, 2, len(b"orphan") + len(b"of a deleted dataset"))
    assert not report.errors
