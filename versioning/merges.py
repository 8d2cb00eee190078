"""Three-way squash-and-merge of one branch into another, with conflicts found per path (issue #17).

The base is the nearest common ancestor of the two heads (ROOT when there is none). Both sides' changes
come from ``trees_diff``, which opens only the ranges that differ, so a merge costs O(changes on both
sides). A conflict is a path changed on both sides to different results; besides ``segment/remotePath``
paths, the catalog, the notes, each segment's existence and description, each fusion sensor and each other
key of a segment's metadata (a sheet's schema) count as one path each.

A segment deleted on one side conflicts with any change inside it on the other. When the side that
deleted it wins, the segment goes with everything in it; when the other side wins, the segment stays and
holds that side's changes only, the mirror of applying the delete.

Planning reads only and is safe to repeat; ``merge_apply`` writes the result draft in one transaction, so
a merge that stops half-way leaves nothing behind.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import connection, transaction
from django.db.models import Max

from datasets.models import User
from project import errors
from versioning import selectors
from versioning.fence import fence_share
from versioning.models import Branch, Commit, Draft, DraftMetadata, StagedEntry, StagedSegment
from versioning.trees import (
    EMPTY_TREE,
    Change,
    Entry,
    EntryChange,
    TreeContent,
    metadata_load,
    metadata_save,
    tree_load,
    trees_diff,
)

STRATEGIES = ("abort", "override", "skip")
CATALOG_PATH = "catalog"
NOTES_PATH = "notes"
# How many diff rows pass between two calls of the planner's ``check`` (abort and time-limit checks).
CHECK_EVERY = 2000
STAGE_BATCH = 2000

Strategy = Literal["abort", "override", "skip"]


@dataclass(frozen=True)
class MergeConflict:
    """A path changed on both sides to different results; ``source`` and ``target`` summarise each side.

    ``kind`` is ``entry``, ``segment`` (its existence or description; path = the segment), ``sensor`` (path =
    ``segment/sensor name``), ``metadata`` (another key of a segment's metadata; path = ``segment/key``),
    ``catalog`` or ``notes``; a side's value is None where it deleted.
    """

    kind: str
    path: str
    source: Any
    target: Any

    def as_dict(self) -> dict[str, Any]:
        """The conflict as plain data, for a job's report."""
        return {"kind": self.kind, "path": self.path, "source": self.source, "target": self.target}


@dataclass
class MergePlan:
    """What merging source into target stages on a draft over ``target_head``, and what conflicted."""

    base: Commit | None
    target_head: Commit | None
    source_head: Commit | None
    strategy: str
    conflicts: list[MergeConflict] = field(default_factory=list)
    # Each change with whether the target head holds an entry at its path.
    changes: list[tuple[Change, bool]] = field(default_factory=list)
    # Segment name to its (description, metadata id) in the result, or None where the result drops it.
    segments: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    # Segment name to metadata that neither side holds whole (both sides' sensors, say), stored on staging.
    merged_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    catalog: dict | None = None
    notes: dict | None = None

    @property
    def applied(self) -> bool:
        """Whether the source's changes go into the draft (all but ``abort`` with conflicts)."""
        return not (self.strategy == "abort" and self.conflicts)


@dataclass(frozen=True)
class MergeResult:
    """The draft a merge opened on the target and the conflicts it found."""

    draft: Draft
    plan: MergePlan

    @property
    def conflicts(self) -> list[MergeConflict]:
        """Every conflicting path, catalog, notes and segments first, then entries by path."""
        return self.plan.conflicts


def label_summary(label: dict | None) -> dict[str, int]:
    """How many labels of each type an entry holds."""
    summary = {}
    for label_type, value in (label or {}).items():
        summary[label_type] = len(value) if isinstance(value, list) else 1
    return summary


def entry_summary(entry: Entry | None) -> dict[str, Any] | None:
    """One side of an entry conflict: object sha1 and size and the label summary, or None for a delete."""
    if entry is None:
        return None
    return {"sha1": entry.sha1, "size": entry.size, "label": label_summary(entry.label)}


def _segment_records(tree: TreeContent) -> dict[str, tuple[str, str]]:
    metadata = tree.metadata_ids
    return {name: (description, metadata.get(name, "")) for name, description in tree.descriptions.items()}


def _segment_summary(record: tuple[str, str] | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"description": record[0], "metadata": metadata_load(record[1])}


_ABSENT: Any = object()


def _three_way(was: Any, mine: Any, other: Any) -> tuple[Any, bool, bool]:
    """(result, conflicted, taken from the source) of one path's three values, the target winning conflicts."""
    if mine == other or was == mine:
        return other, False, False
    if was == other:
        return mine, False, True
    return other, True, False


def _by_name(sensors: Any) -> dict[str, Any] | None:
    """A sensor list by name, or None when the value is not one (then it merges as one path)."""
    if sensors is _ABSENT:
        return {}
    if not isinstance(sensors, list):
        return None
    if not all(isinstance(sensor, dict) and isinstance(sensor.get("name"), str) for sensor in sensors):
        return None
    found = {s["name"]: s for s in sensors}
    return found if len(found) == len(sensors) else None


@dataclass
class _FieldMerge:
    """A segment both sides hold, merged path by path: description, each sensor, each other metadata key."""

    name: str
    strategy: str
    conflicts: list[MergeConflict] = field(default_factory=list)
    from_source: bool = False

    def pick(self, kind: str, path: str, values: tuple[Any, Any, Any], summary: Callable[[Any], Any]) -> Any:
        """One path's result from its (base, source, target) values; a conflict is reported with ``summary``."""
        was, mine, other = values
        result, conflicted, taken = _three_way(was, mine, other)
        if conflicted:
            self.conflicts.append(MergeConflict(kind, path, summary(mine), summary(other)))
            if self.strategy == "override":
                result, taken = mine, True
        self.from_source = self.from_source or taken
        return result

    def metadata(self, was: dict[str, Any], mine: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
        """The merged metadata: sensors one by one (by name, kept sorted), every other key as one path."""
        merged: dict[str, Any] = {}
        for key in sorted(was.keys() | mine.keys() | other.keys()):
            values = (was.get(key, _ABSENT), mine.get(key, _ABSENT), other.get(key, _ABSENT))
            named = [_by_name(value) for value in values]
            if key == "sensors" and all(found is not None for found in named):
                old, ours, theirs = (found or {} for found in named)
                sensors = []
                for sensor in sorted(old.keys() | ours.keys() | theirs.keys()):
                    value = self.pick(
                        "sensor",
                        f"{self.name}/{sensor}",
                        (old.get(sensor), ours.get(sensor), theirs.get(sensor)),
                        summary=lambda side: side,
                    )
                    if value is not None:
                        sensors.append(value)
                # No sensor left: an empty list where either side keeps the key, as the sensor calls leave it.
                result = sensors if sensors or values[1] is not _ABSENT or values[2] is not _ABSENT else _ABSENT
            else:
                result = self.pick(
                    "metadata",
                    f"{self.name}/{key}",
                    values,
                    summary=lambda side: None if side is _ABSENT else side,
                )
            if result is not _ABSENT:
                merged[key] = result
        return merged


def _segment_merge(
    name: str, strategy: str, was: tuple[str, str] | None, mine: tuple[str, str], other: tuple[str, str]
) -> tuple[tuple[str, str] | dict[str, Any], list[MergeConflict], bool]:
    """Merge a segment both sides hold: (its record, or its description and metadata to store when neither side
    holds the result whole; the conflicts; whether anything comes from the source)."""
    merge = _FieldMerge(name, strategy)
    description = merge.pick(
        "segment",
        name,
        (None if was is None else was[0], mine[0], other[0]),
        summary=lambda side: None if side is None else {"description": side},
    )
    loaded = [metadata_load(record[1]) if record is not None else {} for record in (was, mine, other)]
    metadata = merge.metadata(*loaded)
    for record, found in ((other, loaded[2]), (mine, loaded[1])):
        if metadata == found and description == record[0]:
            return record, merge.conflicts, merge.from_source
    return {"description": description, "metadata": metadata}, merge.conflicts, merge.from_source


def _tree(commit: Commit | None) -> TreeContent:
    return EMPTY_TREE if commit is None else tree_load(commit.tree_id)


def _metadata(branch: Branch, commit: Commit | None) -> selectors.Metadata:
    if commit is None:
        return selectors.Metadata(catalog={}, notes={})
    return selectors.revision_metadata(
        revision=selectors.Revision(dataset=branch.dataset, kind="COMMIT", name=commit.id, commit=commit)
    )


def _check_strategy(strategy: str | None) -> str:
    strategy = strategy or "abort"
    if strategy not in STRATEGIES:
        raise errors.Invalid("strategy", f"must be one of {', '.join(STRATEGIES)}")
    return strategy


def _counted(changes: Iterator[EntryChange], check: Callable[[], None] | None) -> Iterator[EntryChange]:
    for number, change in enumerate(changes, 1):
        if check is not None and number % CHECK_EVERY == 0:
            check()
        yield change


def _pick(conflicted: bool, strategy: str, source_changed: bool) -> str:
    """Which side a path's result comes from."""
    if conflicted:
        return "source" if strategy == "override" else "target"
    return "source" if source_changed else "target"


def _paired(
    source_diff: list[EntryChange], target_diff: list[EntryChange]
) -> Iterator[tuple[str, Entry | None, Entry | None, bool, bool]]:
    """(path, source's entry, target's entry, changed on source, changed on target) for every changed path."""
    ours_at = theirs_at = 0
    while ours_at < len(source_diff) or theirs_at < len(target_diff):
        mine = source_diff[ours_at] if ours_at < len(source_diff) else None
        other = target_diff[theirs_at] if theirs_at < len(target_diff) else None
        if mine is not None and (other is None or mine.path < other.path):
            yield mine.path, mine.new, mine.old, True, False
            ours_at += 1
        elif other is not None and (mine is None or other.path < mine.path):
            yield other.path, other.old, other.new, False, True
            theirs_at += 1
        elif mine is not None and other is not None:
            yield mine.path, mine.new, other.new, True, True
            ours_at += 1
            theirs_at += 1


def merge_plan(
    *, source: Branch, target: Branch, strategy: str | None, check: Callable[[], None] | None = None
) -> MergePlan:
    """Plan merging ``source``'s head into ``target``'s, reading only; ``check`` is called now and then and may
    raise to stop."""
    strategy = _check_strategy(strategy)
    if source.dataset_id != target.dataset_id:
        raise errors.Invalid("sourceBranchName", "must be a branch of the same dataset")
    if source.pk == target.pk:
        raise errors.Invalid("sourceBranchName", "must differ from the target branch")
    source_head, target_head = source.head, target.head
    if source_head is None or target_head is None:
        name = source.name if source_head is None else target.name
        raise errors.NotAllowed(f"branch {name!r} has no commits", branch=name)
    base = selectors.commit_merge_base(first=source_head, second=target_head)
    plan = MergePlan(base=base, target_head=target_head, source_head=source_head, strategy=strategy)
    base_tree, source_tree, target_tree = _tree(base), _tree(source_head), _tree(target_head)

    source_diff = list(_counted(trees_diff(base_tree, source_tree), check))
    target_diff = list(_counted(trees_diff(base_tree, target_tree), check))
    source_inside = {change.path.partition("/")[0] for change in source_diff}
    target_inside = {change.path.partition("/")[0] for change in target_diff}

    # Segments: their existence, then the description, each sensor and each other metadata key.
    old, ours, theirs = _segment_records(base_tree), _segment_records(source_tree), _segment_records(target_tree)
    segment_side: dict[str, str] = {}
    for name in sorted(old.keys() | ours.keys() | theirs.keys()):
        was, mine, other = old.get(name), ours.get(name), theirs.get(name)
        source_changed, target_changed = was != mine, was != other
        if mine is not None and other is not None:
            merged, conflicts, from_source = _segment_merge(name, strategy, was, mine, other)
            plan.conflicts.extend(conflicts)
            segment_side[name] = "source" if from_source else "target"
            if isinstance(merged, dict):
                plan.segments[name] = (merged["description"], "")
                plan.merged_metadata[name] = merged["metadata"]
            elif merged != other:
                plan.segments[name] = merged
            continue
        conflicted = (
            (source_changed and target_changed and mine != other)
            or (mine is None and source_changed and name in target_inside and other is not None)
            or (other is None and target_changed and name in source_inside and mine is not None)
        )
        if conflicted:
            plan.conflicts.append(
                MergeConflict(
                    "segment",
                    name,
                    _segment_summary(mine),
                    _segment_summary(other),
                )
            )
        side = _pick(conflicted, strategy, source_changed)
        segment_side[name] = side
        result = mine if side == "source" else other
        if result != other:
            plan.segments[name] = result

    # Catalog and notes, one path each.
    base_meta, source_meta, target_meta = (
        _metadata(source, base),
        _metadata(source, source_head),
        _metadata(target, target_head),
    )
    for path in (CATALOG_PATH, NOTES_PATH):
        was, mine, other = (getattr(meta, path) for meta in (base_meta, source_meta, target_meta))
        conflicted = was != mine and was != other and mine != other
        if conflicted:
            plan.conflicts.append(MergeConflict(path, path, mine, other))
        if _pick(conflicted, strategy, was != mine) == "source" and mine != other:
            setattr(plan, path, mine)

    # Entries: walk both sorted diffs together.
    entry_conflicts: list[MergeConflict] = []
    for path, source_entry, target_entry, source_changed, target_changed in _paired(source_diff, target_diff):
        conflicted = source_changed and target_changed and source_entry != target_entry
        if conflicted:
            entry_conflicts.append(
                MergeConflict("entry", path, entry_summary(source_entry), entry_summary(target_entry))
            )
        segment = path.partition("/")[0]
        if segment_side[segment] == "source" and segment in plan.segments and plan.segments[segment] is None:
            continue  # the segment goes, with everything in it
        if segment_side[segment] == "target" and theirs.get(segment) is None:
            continue  # the target keeps the segment deleted
        outcome = source_entry if _pick(conflicted, strategy, source_changed) == "source" else target_entry
        if outcome != target_entry:
            plan.changes.append((Change(path, outcome), target_entry is not None))
    plan.conflicts.extend(entry_conflicts)
    if check is not None:
        check()
    if not plan.applied:
        plan.changes, plan.segments, plan.catalog, plan.notes = [], {}, None, None
        plan.merged_metadata = {}
    return plan


def _stage(draft: Draft, plan: MergePlan) -> None:
    staged_segments = []
    for name, record in sorted(plan.segments.items()):
        if record is None:
            staged_segments.append(
                StagedSegment(draft=draft, name=name, action=StagedSegment.Action.DELETE, clears_entries=True)
            )
        else:
            staged_segments.append(
                StagedSegment(
                    draft=draft,
                    name=name,
                    action=StagedSegment.Action.PUT,
                    description=record[0],
                    metadata_id=metadata_save(plan.merged_metadata[name])
                    if name in plan.merged_metadata
                    else record[1],
                )
            )
    StagedSegment.objects.bulk_create(staged_segments)
    _staged_entries_insert(draft, plan.changes)


def _staged_entries_insert(draft: Draft, changes: list[tuple[Change, bool]]) -> None:
    """Insert the draft's staged rows with one prepared statement per batch: a merge stages O(changes) rows, and
    model instances would cost more than the rest of the merge."""
    meta = StagedEntry._meta
    label_field = meta.get_field("label")
    parts_field = meta.get_field("parts")
    columns = [
        "draft_id",
        "path",
        "segment",
        "action",
        "object_key",
        "sha1",
        "size",
        "label",
        "timestamp",
        "parts",
        "in_base",
    ]
    quote = connection.ops.quote_name
    statement = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    put, delete = StagedEntry.Action.PUT.value, StagedEntry.Action.DELETE.value

    def row(change: tuple[Change, bool]) -> tuple[Any, ...]:
        (path, entry), in_base = change
        segment = path.partition("/")[0]
        if entry is None:
            return (draft.pk, path, segment, delete, "", "", 0, None, None, None, in_base)
        label = label_field.get_db_prep_save(entry.label, connection) if entry.label is not None else None
        # A fusion frame's parts (each sensor's file) travel with it.
        parts = parts_field.get_db_prep_save(entry.parts, connection) if entry.parts is not None else None
        return (
            draft.pk,
            path,
            segment,
            put,
            entry.object_key,
            entry.sha1,
            entry.size,
            label,
            entry.timestamp,
            parts,
            in_base,
        )

    with connection.cursor() as cursor:
        for start in range(0, len(changes), STAGE_BATCH):
            cursor.executemany(statement, [row(change) for change in changes[start : start + STAGE_BATCH]])


@transaction.atomic
def merge_apply(
    *, plan: MergePlan, target: Branch, title: str, description: str = "", creator: User | None = None
) -> Draft:
    """Open a draft on the target over the head the plan was made on and stage the plan in it, in one step."""
    if not title:
        raise errors.Missing("title")
    dataset = target.dataset
    # Serialise draft numbering with every other draft opened on the dataset.
    type(dataset).objects.select_for_update().filter(pk=dataset.pk).values_list("pk", flat=True).first()
    # Staging writes under the garbage-collection fence, after the row locks (see versioning.fence).
    fence_share()
    number = (Draft.objects.filter(dataset=dataset).aggregate(top=Max("number"))["top"] or 0) + 1
    draft = Draft.objects.create(
        dataset=dataset,
        number=number,
        branch=target,
        branch_name=target.name,
        base_commit=plan.target_head,
        title=title,
        description=description,
        creator=creator,
    )
    _stage(draft, plan)
    if plan.catalog is not None or plan.notes is not None:
        inherited = _metadata(target, plan.target_head)
        DraftMetadata.objects.create(
            draft=draft,
            catalog=inherited.catalog if plan.catalog is None else plan.catalog,
            notes=inherited.notes if plan.notes is None else plan.notes,
        )
    return draft


def merge_prepare(
    *,
    source: Branch,
    target: Branch,
    strategy: str | None,
    title: str,
    description: str = "",
    creator: User | None = None,
    check: Callable[[], None] | None = None,
) -> MergeResult:
    """Merge ``source`` into ``target`` as a new OPEN draft on the target over its current head.

    ``override`` lets the source win each conflict, ``skip`` the target; ``abort`` applies nothing when any
    path conflicts, so the draft equals the target head. The draft is committed like any other, so a target
    head that moved since is caught by the commit's compare-and-swap.
    """
    plan = merge_plan(source=source, target=target, strategy=strategy, check=check)
    draft = merge_apply(plan=plan, target=target, title=title, description=description, creator=creator)
    return MergeResult(draft=draft, plan=plan)
