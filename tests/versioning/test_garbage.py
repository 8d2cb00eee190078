"""Garbage collection: nothing any revision reaches is ever deleted, and what nothing reaches goes."""

import contextlib
import hashlib
import io
import os
import random
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from datasets.models import Dataset, User
from datasets.services import UploadedObject, dataset_delete, dataset_objects_register
from storage_configs.backends import hub_backend
from storage_configs.services import storage_object_put
from versioning import garbage, jobs, selectors, services
from versioning.fence import fence_share
from versioning.models import (
    Commit,
    DatasetGarbage,
    DatasetObject,
    DeletedDataset,
    Draft,
    Job,
    Range,
    SegmentMetadata,
    Tree,
)
from versioning.trees import Entry, Part

NOW = timedelta(0)


@pytest.fixture(autouse=True)
def media(settings: LazySettings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(dataset: Dataset, content: bytes) -> tuple[str, str, int]:
    """Store an object in the dataset's storage as an upload would: (key, sha1, size)."""
    sha1 = hashlib.sha1(content).hexdigest()
    key = f"{dataset.hex_id}/{sha1}"
    hub_backend().save(key, io.BytesIO(content))
    return key, sha1, len(content)


def stored_entry(dataset: Dataset, segment: str, name: str, content: bytes, label: dict | None = None) -> Entry:
    key, sha1, size = upload(dataset, content)
    return Entry.create(segment=segment, remote_path=name, object_key=key, sha1=sha1, size=size, label=label)


def stored_keys() -> set[str]:
    return set(hub_backend().iter_keys(""))


def read_everything(datasets: list[Dataset]) -> dict[tuple, object]:
    """Every revision of every dataset, read to the bytes of each entry's object, and its segments' metadata."""
    backend = hub_backend()
    seen: dict[tuple, object] = {}

    def read(revision: selectors.Revision, tag: tuple) -> None:
        for segment in selectors.segment_list(revision=revision, limit=1000).items:
            page = selectors.entry_list(revision=revision, segment=segment.name, limit=10_000)
            # A fusion frame's bytes are its parts' (each sensor's file); a plain entry's its own object's.
            seen[(*tag, segment.name)] = [
                (e, b"".join(b"".join(backend.iter_chunks(key)) for key, _, _ in e.files())) for e in page.items
            ]
            seen[(*tag, segment.name, "metadata")] = selectors.segment_metadata(revision=revision, name=segment.name)

    for dataset in datasets:
        names = [c.id for c in Commit.objects.filter(dataset=dataset)]
        names += [b.name for b in selectors.branch_list(dataset=dataset)]
        names += [t.name for t in selectors.tag_list(dataset=dataset)]
        for name in names:
            read(selectors.revision_resolve(dataset=dataset, revision=name), (dataset.pk, name))
        for draft in selectors.draft_list(dataset=dataset, state="ALL"):
            read(selectors.revision_resolve(dataset=dataset, revision=draft.number), (dataset.pk, draft.number))
        for commit in Commit.objects.filter(dataset=dataset, parent__isnull=False):
            head = selectors.revision_resolve(dataset=dataset, revision=commit.id)
            base = selectors.diff_base(revision=head)
            seen[(dataset.pk, commit.id, "diff")] = selectors.diff_entries(base=base, head=head, limit=10_000).items
    return seen


def referenced_keys(seen: dict[tuple, object]) -> set[str]:
    listings = [value for value in seen.values() if isinstance(value, list) and value and isinstance(value[0], tuple)]
    return {
        key for listing in listings for item in listing if isinstance(item[1], bytes) for key, _, _ in item[0].files()
    }


def random_history(rng: random.Random, user: User, datasets: list[Dataset]) -> None:
    """Commits on several branches, tags, open and closed drafts, copies between datasets, uploads never staged."""
    contents = [f"content {n}".encode() for n in range(12)]
    for step in range(14):
        dataset = rng.choice(datasets)
        action = rng.random()
        branches = [b.name for b in selectors.branch_list(dataset=dataset)]
        if action < 0.5 or not Commit.objects.filter(dataset=dataset).exists():
            draft = services.draft_create(dataset=dataset, title="t", branch_name=rng.choice(branches))
            entries = [
                stored_entry(dataset, rng.choice("ab"), f"f{rng.randrange(8)}", rng.choice(contents), {"n": step})
                for _ in range(rng.randrange(1, 4))
            ]
            services.draft_stage_upserts(draft=draft, entries=entries)
            if rng.random() < 0.4:
                services.draft_segment_metadata_set(draft=draft, name=entries[0].segment, key="k", value=step)
            if rng.random() < 0.3:  # staged, then taken back: its object is garbage
                extra = stored_entry(dataset, "a", f"tmp{step}", f"taken back {step}".encode())
                services.draft_stage_upserts(draft=draft, entries=[extra])
                services.draft_stage_deletes(draft=draft, segment="a", remote_paths=[f"tmp{step}"])
            services.draft_commit(draft=draft, title=f"step {step}")
        elif action < 0.6:
            commit = rng.choice(list(Commit.objects.filter(dataset=dataset)))
            services.branch_create(dataset=dataset, name=f"b{step}", revision=commit.id)
        elif action < 0.7:
            commit = rng.choice(list(Commit.objects.filter(dataset=dataset)))
            services.tag_create(dataset=dataset, name=f"v{step}", revision=commit.id)
        elif action < 0.8:
            source = rng.choice([d for d in datasets if d != dataset])
            source_revision = selectors.revision_resolve(dataset=source, revision="main")
            segments = selectors.segment_list(revision=source_revision).items
            if segments:
                draft = services.draft_create(dataset=dataset, title="copy")
                services.draft_segment_copy(
                    draft=draft,
                    source=source_revision,
                    source_segment=segments[0].name,
                    target_segment=f"copy{step}",
                )
                services.draft_commit(draft=draft, title="copy")
        else:
            upload(dataset, f"never staged {step}".encode())
    for state in ("CLOSED", "OPEN"):
        dataset = rng.choice(datasets)
        draft = services.draft_create(dataset=dataset, title=state)
        services.draft_stage_upserts(draft=draft, entries=[stored_entry(dataset, "d", state, state.encode())])
        if state == "CLOSED":
            services.draft_close(draft=draft)


@pytest.mark.parametrize("seed", range(3))
def test_every_revision_reads_the_same_after_collection(user: User, seed: int) -> None:
    rng = random.Random(seed)
    workspace = user.owned_workspaces.get()
    datasets = [Dataset.objects.create(workspace=workspace, name=f"d{n}", creator=user) for n in range(3)]
    random_history(rng, user, datasets)
    doomed = datasets.pop(rng.randrange(len(datasets)))
    doomed_keys = {key for key in stored_keys() if key.startswith(doomed.hex_id)}
    dataset_delete(dataset=doomed)
    before = read_everything(datasets)
    live = referenced_keys(before)
    assert live

    report = services.garbage_collect(grace=NOW)

    assert read_everything(datasets) == before
    left = stored_keys()
    assert live <= left
    # What remains beyond the live objects is only what an open draft may still stage.
    held = {d.dataset.hex_id for d in Draft.objects.filter(state=Draft.State.OPEN)}
    assert {key.partition("/")[0] for key in left - live} <= held
    assert not {key for key in doomed_keys if key not in live} & left
    assert report.tallies["trees"].deleted > 0  # the deleted dataset's trees
    assert not DeletedDataset.objects.exists()


@pytest.mark.parametrize("seed", range(2))
def test_every_revision_reads_the_same_when_the_candidates_do_not_fit_in_memory(
    user: User, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``CANDIDATES_IN_MEMORY`` candidate objects the mark sets aside every live key, sorted on disk."""
    monkeypatch.setattr(garbage, "CANDIDATES_IN_MEMORY", 0)
    test_every_revision_reads_the_same_after_collection(user, seed)


def test_a_second_pass_finds_nothing(dataset: Dataset, user: User) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_stage_upserts(draft=draft, entries=[stored_entry(dataset, "s", "a", b"a")])
    services.draft_commit(draft=draft, title="t")
    upload(dataset, b"orphan")
    services.garbage_collect(grace=NOW)

    report = services.garbage_collect(grace=NOW)

    assert all(tally.found == 0 for tally in report.tallies.values())


def test_dry_run_deletes_nothing_and_reports_what_it_would(dataset: Dataset, user: User) -> None:
    other = Dataset.objects.create(workspace=dataset.workspace, name="gone", creator=user)
    draft = services.draft_create(dataset=other, title="t")
    services.draft_stage_upserts(draft=draft, entries=[stored_entry(other, "s", "a", b"gone")])
    services.draft_commit(draft=draft, title="t")
    upload(dataset, b"orphan")
    dataset_delete(dataset=other)
    rows = {model: set(model.objects.values_list("pk", flat=True)) for model in (Tree, Range, SegmentMetadata)}
    keys = stored_keys()

    report = services.garbage_collect(grace=NOW, dry_run=True)

    assert {model: set(model.objects.values_list("pk", flat=True)) for model in rows} == rows
    assert stored_keys() == keys
    assert DeletedDataset.objects.count() == 1
    objects = report.tallies["storage objects"]
    assert (objects.found, objects.deleted) == (2, 0)
    assert report.tallies["trees"].found == 1
    assert DatasetGarbage.objects.get(dataset=dataset).object_count == 1


def test_grace_period_keeps_recent_garbage(dataset: Dataset) -> None:
    key, _, _ = upload(dataset, b"orphan")

    report = services.garbage_collect(grace=timedelta(days=1))

    assert key in stored_keys()
    assert report.tallies["storage objects"].kept == 1
    assert DatasetGarbage.objects.get(dataset=dataset).reclaimable_bytes == len(b"orphan")


def test_old_garbage_goes_once_past_the_grace_period(dataset: Dataset, media: Path) -> None:
    key, _, _ = upload(dataset, b"orphan")
    two_days_ago = time.time() - 2 * 86400
    os.utime(media / key, (two_days_ago, two_days_ago))

    services.garbage_collect(grace=timedelta(days=1))

    assert key not in stored_keys()


def test_an_upload_for_an_open_draft_is_kept_until_the_draft_closes(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    key, _, _ = upload(dataset, b"uploaded, not yet registered")

    services.garbage_collect(grace=NOW)
    assert key in stored_keys()

    services.draft_close(draft=draft)
    services.garbage_collect(grace=NOW)
    assert key not in stored_keys()


def test_objects_staged_in_a_closed_draft_stay_readable(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    entry = stored_entry(dataset, "s", "a", b"staged")
    services.draft_stage_upserts(draft=draft, entries=[entry])
    services.draft_close(draft=draft)

    services.garbage_collect(grace=NOW)

    assert entry.object_key in stored_keys()


def test_objects_a_copy_points_at_outlive_their_deleted_dataset(dataset: Dataset, user: User) -> None:
    source = Dataset.objects.create(workspace=dataset.workspace, name="source", creator=user)
    draft = services.draft_create(dataset=source, title="t")
    entry = stored_entry(source, "s", "a", b"shared")
    services.draft_stage_upserts(draft=draft, entries=[entry, stored_entry(source, "t", "b", b"only there")])
    services.draft_commit(draft=draft, title="t")
    copy = services.draft_create(dataset=dataset, title="copy")
    services.draft_segment_copy(
        draft=copy,
        source=selectors.revision_resolve(dataset=source, revision="main"),
        source_segment="s",
        target_segment="s",
    )
    services.draft_commit(draft=copy, title="copy")
    dataset_delete(dataset=source)

    services.garbage_collect(grace=NOW)

    assert stored_keys() == {entry.object_key}


def test_segment_metadata_of_live_trees_and_drafts_is_kept(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_stage_upserts(draft=draft, entries=[stored_entry(dataset, "s", "a", b"a")])
    services.draft_segment_metadata_set(draft=draft, name="s", key="sensors", value=[1])
    services.draft_segment_metadata_set(draft=draft, name="s", key="sensors", value=[2])  # [1] is garbage
    services.draft_commit(draft=draft, title="t")
    open_draft = services.draft_create(dataset=dataset, title="open")
    services.draft_segment_metadata_set(draft=open_draft, name="s", key="sensors", value=[3])

    report = services.garbage_collect(grace=NOW)

    assert report.tallies["segment metadata"].deleted == 1
    main = selectors.revision_resolve(dataset=dataset, revision="main")
    assert selectors.segment_metadata(revision=main, name="s") == {"sensors": [2]}
    staged = selectors.revision_resolve(dataset=dataset, revision=open_draft.number)
    assert selectors.segment_metadata(revision=staged, name="s") == {"sensors": [3]}


def test_a_commit_racing_a_collection_loses_nothing(dataset: Dataset, user: User) -> None:
    """Between the mark and the sweep, a commit reuses an object and ranges the mark found unreachable."""
    gone = Dataset.objects.create(workspace=dataset.workspace, name="gone", creator=user)
    entries = [stored_entry(gone, "s", f"f{n}", f"content {n}".encode()) for n in range(5)]
    draft = services.draft_create(dataset=gone, title="t")
    services.draft_stage_upserts(draft=draft, entries=entries)
    services.draft_commit(draft=draft, title="t")
    dataset_delete(dataset=gone)
    orphan = stored_entry(dataset, "s", "late", b"uploaded long ago, registered during the pass")
    committed: list[Commit] = []

    def commit_meanwhile() -> None:
        # The same entries as the deleted dataset's, so the commit writes its very range and tree again.
        racing = services.draft_create(dataset=dataset, title="racing")
        services.draft_stage_upserts(draft=racing, entries=entries)
        committed.append(services.draft_commit(draft=racing, title="racing"))
        racing = services.draft_create(dataset=dataset, title="racing")
        services.draft_stage_upserts(draft=racing, entries=[orphan])
        committed.append(services.draft_commit(draft=racing, title="racing"))

    report = services.garbage_collect(grace=NOW, after_mark=commit_meanwhile)

    main = selectors.revision_resolve(dataset=dataset, revision="main")
    page = selectors.entry_list(revision=main, segment="s", limit=100).items
    assert [e.path for e in page] == sorted(e.path for e in [*entries, orphan])
    backend = hub_backend()
    for entry in page:
        assert b"".join(backend.iter_chunks(entry.object_key))
    assert report.tallies["ranges"].deleted == report.tallies["trees"].deleted == 0
    assert Tree.objects.filter(pk=committed[0].tree_id).exists()
    assert report.tallies["storage objects"].kept == len(entries) + 1


def test_object_records_follow_what_commits_hold(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    entry = stored_entry(dataset, "s", "a", b"a")
    services.draft_stage_upserts(draft=draft, entries=[entry])
    services.draft_commit(draft=draft, title="t")
    DatasetObject.objects.create(dataset=dataset, sha1="f" * 40)

    report = services.garbage_collect(grace=NOW)

    assert report.tallies["object records"].deleted == 1
    assert list(DatasetObject.objects.filter(dataset=dataset).values_list("sha1", flat=True)) == [entry.sha1]


def test_the_command_reports_and_refuses_a_negative_grace(dataset: Dataset) -> None:
    upload(dataset, b"orphan")
    out, err = io.StringIO(), io.StringIO()

    call_command("gc_versions", "--dry-run", "--older-than", "0", stdout=out, stderr=err)
    assert "storage objects: 1 unreachable, would delete 1 (6 B)" in out.getvalue()
    assert "sweeping" in err.getvalue()  # the progress bars

    call_command("gc_versions", "--older-than", "0", "--no-progress", stdout=out)
    assert "storage objects: 1 unreachable, deleted 1 (6 B)" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("gc_versions", "--older-than", "-1", stdout=out)


def test_marking_opens_each_live_range_once(dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranges shared by many commits are read once: the mark costs O(live ranges), not commits x ranges."""
    entries = [
        Entry.create(segment="s", remote_path=f"{n:05d}", object_key=f"k{n}", sha1=f"{n:040x}", size=1)
        for n in range(3000)
    ]
    services.commit_import(dataset=dataset, entries=entries, title="import", presorted=True)
    for n in range(5):
        draft = services.draft_create(dataset=dataset, title="t")
        services.draft_stage_upserts(draft=draft, entries=[entries[n * 600]._replace(size=2 + n)])
        services.draft_commit(draft=draft, title="t")
    opened: list[str] = []
    real = garbage.range_rows
    monkeypatch.setattr(garbage, "range_rows", lambda range_id: opened.append(range_id) or real(range_id))

    report = services.garbage_collect(grace=NOW, dry_run=True)
    assert opened == []  # no object in the dataset's storage to judge: entries are not read at all
    assert not report.errors  # a prefix never written to lists as empty

    upload(dataset, b"orphan")
    services.garbage_collect(grace=NOW, dry_run=True)
    assert len(opened) == len(set(opened)) == Range.objects.count()


@pytest.mark.mysql_only
@pytest.mark.django_db(transaction=True)
def test_uploads_and_commits_racing_collection_passes_lose_nothing(user: User) -> None:
    """Threads upload, register and commit objects while passes with no grace period run back to back."""
    dataset = Dataset.objects.create(workspace=user.owned_workspaces.get(), name="raced", creator=user)
    stop = threading.Event()
    failures: list[BaseException] = []
    passes = []

    def commit_rounds() -> None:
        try:
            for n in range(12):
                draft = services.draft_create(dataset=dataset, title=f"round {n}")
                content = f"round {n}".encode()
                _, sha1, size = upload(dataset, content)
                dataset_objects_register(
                    draft=draft, segment="s", objects=[UploadedObject(remote_path=f"f{n}", sha1=sha1, size=size)]
                )
                services.draft_commit(draft=draft, title=f"round {n}")
        except BaseException as error:
            failures.append(error)
        finally:
            stop.set()
            connection.close()

    def collect() -> None:
        try:
            while not stop.is_set():
                passes.append(services.garbage_collect(grace=NOW))
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=commit_rounds), threading.Thread(target=collect)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not failures
    assert passes
    main = selectors.revision_resolve(dataset=dataset, revision="main")
    entries = selectors.entry_list(revision=main, segment="s", limit=100).items
    assert len(entries) == 12
    for entry in entries:
        assert b"".join(hub_backend().iter_chunks(entry.object_key)) == f"round {entry.path[3:]}".encode()


def fence_statements(captured: CaptureQueriesContext) -> int:
    return sum("versioning_gcfence" in query["sql"] for query in captured.captured_queries)


@pytest.mark.mysql_only
@pytest.mark.django_db(transaction=True)
def test_a_transaction_shares_the_fence_once_and_every_new_one_again() -> None:
    with CaptureQueriesContext(connection) as autocommit:
        fence_share()
        fence_share()
    with CaptureQueriesContext(connection) as nested:
        with transaction.atomic():
            fence_share()
            with transaction.atomic():
                fence_share()
            fence_share()
        with transaction.atomic():
            fence_share()
    with CaptureQueriesContext(connection) as rolled_back:
        with transaction.atomic():
            with contextlib.suppress(RuntimeError), transaction.atomic():
                fence_share()
                raise RuntimeError
            fence_share()  # the mark went with the savepoint: taken again
        with contextlib.suppress(RuntimeError), transaction.atomic():
            fence_share()
            raise RuntimeError
        with transaction.atomic():
            fence_share()

    assert fence_statements(autocommit) == 2  # each holds it for its statement alone
    assert fence_statements(nested) == 2
    assert fence_statements(rolled_back) == 4


@pytest.mark.mysql_only
@pytest.mark.django_db(transaction=True)
def test_a_commit_shares_the_fence_once_for_everything_it_writes(user: User) -> None:
    dataset = Dataset.objects.create(workspace=user.owned_workspaces.get(), name="fenced", creator=user)
    draft = services.draft_create(dataset=dataset, title="files")
    entries = [stored_entry(dataset, "s", f"f{n}", b"%d" % n) for n in range(3)]
    services.draft_stage_upserts(draft=draft, entries=entries)

    with CaptureQueriesContext(connection) as committed:
        services.draft_commit(draft=draft, title="files")

    # It stores a range and a tree and registers objects, each of which shares the fence before it writes.
    assert fence_statements(committed) == 1
    assert DatasetObject.objects.filter(dataset=dataset).count() == 3


def test_uploading_an_object_already_stored_stamps_it_anew(dataset: Dataset, media: Path) -> None:
    """The hub skips writing content it has, but the upload still counts as recent for the grace period."""
    key, _, _ = upload(dataset, b"uploaded before")
    two_days_ago = time.time() - 2 * 86400
    os.utime(media / key, (two_days_ago, two_days_ago))

    storage_object_put(backend=hub_backend(), key=key, content=io.BytesIO(b"uploaded before"))

    services.garbage_collect(grace=timedelta(days=1))
    assert key in stored_keys()


def fusion_dataset(user: User, name: str = "drive") -> Dataset:
    return Dataset.objects.create(
        workspace=user.owned_workspaces.get(), name=name, creator=user, kind=Dataset.Kind.FUSION
    )


def stored_frames(
    dataset: Dataset, draft: Draft, segment: str, frames: dict[str, dict[str, bytes]], sensors: tuple[str, ...]
) -> None:
    """Upload each frame's files to the dataset's storage and put them in their (frame, sensor) slots."""
    services.draft_segment_ensure(draft=draft, name=segment)
    for sensor in sensors:
        services.draft_sensor_put(draft=draft, segment=segment, sensor={"name": sensor, "type": "CAMERA"})
    parts = []
    for frame_id, files in frames.items():
        for sensor, content in files.items():
            key, sha1, size = upload(dataset, content)
            parts.append((frame_id, Part(sensor, f"{frame_id[-3:]}-{sensor}.bin", key, sha1, size)))
    services.draft_frame_parts_put(draft=draft, segment=segment, parts=parts)


FRAME = "01GZ6T7Y3C0000000000000000"
OTHER_FRAME = "01GZ6T7Y3C0000000000000001"


def test_a_fusion_datasets_part_objects_and_sensors_are_kept(user: User) -> None:
    dataset = fusion_dataset(user)
    sensors = ("CAM", "LIDAR")
    draft = services.draft_create(dataset=dataset, title="frames")
    stored_frames(
        dataset,
        draft,
        "seq",
        {FRAME: {"CAM": b"cam 0", "LIDAR": b"lidar 0"}, OTHER_FRAME: {"CAM": b"cam 1", "LIDAR": b"lidar 1"}},
        sensors,
    )
    first = services.draft_commit(draft=draft, title="frames")
    edit = services.draft_create(dataset=dataset, title="relabel")
    stored_frames(dataset, edit, "seq", {FRAME: {"LIDAR": b"lidar 0 again"}}, sensors)
    services.draft_commit(draft=edit, title="replace a part")
    # Staged in a draft that is closed since: no open draft holds the dataset's uploads, only the mark does.
    closed = services.draft_create(dataset=dataset, title="closed")
    stored_frames(dataset, closed, "seq", {OTHER_FRAME: {"CAM": b"cam 1 staged"}}, sensors)
    services.draft_close(draft=closed)
    orphan, _, _ = upload(dataset, b"never staged")
    part_keys = {key for key in stored_keys() if key != orphan}
    records = set(DatasetObject.objects.filter(dataset=dataset).values_list("sha1", flat=True))
    before = read_everything([dataset])
    assert len(part_keys) == 6
    assert referenced_keys(before) == part_keys
    assert first.file_counts == {"seq": 4}

    report = services.garbage_collect(grace=NOW)

    assert stored_keys() == part_keys
    assert read_everything([dataset]) == before
    assert set(DatasetObject.objects.filter(dataset=dataset).values_list("sha1", flat=True)) == records
    revision = selectors.revision_resolve(dataset=dataset, revision=first.id)
    assert [sensor["name"] for sensor in selectors.segment_sensors(revision=revision, segment="seq")] == list(sensors)
    assert Commit.objects.get(pk=first.pk).file_counts == {"seq": 4}
    assert report.tallies["storage objects"].deleted == 1
    assert all(tally.found == 0 for tally in services.garbage_collect(grace=NOW).tallies.values())


def test_a_part_staged_during_a_pass_is_kept(user: User, media: Path) -> None:
    dataset = fusion_dataset(user)
    draft = services.draft_create(dataset=dataset, title="frames")
    stored_frames(dataset, draft, "seq", {FRAME: {"CAM": b"cam"}}, ("CAM",))
    services.draft_commit(draft=draft, title="frames")
    key, sha1, size = upload(dataset, b"uploaded long ago")
    two_days_ago = time.time() - 2 * 86400
    os.utime(media / key, (two_days_ago, two_days_ago))
    # The object predates the draft, so only the check under the fence keeps it once it is staged.
    later = services.draft_create(dataset=dataset, title="later")

    def stage() -> None:
        part = Part("CAM", "late.bin", key, sha1, size)
        services.draft_frame_parts_put(draft=later, segment="seq", parts=[(OTHER_FRAME, part)])

    services.garbage_collect(grace=NOW, after_mark=stage)

    assert key in stored_keys()


def test_a_merge_jobs_result_draft_is_kept(user: User, media: Path) -> None:
    dataset = fusion_dataset(user)
    sensors = ("CAM", "LIDAR")
    draft = services.draft_create(dataset=dataset, title="frames")
    stored_frames(dataset, draft, "seq", {FRAME: {"CAM": b"cam", "LIDAR": b"lidar"}}, sensors)
    services.draft_commit(draft=draft, title="frames")
    services.branch_create(dataset=dataset, name="dev", revision="main")
    dev = services.draft_create(dataset=dataset, title="dev", branch_name="dev")
    stored_frames(dataset, dev, "seq", {FRAME: {"CAM": b"cam on dev"}, OTHER_FRAME: {"LIDAR": b"new on dev"}}, sensors)
    services.draft_commit(draft=dev, title="dev")
    job = jobs.job_create(
        dataset=dataset,
        job_type="squashAndMerge",
        title="dev->main",
        arguments={"title": "merged", "sourceBranchName": "dev", "targetBranchName": "main", "strategy": "override"},
    )
    jobs.job_run(job_id=job.pk, attempt=job.attempt)
    job = Job.objects.select_related("result_draft").get(pk=job.pk)
    assert job.status == Job.Status.SUCCESS and job.result_draft is not None
    result = job.result_draft
    services.branch_delete(dataset=dataset, name="dev")
    orphan, _, _ = upload(dataset, b"never staged")
    # Written before the result draft opened: the open draft's upload window does not keep them, the mark does.
    three_days_ago = time.time() - 3 * 86400
    for key in stored_keys():
        os.utime(media / key, (three_days_ago, three_days_ago))
    before = read_everything([dataset])

    report = services.garbage_collect(grace=NOW)

    assert report.tallies["storage objects"].deleted == 1 and orphan not in stored_keys()
    assert read_everything([dataset]) == before
    job = Job.objects.select_related("result_draft").get(pk=job.pk)
    assert job.result_draft == result and job.result_draft.is_open
    merged = services.draft_commit(draft=job.result_draft, title="merged")
    revision = selectors.revision_resolve(dataset=dataset, revision=merged.id)
    frames = {entry.remote_path: entry for entry in selectors.entry_list(revision=revision, segment="seq").items}
    assert {name: [part.name for part in frames[name].part_list()] for name in frames} == {
        FRAME: ["CAM", "LIDAR"],
        OTHER_FRAME: ["LIDAR"],
    }
    backend = hub_backend()
    contents = {part.name: b"".join(backend.iter_chunks(part.object_key)) for part in frames[FRAME].part_list()}
    assert contents == {"CAM": b"cam on dev", "LIDAR": b"lidar"}
    assert merged.file_counts == {"seq": 3}


def mask_label(dataset: Dataset, content: bytes) -> tuple[str, dict]:
    """A stored mask and a label referring to it as the catalog rules store one: (its key, the label)."""
    key, sha1, size = upload(dataset, content)
    return key, {"SEMANTIC_MASK": {"remotePath": "a.png", "checksum": sha1, "fileSize": size, "objectKey": key}}


def test_masks_that_committed_and_staged_labels_refer_to_are_kept(dataset: Dataset) -> None:
    committed_mask, committed_label = mask_label(dataset, b"committed mask")
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_stage_upserts(draft=draft, entries=[stored_entry(dataset, "s", "a", b"a", committed_label)])
    services.draft_commit(draft=draft, title="c")
    staged_mask, staged_label = mask_label(dataset, b"staged mask")
    closed = services.draft_create(dataset=dataset, title="closed")
    services.draft_stage_upserts(draft=closed, entries=[stored_entry(dataset, "s", "b", b"b", staged_label)])
    services.draft_close(draft=closed)
    orphan, _, _ = upload(dataset, b"never referred to")

    services.garbage_collect(grace=NOW)

    assert {committed_mask, staged_mask} <= stored_keys()
    assert orphan not in stored_keys()


def test_a_mask_staged_during_a_pass_is_kept(dataset: Dataset, media: Path) -> None:
    key, label = mask_label(dataset, b"mask uploaded long ago")
    two_days_ago = time.time() - 2 * 86400
    os.utime(media / key, (two_days_ago, two_days_ago))
    later = services.draft_create(dataset=dataset, title="later")

    def stage() -> None:
        services.draft_stage_upserts(draft=later, entries=[stored_entry(dataset, "s", "a", b"data", label)])

    services.garbage_collect(grace=NOW, after_mark=stage)

    assert key in stored_keys()


def test_every_file_a_sheet_row_refers_to_is_kept(dataset: Dataset) -> None:
    # A row is an entry whose label is the row: only its first file is the entry's own object.
    first, sha1, size = upload(dataset, b"first file")
    second, _, second_size = upload(dataset, b"second file")
    staged, _, staged_size = upload(dataset, b"file of a staged row")
    row = {"image": {"key": first, "size": size}, "more": [{"key": second, "size": second_size}]}
    draft = services.draft_create(dataset=dataset, title="rows")
    entry = Entry.create(segment="train", remote_path="1", object_key=first, sha1=sha1, size=size, label=row)
    services.draft_stage_upserts(draft=draft, entries=[entry])
    services.draft_commit(draft=draft, title="rows")
    closed = services.draft_create(dataset=dataset, title="closed")
    staged_row = {"nested": {"record": {"key": staged, "size": staged_size}}}
    row_entry = Entry.create(segment="train", remote_path="2", object_key="", sha1="", size=0, label=staged_row)
    services.draft_stage_upserts(draft=closed, entries=[row_entry])
    services.draft_close(draft=closed)
    orphan, _, _ = upload(dataset, b"no row refers to it")

    services.garbage_collect(grace=NOW)

    assert {first, second, staged} <= stored_keys()
    assert orphan not in stored_keys()


def test_a_live_search_result_is_kept_and_a_deleted_one_collected(user: User, media: Path) -> None:
    dataset = fusion_dataset(user)
    draft = services.draft_create(dataset=dataset, title="frames")
    stored_frames(dataset, draft, "seq", {FRAME: {"CAM": b"cam", "LIDAR": b"lidar"}}, ("CAM", "LIDAR"))
    head = services.draft_commit(draft=draft, title="frames")
    arguments = {"commit": head.id, "filters": [{"key": "sensor", "operator": "in", "value": ["CAM"]}]}
    job = jobs.job_create(dataset=dataset, job_type="basicSearch", title="cameras", arguments=arguments)
    jobs.job_run(job_id=job.pk, attempt=job.attempt)
    job = Job.objects.select_related("result_dataset").get(pk=job.pk)
    result = job.result_dataset
    assert job.status == Job.Status.SUCCESS and result is not None
    result_tree = Commit.objects.get(dataset=result).tree_id
    assert result_tree != head.tree_id
    three_days_ago = time.time() - 3 * 86400
    for key in stored_keys():
        os.utime(media / key, (three_days_ago, three_days_ago))
    before = read_everything([dataset, result])

    services.garbage_collect(grace=NOW)

    assert read_everything([dataset, result]) == before
    jobs.job_delete(job=job)
    services.garbage_collect(grace=NOW)
    assert not Dataset.all_objects.filter(pk=result.pk).exists()
    assert not Tree.objects.filter(pk=result_tree).exists()
    assert Tree.objects.filter(pk=head.tree_id).exists()
    assert read_everything([dataset]) == {key: value for key, value in before.items() if key[0] == dataset.pk}
