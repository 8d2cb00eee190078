"""Writes to versioned content: drafts and their staged changes, commits, branches, tags and bulk imports.

Concurrency: a commit locks its branch row first (``select_for_update``), so on MariaDB the transaction's
snapshot starts after any commit it waited for; the head then moves by compare-and-swap under that lock.
Staging locks the draft row, so a commit never misses changes staged while it runs. Call ``draft_commit``
and ``commit_import`` outside any transaction that has already read versioning rows: under REPEATABLE READ
an older snapshot would not see the commit it waited for.
"""

import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import timedelta
from functools import cache
from itertools import islice
from operator import itemgetter
from typing import Any, TextIO

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max
from django.utils import timezone

from datasets.models import Dataset, User
from project import errors
from storage_configs import selectors as storage_selectors
from versioning import garbage, selectors
from versioning import labels as label_rules
from versioning.fence import fence_share
from versioning.models import (
    MAX_PATH_LENGTH,
    Branch,
    Commit,
    DatasetObject,
    DeletedDataset,
    Draft,
    DraftMetadata,
    KeyCounter,
    SearchHistory,
    StagedEntry,
    StagedSegment,
    Tag,
)
from versioning.sheet_search import criteria_check
from versioning.sheets import (
    RECORD_KEY,
    SCHEMA_KEY,
    FieldType,
    FileRef,
    record_key,
    record_number,
    row_check,
    row_files,
    schema_parse,
)
from versioning.trees import (
    EMPTY_TREE,
    Change,
    Entry,
    Part,
    TreeContent,
    TreeReader,
    entries_sorted,
    entry_from_row,
    metadata_load,
    metadata_save,
    ranges_apply,
    tree_load,
    tree_save,
    trees_diff,
)

SHA1_PATTERN = re.compile(r"[0-9a-f]{40}")
# A ULID in its canonical form: 26 Crockford base32 digits, upper case, at most 2**128 - 1.
FRAME_ID_PATTERN = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
# A conflict names at most this many paths; the count says how many there were.
CONFLICT_PATHS_SHOWN = 100


def _tree(commit: Commit | None) -> TreeContent:
    return EMPTY_TREE if commit is None else tree_load(commit.tree_id)


def _check_name(field: str, name: str) -> None:
    if not name or len(name) > 255:
        raise errors.Invalid(field, "must be 1 to 255 characters")


def _check_segment_name(name: str) -> None:
    if len(name) > 255 or "/" in name:
        raise errors.Invalid("segment", "must be at most 255 characters without '/'")


def _check_entry(entry: Entry) -> None:
    segment, slash, remote_path = entry.path.partition("/")
    if not slash or not remote_path:
        raise errors.Invalid("remote_path", "must not be empty", path=entry.path)
    _check_segment_name(segment)
    if len(entry.path) > MAX_PATH_LENGTH:
        raise errors.Invalid("remote_path", f"segment and path must be at most {MAX_PATH_LENGTH} characters")
    for object_key, sha1, size in entry.files():
        # An entry without an object (a sheet row without files) has neither key nor checksum; a part always has.
        if (entry.is_composite or object_key or sha1) and not SHA1_PATTERN.fullmatch(sha1):
            raise errors.Invalid("checksum", "must be 40 lowercase hex digits", path=entry.path)
        if not isinstance(size, int) or size < 0:
            raise errors.Invalid("size", "must be a non-negative integer", path=entry.path)
    if not isinstance(entry.size, int) or entry.size < 0:
        raise errors.Invalid("size", "must be a non-negative integer", path=entry.path)
    if entry.label is not None and not isinstance(entry.label, dict):
        raise errors.Invalid("label", "must be an object", path=entry.path)


def _lock_dataset(dataset: Dataset) -> None:
    """Serialise the dataset's numbering; taken first so a MariaDB snapshot starts after the lock."""
    Dataset.all_objects.select_for_update().filter(pk=dataset.pk).values_list("pk", flat=True).first()


@transaction.atomic
def branch_ensure_default(*, dataset: Dataset) -> Branch:
    """Return the dataset's default branch, creating it at ROOT when missing."""
    branch, _ = Branch.objects.get_or_create(dataset=dataset, name=dataset.default_branch)
    return branch


@transaction.atomic
def history_delete(*, dataset: Dataset) -> None:
    """Delete the dataset's drafts, tags, branches and commits, in an order MySQL's immediate FK checks take.

    Commits point at their parents and branches at commits, so a cascade in one pass can trip over rows
    it has not deleted yet; ranges and trees stay, as other commits may share them.
    """
    _lock_dataset(dataset)
    Draft.objects.filter(dataset=dataset).delete()
    Tag.objects.filter(dataset=dataset).delete()
    Branch.objects.filter(dataset=dataset).delete()
    Commit.objects.filter(dataset=dataset).update(parent=None)
    Commit.objects.filter(dataset=dataset).delete()


def deleted_dataset_record(*, dataset: Dataset) -> None:
    """Remember a dataset being deleted, so garbage collection later deletes its objects from its storage."""
    DeletedDataset.objects.update_or_create(
        hex_id=dataset.hex_id,
        defaults={"storage_config_id": dataset.storage_config_id, "deleted_at": timezone.now()},
    )


def garbage_collect(
    *,
    grace: timedelta,
    dry_run: bool = False,
    progress: TextIO | None = None,
    after_mark: Callable[[], None] | None = None,
) -> garbage.CollectionReport:
    """Delete versioned content and objects nothing reaches any more, older than ``grace`` (see ``garbage``).

    Call it outside any transaction: the mark must see every write committed before it began.
    """
    if grace < timedelta(0):
        raise errors.Invalid("older_than", "must not be negative")
    return garbage.collect(grace=grace, dry_run=dry_run, progress=progress, after_mark=after_mark)


def _name_taken(dataset: Dataset, name: str) -> bool:
    return (
        Branch.objects.filter(dataset=dataset, name=name).exists()
        or Tag.objects.filter(dataset=dataset, name=name).exists()
    )


def _commit_for(dataset: Dataset, revision: str) -> Commit:
    resolved = selectors.revision_resolve(dataset=dataset, revision=revision)
    if resolved.has_staged_changes:
        raise errors.Invalid("revision", "must name a commit, not a draft")
    if resolved.commit is None:
        raise errors.NotAllowed("the revision has no commits", revision=revision)
    return resolved.commit


@transaction.atomic
def branch_create(*, dataset: Dataset, name: str, revision: str) -> Branch:
    """Create a branch at the commit a revision names (a branch, tag or commit id; not ROOT)."""
    _check_name("name", name)
    _lock_dataset(dataset)
    branch_ensure_default(dataset=dataset)
    commit = _commit_for(dataset, revision)
    if _name_taken(dataset, name):
        raise errors.Conflict(f"{name!r} already names a branch or tag", name=name)
    return Branch.objects.create(dataset=dataset, name=name, head=commit)


@transaction.atomic
def branch_delete(*, dataset: Dataset, name: str) -> None:
    """Delete a branch (never the default one); its commits stay reachable by id and by tags."""
    if name == dataset.default_branch:
        raise errors.NotAllowed("the default branch cannot be deleted", branch=name)
    deleted, _ = Branch.objects.filter(dataset=dataset, name=name).delete()
    if not deleted:
        raise errors.NotFound(f"branch {name!r} does not exist", branch=name)


