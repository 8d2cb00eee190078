"""Reads of versioned content: revisions, history, segments, entries, diffs and stats.

Every read that takes a revision takes a ``Revision`` from ``revision_resolve``, the one place where a branch
name, tag name, commit id, the ROOT id or a draft number is turned into content.
"""

import json
import re
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Generic, TypeVar

from django.db import connection
from django.db.models import Count, F, Q, QuerySet

from datasets.models import Dataset
from project import errors
from project.prepared import PreparedQuery, first_row
from versioning import labels, sheet_order, sheet_search, sheets
from versioning.models import (
    ROOT_COMMIT_ID,
    Branch,
    Commit,
    DatasetObject,
    Draft,
    DraftMetadata,
    Job,
    SearchHistory,
    SegmentMetadata,
    StagedEntry,
    StagedSegment,
    Tag,
    Tree,
)
from versioning.trees import (
    EMPTY_TREE,
    Change,
    Entry,
    EntryChange,
    TreeContent,
    TreeReader,
    entries_apply,
    entries_diff,
    metadata_load,
    segment_bounds,
    tree_load,
    trees_diff,
)

T = TypeVar("T")
COMMIT_ID_PATTERN = re.compile(r"[0-9a-f]{32}")
STAGED_BATCH = 5000


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the total number of items in the whole list."""

    items: list[T]
    total: int


@dataclass(frozen=True)
class Segment:
    """A segment of a dataset at a revision."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class SegmentChange:
    """A segment that differs between two revisions: ``add``, ``delete`` or ``modify``."""

    name: str
    action: str
    old: Segment | None
    new: Segment | None


@dataclass(frozen=True)
class Stats:
    """Entry count and total size in bytes of a revision."""

    entry_count: int
    total_size: int


@dataclass(frozen=True)
class Revision:
    """What a revision string or draft number names, and the content it stands for.

    ``kind`` is BRANCH, TAG, COMMIT, ROOT or DRAFT. ``commit`` is the commit whose tree the content starts
    from (None for the empty ROOT); for an open or closed draft the staged changes lie over it.
    """

    dataset: Dataset
    kind: str
    name: str
    commit: Commit | None
    draft: Draft | None = None
    branch: Branch | None = None
    tag: Tag | None = None

    @property
    def commit_id(self) -> str:
        """The commit id the content starts from, or the ROOT id."""
        return self.commit.id if self.commit else ROOT_COMMIT_ID

    @property
    def has_staged_changes(self) -> bool:
        """Whether staged changes lie over the commit (an open or closed draft)."""
        return self.draft is not None and self.draft.state != Draft.State.COMMITTED


def _root(dataset: Dataset) -> Revision:
    return Revision(dataset=dataset, kind="ROOT", name=ROOT_COMMIT_ID, commit=None)


def _commit_revision(dataset: Dataset, commit: Commit | None) -> Revision:
    if commit is None:
        return _root(dataset)
    return Revision(dataset=dataset, kind="COMMIT", name=commit.id, commit=commit)


_BRANCH: PreparedQuery[Branch] = PreparedQuery(
    lambda dataset_id, name: first_row(
        Branch.objects.select_related("head__committer").filter(dataset_id=dataset_id, name=name)
    ),
    dataset_id=-1,
    name="<branch name>",
)
_TAG: PreparedQuery[Tag] = PreparedQuery(
    lambda dataset_id, name: first_row(
        Tag.objects.select_related("commit__committer").filter(dataset_id=dataset_id, name=name)
    ),
    dataset_id=-1,
    name="<tag name>",
)
_COMMIT: PreparedQuery[Commit] = PreparedQuery(
    lambda dataset_id, commit_id: first_row(
        Commit.objects.select_related("committer").filter(dataset_id=dataset_id, pk=commit_id)
    ),
    dataset_id=-1,
    commit_id="<commit id>",
)


def revision_resolve(*, dataset: Dataset, revision: str | int) -> Revision:
    """Resolve a draft number (int), the ROOT id, a branch name, a tag name or a commit id, in that order."""
    if isinstance(revision, int) and not isinstance(revision, bool):
        draft = draft_get(dataset=dataset, number=revision)
        commit = draft.committed_as if draft.state == Draft.State.COMMITTED else draft.base_commit
        return Revision(dataset=dataset, kind="DRAFT", name=str(revision), commit=commit, draft=draft)
    if not isinstance(revision, str) or not revision:
        raise errors.Invalid("revision", "must be a branch, tag or commit id, or a draft number")
    if revision == ROOT_COMMIT_ID:
        return _root(dataset)
    branch = _BRANCH.first(dataset_id=dataset.pk, name=revision)
    if branch is not None:
        return Revision(dataset=dataset, kind="BRANCH", name=revision, commit=branch.head, branch=branch)
    if revision == dataset.default_branch:
        return Revision(dataset=dataset, kind="BRANCH", name=revision, commit=None)
    tag = _TAG.first(dataset_id=dataset.pk, name=revision)
    if tag is not None:
        return Revision(dataset=dataset, kind="TAG", name=revision, commit=tag.commit, tag=tag)
    if COMMIT_ID_PATTERN.fullmatch(revision):
        commit = _COMMIT.first(dataset_id=dataset.pk, commit_id=revision)
        if commit is not None:
            return Revision(dataset=dataset, kind="COMMIT", name=revision, commit=commit)
    raise errors.NotFound(f"revision {revision!r} does not exist", revision=revision)


def branch_get(*, dataset: Dataset, name: str) -> Branch:
    """Return the named branch."""
    branch = Branch.objects.select_related("head__committer").filter(dataset=dataset, name=name).first()
    if branch is None:
        raise errors.NotFound(f"branch {name!r} does not exist", branch=name)
    return branch


