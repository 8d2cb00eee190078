"""Garbage collection of versioned content: mark what anything still reaches, sweep the rest after a grace period.

Roots: every commit of every dataset (branches and tags point at commits, and commits stay reachable by id),
and the staged entries and segment metadata of every draft that still holds them (open or closed: a closed
draft stays readable; a merge job's result draft is one of them). A fusion frame refers to no object of its
own but to one per part (a sensor's file), each with its object key and SHA-1: all of them are reached.
Sensors live in segment metadata, reached like any other; a commit's file counts are a column of its row.
Swept: trees, ranges and segment metadata no commit or draft reaches; objects under a
dataset's prefix in its storage (``<dataset hex id>/<sha1>``, the only keys the hub addresses itself) that no
entry of a commit or draft of any dataset on that storage points at, including every object of a deleted
dataset; and the dataset's object records (``DatasetObject``) for SHA-1s none of its commits holds.

Safety against concurrent writers (see ``versioning.fence``): the mark starts by taking the fence alone, so
every earlier write is visible to it and every later one carries a later stamp. Roots are read drafts first,
commits second: a draft committed in between is seen either as a draft or as a commit. A row is deleted only
if its stamp is older than the mark's start minus the grace period, checked in the delete itself, so content
written again meanwhile is kept. An object is deleted only if it was last written before that time, not after
its dataset's oldest open draft was opened (an upload not yet staged), and, checked again under the fence,
not staged or committed since the mark began.

Cost: one pass over the stored rows and the listed objects, and over the live trees (each distinct tree and
range once per dataset), streamed; the entries of live ranges are read only for storages where the listing
found candidate objects. The sets compared are sorted on disk in bounded runs; what stays in memory per
dataset is the set of its range ids, one per about a thousand entries. A storage with few candidates
(``CANDIDATES_IN_MEMORY``) holds them in memory, so of the keys live entries hold only those are set aside.
"""

import contextlib
import heapq
import re
import tempfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any, TextIO

import msgpack
from django.db import IntegrityError, transaction
from django.db.models import IntegerField, Min, Model, Q
from django.db.models.functions import Length
from tqdm import tqdm

from datasets.models import Dataset, DatasetFile
from storage_configs.backends import StorageBackend, backend_for
from storage_configs.models import StorageConfig
from versioning import labels as label_rules
from versioning.fence import fence_hold, fence_mark
from versioning.models import (
    Commit,
    DatasetGarbage,
    DatasetObject,
    DeletedDataset,
    Draft,
    Metarange,
    Range,
    SegmentMetadata,
    StagedEntry,
    StagedSegment,
    Tree,
)
from versioning.trees import PLAIN_ROW_LENGTH, TreeContent, range_rows

SORT_RUN_SIZE = 100_000
# A storage with at most this many candidate objects keeps them in memory, so the mark sets aside only the live
# keys among them rather than every key a live entry holds.
CANDIDATES_IN_MEMORY = 200_000
ROW_BATCH = 2000
DELETE_BATCH = 200
HUB = "hub"
SHA1_NAME = re.compile(r"[0-9a-f]{40}")


class SortedSpill:
    """Strings added in any order, read back sorted without repeats; runs beyond one are spilled to disk."""

    def __init__(self, run_size: int = SORT_RUN_SIZE) -> None:
        self.run_size = run_size
        self.count = 0
        self._run: list[str] = []
        self._spools: list[IO[bytes]] = []

    def add(self, item: str) -> None:
        """Add one string."""
        self._run.append(item)
        self.count += 1
        if len(self._run) >= self.run_size:
            self._spill()

    def extend(self, items: list[str]) -> None:
        """Add a batch of strings (a run then overshoots its size by at most one batch)."""
        self._run.extend(items)
        self.count += len(items)
        if len(self._run) >= self.run_size:
            self._spill()

    def _spill(self) -> None:
        spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed once read back)
        spool.write(b"".join(map(msgpack.Packer().pack, sorted(set(self._run)))))
        spool.seek(0)
        self._spools.append(spool)
        self._run = []

    def __iter__(self) -> Iterator[str]:
        runs: list[Iterable[str]] = [sorted(self._run)]
        runs.extend(_read_spool(spool) for spool in self._spools)
        self._run, self._spools = [], []
        previous = None
        for item in heapq.merge(*runs):
            if item != previous:
                yield item
                previous = item