@transaction.atomic
def tag_create(*, dataset: Dataset, name: str, revision: str, creator: User | None = None) -> Tag:
    """Tag the commit a revision names (a branch, tag or commit id; not ROOT)."""
    _check_name("name", name)
    _lock_dataset(dataset)
    commit = _commit_for(dataset, revision)
    if _name_taken(dataset, name) or name == dataset.default_branch:
        raise errors.Conflict(f"{name!r} already names a branch or tag", name=name)
    return Tag.objects.create(dataset=dataset, name=name, commit=commit, creator=creator)


@transaction.atomic
def tag_delete(*, dataset: Dataset, name: str) -> None:
    """Delete a tag; the commit stays."""
    deleted, _ = Tag.objects.filter(dataset=dataset, name=name).delete()
    if not deleted:
        raise errors.NotFound(f"tag {name!r} does not exist", tag=name)


@transaction.atomic
def draft_create(
    *, dataset: Dataset, title: str, description: str = "", branch_name: str | None = None, creator: User | None = None
) -> Draft:
    """Open a draft over the branch's head (the dataset's default branch when none is named)."""
    if not title:
        raise errors.Missing("title")
    _lock_dataset(dataset)
    branch_ensure_default(dataset=dataset)
    name = branch_name or dataset.default_branch
    branch = Branch.objects.filter(dataset=dataset, name=name).first()
    if branch is None:
        raise errors.NotFound(f"branch {name!r} does not exist", branch=name)
    number = (Draft.objects.filter(dataset=dataset).aggregate(top=Max("number"))["top"] or 0) + 1
    return Draft.objects.create(
        dataset=dataset,
        number=number,
        branch=branch,
        branch_name=branch.name,
        base_commit_id=branch.head_id,
        title=title,
        description=description,
        creator=creator,
    )


def _lock_open_draft(draft: Draft) -> Draft:
    locked = Draft.objects.select_for_update().get(pk=draft.pk)
    if not locked.is_open:
        raise errors.NotAllowed(f"draft {locked.number} is {locked.state}", draft=locked.number)
    return locked


@transaction.atomic
def draft_update(*, draft: Draft, title: str | None = None, description: str | None = None) -> Draft:
    """Change an open draft's title or description."""
    locked = _lock_open_draft(draft)
    if title is not None:
        if not title:
            raise errors.Invalid("title", "must not be empty")
        locked.title = title
    if description is not None:
        locked.description = description
    locked.save(update_fields=["title", "description", "updated_at"])
    return locked


@transaction.atomic
def draft_close(*, draft: Draft) -> Draft:
    """Close an open draft; its staged changes are kept for reading but can no longer be committed."""
    locked = _lock_open_draft(draft)
    locked.state = Draft.State.CLOSED
    locked.save(update_fields=["state", "updated_at"])
    return locked


def _segment_exists(name: str, base: TreeContent, staged: StagedSegment | None) -> bool:
    if staged is not None:
        return staged.action == StagedSegment.Action.PUT
    return name in base.descriptions


@transaction.atomic
def draft_segment_put(*, draft: Draft, name: str, description: str = "") -> None:
    """Create a segment in the draft, or set the description of one it has (repeating it is harmless)."""
    _check_segment_name(name)
    locked = _lock_open_draft(draft)
    base = _tree(locked.base_commit)
    staged = StagedSegment.objects.filter(draft=locked, name=name).first()
    if staged is None:
        if base.descriptions.get(name) == description:
            return
        StagedSegment.objects.create(draft=locked, name=name, action=StagedSegment.Action.PUT, description=description)
    else:
        staged.action = StagedSegment.Action.PUT
        staged.description = description
        staged.save(update_fields=["action", "description"])
    locked.save(update_fields=["updated_at"])


@transaction.atomic
def draft_segment_delete(*, draft: Draft, name: str) -> None:
    """Delete a segment and all its entries in the draft."""
    locked = _lock_open_draft(draft)
    base = _tree(locked.base_commit)
    staged = StagedSegment.objects.filter(draft=locked, name=name).first()
    if not _segment_exists(name, base, staged):
        raise errors.NotFound(f"segment {name!r} does not exist", segment=name)
    StagedEntry.objects.filter(draft=locked, segment=name).delete()
    if name in base.descriptions:
        StagedSegment.objects.update_or_create(
            draft=locked,
            name=name,
            defaults={
                "action": StagedSegment.Action.DELETE,
                "description": "",
                "clears_entries": True,
                "metadata_id": "",
            },
        )
    elif staged is not None:
        staged.delete()
    locked.save(update_fields=["updated_at"])


@transaction.atomic
def draft_segment_metadata_set(*, draft: Draft, name: str, key: str, value: Any) -> None:
    """Set one key of a segment's metadata in the draft (``None`` removes it); the segment must exist."""
    locked = _lock_open_draft(draft)
    base = _tree(locked.base_commit)
    staged = StagedSegment.objects.filter(draft=locked, name=name).first()
    if not _segment_exists(name, base, staged):
        raise errors.NotFound(f"segment {name!r} does not exist", segment=name)
    current_id = base.metadata_ids.get(name, "")
    if staged is not None and staged.metadata_id is not None:
        current_id = staged.metadata_id
    metadata = metadata_load(current_id)
    if value is None:
        metadata.pop(key, None)
    else:
        metadata[key] = value
    metadata_id = metadata_save(metadata)
    if metadata_id == current_id:
        return
    if staged is None:
        StagedSegment.objects.create(
            draft=locked,
            name=name,
            action=StagedSegment.Action.PUT,
            description=base.descriptions[name],
            metadata_id=metadata_id,
        )
    else:
        staged.metadata_id = metadata_id
        staged.save(update_fields=["metadata_id"])
    locked.save(update_fields=["updated_at"])


def _cleared_segments(draft: Draft) -> set[str]:
    return set(StagedSegment.objects.filter(draft=draft, clears_entries=True).values_list("name", flat=True))


_ENTRY_FIELDS = ["action", "segment", "object_key", "sha1", "size", "label", "timestamp", "parts", "in_base"]


def _staged_entries_upsert(rows: list[StagedEntry]) -> None:
    """Insert staged rows, replacing any row already staged at the same path."""
    # MySQL upserts on any unique key and takes no conflict target; SQLite needs one.
    target = ["draft", "path"] if connection.features.supports_update_conflicts_with_target else None
    StagedEntry.objects.bulk_create(rows, update_conflicts=True, unique_fields=target, update_fields=_ENTRY_FIELDS)


@transaction.atomic
def draft_stage_upserts(*, draft: Draft, entries: Sequence[Entry]) -> None:
    """Stage entries in the draft, creating their segments when missing; a path staged again is replaced."""
    latest = {entry.path: entry for entry in entries}
    for entry in latest.values():
        _check_entry(entry)
    locked = _lock_open_draft(draft)
    fence_share()
    base = _tree(locked.base_commit)
    staged_segments = {s.name: s for s in StagedSegment.objects.filter(draft=locked)}
    for name in sorted({entry.segment for entry in latest.values()}):
        if not _segment_exists(name, base, staged_segments.get(name)):
            StagedSegment.objects.update_or_create(
                draft=locked, name=name, defaults={"action": StagedSegment.Action.PUT, "description": ""}
            )
    cleared = _cleared_segments(locked)
    _record_counter_reach(locked.dataset_id, _highest_record_number(entry.remote_path for entry in latest.values()))
    reader = TreeReader(base)
    rows = [
        StagedEntry(
            draft=locked,
            path=path,
            segment=entry.segment,
            action=StagedEntry.Action.PUT,
            object_key=entry.object_key,
            sha1=entry.sha1,
            size=entry.size,
            label=entry.label,
            timestamp=entry.timestamp,
            parts=entry.parts,
            in_base=entry.segment not in cleared and reader.get(path) is not None,
        )
        for path, entry in sorted(latest.items())
    ]
    _staged_entries_upsert(rows)
    locked.save(update_fields=["updated_at"])