def branch_list(*, dataset: Dataset, name: str | None = None) -> QuerySet[Branch]:
    """The dataset's branches by name (only the exactly named one when ``name`` is given)."""
    branches = Branch.objects.filter(dataset=dataset).select_related("head__committer").order_by("name")
    return branches if name is None else branches.filter(name=name)


def tag_get(*, dataset: Dataset, name: str) -> Tag:
    """Return the named tag."""
    tag = Tag.objects.select_related("commit__committer").filter(dataset=dataset, name=name).first()
    if tag is None:
        raise errors.NotFound(f"tag {name!r} does not exist", tag=name)
    return tag


def tag_list(*, dataset: Dataset, name: str | None = None) -> QuerySet[Tag]:
    """The dataset's tags by name (only the exactly named one when ``name`` is given)."""
    tags = Tag.objects.filter(dataset=dataset).select_related("commit__committer").order_by("name")
    return tags if name is None else tags.filter(name=name)


def draft_get(*, dataset: Dataset, number: int) -> Draft:
    """Return the dataset's draft with this number."""
    draft = (
        Draft.objects.select_related("creator", "base_commit", "committed_as")
        .filter(dataset=dataset, number=number)
        .first()
    )
    if draft is None:
        raise errors.NotFound(f"draft {number} does not exist", draft=number)
    return draft


def draft_list(*, dataset: Dataset, state: str | None = "OPEN", branch_name: str | None = None) -> QuerySet[Draft]:
    """The dataset's drafts by number; ``state`` None or ``ALL`` means every state."""
    drafts = Draft.objects.filter(dataset=dataset).select_related("creator", "base_commit").order_by("number")
    if state not in (None, "ALL"):
        if state not in Draft.State.values:
            raise errors.Invalid("state", f"must be one of {', '.join([*Draft.State.values, 'ALL'])}")
        drafts = drafts.filter(state=state)
    if branch_name is not None:
        drafts = drafts.filter(branch_name=branch_name)
    return drafts


def commit_get(*, dataset: Dataset, commit_id: str) -> Commit:
    """Return the dataset's commit with this id."""
    commit = Commit.objects.select_related("committer").filter(dataset=dataset, pk=commit_id).first()
    if commit is None:
        raise errors.NotFound(f"commit {commit_id!r} does not exist", commit=commit_id)
    return commit


# What ``in_bulk(ids)`` runs.
_COMMITS: PreparedQuery[Commit] = PreparedQuery(
    lambda ids: Commit.objects.select_related("committer").filter(pk__in=ids), ids=["<commit id>"]
)