def _read_spool(spool: IO[bytes]) -> Iterator[str]:
    with spool:
        yield from msgpack.Unpacker(spool, raw=False)


def sorted_minus(items: Iterable[Any], live: Iterable[str], key: Callable[[Any], str]) -> Iterator[Any]:
    """The items (sorted by ``key``) whose key is not in ``live`` (sorted strings), streaming both."""
    live_iterator = iter(live)
    current = next(live_iterator, None)
    for item in items:
        item_key = key(item)
        while current is not None and current < item_key:
            current = next(live_iterator, None)
        if current != item_key:
            yield item


@dataclass
class Tally:
    """What one kind of content the collection found unreachable: deleted (or, dry, would be), and kept."""

    found: int = 0
    found_bytes: int = 0
    deleted: int = 0
    deleted_bytes: int = 0
    # Unreachable but too recent (inside the grace period, held by an open draft, or written again).
    kept: int = 0
    kept_bytes: int = 0


KINDS = ("trees", "metaranges", "ranges", "segment metadata", "object records", "storage objects")


@dataclass
class CollectionReport:
    """The outcome of one garbage collection pass."""

    dry_run: bool
    marked_at: datetime
    cutoff: datetime
    tallies: dict[str, Tally] = field(default_factory=lambda: {kind: Tally() for kind in KINDS})
    # Per live dataset: (unreachable objects left in its storage, their bytes) after the pass.
    reclaimable: dict[int, tuple[int, int]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Prefix:
    """A dataset prefix in a storage whose objects are candidates: a live dataset's or a deleted one's."""

    hex_id: str
    dataset_id: int | None  # None: a deleted dataset
    tombstone_id: int | None = None


def _storage_ref(config_id: int | None) -> str:
    return HUB if config_id is None else str(config_id)


def _rows(model: type[Model], *fields: Any) -> Iterator[tuple]:
    """(pk, *fields) of every row in primary-key order, a batch at a time (never one huge result)."""
    last = None
    while True:
        rows = model._default_manager.order_by("pk")
        if last is not None:
            rows = rows.filter(pk__gt=last)
        batch = list(rows.values_list("pk", *fields)[:ROW_BATCH])
        yield from batch
        if len(batch) < ROW_BATCH:
            return
        last = batch[-1][0]


class Collector:
    """One mark and sweep; ``dry_run`` finds and reports everything and deletes nothing."""

    def __init__(
        self,
        *,
        grace: timedelta,
        dry_run: bool = False,
        progress: TextIO | None = None,
        after_mark: Callable[[], None] | None = None,
    ) -> None:
        self.grace = grace
        self.dry_run = dry_run
        self.progress = progress
        # Called between the mark and the sweep (tests use it to race writers against a pass).
        self.after_mark = after_mark
        # Datasets whose entries the mark read, so their object records can be judged.
        self.checked_records: set[int] = set()

    def _bar(self, description: str, total: int | None = None) -> tqdm:
        return tqdm(
            desc=description, total=total, unit=" items", file=self.progress, disable=self.progress is None, leave=True
        )

    def run(self) -> CollectionReport:
        """Mark, then sweep; returns what was found and deleted."""
        marked_at = fence_mark()
        report = CollectionReport(dry_run=self.dry_run, marked_at=marked_at, cutoff=marked_at - self.grace)
        self.report = report
        backends, prefixes, spills = self._list_objects()
        candidates: dict[str, Iterable[str]] = dict(spills)
        wanted: dict[str, set[str] | None] = {}  # storages with candidates: those live keys matter (None: all)
        for ref, spill in spills.items():
            if spill.count > CANDIDATES_IN_MEMORY:
                wanted[ref] = None
            elif spill.count:
                candidates[ref] = list(spill)
                wanted[ref] = set(candidates[ref])
        live = self._mark(wanted=wanted)
        if self.after_mark is not None:
            self.after_mark()
        self._sweep_rows(Tree, live["trees"], "trees")
        self._sweep_rows(Metarange, live["metaranges"], "metaranges")
        self._sweep_rows(Range, live["ranges"], "ranges")
        self._sweep_rows(SegmentMetadata, live["metadata"], "segment metadata")
        self._sweep_object_records(live["objects"], report.tallies["object records"])
        self._sweep_storage(backends, prefixes, candidates, live["keys"], report.tallies["storage objects"])
        return report

    # Listing ---------------------------------------------------------------------------------------------

    def _list_objects(self) -> tuple[dict[str, StorageBackend], dict[str, _Prefix], dict[str, SortedSpill]]:
        """Candidate objects per storage: every ``<hex>/<sha1>`` key under a dataset's prefix, sorted."""
        by_ref: dict[str, list[_Prefix]] = defaultdict(list)
        live_hex = set()
        for pk, dataset_uuid, config_id in Dataset.all_objects.order_by("pk").values_list(
            "pk", "uuid", "storage_config_id"
        ):
            by_ref[_storage_ref(config_id)].append(_Prefix(dataset_uuid.hex, pk))
            live_hex.add(dataset_uuid.hex)
        tombstones = DeletedDataset.objects.filter(deleted_at__lt=self.report.cutoff).order_by("pk")
        for pk, hex_id, config_id in tombstones.values_list("pk", "hex_id", "storage_config_id"):
            if hex_id not in live_hex:
                by_ref[_storage_ref(config_id)].append(_Prefix(hex_id, None, pk))
        configs = StorageConfig.objects.in_bulk([int(ref) for ref in by_ref if ref != HUB])
        backends: dict[str, StorageBackend] = {}
        prefixes: dict[str, _Prefix] = {}
        candidates: dict[str, SortedSpill] = {}
        bar = self._bar("listing objects")
        for ref, datasets in by_ref.items():
            try:
                backend = backend_for(None if ref == HUB else configs[int(ref)])
                spill = SortedSpill()
                for prefix in datasets:
                    prefixes[f"{ref}\0{prefix.hex_id}"] = prefix
                    for key in backend.iter_keys(f"{prefix.hex_id}/"):
                        if key.startswith(f"{prefix.hex_id}/") and SHA1_NAME.fullmatch(key[len(prefix.hex_id) + 1 :]):
                            spill.add(key)
                            bar.update()
            except Exception as error:  # a storage that cannot be listed is left alone, never half-judged
                self.report.errors.append(f"storage {ref}: cannot list objects ({error})")
                continue
            backends[ref] = backend
            candidates[ref] = spill
        bar.close()
        return backends, prefixes, candidates

    # Mark ------------------------------------------------------------------------------------------------

    def _mark(self, *, wanted: dict[str, set[str] | None]) -> dict[str, SortedSpill]:
        """Everything the roots reach: ids of trees, metaranges, ranges and metadata, storage keys, (dataset, sha1)
        pairs.

        Storage keys are read for the storages in ``wanted`` alone, and of those only the candidates it holds.
        """
        live = {name: SortedSpill() for name in ("trees", "metaranges", "ranges", "metadata", "keys", "objects")}
        config_of = dict(Dataset.all_objects.values_list("pk", "storage_config_id"))
        bar = self._bar("marking")
        # Drafts first, commits second (see the module docstring).
        for _, object_key, label, parts, config_id in _rows(
            StagedEntry, "object_key", "label", "parts", "draft__dataset__storage_config_id"
        ):
            ref = _storage_ref(config_id)
            if ref in wanted:
                # A staged frame has no object of its own: each of its parts (a sensor's file) has one. Masks
                # are objects a label refers to.
                keys = [object_key] if parts is None else [part[2] for part in parts]
                labels = [label] if parts is None else [part[5] if len(part) > 5 else None for part in parts]
                keys.extend(key for key, _ in _mask_objects(labels))
                for key in keys:
                    if key and _is_wanted(wanted, ref, key):
                        live["keys"].add(f"{ref}\0{key}")
            bar.update()
        for _, metadata_id in _rows(StagedSegment, "metadata_id"):
            if metadata_id:
                live["metadata"].add(metadata_id)
        for _, object_key, config_id in _rows(DatasetFile, "oss_object", "storage_config_id"):
            ref = _storage_ref(config_id)
            if ref in wanted and _is_wanted(wanted, ref, object_key):
                live["keys"].add(f"{ref}\0{object_key}")
        dataset_id: int | None = None
        seen_trees: set[str] = set()
        seen_ranges: set[str] = set()
        for _, commit_dataset, tree_id in self._commits():
            if commit_dataset != dataset_id:
                dataset_id, seen_trees, seen_ranges = commit_dataset, set(), set()
            if tree_id in seen_trees:
                continue
            seen_trees.add(tree_id)
            live["trees"].add(tree_id)
            ref = _storage_ref(config_of.get(dataset_id))
            data = Tree.objects.values_list("data", flat=True).get(pk=tree_id)
            content = TreeContent.decode(zlib.decompress(data))
            for metadata_id in content.metadata_ids.values():
                live["metadata"].add(metadata_id)
            for index, node in enumerate(content.nodes):
                if node.id:
                    if node.id in seen_ranges:
                        bar.update(node.length)
                        continue  # a metarange another commit of the dataset shares: its ranges are marked
                    seen_ranges.add(node.id)
                    live["metaranges"].add(node.id)
                for range_ref in content.node_ranges(index).refs:
                    if range_ref.id in seen_ranges:
                        bar.update(range_ref.length)
                        continue
                    seen_ranges.add(range_ref.id)
                    live["ranges"].add(range_ref.id)
                    # Entries are read only for a storage holding candidate objects; a dataset's object records
                    # change only with its commits, so they are checked on the same pass, at no further reads.
                    if ref in wanted:
                        self._mark_objects(range_rows(range_ref.id), ref, wanted[ref], dataset_id, live)
                    bar.update(range_ref.length)
        bar.close()
        return live

    def _mark_objects(
        self, rows: list[list[Any]], ref: str, keep: set[str] | None, dataset_id: int, live: dict[str, SortedSpill]
    ) -> None:
        """Mark the storage keys (those in ``keep``, when given) and (dataset, sha1) pairs of a range's rows."""
        # Most rows are a file without a label, whose object is its own: read without a call each.
        plain = [len(row) == PLAIN_ROW_LENGTH and not row[4] for row in rows]
        keys = [row[1] for row, simple in zip(rows, plain, strict=True) if simple]
        sha1s = [row[2] for row, simple in zip(rows, plain, strict=True) if simple]
        for row, simple in zip(rows, plain, strict=True):
            # A fusion frame's row holds its parts, each with its object key and SHA-1.
            for object_key, sha1 in [] if simple else _row_objects(row):
                keys.append(object_key)
                sha1s.append(sha1)
        live["keys"].extend([f"{ref}\0{key}" for key in keys if keep is None or key in keep])
        tag = f"{dataset_id:012d}:"
        live["objects"].extend([tag + sha1 for sha1 in sha1s])
        self.checked_records.add(dataset_id)

    def _commits(self) -> Iterator[tuple[str, int, str]]:
        """(id, dataset id, tree id) of every commit, dataset by dataset."""
        for (dataset_id,) in _dataset_ids():
            yield from Commit.objects.filter(dataset_id=dataset_id).values_list("pk", "dataset_id", "tree_id")

    # Sweep -----------------------------------------------------------------------------------------------

    def _sweep_rows(self, model: type[Model], live: Iterable[str], kind: str) -> None:
        """Delete the content rows no root reaches, stamped before the cutoff."""
        tally = self.report.tallies[kind]
        cutoff = self.report.cutoff
        manager = model._default_manager
        batch: list[str] = []
        bar = self._bar(f"sweeping {kind}")

        def sizes(ids: list[str]) -> dict[str, int]:
            # Sizes are read for the unreachable rows alone: a scan of every row's size would read every blob.
            return dict(
                manager.filter(pk__in=ids)
                .annotate(n=Length("data", output_field=IntegerField()))
                .values_list("pk", "n")
            )

        def delete() -> None:
            before = sizes(batch)
            tally.found_bytes += sum(before.values())
            if not self.dry_run:
                # A commit that took a tree meanwhile fails the delete: the batch waits for the next pass.
                with contextlib.suppress(IntegrityError):
                    tally.deleted += manager.filter(pk__in=batch, created_at__lt=cutoff)._raw_delete(manager.db)
                after = set(manager.filter(pk__in=batch).values_list("pk", flat=True))
                for pk, row_size in before.items():
                    if pk in after:
                        tally.kept += 1
                        tally.kept_bytes += row_size
                    else:
                        tally.deleted_bytes += row_size
            batch.clear()

        young: list[str] = []
        for pk, created_at in sorted_minus(_rows(model, "created_at"), live, key=lambda row: row[0]):
            tally.found += 1
            bar.update()
            if created_at >= cutoff:
                young.append(pk)
                tally.kept += 1
                if len(young) >= DELETE_BATCH:
                    self._count_kept(young, sizes, tally)
                continue
            batch.append(pk)
            if len(batch) >= DELETE_BATCH:
                delete()
        if batch:
            delete()
        self._count_kept(young, sizes, tally)
        bar.close()

    @staticmethod
    def _count_kept(ids: list[str], sizes: Callable[[list[str]], dict[str, int]], tally: Tally) -> None:
        found = sum(sizes(ids).values()) if ids else 0
        tally.found_bytes += found
        tally.kept_bytes += found
        ids.clear()

    def _sweep_object_records(self, live: Iterable[str], tally: Tally) -> None:
        """Delete a dataset's object records for SHA-1s none of its commits holds."""
        cutoff = self.report.cutoff
        records = _object_records((pk,) for pk in sorted(self.checked_records))
        batch: list[int] = []

        def delete() -> None:
            if not self.dry_run:
                deleted = DatasetObject.objects.filter(pk__in=batch, registered_at__lt=cutoff)._raw_delete(
                    DatasetObject.objects.db
                )
                tally.deleted += deleted
                tally.kept += len(batch) - deleted
            batch.clear()

        for pk, _, _, registered_at in sorted_minus(records, live, key=lambda row: f"{row[1]:012d}:{row[2]}"):
            tally.found += 1
            if registered_at >= cutoff:
                tally.kept += 1
                continue
            batch.append(pk)
            if len(batch) >= DELETE_BATCH:
                delete()
        if batch:
            delete()

    def _sweep_storage(
        self,
        backends: dict[str, StorageBackend],
        prefixes: dict[str, _Prefix],
        candidates: dict[str, Iterable[str]],
        live: Iterable[str],
        tally: Tally,
    ) -> None:
        """Delete unreachable objects written before the cutoff and before their dataset's oldest open draft."""
        cutoff = self.report.cutoff
        open_since = dict(
            Draft.objects.filter(state=Draft.State.OPEN)
            .values("dataset_id")
            .annotate(since=Min("created_at"))
            .values_list("dataset_id", "since")
        )
        left: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # prefix -> [objects, bytes] not deleted
        bar = self._bar("sweeping storage objects")
        live_iterator = iter(live)

        def all_candidates() -> Iterator[str]:
            for ref in sorted(candidates):
                for key in candidates[ref]:
                    yield f"{ref}\0{key}"

        batch: list[tuple[StorageBackend, str, str, int]] = []

        def delete() -> None:
            if self.dry_run:
                for _, _, prefix, object_size in batch:
                    left[prefix][0] += 1
                    left[prefix][1] += object_size
                batch.clear()
                return
            sha1s = {key.rpartition("/")[2] for _, key, _, _ in batch}
            with transaction.atomic():
                fence_hold()
                # Staged or committed since the mark began: in use again.
                reused = set(StagedEntry.objects.filter(sha1__in=sha1s).values_list("sha1", flat=True))
                # Frame parts sit in a JSON list, not the indexed column: read those staged in drafts changed
                # since the mark began (staging stamps its draft under the fence; earlier ones the mark saw).
                reused.update(_staged_part_sha1s(since=self.report.marked_at) & sha1s)
                reused.update(
                    DatasetObject.objects.filter(sha1__in=sha1s, registered_at__gte=self.report.marked_at).values_list(
                        "sha1", flat=True
                    )
                )
                for backend, key, prefix, object_size in batch:
                    if key.rpartition("/")[2] in reused:
                        tally.kept += 1
                        tally.kept_bytes += object_size
                        left[prefix][0] += 1
                        left[prefix][1] += object_size
                        continue
                    try:
                        backend.delete(key)
                    except Exception as error:  # left for the next pass; the others go on
                        self.report.errors.append(f"cannot delete {key} ({error})")
                        continue
                    tally.deleted += 1
                    tally.deleted_bytes += object_size
            batch.clear()

        for item in sorted_minus(all_candidates(), live_iterator, key=lambda item: item):
            ref, _, key = item.partition("\0")
            backend = backends[ref]
            prefix_key = f"{ref}\0{key.partition('/')[0]}"
            prefix = prefixes[prefix_key]
            try:
                object_size = backend.size(key)
                written_at = backend.modified_at(key)
            except Exception:  # gone meanwhile, or unreadable: nothing to judge
                continue
            tally.found += 1
            tally.found_bytes += object_size
            bar.update()
            draft_since = open_since.get(prefix.dataset_id) if prefix.dataset_id is not None else None
            if written_at >= cutoff or (draft_since is not None and written_at >= draft_since - FILE_CLOCK_SLACK):
                tally.kept += 1
                tally.kept_bytes += object_size
                left[prefix_key][0] += 1
                left[prefix_key][1] += object_size
                continue
            batch.append((backend, key, prefix_key, object_size))
            if len(batch) >= DELETE_BATCH:
                delete()
        if batch:
            delete()
        bar.close()
        for prefix_key, prefix in prefixes.items():
            objects, object_bytes = left.get(prefix_key, (0, 0))
            if prefix.dataset_id is not None:
                self.report.reclaimable[prefix.dataset_id] = (objects, object_bytes)
            elif not self.dry_run and not objects and prefix.tombstone_id is not None:
                DeletedDataset.objects.filter(pk=prefix.tombstone_id).delete()
        _garbage_record(self.report.reclaimable, measured_at=self.report.marked_at)


# A file's modification time comes from the kernel's coarse clock, which lags the clock a draft's creation time
# is read from by up to a tick: an upload made just after its draft opened can look older than the draft.
FILE_CLOCK_SLACK = timedelta(seconds=1)
# A key the hub addresses itself: ``<dataset hex id>/<sha1>``.
HUB_KEY = re.compile(r"[0-9a-f]{32}/([0-9a-f]{40})")


def _is_wanted(wanted: dict[str, set[str] | None], ref: str, key: str) -> bool:
    """Whether the mark must keep a live key of a storage with candidates (all of them, or the candidates)."""
    keep = wanted[ref]
    return keep is None or key in keep


def _file_references(value: Any, found: list[tuple[str, str]]) -> None:
    """Collect the hub keys a sheet row's file values (``{"key": ..., "size": ...}``, at any depth) refer to."""
    if isinstance(value, dict):
        key = value.get("key")
        if isinstance(key, str) and (match := HUB_KEY.fullmatch(key)):
            found.append((key, match.group(1)))
        for item in value.values():
            _file_references(item, found)
    elif isinstance(value, list):
        for item in value:
            _file_references(item, found)


def _mask_objects(labels: Iterable[dict | None]) -> list[tuple[str, str]]:
    """(object key, SHA-1) of every object the labels refer to: masks, and the files of a sheet's rows (a row
    is an entry whose label is the row; only its first file is the entry's own object)."""
    found: list[tuple[str, str]] = []
    for label in labels:
        found.extend(
            (reference.get("objectKey", ""), reference.get("checksum", ""))
            for _, reference in label_rules.mask_references(label)
        )
        _file_references(label, found)
    return found


def _row_objects(row: list[Any]) -> list[tuple[str, str]]:
    """(object key, SHA-1) of every object a stored entry row refers to: its own, or each of its parts', and
    the masks their labels refer to."""
    parts = row[PLAIN_ROW_LENGTH] if len(row) > PLAIN_ROW_LENGTH else None
    if parts is None:
        return [(row[1], row[2]), *_mask_objects([row[4]])]
    files = [(part[2], part[3]) for part in parts]
    return files + _mask_objects(part[5] if len(part) > 5 else None for part in parts)


def _staged_part_sha1s(*, since: datetime) -> set[str]:
    """The SHA-1 of every part, and of every mask, staged in a draft changed since ``since``."""
    rows = StagedEntry.objects.filter(draft__updated_at__gte=since, action=StagedEntry.Action.PUT).filter(
        Q(parts__isnull=False) | Q(label__isnull=False)
    )
    sha1s: set[str] = set()
    for label, parts in rows.values_list("label", "parts").iterator(chunk_size=ROW_BATCH):
        labels = [label, *(part[5] if len(part) > 5 else None for part in parts or ())]
        sha1s.update(part[3] for part in parts or ())
        sha1s.update(sha1 for _, sha1 in _mask_objects(labels))
    return sha1s


def _garbage_record(reclaimable: dict[int, tuple[int, int]], *, measured_at: datetime) -> None:
    """Keep what the pass left unreachable per dataset, for curators (a dataset with none has no row)."""
    empty = [pk for pk, (objects, _) in reclaimable.items() if not objects]
    DatasetGarbage.objects.filter(dataset_id__in=empty).delete()
    for pk, (objects, object_bytes) in reclaimable.items():
        if objects:
            DatasetGarbage.objects.update_or_create(
                dataset_id=pk,
                defaults={"object_count": objects, "reclaimable_bytes": object_bytes, "measured_at": measured_at},
            )


def _dataset_ids() -> Iterator[tuple[int]]:
    last = 0
    while True:
        batch = list(Dataset.all_objects.filter(pk__gt=last).order_by("pk").values_list("pk")[:ROW_BATCH])
        yield from batch
        if len(batch) < ROW_BATCH:
            return
        last = batch[-1][0]


def _object_records(datasets: Iterable[tuple[int]]) -> Iterator[tuple[int, int, str, datetime]]:
    """(pk, dataset id, sha1, stamp) of the datasets' object records by dataset and sha1, a batch at a time."""
    for (dataset_id,) in datasets:
        last = ""
        while True:
            batch = list(
                DatasetObject.objects.filter(dataset_id=dataset_id, sha1__gt=last)
                .order_by("sha1")
                .values_list("pk", "dataset_id", "sha1", "registered_at")[:ROW_BATCH]
            )
            yield from batch
            if len(batch) < ROW_BATCH:
                break
            last = batch[-1][2]


def collect(
    *,
    grace: timedelta,
    dry_run: bool = False,
    progress: TextIO | None = None,
    after_mark: Callable[[], None] | None = None,
) -> CollectionReport:
    """Run one garbage collection pass (see the module docstring)."""
    return Collector(grace=grace, dry_run=dry_run, progress=progress, after_mark=after_mark).run()