@transaction.atomic
def draft_stage_deletes(*, draft: Draft, segment: str, remote_paths: Sequence[str]) -> None:
    """Stage deletes of entries of one segment; every path must exist in the draft."""
    locked = _lock_open_draft(draft)
    base = _tree(locked.base_commit)
    staged_segment = StagedSegment.objects.filter(draft=locked, name=segment).first()
    if not _segment_exists(segment, base, staged_segment):
        raise errors.NotFound(f"segment {segment!r} does not exist", segment=segment)
    cleared = staged_segment is not None and staged_segment.clears_entries
    paths = sorted({f"{segment}/{remote_path}" for remote_path in remote_paths})
    staged = {row.path: row for row in StagedEntry.objects.filter(draft=locked, path__in=paths)}
    reader = TreeReader(base)
    deletes, unstaged = [], []
    for path in paths:
        row = staged.get(path)
        if row is not None and row.action == StagedEntry.Action.DELETE:
            raise errors.NotFound(f"{path!r} does not exist", segment=segment, remote_path=path.partition("/")[2])
        in_base = not cleared and reader.get(path) is not None
        if in_base:
            deletes.append(
                StagedEntry(draft=locked, path=path, segment=segment, action=StagedEntry.Action.DELETE, in_base=True)
            )
        elif row is not None and row.action == StagedEntry.Action.PUT:
            unstaged.append(path)
        else:
            raise errors.NotFound(f"{path!r} does not exist", segment=segment, remote_path=path.partition("/")[2])
    StagedEntry.objects.filter(draft=locked, path__in=unstaged).delete()
    _staged_entries_upsert(deletes)
    locked.save(update_fields=["updated_at"])


def _draft_segments_touched(draft: Draft, staged_segments: list[StagedSegment]) -> set[str]:
    touched = {s.name for s in staged_segments}
    touched.update(StagedEntry.objects.filter(draft=draft).values_list("segment", flat=True).distinct())
    return touched


def _sorted_intersection(left: Iterator[str], right: Iterator[str]) -> Iterator[str]:
    a, b = next(left, None), next(right, None)
    while a is not None and b is not None:
        if a < b:
            a = next(left, None)
        elif b < a:
            b = next(right, None)
        else:
            yield a
            a, b = next(left, None), next(right, None)


def _rebase_conflicts(
    draft: Draft, base: TreeContent, head: TreeContent, staged_segments: list[StagedSegment]
) -> tuple[list[str], int]:
    """Paths (and segment names) the draft changed that also changed on the branch since the draft's base."""
    old_segments, new_segments = base.descriptions, head.descriptions
    staged_by_name = {s.name: s for s in staged_segments}
    conflicts = []
    for name in sorted(_draft_segments_touched(draft, staged_segments)):
        before, after = old_segments.get(name), new_segments.get(name)
        if before == after:
            continue
        row = staged_by_name.get(name)
        if row is None:
            clash = after is None  # the segment the draft stages entries in is gone
        elif row.action == StagedSegment.Action.PUT:
            clash = after != row.description  # both created or described it: fine when they agree
        else:
            clash = True
        if clash:
            conflicts.append(name)
    old_metadata, new_metadata = base.metadata_ids, head.metadata_ids
    for row in staged_segments:
        name = row.name
        changed = old_metadata.get(name, "") != new_metadata.get(name, "")
        ours = row.metadata_id
        if changed and ours is not None and ours != new_metadata.get(name, "") and name not in conflicts:
            conflicts.append(name)
    cleared = {s.name for s in staged_segments if s.clears_entries}
    in_cleared: list[str] = []
    in_cleared_count = 0

    def moved_outside_cleared() -> Iterator[str]:
        nonlocal in_cleared_count
        for change in trees_diff(base, head):
            if change.path.partition("/")[0] not in cleared:
                yield change.path
            else:
                in_cleared_count += 1
                if len(in_cleared) < CONFLICT_PATHS_SHOWN:
                    in_cleared.append(change.path)

    moved = moved_outside_cleared()
    clashes = _sorted_intersection(moved, (row[0] for row in selectors.staged_rows(draft=draft)))
    paths = list(islice(clashes, CONFLICT_PATHS_SHOWN))
    count = len(paths) + sum(1 for _ in clashes)
    for _ in moved:  # drain, so every path moved inside a cleared segment is counted
        pass
    found = conflicts + sorted(paths + in_cleared)
    return found[:CONFLICT_PATHS_SHOWN], len(conflicts) + count + in_cleared_count


def _counts_after(tree: TreeContent, delta: Counter[str]) -> Counter[str]:
    counts = Counter(tree.counts)
    counts.update(delta)
    return counts


def _counted_for(statistics_id: str, enumerable: Callable[[], label_rules.Enumerable]) -> bool:
    """Whether stored label statistics hold counts for the catalog's enumerable attributes (none: for any)."""
    if statistics_id == label_rules.NO_LABELS:
        return True
    return label_rules.counts_decode(metadata_load(statistics_id), enumerable()) is not None


def _statistics_after(
    tree: TreeContent,
    segments: Iterable[str],
    delta: dict[str, label_rules.Counts],
    enumerable: Callable[[], label_rules.Enumerable],
    cleared: Iterable[str] = (),
) -> dict[str, str]:
    """Label statistics ids of the new tree's segments: those of ``tree`` plus ``delta`` (a cleared segment
    starts from none), so a commit costs what it changes; an untouched segment keeps its id. ``enumerable``
    is called only when counts need the catalog (no label anywhere needs none)."""
    cleared = set(cleared)
    kept = tree.statistics_ids
    statistics = {}
    for name in segments:
        kept_id = kept.get(name)
        if name not in delta and name not in cleared and kept_id is not None and _counted_for(kept_id, enumerable):
            statistics[name] = kept_id
            continue
        counts = (
            Counter()
            if name in cleared or kept_id == label_rules.NO_LABELS
            else selectors.segment_label_counts(tree=tree, segment=name, enumerable=enumerable())
        )
        counts.update(delta.get(name, Counter()))
        counted = any(n > 0 for n in counts.values())
        statistics[name] = (
            metadata_save(label_rules.counts_encode(counts, enumerable())) if counted else ""
        ) or label_rules.NO_LABELS
    return statistics


def _commit_create(
    *,
    branch: Branch,
    tree: TreeContent,
    title: str,
    description: str,
    committer: User | None,
    file_counts: dict[str, int] | None = None,
) -> Commit:
    tree_id = tree_save(tree)
    head = branch.head
    commit = Commit.objects.create(
        id=uuid.uuid4().hex,
        dataset_id=branch.dataset_id,
        parent=head,
        tree_id=tree_id,
        depth=(head.depth if head else 0) + 1,
        title=title,
        description=description,
        committer=committer,
        committed_at=timezone.now(),
        entry_count=tree.entry_count,
        total_size=tree.total_size,
        file_counts=file_counts,
    )
    branch.head = commit
    branch.save(update_fields=["head", "updated_at"])
    return commit


OBJECT_BATCH = 5000