def commit_list(*, revision: Revision, offset: int = 0, limit: int = 128) -> Page[Commit]:
    """The revision's commit and its ancestors, newest first (a draft's history is its base's)."""
    head = revision.commit
    if head is None:
        return Page(items=[], total=0)
    table = connection.ops.quote_name(Commit._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE chain (id, parent_id, n) AS ("
            f" SELECT id, parent_id, 0 FROM {table} WHERE id = %s"
            f" UNION ALL SELECT c.id, c.parent_id, chain.n + 1 FROM {table} c"
            f" JOIN chain ON c.id = chain.parent_id WHERE chain.n + 1 < %s"
            f") SELECT id FROM chain WHERE n >= %s ORDER BY n",
            [head.id, offset + limit, offset],
        )
        ids = [row[0] for row in cursor.fetchall()]
    commits = {commit.pk: commit for commit in _COMMITS.iterate(ids=ids)}
    return Page(items=[commits[commit_id] for commit_id in ids], total=head.depth)


def _tree(commit: Commit | None) -> TreeContent:
    return EMPTY_TREE if commit is None else tree_load(commit.tree_id)


def staged_rows(
    *, draft: Draft, low: str = "", high: str | None = None, fields: tuple[str, ...] = ()
) -> Iterator[tuple]:
    """(path, *fields) of the draft's staged entries with ``low <= path < high`` in path order, in batches."""
    last: str | None = None
    while True:
        rows = StagedEntry.objects.filter(draft=draft)
        rows = rows.filter(path__gt=last) if last is not None else rows.filter(path__gte=low)
        if high is not None:
            rows = rows.filter(path__lt=high)
        batch = list(rows.order_by("path").values_list("path", *fields)[:STAGED_BATCH])
        yield from batch
        if len(batch) < STAGED_BATCH:
            return
        last = batch[-1][0]


_CHANGE_FIELDS = ("action", "object_key", "sha1", "size", "label", "timestamp", "parts")


def staged_changes(*, draft: Draft, low: str = "", high: str | None = None) -> Iterator[Change]:
    """The draft's staged entries as sorted changes."""
    rows = staged_rows(draft=draft, low=low, high=high, fields=_CHANGE_FIELDS)
    for path, action, object_key, sha1, size, label, timestamp, parts in rows:
        if action == StagedEntry.Action.PUT:
            yield Change(path, Entry(path, object_key, sha1, size, label, timestamp, parts))
        else:
            yield Change(path, None)


def _staged_segments(draft: Draft) -> dict[str, StagedSegment]:
    return {s.name: s for s in StagedSegment.objects.filter(draft=draft)}


def segments_overlay(*, base: TreeContent, staged: dict[str, StagedSegment]) -> dict[str, str]:
    """The segments (name to description) of a base tree with a draft's staged segments over it."""
    segments = base.descriptions
    for name, row in staged.items():
        if row.action == StagedSegment.Action.PUT:
            segments[name] = row.description
        else:
            segments.pop(name, None)
    return segments


def metadata_overlay(*, base: TreeContent, staged: dict[str, StagedSegment]) -> dict[str, str]:
    """The segments' metadata ids of a base tree with a draft's staged segments over it."""
    metadata = base.metadata_ids
    for name, row in staged.items():
        if row.action != StagedSegment.Action.PUT:
            metadata.pop(name, None)
        elif row.metadata_id is not None:
            metadata[name] = row.metadata_id
    return {name: metadata_id for name, metadata_id in metadata.items() if metadata_id}


def _metadata_at(revision: Revision) -> dict[str, str]:
    base = _tree(revision.commit)
    if revision.has_staged_changes:
        return metadata_overlay(base=base, staged=_staged_segments(revision.draft))  # type: ignore[arg-type]
    return base.metadata_ids


def segment_metadata(*, revision: Revision, name: str) -> dict[str, Any]:
    """The named segment's metadata at the revision (``{}`` when it has none)."""
    segment_get(revision=revision, name=name)
    return metadata_load(_metadata_at(revision).get(name, ""))


SENSORS_KEY = "sensors"


def segment_sensors(*, revision: Revision, segment: str) -> list[dict[str, Any]]:
    """A fusion segment's sensors at the revision, by name, each as its client defined it."""
    return list(segment_metadata(revision=revision, name=segment).get(SENSORS_KEY, []))


def _segments_at(revision: Revision) -> dict[str, str]:
    base = _tree(revision.commit)
    if revision.has_staged_changes:
        return segments_overlay(base=base, staged=_staged_segments(revision.draft))  # type: ignore[arg-type]
    return base.descriptions


def segment_list(*, revision: Revision, offset: int = 0, limit: int = 128) -> Page[Segment]:
    """The revision's segments by name."""
    segments = sorted(_segments_at(revision).items())
    return Page(
        items=[Segment(name, description) for name, description in segments[offset : offset + limit]],
        total=len(segments),
    )


def segment_get(*, revision: Revision, name: str) -> Segment:
    """The named segment at the revision."""
    segments = _segments_at(revision)
    if name not in segments:
        raise errors.NotFound(f"segment {name!r} does not exist", segment=name)
    return Segment(name, segments[name])


def _check_page(offset: int, limit: int) -> None:
    if offset < 0:
        raise errors.Invalid("offset", "must not be negative")
    if limit < 0:
        raise errors.Invalid("limit", "must not be negative")


def _staged_counts(draft: Draft, low: str, high: str | None) -> tuple[int, int]:
    """(added, deleted): staged upserts of paths not in the base, and staged deletes of paths in it."""
    rows = StagedEntry.objects.filter(draft=draft, path__gte=low)
    if high is not None:
        rows = rows.filter(path__lt=high)
    counts = rows.aggregate(
        added=Count("pk", filter=Q(action=StagedEntry.Action.PUT, in_base=False)),
        deleted=Count("pk", filter=Q(action=StagedEntry.Action.DELETE, in_base=True)),
    )
    return counts["added"], counts["deleted"]


def _draft_page(
    draft: Draft, base: TreeContent, base_visible: bool, segment: str, offset: int, limit: int
) -> Page[Entry]:
    """A page of a draft's entries in ``[low, high)``, opening only the ranges from where the page starts.

    The ranges before the page are skipped by counting: a range's entries plus the staged upserts of new paths
    minus the staged deletes in the key span it covers, streamed from the staged rows in path order.
    """
    reader = TreeReader(base)
    low, high = segment_bounds(segment)
    added, deleted = _staged_counts(draft, low, high)
    base_low, base_high = base.spans.get(segment, (0, 0)) if base_visible else (0, 0)
    base_total = base_high - base_low
    total = base_total + added - deleted
    if offset >= total or limit == 0:
        return Page(items=[], total=total)
    spans: list[tuple[str, int]] = []  # (span start, base entries in span)
    if base_total:
        for ref, range_start in base.range_windows(base_low, base_high):
            in_span = min(range_start + ref.length, base_high) - max(range_start, base_low)
            if in_span > 0:
                spans.append((low if not spans else ref.first, in_span))
    if not spans:
        spans.append((low, 0))
    staged = staged_rows(draft=draft, low=low, high=high, fields=("action", "in_base"))
    pending = next(staged, None)
    position = 0
    page_start = spans[-1][0]
    for index, (start, base_count) in enumerate(spans):
        span_end = spans[index + 1][0] if index + 1 < len(spans) else None
        delta = 0
        while pending is not None and (span_end is None or pending[0] < span_end):
            _, action, in_base = pending
            if action == StagedEntry.Action.PUT and not in_base:
                delta += 1
            elif action == StagedEntry.Action.DELETE and in_base:
                delta -= 1
            pending = next(staged, None)
        if position + base_count + delta > offset:
            page_start = start
            break
        position += base_count + delta
    base_entries = reader.interval(page_start, high) if base_visible else iter(())
    view = entries_apply(base_entries, staged_changes(draft=draft, low=page_start, high=high))
    return Page(items=list(islice(view, offset - position, offset - position + limit)), total=total)


def entry_list(*, revision: Revision, segment: str | None = None, offset: int = 0, limit: int = 128) -> Page[Entry]:
    """A page of the revision's entries by path, in one segment or (for commits) across all of them."""
    _check_page(offset, limit)
    base = _tree(revision.commit)
    if revision.has_staged_changes:
        draft: Draft = revision.draft  # type: ignore[assignment]
        if segment is None:
            raise errors.Missing("segment", "a draft's entries are listed one segment at a time")
        staged_segments = _staged_segments(draft)
        if segment not in segments_overlay(base=base, staged=staged_segments):
            raise errors.NotFound(f"segment {segment!r} does not exist", segment=segment)
        row = staged_segments.get(segment)
        return _draft_page(draft, base, not (row and row.clears_entries), segment, offset, limit)
    reader = TreeReader(base)
    if segment is None:
        start, stop = 0, base.entry_count
    else:
        if segment not in base.spans:
            raise errors.NotFound(f"segment {segment!r} does not exist", segment=segment)
        start, stop = base.spans[segment]
    total = stop - start
    return Page(items=list(reader.slice(start + offset, min(start + offset + limit, stop))), total=total)


def entry_get(*, revision: Revision, segment: str, remote_path: str) -> Entry:
    """The entry at ``segment/remote_path`` at the revision."""
    path = f"{segment}/{remote_path}"
    base = _tree(revision.commit)
    found: Entry | None
    if revision.has_staged_changes:
        draft: Draft = revision.draft  # type: ignore[assignment]
        staged = next(staged_changes(draft=draft, low=path, high=path + "\0"), None)
        row = StagedSegment.objects.filter(draft=draft, name=segment).first()
        if staged is not None:
            found = staged.entry
        elif row is not None and row.clears_entries:
            found = None
        else:
            found = TreeReader(base).get(path)
    else:
        found = TreeReader(base).get(path)
    if found is None:
        raise errors.NotFound(f"{path!r} does not exist", segment=segment, remote_path=remote_path)
    return found


def segment_entry_count(*, revision: Revision, name: str) -> int:
    """Number of entries in the named segment at the revision."""
    return entry_list(revision=revision, segment=name, offset=0, limit=0).total


def revision_stats(*, revision: Revision) -> Stats:
    """Entry count and total size of a commit-like revision (stored on the commit)."""
    if revision.has_staged_changes:
        raise errors.Invalid("revision", "stats are kept per commit, not per draft")
    if revision.commit is None:
        return Stats(entry_count=0, total_size=0)
    return Stats(entry_count=revision.commit.entry_count, total_size=revision.commit.total_size)


def diff_base(*, revision: Revision) -> Revision:
    """What a revision is compared with by default: a draft's base commit, or a commit's parent."""
    if revision.has_staged_changes:
        return _commit_revision(revision.dataset, revision.commit)
    if revision.commit is None:
        return revision
    parent = Commit.objects.select_related("committer").filter(pk=revision.commit.parent_id).first()
    return _commit_revision(revision.dataset, parent)


def _draft_changes(draft: Draft, base: TreeContent, low: str, high: str | None) -> Iterator[EntryChange]:
    """A draft's changes against its base within ``[low, high)``, from its staged rows alone.

    The old side holds the base entries at staged paths, plus every base entry of a segment the draft
    deleted; the new side holds the staged upserts.
    """
    cleared = sorted(
        segment_bounds(name)
        for name in StagedSegment.objects.filter(draft=draft, clears_entries=True).values_list("name", flat=True)
    )

    def old_side() -> Iterator[Entry]:
        lookups, scans = TreeReader(base), TreeReader(base)
        rows = staged_rows(draft=draft, low=low, high=high, fields=("in_base",))
        row = next(rows, None)

        def staged_in_base_before(bound: str | None) -> Iterator[Entry]:
            nonlocal row
            while row is not None and (bound is None or row[0] < bound):
                found = lookups.get(row[0]) if row[1] else None
                if found is not None:
                    yield found
                row = next(rows, None)

        for clear_low, clear_high in cleared:
            yield from staged_in_base_before(clear_low)
            while row is not None and row[0] < clear_high:
                row = next(rows, None)
            clip_low = max(clear_low, low)
            clip_high = clear_high if high is None else min(clear_high, high)
            if clip_low < clip_high:
                yield from scans.interval(clip_low, clip_high)
        yield from staged_in_base_before(None)

    def new_side() -> Iterator[Entry]:
        for change in staged_changes(draft=draft, low=low, high=high):
            if change.entry is not None:
                yield change.entry

    return entries_diff(old_side(), new_side())


def _changes(base: Revision, head: Revision, low: str = "", high: str | None = None) -> Iterator[EntryChange]:
    if base.has_staged_changes:
        raise errors.Invalid("base", "a draft can only be the head of a diff")
    if head.has_staged_changes:
        if base.commit_id != head.commit_id:
            raise errors.Invalid("base", "a draft can only be compared with its base commit")
        return _draft_changes(head.draft, _tree(head.commit), low, high)  # type: ignore[arg-type]
    if base.commit_id == head.commit_id:
        return iter(())
    return trees_diff(_tree(base.commit), _tree(head.commit), low, high)


def diff_entries(
    *, base: Revision, head: Revision, segment: str | None = None, offset: int = 0, limit: int = 128
) -> Page[EntryChange]:
    """A page of the entries that differ from ``base`` to ``head`` (in one segment, or all), by path."""
    _check_page(offset, limit)
    low, high = segment_bounds(segment) if segment is not None else ("", None)
    items: list[EntryChange] = []
    total = 0
    for change in _changes(base, head, low, high):
        if offset <= total < offset + limit:
            items.append(change)
        total += 1
    return Page(items=items, total=total)


def diff_segments(*, base: Revision, head: Revision, offset: int = 0, limit: int = 128) -> Page[SegmentChange]:
    """A page of the segments that differ from ``base`` to ``head`` (described differently or with changed
    entries), by name."""
    _check_page(offset, limit)
    old, new = _segments_at(base), _segments_at(head)
    touched = {change.path.partition("/")[0] for change in _changes(base, head)}
    old_metadata, new_metadata = _metadata_at(base), _metadata_at(head)
    touched.update(name for name in old.keys() & new.keys() if old_metadata.get(name) != new_metadata.get(name))
    changes = []
    for name in sorted(old.keys() | new.keys()):
        if name not in old:
            action = "add"
        elif name not in new:
            action = "delete"
        elif old[name] != new[name] or name in touched:
            action = "modify"
        else:
            continue
        changes.append(
            SegmentChange(
                name=name,
                action=action,
                old=Segment(name, old[name]) if name in old else None,
                new=Segment(name, new[name]) if name in new else None,
            )
        )
    return Page(items=changes[offset : offset + limit], total=len(changes))


@dataclass(frozen=True)
class DatasetSummary:
    """What catalog listings show of a dataset's versions: counts and its default branch's head."""

    branch_count: int
    commit_count: int
    head: Commit | None
    object_count: int
    segments: tuple[tuple[str, int], ...] = ()

    @property
    def entry_count(self) -> int:
        """Entries at the default branch's head."""
        return self.head.entry_count if self.head else 0

    @property
    def file_count(self) -> int:
        """Files at the default branch's head (a fusion frame counts each of its files)."""
        return self.head.file_count if self.head else 0

    @property
    def total_size(self) -> int:
        """Bytes at the default branch's head."""
        return self.head.total_size if self.head else 0


def _counts_by_dataset(model: type[Branch | Commit | DatasetObject]) -> PreparedQuery:
    return PreparedQuery(
        lambda ids: (
            model.objects.filter(dataset_id__in=ids)
            .values("dataset_id")
            .annotate(n=Count("pk"))
            .values_list("dataset_id", "n")
        ),
        ids=[-1],
    )


_BRANCH_COUNTS = _counts_by_dataset(Branch)
_COMMIT_COUNTS = _counts_by_dataset(Commit)
_OBJECT_COUNTS = _counts_by_dataset(DatasetObject)
_DEFAULT_BRANCHES: PreparedQuery[Branch] = PreparedQuery(
    lambda ids: Branch.objects.filter(dataset_id__in=ids, name=F("dataset__default_branch")).select_related("head"),
    ids=[-1],
)


def dataset_summaries(*, datasets: Sequence[Dataset], with_segments: bool = False) -> dict[int, DatasetSummary]:
    """Summaries of many datasets in a fixed number of queries; ``with_segments`` adds head segment counts."""
    return dataset_summaries_by_id(ids=[dataset.pk for dataset in datasets], with_segments=with_segments)


def dataset_summaries_by_id(*, ids: Sequence[int], with_segments: bool = False) -> dict[int, DatasetSummary]:
    """``dataset_summaries`` of the datasets with these ids."""
    branch_counts = dict(_BRANCH_COUNTS.iterate(ids=ids))
    commit_counts = dict(_COMMIT_COUNTS.iterate(ids=ids))
    object_counts = dict(_OBJECT_COUNTS.iterate(ids=ids))
    heads = {branch.dataset_id: branch.head for branch in _DEFAULT_BRANCHES.iterate(ids=ids)}
    counts: dict[str, tuple[tuple[str, int], ...]] = {}
    if with_segments:
        tree_ids = {head.tree_id for head in heads.values() if head is not None}
        counts = {
            tree.pk: tuple(TreeContent.decode(zlib.decompress(tree.data)).counts.items())
            for tree in Tree.objects.filter(pk__in=tree_ids)
        }
    summaries = {}
    for dataset_id in ids:
        head = heads.get(dataset_id)
        segments = counts.get(head.tree_id, ()) if head is not None else ()
        if head is not None and head.file_counts is not None and with_segments:
            segments = tuple(head.file_counts.items())
        summaries[dataset_id] = DatasetSummary(
            branch_count=max(branch_counts.get(dataset_id, 0), 1),
            commit_count=commit_counts.get(dataset_id, 0),
            head=head,
            object_count=object_counts.get(dataset_id, 0),
            segments=segments,
        )
    return summaries


@dataclass(frozen=True)
class Metadata:
    """A revision's catalog and notes (both opaque objects; empty when never set)."""

    catalog: dict
    notes: dict


ANCESTOR_BATCH = 500


def _ancestor_ids(commit_id: str, limit: int) -> list[tuple[str, str | None]]:
    """(id, parent id) of a commit and its ancestors, newest first, at most ``limit`` of them."""
    table = connection.ops.quote_name(Commit._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE chain (id, parent_id, n) AS ("
            f" SELECT id, parent_id, 0 FROM {table} WHERE id = %s"
            f" UNION ALL SELECT c.id, c.parent_id, chain.n + 1 FROM {table} c"
            f" JOIN chain ON c.id = chain.parent_id WHERE chain.n + 1 < %s"
            f") SELECT id, parent_id FROM chain ORDER BY n",
            [commit_id, limit],
        )
        return [(row[0], row[1]) for row in cursor.fetchall()]


def revision_metadata(*, revision: Revision) -> Metadata:
    """The catalog and notes at a revision: a draft's own, else those of the nearest commit that has some.

    History is walked a batch of ancestors at a time, so a recent answer costs two queries.
    """
    if revision.has_staged_changes:
        row = DraftMetadata.objects.filter(draft=revision.draft).first()
        if row is not None:
            return Metadata(catalog=row.catalog, notes=row.notes)
    next_id = revision.commit.id if revision.commit is not None else None
    while next_id is not None:
        chain = _ancestor_ids(next_id, ANCESTOR_BATCH)
        ids = [commit_id for commit_id, _ in chain]
        rows = {
            commit_id: Metadata(catalog=catalog, notes=notes)
            for commit_id, catalog, notes in DraftMetadata.objects.filter(
                draft__dataset=revision.dataset, draft__committed_as_id__in=ids
            ).values_list("draft__committed_as_id", "catalog", "notes")
        }
        found = next((rows[commit_id] for commit_id in ids if commit_id in rows), None)
        if found is not None:
            return found
        next_id = chain[-1][1] if len(chain) == ANCESTOR_BATCH else None
    return Metadata(catalog={}, notes={})


def _entry_labels(entry: Entry) -> list[dict | None]:
    """The labels an entry carries: its own, or each of its parts' (a fusion frame's files)."""
    return [part.label for part in entry.part_list()] if entry.is_composite else [entry.label]


def entry_label_counts(entry: Entry, enumerable: labels.Enumerable) -> labels.Counts:
    """The statistics counts of every label an entry carries (each part's, for a fusion frame)."""
    counts: labels.Counts = Counter()
    for label in _entry_labels(entry):
        if label:
            counts.update(labels.label_counts(label, enumerable))
    return counts


def draft_catalog(*, draft: Draft) -> dict:
    """The catalog a draft's labels are checked against: its own, else its base's."""
    return revision_metadata(revision=revision_resolve(dataset=draft.dataset, revision=draft.number)).catalog


def segment_label_counts(*, tree: TreeContent, segment: str, enumerable: labels.Enumerable) -> labels.Counts:
    """A segment's label statistics counts in a tree: kept with the tree, so read at once unless they were
    counted for other enumerable attributes (the catalog changed since) or never (a tree built without them),
    then counted again."""
    statistics_id = tree.statistics_ids.get(segment)
    if statistics_id == labels.NO_LABELS:
        return Counter()
    counts = labels.counts_decode(metadata_load(statistics_id), enumerable) if statistics_id else None
    if counts is None:
        counts = Counter()
        low, high = segment_bounds(segment)
        for entry in TreeReader(tree).interval(low, high):
            counts.update(entry_label_counts(entry, enumerable))
    return counts


def staged_label_counts(
    *, draft: Draft, base: TreeContent, enumerable: labels.Enumerable
) -> defaultdict[str, labels.Counts]:
    """Per segment, the counts of a draft's staged labels minus those of the base entries they replace."""
    delta: defaultdict[str, labels.Counts] = defaultdict(Counter)
    reader = TreeReader(base)
    rows = staged_rows(draft=draft, fields=("action", "label", "parts", "in_base"))
    for path, action, label, parts, in_base in rows:
        counts = delta[path.partition("/")[0]]
        if action == StagedEntry.Action.PUT:
            counts.update(entry_label_counts(Entry(path, "", "", 0, label, None, parts), enumerable))
        old = reader.get(path) if in_base else None
        if old is not None:
            counts.subtract(entry_label_counts(old, enumerable))
    return delta


def label_statistics(*, revision: Revision) -> dict[str, dict]:
    """TensorBay's label statistics at a revision, from the counts kept with its tree (and a draft's staged
    changes over them), so the cost follows the number of segments and staged changes, not of labels."""
    catalog = revision_metadata(revision=revision).catalog
    enumerable = labels.enumerable_attributes(catalog)
    base = _tree(revision.commit)
    total: labels.Counts = Counter()
    segments = base.descriptions
    if revision.has_staged_changes:
        draft: Draft = revision.draft  # type: ignore[assignment]
        staged = _staged_segments(draft)
        visible = segments_overlay(base=base, staged=staged)
        segments = {
            name: d
            for name, d in segments.items()
            if name in visible and not getattr(staged.get(name), "clears_entries", False)
        }
        for counts in staged_label_counts(draft=draft, base=base, enumerable=enumerable).values():
            total.update(counts)
    for name in segments:
        total.update(segment_label_counts(tree=base, segment=name, enumerable=enumerable))
    return labels.statistics_render(total, catalog)


def entries_get(*, revision: Revision, segment: str, remote_paths: Sequence[str]) -> dict[str, Entry]:
    """The entries at ``segment/<remote path>`` for each remote path that holds one, by remote path.

    One query for the staged rows and one pass over the base's ranges in path order, however many paths.
    """
    paths = sorted({f"{segment}/{remote_path}" for remote_path in remote_paths})
    base = _tree(revision.commit)
    found: dict[str, Entry | None] = {}
    base_visible = True
    if revision.has_staged_changes:
        draft: Draft = revision.draft  # type: ignore[assignment]
        row = StagedSegment.objects.filter(draft=draft, name=segment).first()
        base_visible = not (row and row.clears_entries)
        for start in range(0, len(paths), STAGED_BATCH):
            batch = paths[start : start + STAGED_BATCH]
            for path, action, object_key, sha1, size, label, timestamp, parts in StagedEntry.objects.filter(
                draft=draft, path__in=batch
            ).values_list("path", *_CHANGE_FIELDS):
                put = action == StagedEntry.Action.PUT
                found[path] = Entry(path, object_key, sha1, size, label, timestamp, parts) if put else None
    reader = TreeReader(base)
    entries: dict[str, Entry] = {}
    for path in paths:
        entry = found[path] if path in found else (reader.get(path) if base_visible else None)
        if entry is not None:
            entries[entry.remote_path] = entry
    return entries


def objects_registered(*, dataset: Dataset, sha1s: Iterable[str]) -> set[str]:
    """Which of the SHA-1s name objects registered with the dataset (one query, however many)."""
    wanted = set(sha1s)
    if not wanted:
        return set()
    return set(DatasetObject.objects.filter(dataset=dataset, sha1__in=wanted).values_list("sha1", flat=True))


@dataclass(frozen=True)
class Sheet:
    """A sheet at a revision: its schema texts as they were sent and, when asked for, its row count."""

    name: str
    schema: dict[str, str]
    record_count: int | None = None


def _sheet_schema(revision: Revision, name: str) -> dict[str, str]:
    schema = segment_metadata(revision=revision, name=name).get(sheets.SCHEMA_KEY)
    if not isinstance(schema, dict):
        raise errors.NotFound(f"sheet {name!r} does not exist", sheet=name)
    return schema


def sheet_list(*, revision: Revision) -> list[str]:
    """The names of the revision's sheets (segments with a schema), by name."""
    metadata_ids = _metadata_at(revision)
    return [
        name
        for name in sorted(_segments_at(revision))
        if sheets.SCHEMA_KEY in metadata_load(metadata_ids.get(name, ""))
    ]


def sheets_among(*, revisions: Sequence[Revision], names: Iterable[str]) -> set[str]:
    """Which of the named segments are sheets at any of the revisions, their metadata read in one query."""
    holders: dict[str, set[str]] = defaultdict(set)
    wanted = set(names)
    for revision in revisions:
        metadata_ids = _metadata_at(revision)
        for name in wanted:
            if metadata_ids.get(name):
                holders[metadata_ids[name]].add(name)
    if not holders:
        return set()
    rows = SegmentMetadata.objects.filter(pk__in=list(holders)).values_list("id", "data")
    return {name for pk, data in rows if sheets.SCHEMA_KEY in json.loads(data) for name in holders[pk]}


def sheet_get(*, revision: Revision, name: str, with_record_count: bool = False) -> Sheet:
    """The named sheet at the revision, with its row count when ``with_record_count``."""
    schema = _sheet_schema(revision, name)
    count = segment_entry_count(revision=revision, name=name) if with_record_count else None
    return Sheet(name=name, schema=schema, record_count=count)


def sheet_row_page(
    *,
    revision: Revision,
    name: str,
    offset: int,
    limit: int,
    order: Sequence[sheet_order.OrderColumn] = (),
    order_field: str = "order",
) -> Page[tuple[str, dict[str, Any]]]:
    """A page of the sheet's rows as (record key, row), in record-key order or ordered by ``order``'s columns.

    An ordered page reads the whole sheet (see ``versioning.sheet_order``), so only sheets of at most
    ``SHEET_ORDER_MAX_ROWS`` rows are ordered; ``order_field`` names the parameter a refusal blames.
    """
    schema = _sheet_schema(revision, name)
    if not order:
        page = entry_list(revision=revision, segment=name, offset=offset, limit=limit)
        return Page(items=[(entry.remote_path, entry.label or {}) for entry in page.items], total=page.total)
    _check_page(offset, limit)
    sheet_order.order_check(sheets.schema_parse(schema.get("avro", "")), order, field=order_field)
    total = segment_entry_count(revision=revision, name=name)
    if total > sheet_order.SHEET_ORDER_MAX_ROWS:
        raise errors.Invalid(
            order_field, f"only sheets of at most {sheet_order.SHEET_ORDER_MAX_ROWS} rows are listed in another order"
        )
    rows = ((entry.remote_path, entry.label or {}) for entry in segment_entries(revision=revision, segment=name))
    chosen = sheet_order.ordered_page(rows, order, offset=offset, limit=limit, total=total)
    missing = [key for key, row in chosen if row is None]
    found = entries_get(revision=revision, segment=name, remote_paths=missing) if missing else {}
    return Page(items=[(key, (found[key].label or {}) if row is None else row) for key, row in chosen], total=total)


def segment_entries(*, revision: Revision, segment: str) -> Iterator[Entry]:
    """Every entry of a segment at the revision in path order, streamed range by range."""
    segment_get(revision=revision, name=segment)
    base = _tree(revision.commit)
    low, high = segment_bounds(segment)
    reader = TreeReader(base)
    if not revision.has_staged_changes:
        return reader.interval(low, high)
    draft: Draft = revision.draft  # type: ignore[assignment]
    row = StagedSegment.objects.filter(draft=draft, name=segment).first()
    base_entries = iter(()) if row is not None and row.clears_entries else reader.interval(low, high)
    return entries_apply(base_entries, staged_changes(draft=draft, low=low, high=high))


def search_revision(*, search: SearchHistory) -> Revision:
    """The commit or draft a search reads."""
    if search.draft_id is not None:
        return revision_resolve(dataset=search.dataset, revision=search.draft.number)  # type: ignore[union-attr]
    return _commit_revision(search.dataset, search.commit)


def search_get(*, dataset: Dataset, search_id: str) -> SearchHistory:
    """The dataset's search with this id."""
    search = (
        SearchHistory.objects.select_related("dataset", "commit", "draft", "creator")
        .filter(dataset=dataset, pk=search_id)
        .first()
    )
    if search is None:
        raise errors.NotFound(f"search {search_id!r} does not exist", search=search_id)
    return search


def search_list(
    *, dataset: Dataset, commit_id: str | None = None, draft_number: int | None = None, sheet: str | None = None
) -> QuerySet[SearchHistory]:
    """The dataset's searches, newest first, optionally of one commit, draft or sheet."""
    searches = SearchHistory.objects.filter(dataset=dataset).select_related("commit", "draft", "creator")
    if commit_id is not None:
        searches = searches.filter(commit_id=commit_id)
    if draft_number is not None:
        searches = searches.filter(draft__number=draft_number)
    if sheet is not None:
        searches = searches.filter(sheet=sheet)
    return searches.order_by("-created_at", "-pk")


def _search_matches(search: SearchHistory) -> Iterator[Entry]:
    revision = search_revision(search=search)
    _sheet_schema(revision, search.sheet)
    for entry in segment_entries(revision=revision, segment=search.sheet):
        if sheet_search.row_matches(search.criteria, entry.label or {}):
            yield entry


def _sheet_windows(base: TreeContent, sheet: str) -> list[tuple[int, int]]:
    """The (start, stop) positions of the sheet's part of each range of the tree that holds some of it."""
    start, stop = base.spans[sheet]
    if start >= stop:
        return []
    return [
        (max(range_start, start), min(range_start + ref.length, stop))
        for ref, range_start in base.range_windows(start, stop)
    ]


def _commit_search_counts(search: SearchHistory) -> tuple[TreeContent, list[int]]:
    """The commit's tree and how many rows the search finds in each range of the sheet, counted once and kept."""
    revision = search_revision(search=search)
    _sheet_schema(revision, search.sheet)
    base = _tree(revision.commit)
    if search.range_counts is not None:
        return base, search.range_counts
    reader = TreeReader(base)
    counts = [
        sum(1 for entry in reader.slice(start, stop) if sheet_search.row_matches(search.criteria, entry.label or {}))
        for start, stop in _sheet_windows(base, search.sheet)
    ]
    SearchHistory.objects.filter(pk=search.pk).update(record_count=sum(counts), range_counts=counts)
    search.record_count, search.range_counts = sum(counts), counts
    return base, counts


def search_record_count(*, search: SearchHistory) -> int:
    """How many rows the search finds (counted once for a commit, whose rows never change)."""
    if search.record_count is not None and search.commit_id is not None:
        return search.record_count
    if search.commit_id is not None:
        return sum(_commit_search_counts(search)[1])
    return sum(1 for _ in _search_matches(search))


def _commit_search_page(search: SearchHistory, offset: int, limit: int) -> Iterator[Entry]:
    """The matches ``offset`` to ``offset + limit`` of a commit search, opening only the ranges that hold them.

    The kept match counts per range skip every range whose matches all lie before the page.
    """
    base, counts = _commit_search_counts(search)
    reader = TreeReader(base)
    skip, wanted = offset, limit
    for (start, stop), count in zip(_sheet_windows(base, search.sheet), counts, strict=True):
        if skip >= count:
            skip -= count
            continue
        for entry in reader.slice(start, stop):
            if not sheet_search.row_matches(search.criteria, entry.label or {}):
                continue
            if skip:
                skip -= 1
                continue
            yield entry
            wanted -= 1
            if not wanted:
                return


def search_records(*, search: SearchHistory, offset: int, limit: int) -> Page[tuple[str, dict[str, Any]]]:
    """A page of the search's results as (record key, result row), in record-key order.

    A commit search pages from the ranges that hold the page (see ``_commit_search_page``); a draft's rows may
    change between pages, so a draft search reads its sheet from the start for each.
    """
    _check_page(offset, limit)
    if search.commit_id is not None and limit:
        matches: Iterator[Entry] = _commit_search_page(search, offset, limit)
    else:
        matches = islice(_search_matches(search), offset, offset + limit)
    items = [(entry.remote_path, sheet_search.row_selected(search.criteria, entry.label or {})) for entry in matches]
    return Page(items=items, total=search_record_count(search=search))


def _ancestry(commit: Commit) -> Iterator[str]:
    """Ids of a commit and its ancestors, newest first, read a batch at a time."""
    next_id: str | None = commit.id
    while next_id is not None:
        chain = _ancestor_ids(next_id, ANCESTOR_BATCH)
        yield from (commit_id for commit_id, _ in chain)
        next_id = chain[-1][1] if len(chain) == ANCESTOR_BATCH else None


def commit_merge_base(*, first: Commit | None, second: Commit | None) -> Commit | None:
    """The nearest common ancestor of two commits (None for ROOT), walking up from both no further than it.

    History has one parent per commit, so the deeper side first climbs to the other's depth, then both
    climb together until they meet.
    """
    if first is None or second is None:
        return None
    if first.dataset_id != second.dataset_id:
        return None
    ours, theirs = _ancestry(first), _ancestry(second)
    mine, other = next(ours), next(theirs)
    depth_mine, depth_other = first.depth, second.depth
    while depth_mine > depth_other:
        mine, depth_mine = next(ours), depth_mine - 1
    while depth_other > depth_mine:
        other, depth_other = next(theirs), depth_other - 1
    while mine != other:
        step_mine, step_other = next(ours, None), next(theirs, None)
        if step_mine is None or step_other is None:
            return None
        mine, other = step_mine, step_other
    return Commit.objects.select_related("committer").get(pk=mine)


JOB_TYPES = ("squashAndMerge", "basicSearch")


def _check_job_type(job_type: str | None) -> None:
    if job_type is not None and job_type not in JOB_TYPES:
        raise errors.Invalid("jobType", f"must be one of {', '.join(JOB_TYPES)}")


def job_get(*, dataset: Dataset, job_id: str, job_type: str | None = None) -> Job:
    """The dataset's job with this id (and of this type, when one is named)."""
    _check_job_type(job_type)
    job = Job.objects.select_related("result_draft").filter(dataset=dataset, pk=job_id).first()
    if job is None or (job_type is not None and job.job_type != job_type):
        raise errors.NotFound(f"job {job_id!r} does not exist", job=job_id)
    return job


def job_list(*, dataset: Dataset, job_type: str | None = None, status: str | None = None) -> QuerySet[Job]:
    """The dataset's jobs, newest first (of one type and status when they are named)."""
    _check_job_type(job_type)
    jobs = Job.objects.filter(dataset=dataset).select_related("result_draft").order_by("-created_at", "-pk")
    if job_type is not None:
        jobs = jobs.filter(job_type=job_type)
    if status is not None:
        if status not in Job.Status.values:
            raise errors.Invalid("status", f"must be one of {', '.join(Job.Status.values)}")
        jobs = jobs.filter(status=status)
    return jobs


def search_job_get(*, job_id: str) -> Job:
    """The search job with this id, in whichever dataset (its result is addressed by the job alone)."""
    job = Job.objects.select_related("dataset", "result_dataset").filter(pk=job_id, job_type="basicSearch").first()
    if job is None:
        raise errors.NotFound(f"job {job_id!r} does not exist", job=job_id)
    return job