def _objects_register(dataset_id: int, sha1s: Iterable[str]) -> None:
    """Record the distinct objects a commit holds, in batches; already known ones are ignored."""
    # One multi-row statement per batch, without building a model instance per row: imports register
    # every entry's SHA-1 here, so this sits on the bulk path.
    # Known objects get a new stamp, so a garbage collection running meanwhile keeps them.
    table = connection.ops.quote_name(DatasetObject._meta.db_table)
    statement = f"INSERT INTO {table} (dataset_id, sha1, registered_at) VALUES (%s, %s, %s) " + (
        "ON DUPLICATE KEY UPDATE registered_at = VALUES(registered_at)"
        if connection.vendor == "mysql"
        else "ON CONFLICT (dataset_id, sha1) DO UPDATE SET registered_at = excluded.registered_at"
    )
    remaining = iter(sha1s)
    fence_share()
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        while batch := set(islice(remaining, OBJECT_BATCH)):
            cursor.executemany(statement, [(dataset_id, sha1, now) for sha1 in batch])


def _entry_labels(entry: Entry) -> list[dict | None]:
    """Every label an entry holds: its own and its parts'."""
    return [entry.label, *(part.label for part in entry.part_list())]


class _ChangeTally:
    """What a commit's changes do beside its tree, taken from each change and the entry it replaces as
    ``ranges_apply`` meets them, so no entry is looked up twice: the label statistics gained per segment, the
    files gained per segment, whether an entry holds several files, and the objects to register (registered
    a batch at a time). The catalog (``enumerable``) is read only once a label needs counting."""

    def __init__(self, dataset_id: int, enumerable: Callable[[], label_rules.Enumerable]) -> None:
        self.dataset_id = dataset_id
        self.enumerable = enumerable
        self.labels: defaultdict[str, label_rules.Counts] = defaultdict(Counter)
        self.files: Counter[str] = Counter()
        self.composite = False
        self._sha1s: list[str] = []

    def _label_counts(self, entry: Entry, labels: list[dict | None]) -> label_rules.Counts | None:
        return selectors.entry_label_counts(entry, self.enumerable()) if any(labels) else None

    def observe(self, old_row: Any, change: Change) -> None:
        segment = change.path.partition("/")[0]
        if old_row is not None:
            old = entry_from_row(old_row)
            self.files[segment] -= len(old.files())
            counts = self._label_counts(old, _entry_labels(old))
            if counts:
                self.labels[segment].subtract(counts)
        new = change.entry
        if new is None:
            return
        files = new.files()
        self.files[segment] += len(files)
        self.composite = self.composite or new.is_composite
        labels = _entry_labels(new)
        counts = self._label_counts(new, labels)
        if counts:
            self.labels[segment].update(counts)
        sha1s = self._sha1s
        sha1s.extend(sha1 for _, sha1, _ in files if sha1)
        sha1s.extend(label_rules.mask_sha1s(labels))
        if len(sha1s) >= OBJECT_BATCH:
            self.register()

    def register(self) -> None:
        """Register the objects met since the last call."""
        if self._sha1s:
            _objects_register(self.dataset_id, self._sha1s)
            self._sha1s.clear()

    def file_counts(
        self,
        known: dict[str, int] | None,
        head_tree: TreeContent,
        cleared: Iterable[str],
        segments: Iterable[str],
        composite: bool = False,
    ) -> dict[str, int] | None:
        """Files per segment after the changes (see ``Commit.file_counts``): None while no entry holds several
        and the content may hold none (``composite``)."""
        if known is None and not (composite or self.composite):
            return None
        counts = Counter(known if known is not None else head_tree.counts)
        for name in cleared:
            counts.pop(name, None)
        counts.update(self.files)
        return {name: counts[name] for name in sorted(segments)}


def draft_commit(
    *, draft: Draft, title: str, description: str = "", committer: User | None = None, tag: str | None = None
) -> Commit:
    """Commit an open draft onto its branch, optionally tagging the new commit.

    If the branch moved since the draft's base, the draft's changes are applied onto the new head when none
    of its paths or segments changed in between; otherwise ``Conflict`` names them (``paths``, ``count``)
    and the draft stays open.
    """
    if not title:
        raise errors.Missing("title")
    if tag is not None:
        _check_name("tag", tag)
    with transaction.atomic():
        # The branch row is locked before anything else is read: see the module docstring.
        branch = Branch.objects.select_for_update().filter(pk=draft.branch_id).first() if draft.branch_id else None
        locked = _lock_open_draft(draft)
        if branch is None:
            raise errors.NotAllowed(f"branch {locked.branch_name!r} was deleted", branch=locked.branch_name)
        if tag is not None and (_name_taken(branch.dataset, tag) or tag == branch.dataset.default_branch):
            raise errors.Conflict(f"{tag!r} already names a branch or tag", name=tag)
        head_tree = _tree(branch.head)
        staged_segments = list(StagedSegment.objects.filter(draft=locked))
        if branch.head_id != locked.base_commit_id:
            paths, count = _rebase_conflicts(locked, _tree(locked.base_commit), head_tree, staged_segments)
            if count:
                raise errors.Conflict(
                    f"{count} path(s) changed on branch {branch.name!r} since draft {locked.number} was opened",
                    paths=paths,
                    count=count,
                )
        cleared = [s.name for s in staged_segments if s.clears_entries]
        enumerable = cache(lambda: label_rules.enumerable_attributes(selectors.draft_catalog(draft=locked)))
        tally = _ChangeTally(branch.dataset_id, enumerable)
        ranges, delta = ranges_apply(head_tree, selectors.staged_changes(draft=locked), cleared, tally.observe)
        tally.register()
        staged_by_name = {s.name: s for s in staged_segments}
        descriptions = selectors.segments_overlay(base=head_tree, staged=staged_by_name)
        tree = TreeContent.build(
            descriptions=descriptions,
            counts=_counts_after(head_tree, delta),
            ranges=ranges,
            metadata=selectors.metadata_overlay(base=head_tree, staged=staged_by_name),
            statistics=_statistics_after(head_tree, descriptions, tally.labels, enumerable, cleared),
        )
        head = branch.head
        commit = _commit_create(
            branch=branch,
            tree=tree,
            title=title,
            description=description,
            committer=committer,
            file_counts=tally.file_counts(head.file_counts if head else None, head_tree, cleared, descriptions),
        )
        locked.state = Draft.State.COMMITTED
        locked.committed_as = commit
        locked.save(update_fields=["state", "committed_as", "updated_at"])
        StagedEntry.objects.filter(draft=locked).delete()
        StagedSegment.objects.filter(draft=locked).delete()
        if tag is not None:
            try:
                with transaction.atomic():
                    Tag.objects.create(dataset_id=branch.dataset_id, name=tag, commit=commit, creator=committer)
            except IntegrityError:
                raise errors.Conflict(f"{tag!r} already names a branch or tag", name=tag) from None
    return commit


def _checked(entries: Iterable[Entry], presorted: bool, checked: bool) -> Iterator[Entry]:
    previous: str | None = None
    for entry in entries:
        if not checked:
            _check_entry(entry)
        if presorted:
            if previous is not None and entry.path <= previous:
                raise errors.Invalid("entries", "must be sorted by path without repeats", path=entry.path)
            previous = entry.path
        yield entry


@transaction.atomic
def commit_import(
    *,
    dataset: Dataset,
    entries: Iterable[Entry],
    title: str,
    description: str = "",
    branch_name: str | None = None,
    committer: User | None = None,
    presorted: bool = False,
    checked: bool = False,
    segment_descriptions: dict[str, str] | None = None,
    segment_metadata: dict[str, str] | None = None,
    metadata: selectors.Metadata | None = None,
    composite: bool = False,
) -> Commit:
    """Upsert a stream of entries onto a branch's head as one commit, in bounded memory.

    The bulk path for imports: entries are sorted on disk unless ``presorted`` (then they must be strictly
    increasing by path), merged into the head's ranges and committed; their segments are created as needed.
    ``checked`` says every entry already passed ``entry_check``, so it is not checked twice.
    ``segment_metadata`` (segment name to metadata id) and ``metadata`` (catalog and notes) are set with the
    commit; ``composite`` says entries may hold several files (fusion frames), so files are counted apart.
    """
    if not title:
        raise errors.Missing("title")
    _lock_dataset(dataset)
    branch_ensure_default(dataset=dataset)
    name = branch_name or dataset.default_branch
    branch = Branch.objects.select_for_update().filter(dataset=dataset, name=name).first()
    if branch is None:
        raise errors.NotFound(f"branch {name!r} does not exist", branch=name)
    head_tree = _tree(branch.head)
    segments = head_tree.descriptions
    for segment, segment_description in (segment_descriptions or {}).items():
        _check_segment_name(segment)
        segments[segment] = segment_description
    seen: set[str] = set()

    @cache
    def enumerable() -> label_rules.Enumerable:
        if metadata is not None:
            return label_rules.enumerable_attributes(metadata.catalog)
        head_revision = selectors.revision_resolve(dataset=dataset, revision=branch.head_commit_id)
        return label_rules.enumerable_attributes(selectors.revision_metadata(revision=head_revision).catalog)

    tally = _ChangeTally(dataset.pk, enumerable)
    highest_record_number = 0

    def changes() -> Iterator[Change]:
        nonlocal highest_record_number
        stream = _checked(entries, presorted, checked)
        for entry in stream if presorted else entries_sorted(stream):
            highest_record_number = max(highest_record_number, record_number(entry.remote_path) or 0)
            segment = entry.segment
            if segment not in seen:
                seen.add(segment)
                segments.setdefault(segment, "")
            yield Change(entry.path, entry)

    ranges, delta = ranges_apply(head_tree, changes(), observe=tally.observe)
    tally.register()
    _record_counter_reach(dataset.pk, highest_record_number)
    tree = TreeContent.build(
        descriptions=segments,
        counts=_counts_after(head_tree, delta),
        ranges=ranges,
        metadata={**head_tree.metadata_ids, **(segment_metadata or {})},
        statistics=_statistics_after(head_tree, segments, tally.labels, enumerable),
    )
    head = branch.head
    commit = _commit_create(
        branch=branch,
        tree=tree,
        title=title,
        description=description,
        committer=committer,
        file_counts=tally.file_counts(head.file_counts if head else None, head_tree, (), segments, composite),
    )
    if metadata is not None:
        _metadata_record(branch=branch, commit=commit, metadata=metadata)
    return commit


def _metadata_record(*, branch: Branch, commit: Commit, metadata: selectors.Metadata) -> None:
    """Give a commit made without a draft its catalog and notes, as a committed draft that set them."""
    number = (Draft.objects.filter(dataset_id=commit.dataset_id).aggregate(top=Max("number"))["top"] or 0) + 1
    draft = Draft.objects.create(
        dataset_id=commit.dataset_id,
        number=number,
        branch=branch,
        branch_name=branch.name,
        base_commit=commit.parent,
        title=commit.title,
        state=Draft.State.COMMITTED,
        creator=commit.committer,
        committed_as=commit,
    )
    DraftMetadata.objects.create(draft=draft, catalog=metadata.catalog, notes=metadata.notes)


@transaction.atomic
def commit_adopt(*, dataset: Dataset, commit: Commit, title: str, committer: User | None = None) -> Commit:
    """Make another dataset's commit the first commit of an empty dataset's default branch.

    The new commit shares the commit's tree (sensors and label statistics included) and carries its catalog
    and notes; only the objects it holds are registered, streaming the tree.
    """
    _lock_dataset(dataset)
    branch = Branch.objects.select_for_update().get(pk=branch_ensure_default(dataset=dataset).pk)
    if branch.head_id is not None:
        raise errors.NotAllowed(f"branch {branch.name!r} already has commits", branch=branch.name)
    source = selectors.revision_resolve(dataset=commit.dataset, revision=commit.id)
    tree = _tree(commit)
    sha1s: list[str] = []
    for entry in TreeReader(tree).slice(0, tree.entry_count):
        sha1s.extend(sha1 for _, sha1, _ in entry.files() if sha1)
        sha1s.extend(label_rules.mask_sha1s(_entry_labels(entry)))
        if len(sha1s) >= OBJECT_BATCH:
            _objects_register(dataset.pk, sha1s)
            sha1s.clear()
    _objects_register(dataset.pk, sha1s)
    adopted = _commit_create(
        branch=branch,
        tree=tree,
        title=title,
        description="",
        committer=committer,
        file_counts=commit.file_counts,
    )
    _metadata_record(branch=branch, commit=adopted, metadata=selectors.revision_metadata(revision=source))
    return adopted


@transaction.atomic
def draft_edit(
    *, draft: Draft, title: str | None = None, description: str | None = None, state: str | None = None
) -> Draft:
    """Change an open draft's title or description and, with ``state`` CLOSED, close it, in one step.

    Only an open draft changes: it cannot be reopened, and it is committed through ``draft_commit`` alone.
    """
    if state is not None and state not in Draft.State.values:
        raise errors.Invalid("state", f"must be one of {', '.join(Draft.State.values)}")
    if state == Draft.State.COMMITTED:
        raise errors.NotAllowed("a draft is committed by committing it, not by setting its state")
    edited = draft_update(draft=draft, title=title, description=description)
    if state == Draft.State.CLOSED:
        edited = draft_close(draft=edited)
    return edited


def entry_check(*, entry: Entry) -> None:
    """Fail with ``Invalid`` when the entry could not be committed, so bulk imports can skip it and go on."""
    _check_entry(entry)


@transaction.atomic
def draft_metadata_set(*, draft: Draft, catalog: dict | None = None, notes: dict | None = None) -> DraftMetadata:
    """Set an open draft's catalog (replaced whole) or notes (the given keys); it starts from its base's."""
    if catalog is not None:
        label_rules.catalog_check(catalog=catalog)
    locked = _lock_open_draft(draft)
    row = DraftMetadata.objects.filter(draft=locked).first()
    if row is None:
        base = selectors.revision_resolve(dataset=locked.dataset, revision=locked.parent_commit_id)
        inherited = selectors.revision_metadata(revision=base)
        row = DraftMetadata(draft=locked, catalog=inherited.catalog, notes=inherited.notes)
    if catalog is not None:
        row.catalog = catalog
    if notes is not None:
        row.notes = {**row.notes, **notes}
    row.save()
    locked.save(update_fields=["updated_at"])
    return row


COPY_STRATEGIES = ("abort", "override", "skip")
COPY_PAGE = 1000


def _segment_entries(revision: selectors.Revision, segment: str) -> Iterator[Entry]:
    offset = 0
    while True:
        page = selectors.entry_list(revision=revision, segment=segment, offset=offset, limit=COPY_PAGE)
        yield from page.items
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return


def _check_copy_source(draft: Draft, source: selectors.Revision) -> None:
    """Entries point at objects of their dataset's storage, so they are copied only within one storage."""
    if source.dataset.pk != draft.dataset_id and source.dataset.storage_config_id != draft.dataset.storage_config_id:
        raise errors.Invalid("source", "must be a dataset in the same storage")


def _check_strategy(strategy: str) -> None:
    if strategy not in COPY_STRATEGIES:
        raise errors.Invalid("strategy", f"must be one of {', '.join(COPY_STRATEGIES)}")


def _has_segment(revision: selectors.Revision, name: str) -> bool:
    try:
        selectors.segment_get(revision=revision, name=name)
    except errors.NotFound:
        return False
    return True


@transaction.atomic
def draft_segment_copy(
    *,
    draft: Draft,
    source: selectors.Revision,
    source_segment: str,
    target_segment: str,
    strategy: str = "abort",
    move: bool = False,
) -> None:
    """Copy (or move, within the draft) a segment with its entries into the draft under ``target_segment``.

    When the target exists, ``abort`` refuses with a conflict, ``skip`` keeps it and ``override`` replaces it;
    a move removes the source segment in every case.
    """
    _check_strategy(strategy)
    _check_copy_source(draft, source)
    found = selectors.segment_get(revision=source, name=source_segment)
    target = selectors.revision_resolve(dataset=draft.dataset, revision=draft.number)
    if move and source_segment == target_segment:
        return
    if _has_segment(target, target_segment):
        if strategy == "abort":
            raise errors.Conflict(f"segment {target_segment!r} already exists", segment=target_segment)
        if strategy == "skip":
            if move:
                draft_segment_delete(draft=draft, name=source_segment)
            return
        draft_segment_delete(draft=draft, name=target_segment)
    entries = [
        entry._replace(path=f"{target_segment}/{entry.remote_path}")
        for entry in _segment_entries(source, source_segment)
    ]
    draft_segment_put(draft=draft, name=target_segment, description=found.description)
    for key, value in selectors.segment_metadata(revision=source, name=source_segment).items():
        draft_segment_metadata_set(draft=draft, name=target_segment, key=key, value=value)
    if entries:
        draft_stage_upserts(draft=draft, entries=entries)
    if move:
        draft_segment_delete(draft=draft, name=source_segment)


def _entry_or_none(revision: selectors.Revision, segment: str, remote_path: str) -> Entry | None:
    try:
        return selectors.entry_get(revision=revision, segment=segment, remote_path=remote_path)
    except errors.NotFound:
        return None


@transaction.atomic
def draft_entries_copy(
    *,
    draft: Draft,
    source: selectors.Revision,
    source_segment: str,
    source_paths: Sequence[str],
    target_segment: str,
    target_paths: Sequence[str] | None = None,
    strategy: str = "abort",
    move: bool = False,
) -> None:
    """Copy (or move, within the draft) entries into the draft; the target paths default to the source paths.

    A target path that exists is refused (``abort``), kept (``skip``) or replaced (``override``); a move
    removes every source path in every case.
    """
    _check_strategy(strategy)
    _check_copy_source(draft, source)
    targets = list(source_paths if target_paths is None else target_paths)
    if len(targets) != len(source_paths):
        raise errors.Invalid("remotePaths", "must name as many targets as sources")
    target = selectors.revision_resolve(dataset=draft.dataset, revision=draft.number)
    copies: list[Entry] = []
    moved: list[str] = []
    for source_path, target_path in zip(source_paths, targets, strict=True):
        entry = selectors.entry_get(revision=source, segment=source_segment, remote_path=source_path)
        if move and (source_segment, source_path) == (target_segment, target_path):
            continue
        if _entry_or_none(target, target_segment, target_path) is not None:
            if strategy == "abort":
                raise errors.Conflict(f"{target_segment}/{target_path} already exists", remote_path=target_path)
            if strategy == "skip":
                moved.append(source_path)
                continue
        copies.append(entry._replace(path=f"{target_segment}/{target_path}"))
        moved.append(source_path)
    if copies:
        draft_stage_upserts(draft=draft, entries=copies)
    if move and moved:
        draft_stage_deletes(draft=draft, segment=source_segment, remote_paths=moved)


@transaction.atomic
def draft_labels_set(
    *, draft: Draft, segment: str, labels: dict[str, dict], mask_object: label_rules.MaskObject
) -> None:
    """Replace the labels of entries the draft holds in a segment (an empty label removes it), each checked
    against the draft's catalog (``mask_object`` finds a mask's object); a refused label changes nothing.

    In a fusion segment a remote path names a file of a frame; one that several sensors' files share there
    is ambiguous and refused.
    """
    if draft.dataset.kind == Dataset.Kind.FUSION:
        _draft_frame_labels_set(draft, segment, labels, mask_object)
        return
    revision = selectors.revision_resolve(dataset=draft.dataset, revision=draft.number)
    catalog = selectors.draft_catalog(draft=draft)
    entries = [
        selectors.entry_get(revision=revision, segment=segment, remote_path=remote_path)._replace(
            label=label_rules.label_prepare(
                catalog=catalog, remote_path=remote_path, label=label or None, mask_object=mask_object
            )
        )
        for remote_path, label in labels.items()
    ]
    if entries:
        draft_stage_upserts(draft=draft, entries=entries)


def draft_segment_ensure(*, draft: Draft, name: str, description: str | None = None) -> None:
    """Create a segment in the draft when missing; an existing one keeps its description unless one is given."""
    if description is None:
        revision = selectors.revision_resolve(dataset=draft.dataset, revision=draft.number)
        if _has_segment(revision, name):
            return
    draft_segment_put(draft=draft, name=name, description=description or "")


# Sheets: segments whose entries are rows checked against the segment's schema (see versioning.sheets).

# The graviti SDK sends at most 2,048 rows per POST or PATCH; a DELETE names all its keys at once.
SHEET_ROWS_PER_WRITE = 2048


def _sheet_schema(revision: selectors.Revision, name: str) -> FieldType:
    schema = selectors.sheet_get(revision=revision, name=name).schema
    return schema_parse(schema.get("avro", ""))


def _draft_revision(draft: Draft) -> selectors.Revision:
    return selectors.revision_resolve(dataset=draft.dataset, revision=draft.number)


def _record_numbers(dataset_id: int, count: int) -> int:
    """Hand out ``count`` consecutive counter values of the dataset and return the first."""
    KeyCounter.objects.bulk_create([KeyCounter(dataset_id=dataset_id)], ignore_conflicts=True)
    KeyCounter.objects.filter(pk=dataset_id).update(value=F("value") + count)
    return KeyCounter.objects.values_list("value", flat=True).get(pk=dataset_id) - count + 1


def _highest_record_number(remote_paths: Iterable[str]) -> int:
    return max((number for number in map(record_number, remote_paths) if number is not None), default=0)


def _record_counter_reach(dataset_id: int, number: int) -> None:
    """Move the dataset's counter to at least ``number``, so that keys handed out later sort after an entry
    written under that record key by any other path than adding rows (an import, an upload, a copy)."""
    if number <= 0:
        return
    KeyCounter.objects.bulk_create([KeyCounter(dataset_id=dataset_id)], ignore_conflicts=True)
    KeyCounter.objects.filter(pk=dataset_id, value__lt=number).update(value=number)


def _files_check(draft: Draft, files: Iterable[FileRef]) -> None:
    dataset = draft.dataset
    prefix = f"{dataset.hex_id}/"
    for ref in {ref.key: ref for ref in files}.values():
        if not ref.key.startswith(prefix):
            raise errors.Invalid("data", f"file {ref.key!r} is not an object of this dataset")
        storage_selectors.storage_object_verify(
            storage_config=dataset.storage_config, key=ref.key, sha1=ref.sha1, size=ref.size
        )


def _row_entry(sheet: str, key: str, row: dict[str, Any], files: list[FileRef]) -> Entry:
    """A row as an entry: its first file is the entry's object, and all its files count in its size."""
    first = files[0] if files else None
    return Entry(
        f"{sheet}/{key}",
        first.key if first else "",
        first.sha1 if first else "",
        sum({ref.key: ref.size for ref in files}.values()),
        row,
        None,
    )


def _rows_stage(draft: Draft, entries: list[Entry], files: list[FileRef]) -> None:
    draft_stage_upserts(draft=draft, entries=entries)
    # The tree holds only a row's first file as the entry's object, so the catalog learns of all of a row's
    # files (counted as the dataset's objects) when they are staged.
    _objects_register(draft.dataset_id, (ref.sha1 for ref in files))


def _check_rows(rows: Any, field: str = "data") -> list[Any]:
    if not isinstance(rows, list):
        raise errors.Invalid(field, "must be a list")
    if len(rows) > SHEET_ROWS_PER_WRITE:
        raise errors.Invalid(field, f"at most {SHEET_ROWS_PER_WRITE} rows per request")
    return rows


@transaction.atomic
def sheet_create(*, draft: Draft, name: str, schema: dict[str, str]) -> None:
    """Create an empty sheet in an open draft with its schema texts (see ``sheets.schema_texts``)."""
    _check_segment_name(name)
    if not name:
        raise errors.Invalid("name", "must not be empty")
    locked = _lock_open_draft(draft)
    if _has_segment(_draft_revision(locked), name):
        raise errors.Conflict(f"sheet {name!r} already exists", sheet=name)
    draft_segment_put(draft=locked, name=name)
    draft_segment_metadata_set(draft=locked, name=name, key=SCHEMA_KEY, value=schema)


@transaction.atomic
def sheet_delete(*, draft: Draft, name: str) -> None:
    """Delete a sheet with its rows from an open draft."""
    locked = _lock_open_draft(draft)
    selectors.sheet_get(revision=_draft_revision(locked), name=name)
    draft_segment_delete(draft=locked, name=name)


@transaction.atomic
def sheet_schema_set(*, draft: Draft, name: str, schema: dict[str, str]) -> None:
    """Replace a sheet's schema; stored rows stay as they are (a new field reads as null)."""
    locked = _lock_open_draft(draft)
    selectors.sheet_get(revision=_draft_revision(locked), name=name)
    draft_segment_metadata_set(draft=locked, name=name, key=SCHEMA_KEY, value=schema)


@transaction.atomic
def sheet_rows_add(*, draft: Draft, name: str, rows: Any) -> list[str]:
    """Append rows to a sheet of an open draft under new record keys, which sort after every earlier key."""
    rows = _check_rows(rows)
    locked = _lock_open_draft(draft)
    schema = _sheet_schema(_draft_revision(locked), name)
    checked = [row_check(schema, row) for row in rows]
    files = [ref for _, row_refs in checked for ref in row_refs]
    _files_check(locked, files)
    if not checked:
        return []
    first = _record_numbers(locked.dataset_id, len(checked))
    keys = [record_key(first + index) for index in range(len(checked))]
    entries = [_row_entry(name, key, row, refs) for key, (row, refs) in zip(keys, checked, strict=True)]
    _rows_stage(locked, entries, files)
    return keys


def _record_key_of(row: Any) -> str:
    key = row.get(RECORD_KEY) if isinstance(row, dict) else None
    if not isinstance(key, str) or not key:
        raise errors.Invalid("data", f"every row needs its {RECORD_KEY} as a string")
    return key


@transaction.atomic
def sheet_rows_update(*, draft: Draft, name: str, rows: Any) -> None:
    """Merge each row's top-level fields into the row its record key names, in order.

    Names the schema does not know are ignored at the top level (the graviti SDK sends nested leaf names there).
    """
    rows = _check_rows(rows)
    locked = _lock_open_draft(draft)
    revision = _draft_revision(locked)
    schema = _sheet_schema(revision, name)
    keys = [_record_key_of(row) for row in rows]
    current = {
        key: entry.label or {}
        for key, entry in selectors.entries_get(revision=revision, segment=name, remote_paths=keys).items()
    }
    new_files: list[FileRef] = []
    for key, row in zip(keys, rows, strict=True):
        if key not in current:
            raise errors.Invalid("data", f"no row has the {RECORD_KEY} {key!r}", record_key=key)
        patch, refs = row_check(schema, row, partial=True)
        new_files.extend(refs)
        current[key] = {**current[key], **patch}
    _files_check(locked, new_files)
    changed = dict.fromkeys(keys)
    entries = [_row_entry(name, key, current[key], row_files(schema, current[key])) for key in changed]
    if entries:
        _rows_stage(locked, entries, new_files)


@transaction.atomic
def sheet_rows_delete(*, draft: Draft, name: str, record_keys: Any) -> None:
    """Delete the rows the record keys name from a sheet of an open draft."""
    if not isinstance(record_keys, list) or not all(isinstance(key, str) and key for key in record_keys):
        raise errors.Invalid("record_keys", "must be a list of record keys")
    locked = _lock_open_draft(draft)
    revision = _draft_revision(locked)
    selectors.sheet_get(revision=revision, name=name)
    found = selectors.entries_get(revision=revision, segment=name, remote_paths=record_keys)
    missing = [key for key in record_keys if key not in found]
    if missing:
        raise errors.Invalid("record_keys", f"no row has the {RECORD_KEY} {missing[0]!r}", record_key=missing[0])
    if record_keys:
        draft_stage_deletes(draft=locked, segment=name, remote_paths=record_keys)


@transaction.atomic
def search_create(
    *, revision: selectors.Revision, sheet: str, criteria: Any, creator: User | None = None
) -> SearchHistory:
    """Record a search of a sheet at a commit or a draft, after checking its criteria against the sheet's schema."""
    at: dict[str, Draft | Commit | None]
    if revision.has_staged_changes:
        at = {"draft": revision.draft}
    elif revision.commit is not None:
        at = {"commit": revision.commit}
    else:
        raise errors.NotFound(f"sheet {sheet!r} does not exist", sheet=sheet)
    criteria_check(_sheet_schema(revision, sheet), criteria)
    return SearchHistory.objects.create(
        id=uuid.uuid4().hex, dataset=revision.dataset, sheet=sheet, criteria=criteria, creator=creator, **at
    )


@transaction.atomic
def search_delete(*, search: SearchHistory) -> None:
    """Forget a search."""
    SearchHistory.objects.filter(pk=search.pk).delete()


# Fusion frames: composite entries at ``segment/<frameId>`` with one part per sensor.


def _check_fusion(dataset: Dataset) -> None:
    if dataset.kind != Dataset.Kind.FUSION:
        raise errors.NotAllowed("only fusion datasets have frames and sensors", dataset=dataset.name)


def _check_frame_id(frame_id: str) -> None:
    if not FRAME_ID_PATTERN.fullmatch(frame_id):
        raise errors.Invalid("frameId", "must be a ULID (26 upper-case Crockford base32 digits)", frameId=frame_id)


def _segment_frames(revision: selectors.Revision, segment: str) -> dict[str, dict[str, Part]]:
    """Frame id to its parts by name, for every frame of a segment at a revision."""
    try:
        entries = list(_segment_entries(revision, segment))
    except errors.NotFound:
        return {}
    return {entry.remote_path: {part.name: part for part in entry.part_list()} for entry in entries}


@transaction.atomic
def draft_frame_parts_put(*, draft: Draft, segment: str, parts: Sequence[tuple[str, Part]]) -> None:
    """Put files into frames of a segment: each ``(frame id, part)`` fills the part's slot in that frame.

    A slot holds one file, so putting it again replaces it. A part's remote path is unique among the parts
    of its name (a sensor's files) in the segment, so one already held in another frame moves here, and a
    frame left without parts is dropped. The draft is locked before the frames are read, so concurrent
    callbacks into one frame each see the others' parts.
    """
    _check_fusion(draft.dataset)
    _check_segment_name(segment)
    for frame_id, part in parts:
        _check_frame_id(frame_id)
        if not part.remote_path:
            raise errors.Invalid("remote_path", "must not be empty", frameId=frame_id)
    locked = _lock_open_draft(draft)
    revision = selectors.revision_resolve(dataset=locked.dataset, revision=locked.number)
    sensors = {sensor["name"] for sensor in selectors.segment_sensors(revision=revision, segment=segment)}
    for _, part in parts:
        if part.name not in sensors:
            raise errors.NotFound(f"sensor {part.name!r} does not exist in segment {segment!r}", sensor=part.name)
    frames = _segment_frames(revision, segment)
    owners = {(name, part.remote_path): frame_id for frame_id, held in frames.items() for name, part in held.items()}
    touched: set[str] = set()
    for frame_id, part in parts:
        owner = owners.get((part.name, part.remote_path))
        if owner is not None and owner != frame_id:
            del frames[owner][part.name]
            touched.add(owner)
        slot = frames.setdefault(frame_id, {})
        replaced = slot.get(part.name)
        if replaced is not None:
            owners.pop((part.name, replaced.remote_path), None)
        slot[part.name] = part
        owners[part.name, part.remote_path] = frame_id
        touched.add(frame_id)
    upserts = [
        Entry.composite(segment=segment, name=frame_id, parts=frames[frame_id].values())
        for frame_id in sorted(touched)
        if frames[frame_id]
    ]
    if upserts:
        draft_stage_upserts(draft=locked, entries=upserts)
    emptied = sorted(frame_id for frame_id in touched if not frames[frame_id])
    if emptied:
        draft_stage_deletes(draft=locked, segment=segment, remote_paths=emptied)


@transaction.atomic
def draft_frame_delete(*, draft: Draft, segment: str, frame_id: str) -> None:
    """Delete a frame with all its parts from a segment in the draft."""
    _check_fusion(draft.dataset)
    _check_frame_id(frame_id)
    locked = _lock_open_draft(draft)
    revision = selectors.revision_resolve(dataset=locked.dataset, revision=locked.number)
    selectors.segment_get(revision=revision, name=segment)
    if _entry_or_none(revision, segment, frame_id) is None:
        raise errors.NotFound(f"frame {frame_id} does not exist in segment {segment!r}", frameId=frame_id)
    draft_stage_deletes(draft=locked, segment=segment, remote_paths=[frame_id])


@transaction.atomic
def draft_frame_parts_drop(*, draft: Draft, segment: str, name: str) -> None:
    """Remove the parts called ``name`` (a sensor's files) from every frame of a segment; empty frames go."""
    _check_fusion(draft.dataset)
    locked = _lock_open_draft(draft)
    frames = _segment_frames(selectors.revision_resolve(dataset=locked.dataset, revision=locked.number), segment)
    upserts, emptied = [], []
    for frame_id, held in sorted(frames.items()):
        if held.pop(name, None) is None:
            continue
        if held:
            upserts.append(Entry.composite(segment=segment, name=frame_id, parts=held.values()))
        else:
            emptied.append(frame_id)
    if upserts:
        draft_stage_upserts(draft=locked, entries=upserts)
    if emptied:
        draft_stage_deletes(draft=locked, segment=segment, remote_paths=emptied)


def _draft_frame_labels_set(
    draft: Draft, segment: str, labels: dict[str, dict], mask_object: label_rules.MaskObject
) -> None:
    locked = _lock_open_draft(draft)
    revision = selectors.revision_resolve(dataset=locked.dataset, revision=locked.number)
    catalog = selectors.draft_catalog(draft=locked)
    selectors.segment_get(revision=revision, name=segment)
    frames = _segment_frames(revision, segment)
    holders: dict[str, list[tuple[str, str]]] = {}
    for frame_id, held in frames.items():
        for name, part in held.items():
            holders.setdefault(part.remote_path, []).append((frame_id, name))
    touched: set[str] = set()
    for remote_path, label in labels.items():
        found = holders.get(remote_path, [])
        if not found:
            raise errors.NotFound(f"{segment}/{remote_path!r} does not exist", segment=segment, remote_path=remote_path)
        if len(found) > 1:
            sensors = sorted(name for _, name in found)
            raise errors.Conflict(
                f"{remote_path!r} names files of several sensors ({', '.join(sensors)})", remote_path=remote_path
            )
        frame_id, name = found[0]
        prepared = label_rules.label_prepare(
            catalog=catalog, remote_path=remote_path, label=label or None, mask_object=mask_object
        )
        frames[frame_id][name] = frames[frame_id][name]._replace(label=prepared)
        touched.add(frame_id)
    upserts = [
        Entry.composite(segment=segment, name=frame_id, parts=frames[frame_id].values()) for frame_id in sorted(touched)
    ]
    if upserts:
        draft_stage_upserts(draft=locked, entries=upserts)


SENSOR_TYPES = ("LIDAR", "RADAR", "CAMERA", "FISHEYE_CAMERA")


@transaction.atomic
def draft_sensor_put(*, draft: Draft, segment: str, sensor: dict[str, Any]) -> None:
    """Define a sensor of a fusion segment in the draft, replacing one of the same name (so posting it again
    is harmless); the definition is kept as given."""
    _check_fusion(draft.dataset)
    name = sensor.get("name")
    if not isinstance(name, str) or not name:
        raise errors.Missing("name", "a sensor needs a name")
    if sensor.get("type") not in SENSOR_TYPES:
        raise errors.Invalid("type", f"must be one of {', '.join(SENSOR_TYPES)}", sensor=name)
    locked = _lock_open_draft(draft)
    revision = selectors.revision_resolve(dataset=locked.dataset, revision=locked.number)
    sensors = selectors.segment_sensors(revision=revision, segment=segment)
    updated = sorted([known for known in sensors if known["name"] != name] + [sensor], key=itemgetter("name"))
    if updated != sensors:
        draft_segment_metadata_set(draft=locked, name=segment, key=selectors.SENSORS_KEY, value=updated)


@transaction.atomic
def draft_sensor_delete(*, draft: Draft, segment: str, name: str) -> None:
    """Remove a sensor of a fusion segment in the draft, with its files in every frame (empty frames go)."""
    _check_fusion(draft.dataset)
    locked = _lock_open_draft(draft)
    revision = selectors.revision_resolve(dataset=locked.dataset, revision=locked.number)
    sensors = selectors.segment_sensors(revision=revision, segment=segment)
    remaining = [known for known in sensors if known["name"] != name]
    if len(remaining) == len(sensors):
        raise errors.NotFound(f"sensor {name!r} does not exist in segment {segment!r}", sensor=name)
    draft_segment_metadata_set(draft=locked, name=segment, key=selectors.SENSORS_KEY, value=remaining or None)
    draft_frame_parts_drop(draft=locked, segment=segment, name=name)
