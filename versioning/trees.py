"""The content-addressed file tree: entries, ranges and trees, and the streaming algorithms over them.

Entries are sorted by path (``segment/remotePath``) and cut into ranges: after ``MIN_RANGE_SIZE`` entries, a
range ends at the first entry whose path hashes to a cut point (one in ``CUT_ODDS``), or at ``MAX_RANGE_SIZE``
entries, so ranges hold about a thousand entries. Cut points depend only on the entries, so equal contents
give equal ranges and trees whatever history built them, unchanged ranges are shared, and a rewrite stops as
soon as it meets a cut point of the old tree again.
"""

import hashlib
import heapq
import json
import operator
import tempfile
import threading
import zlib
from bisect import bisect_left, bisect_right
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from itertools import accumulate
from operator import itemgetter
from typing import IO, Any, NamedTuple

import msgpack
from django.db import connection, models
from django.utils import timezone

from project.prepared import PreparedQuery, get_rows
from versioning.fence import fence_share
from versioning.models import Range, SegmentMetadata, Tree

MIN_RANGE_SIZE = 500
CUT_ODDS = 500
MAX_RANGE_SIZE = 4000
# Decoded trees are immutable and keyed by content hash, so a few are kept per process.
TREE_CACHE_SIZE = 32
# New ranges are inserted this many at a time, so a big rewrite holds few encoded ranges in memory.
RANGE_WRITE_BATCH = 32
# Unsorted bulk input is sorted in runs of this many entries spilled to temporary files, then merged.
SORT_RUN_SIZE = 100_000
COMPRESSION_LEVEL = 1


class Part(NamedTuple):
    """One named file of a composite entry (a fusion frame holds one per sensor, named by the sensor)."""

    name: str
    remote_path: str
    object_key: str
    sha1: str
    size: int
    label: dict[str, Any] | None = None
    timestamp: float | None = None


class Entry(NamedTuple):
    """One file of a dataset at a revision; ``path`` is ``segment/remotePath``.

    A composite entry (a fusion frame at ``segment/<frameId>``) has no object of its own: empty
    ``object_key`` and ``sha1``, ``size`` the sum of its parts', and ``parts`` its files as ``Part`` rows
    sorted by name.
    """

    path: str
    object_key: str
    sha1: str
    size: int
    label: dict[str, Any] | None = None
    timestamp: float | None = None
    parts: list[list[Any]] | None = None

    @classmethod
    def create(
        cls,
        *,
        segment: str,
        remote_path: str,
        object_key: str,
        sha1: str,
        size: int,
        label: dict[str, Any] | None = None,
        timestamp: float | None = None,
    ) -> "Entry":
        """Build an entry from its segment and remote path."""
        return cls(entry_path(segment, remote_path), object_key, sha1, size, label or None, timestamp)

    @classmethod
    def composite(cls, *, segment: str, name: str, parts: Iterable[Part]) -> "Entry":
        """A composite entry holding ``parts`` (sorted here by name)."""
        ordered = sorted(parts, key=itemgetter(0))
        size = sum(part.size for part in ordered)
        return cls(entry_path(segment, name), "", "", size, None, None, [list(part) for part in ordered])

    @property
    def is_composite(self) -> bool:
        """Whether the entry holds parts rather than an object."""
        return self.parts is not None

    def part_list(self) -> list[Part]:
        """The parts of a composite entry, by name (none for a plain entry)."""
        return [Part._make(row) for row in self.parts or ()]

    def files(self) -> list[tuple[str, str, int]]:
        """(object key, SHA-1, size) of every object the entry refers to: itself, or each of its parts."""
        if self.parts is None:
            return [(self.object_key, self.sha1, self.size)]
        return [(row[2], row[3], row[4]) for row in self.parts]

    @property
    def segment(self) -> str:
        """The segment name (the part of the path before the first slash)."""
        return self.path.partition("/")[0]

    @property
    def remote_path(self) -> str:
        """The path within the segment."""
        return self.path.partition("/")[2]


# Fields of a plain entry's stored row: every field of ``Entry`` but ``parts``.
PLAIN_ROW_LENGTH = 6
_make_entry = Entry._make


def entry_from_row(row: Sequence[Any]) -> Entry:
    """An entry from its stored row (a plain entry's row leaves out ``parts``)."""
    return _make_entry(row) if len(row) > PLAIN_ROW_LENGTH else Entry(*row)


class Change(NamedTuple):
    """A staged change at ``path``: an upsert when ``entry`` is set, a delete when it is None."""

    path: str
    entry: Entry | None


class RangeRef(NamedTuple):
    """A tree's pointer to one range, with what a page or a diff needs to know without opening it."""

    id: str
    first: str
    last: str
    length: int
    size: int


class EntryChange(NamedTuple):
    """A difference between two revisions at ``path``: ``old`` or ``new`` is None for an add or a delete."""

    path: str
    old: Entry | None
    new: Entry | None

    @property
    def action(self) -> str:
        """``add``, ``delete`` or ``modify``."""
        if self.old is None:
            return "add"
        if self.new is None:
            return "delete"
        return "modify"


def entry_path(segment: str, remote_path: str) -> str:
    """The tree key of a file: ``segment/remotePath``."""
    return f"{segment}/{remote_path}"


def segment_bounds(segment: str) -> tuple[str, str]:
    """The half-open path interval holding exactly the segment's entries."""
    return f"{segment}/", f"{segment}0"  # "0" is the code point after "/".


def is_cut_point(path: str) -> bool:
    """Whether a range long enough may end after this path (content-defined, one path in CUT_ODDS)."""
    digest = hashlib.blake2b(path.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % CUT_ODDS == 0


def ends_at_cut(ref: "RangeRef") -> bool:
    """Whether the range was cut by the rules (so a range built from its end on starts where a full scan would)."""
    return ref.length >= MAX_RANGE_SIZE or (ref.length >= MIN_RANGE_SIZE and is_cut_point(ref.last))


def _content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class TreeContent:
    """A decoded tree: segments (name, description, entry count and, when it has any, the ids of its metadata
    and of its label statistics) by name and the ordered range pointers."""

    segments: tuple[tuple[Any, ...], ...] = ()
    ranges: tuple[RangeRef, ...] = ()
    starts: tuple[int, ...] = field(init=False, repr=False, compare=False)
    lasts: tuple[str, ...] = field(init=False, repr=False, compare=False)
    spans: dict[str, tuple[int, int]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts", tuple(accumulate((r.length for r in self.ranges), initial=0)))
        object.__setattr__(self, "lasts", tuple(r.last for r in self.ranges))
        spans, position = {}, 0
        # Segments lie in the tree in the order of their path prefix ("a-b/" before "a/"), not of their names.
        for name, _, count, *_ in sorted(self.segments, key=lambda s: s[0] + "/"):
            spans[name] = (position, position + count)
            position += count
        object.__setattr__(self, "spans", spans)

    @classmethod
    def build(
        cls,
        *,
        descriptions: dict[str, str],
        counts: dict[str, int],
        ranges: Iterable[RangeRef],
        metadata: dict[str, str] | None = None,
        statistics: dict[str, str] | None = None,
    ) -> "TreeContent":
        """A tree from its segments' descriptions, entry counts, metadata ids and label statistics ids, and its
        ranges."""
        metadata = metadata or {}
        statistics = statistics or {}

        def segment(name: str) -> tuple[Any, ...]:
            # A segment without metadata or statistics keeps the three-field form of trees written before
            # segments had either; its labels then count as not counted yet (see ``labels.NO_LABELS``).
            fields = (name, descriptions[name], counts.get(name, 0))
            if statistics.get(name):
                return (*fields, metadata.get(name, ""), statistics[name])
            return (*fields, metadata[name]) if metadata.get(name) else fields

        return cls(segments=tuple(segment(name) for name in sorted(descriptions)), ranges=tuple(ranges))

    @property
    def descriptions(self) -> dict[str, str]:
        """Segment name to description."""
        return {name: description for name, description, *_ in self.segments}

    @property
    def counts(self) -> dict[str, int]:
        """Segment name to number of entries."""
        return {name: count for name, _, count, *_ in self.segments}

    @property
    def metadata_ids(self) -> dict[str, str]:
        """Segment name to the id of its metadata, for the segments that have any."""
        return {s[0]: s[3] for s in self.segments if len(s) > 3 and s[3]}

    @property
    def statistics_ids(self) -> dict[str, str]:
        """Segment name to the id of its label statistics counts, for the segments whose entries have labels."""
        return {s[0]: s[4] for s in self.segments if len(s) > 4}

    @property
    def entry_count(self) -> int:
        """Number of entries in the tree."""
        return self.starts[-1]

    @property
    def total_size(self) -> int:
        """Sum of the entries' sizes in bytes."""
        return sum(r.size for r in self.ranges)

    def encode(self) -> bytes:
        """The canonical encoding whose hash is the tree id."""
        return msgpack.packb({"segments": [list(s) for s in self.segments], "ranges": [list(r) for r in self.ranges]})

    @classmethod
    def decode(cls, raw: bytes) -> "TreeContent":
        """Read a tree back from its encoding."""
        data = msgpack.unpackb(raw, use_list=False)
        return cls(segments=data["segments"], ranges=tuple(RangeRef._make(r) for r in data["ranges"]))


EMPTY_TREE = TreeContent()


_tree_cache: OrderedDict[str, TreeContent] = OrderedDict()
_tree_cache_lock = threading.Lock()


def _tree_remember(tree_id: str, content: TreeContent) -> None:
    with _tree_cache_lock:
        _tree_cache[tree_id] = content
        _tree_cache.move_to_end(tree_id)
        while len(_tree_cache) > TREE_CACHE_SIZE:
            _tree_cache.popitem(last=False)


def content_store(model: type[models.Model], rows: list[Any]) -> None:
    """Store content-addressed rows, stamping each (again, when it is already there) under the fence.

    Stamping what already exists tells a running garbage collection that the content is in use again, so
    a collection that found it unreachable before leaves it (see ``versioning.fence``).
    """
    fence_share()
    now = timezone.now()
    for row in rows:
        row.created_at = now
    # MySQL upserts on any unique key and takes no conflict target; SQLite needs one.
    target = ["id"] if connection.features.supports_update_conflicts_with_target else None
    model._default_manager.bulk_create(rows, update_conflicts=True, unique_fields=target, update_fields=["created_at"])


# What ``values_list("data", flat=True).get(pk=…)`` runs, compiled once: pages read a range or two each.
_TREE_DATA: PreparedQuery[Tree] = PreparedQuery(
    lambda tree_id: get_rows(Tree.objects.filter(pk=tree_id).values_list("data")), tree_id="<tree id>"
)
_RANGE_DATA: PreparedQuery[Range] = PreparedQuery(
    lambda range_id: get_rows(Range.objects.filter(pk=range_id).values_list("data")), range_id="<range id>"
)


def tree_load(tree_id: str) -> TreeContent:
    """Read and decode a stored tree (kept in a small per-process cache: trees never change)."""
    content = _tree_cache.get(tree_id)
    if content is None:
        (data,) = _TREE_DATA.get(tree_id=tree_id)
        content = TreeContent.decode(zlib.decompress(data))
    _tree_remember(tree_id, content)
    return content


def tree_save(content: TreeContent) -> str:
    """Store the tree once under the hash of its encoding and return that id."""
    raw = content.encode()
    tree_id = _content_hash(raw)
    content_store(Tree, [Tree(id=tree_id, data=zlib.compress(raw, COMPRESSION_LEVEL))])
    _tree_remember(tree_id, content)
    return tree_id


def metadata_save(metadata: dict[str, Any]) -> str:
    """Store a segment's metadata once under the hash of its JSON text and return that id ("" for none)."""
    if not metadata:
        return ""
    text = json.dumps(metadata, ensure_ascii=False, separators=(",", ":"))
    metadata_id = _content_hash(text.encode())
    content_store(SegmentMetadata, [SegmentMetadata(id=metadata_id, data=text)])
    return metadata_id


@lru_cache(maxsize=256)
def _metadata_text(metadata_id: str) -> str:
    return SegmentMetadata.objects.values_list("data", flat=True).get(pk=metadata_id)


def metadata_load(metadata_id: str) -> dict[str, Any]:
    """A segment's metadata by id (``{}`` for none); kept per process, since stored metadata never changes."""
    return json.loads(_metadata_text(metadata_id)) if metadata_id else {}


def _range_bytes(range_id: str) -> bytes:
    (data,) = _RANGE_DATA.get(range_id=range_id)
    return zlib.decompress(data)


def range_rows(range_id: str) -> list[list[Any]]:
    """Read one stored range as raw rows (the fields of ``Entry`` in order), cheaper than entries."""
    return msgpack.unpackb(_range_bytes(range_id))


def range_load(range_id: str) -> list[Entry]:
    """Read and decode one stored range."""
    return list(map(entry_from_row, range_rows(range_id)))


def range_slice(range_id: str, start: int, stop: int) -> list[Entry]:
    """Entries ``start`` to ``stop`` of a range, skipping the ones before without building them."""
    unpacker = msgpack.Unpacker()
    unpacker.feed(_range_bytes(range_id))
    count = unpacker.read_array_header()
    for _ in range(start):
        unpacker.skip()
    return [entry_from_row(unpacker.unpack()) for _ in range(start, min(stop, count))]


class RangeWriter:
    """Builds ranges from a stream of sorted entries, cutting at content-defined points, and stores them."""

    def __init__(self) -> None:
        self.refs: list[RangeRef] = []
        self._pending: list[Sequence[Any]] = []
        self._unsaved: list[Range] = []

    @property
    def is_at_cut(self) -> bool:
        """Whether no entries are waiting, so an existing range can be appended as it is."""
        return not self._pending

    def add(self, entry: Entry | list[Any]) -> None:
        """Append the next entry or raw row (paths must arrive in increasing order)."""
        # A plain entry is stored without its empty ``parts``, so ranges of plain entries keep the encoding
        # (and the ids) they had before entries could hold parts.
        self._pending.append(entry[:PLAIN_ROW_LENGTH] if entry[-1] is None and len(entry) > PLAIN_ROW_LENGTH else entry)
        size = len(self._pending)
        if size >= MAX_RANGE_SIZE or (size >= MIN_RANGE_SIZE and is_cut_point(entry[0])):
            self.cut()

    def reuse(self, ref: RangeRef) -> None:
        """Append an existing range unchanged."""
        self.refs.append(ref)

    def cut(self) -> None:
        """Close the range being built, if any."""
        if not self._pending:
            return
        raw = msgpack.packb(self._pending)
        range_id = _content_hash(raw)
        self._unsaved.append(Range(id=range_id, data=zlib.compress(raw, COMPRESSION_LEVEL)))
        first, last = self._pending[0][0], self._pending[-1][0]
        self.refs.append(RangeRef(range_id, first, last, len(self._pending), sum(e[3] for e in self._pending)))
        self._pending = []
        if len(self._unsaved) >= RANGE_WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        """Store the ranges built so far (in id order, so concurrent writers lock rows in one order)."""
        if self._unsaved:
            self._unsaved.sort(key=lambda r: r.id)
            content_store(Range, self._unsaved)
            self._unsaved = []

    def finish(self) -> list[RangeRef]:
        """Close and store everything and return the range pointers in order."""
        self.cut()
        self.flush()
        return self.refs


class _ChangeStream:
    """A sorted change iterator that can be peeked and consumed up to a bound."""

    def __init__(self, changes: Iterable[Change]) -> None:
        self._iterator = iter(changes)
        self._head: Change | None = next(self._iterator, None)

    def peek(self) -> Change | None:
        return self._head

    def take_while(self, keep: Callable[[str], bool]) -> Iterator[Change]:
        while self._head is not None and keep(self._head.path):
            yield self._head
            self._head = next(self._iterator, None)


def entries_apply(entries: Iterable[Any], changes: Iterable[Change]) -> Iterator[Any]:
    """Apply sorted changes to sorted entries (or raw rows), streaming."""
    change_iterator = iter(changes)
    change = next(change_iterator, None)
    for entry in entries:
        path = entry[0]
        while change is not None and change.path < path:
            if change.entry is not None:
                yield change.entry
            change = next(change_iterator, None)
        if change is not None and change.path == path:
            if change.entry is not None:
                yield change.entry
            change = next(change_iterator, None)
        else:
            yield entry
    while change is not None:
        if change.entry is not None:
            yield change.entry
        change = next(change_iterator, None)


def _anywhere(path: str) -> bool:
    return True


def ranges_apply(
    ranges: tuple[RangeRef, ...], changes: Iterable[Change], cleared_segments: Iterable[str] = ()
) -> tuple[list[RangeRef], Counter[str]]:
    """Apply sorted changes (and drop the entries of cleared segments), rewriting only the ranges touched.

    Untouched ranges are reused by id; a touched range is merged with its changes and cut again, carrying on
    into the next ranges only until a cut point of the old tree is met again. Returns the new ranges and the
    change in entry count per segment.
    """
    bounds = sorted(segment_bounds(name) for name in cleared_segments)
    stream = _ChangeStream(changes)
    writer = RangeWriter()
    delta: Counter[str] = Counter()

    def add(entry: Entry | list[Any]) -> None:
        delta[entry[0].partition("/")[0]] += 1
        writer.add(entry)

    def overlaps_cleared(ref: RangeRef) -> bool:
        return any(ref.first < high and ref.last >= low for low, high in bounds)

    def inside_cleared(ref: RangeRef) -> bool:
        return any(ref.first >= low and ref.last < high for low, high in bounds)

    def is_cleared(path: str) -> bool:
        return any(low <= path < high for low, high in bounds)

    count = len(ranges)
    for index, ref in enumerate(ranges):
        head = stream.peek()
        if head is None and not bounds and writer.is_at_cut:
            writer.refs.extend(ranges[index:])  # nothing left to change: the rest is reused as it is
            break
        following = ranges[index + 1].first if index + 1 < count else None
        if head is None:
            touched = False
        elif head.path <= ref.last:
            touched = True
        elif following is not None and head.path >= following:
            touched = False
        else:
            touched = not ends_at_cut(ref)  # a change in the gap after a range cut short extends it
        if not touched and not overlaps_cleared(ref):
            if writer.is_at_cut:
                writer.reuse(ref)
                continue
        elif not touched and inside_cleared(ref):
            delta[ref.first.partition("/")[0]] -= ref.length
            continue
        belongs: Callable[[str], bool]
        if ends_at_cut(ref):
            belongs = partial(operator.ge, ref.last)  # path <= ref.last
        elif following is not None:
            belongs = partial(operator.gt, following)  # path < following
        else:
            belongs = _anywhere
        rows = range_rows(ref.id)
        delta.subtract(row[0].partition("/")[0] for row in rows)
        if bounds:
            rows = [row for row in rows if not is_cleared(row[0])]
        for entry in entries_apply(rows, stream.take_while(belongs)):
            add(entry)
    for change in stream.take_while(lambda path: True):
        if change.entry is not None:
            add(change.entry)
    return writer.finish(), delta


class TreeReader:
    """Reads parts of one tree, opening only the ranges needed (and each at most once while it is current)."""

    def __init__(self, content: TreeContent) -> None:
        self.content = content
        self._open_id: str | None = None
        self._open_entries: list[Entry] = []
        self._open_paths: list[str] = []

    def _range(self, index: int) -> tuple[list[Entry], list[str]]:
        ref = self.content.ranges[index]
        if ref.id != self._open_id:
            self._open_entries = range_load(ref.id)
            self._open_paths = [e.path for e in self._open_entries]
            self._open_id = ref.id
        return self._open_entries, self._open_paths

    def slice(self, start: int, stop: int) -> Iterator[Entry]:
        """Entries at positions ``start`` to ``stop`` (exclusive) of the whole tree, in path order."""
        content = self.content
        if start >= stop:
            return
        index = bisect_right(content.starts, start) - 1
        while start < stop and index < len(content.ranges):
            offset = start - content.starts[index]
            if content.ranges[index].id == self._open_id:
                taken = self._open_entries[offset : offset + stop - start]
            else:
                taken = range_slice(content.ranges[index].id, offset, offset + stop - start)
            yield from taken
            start += len(taken)
            index += 1

    def interval(self, low: str, high: str | None) -> Iterator[Entry]:
        """Entries with ``low <= path < high``, streaming range by range."""
        content = self.content
        index = bisect_left(content.lasts, low)
        while index < len(content.ranges):
            ref = content.ranges[index]
            if high is not None and ref.first >= high:
                return
            entries, paths = self._range(index)
            begin = bisect_left(paths, low)
            end = len(paths) if high is None else bisect_left(paths, high)
            yield from entries[begin:end]
            if end < len(paths):
                return
            index += 1

    def get(self, path: str) -> Entry | None:
        """The entry at ``path``, or None."""
        content = self.content
        index = bisect_left(content.lasts, path)
        if index == len(content.ranges) or path < content.ranges[index].first:
            return None
        entries, paths = self._range(index)
        found = bisect_left(paths, path)
        return entries[found] if found < len(paths) and paths[found] == path else None


def trees_diff(old: TreeContent, new: TreeContent, low: str = "", high: str | None = None) -> Iterator[EntryChange]:
    """Differences between two trees within ``[low, high)`` in path order, opening only ranges that differ."""

    def window(ranges: tuple[RangeRef, ...]) -> list[RangeRef]:
        return [r for r in ranges if r.last >= low and (high is None or r.first < high)]

    def inside(path: str) -> bool:
        return path >= low and (high is None or path < high)

    old_ranges, new_ranges = window(old.ranges), window(new.ranges)
    old_index = new_index = 0
    old_buffer: list[list[Any]] = []
    new_buffer: list[list[Any]] = []
    old_at = new_at = 0

    def open_old() -> None:
        nonlocal old_buffer, old_at, old_index
        old_buffer, old_at = [row for row in range_rows(old_ranges[old_index].id) if inside(row[0])], 0
        old_index += 1

    def open_new() -> None:
        nonlocal new_buffer, new_at, new_index
        new_buffer, new_at = [row for row in range_rows(new_ranges[new_index].id) if inside(row[0])], 0
        new_index += 1

    while True:
        old_empty, new_empty = old_at >= len(old_buffer), new_at >= len(new_buffer)
        old_more, new_more = old_index < len(old_ranges), new_index < len(new_ranges)
        if old_empty and new_empty:
            if not old_more and not new_more:
                return
            if old_more and new_more and old_ranges[old_index].id == new_ranges[new_index].id:
                old_index += 1
                new_index += 1
                continue
            old_first = old_ranges[old_index].first if old_more else None
            new_first = new_ranges[new_index].first if new_more else None
            if old_first is not None and (new_first is None or old_first <= new_first):
                open_old()
            if new_first is not None and (old_first is None or new_first <= old_first):
                open_new()
            continue
        if old_empty and old_more and old_ranges[old_index].first <= new_buffer[new_at][0]:
            open_old()
            continue
        if new_empty and new_more and new_ranges[new_index].first <= old_buffer[old_at][0]:
            open_new()
            continue
        if not old_empty and not new_empty:
            # Ranges that differ mostly hold the same rows: step over equal ones without further checks.
            old_end, new_end = len(old_buffer), len(new_buffer)
            while old_at < old_end and new_at < new_end and old_buffer[old_at] == new_buffer[new_at]:
                old_at += 1
                new_at += 1
            if old_at == old_end or new_at == new_end:
                continue
        old_row = None if old_empty else old_buffer[old_at]
        new_row = None if new_empty else new_buffer[new_at]
        if new_row is None or (old_row is not None and old_row[0] < new_row[0]):
            yield EntryChange(old_row[0], entry_from_row(old_row), None)  # type: ignore[index,arg-type]
            old_at += 1
        elif old_row is None or new_row[0] < old_row[0]:
            yield EntryChange(new_row[0], None, entry_from_row(new_row))
            new_at += 1
        else:
            if old_row != new_row:
                yield EntryChange(old_row[0], entry_from_row(old_row), entry_from_row(new_row))
            old_at += 1
            new_at += 1


def entries_diff(old: Iterable[Entry], new: Iterable[Entry]) -> Iterator[EntryChange]:
    """Differences between two sorted entry streams, in path order."""
    old_iterator, new_iterator = iter(old), iter(new)
    old_entry, new_entry = next(old_iterator, None), next(new_iterator, None)
    while old_entry is not None or new_entry is not None:
        if new_entry is None or (old_entry is not None and old_entry.path < new_entry.path):
            yield EntryChange(old_entry.path, old_entry, None)  # type: ignore[union-attr]
            old_entry = next(old_iterator, None)
        elif old_entry is None or new_entry.path < old_entry.path:
            yield EntryChange(new_entry.path, None, new_entry)
            new_entry = next(new_iterator, None)
        else:
            if old_entry != new_entry:
                yield EntryChange(old_entry.path, old_entry, new_entry)
            old_entry, new_entry = next(old_iterator, None), next(new_iterator, None)


def _spill(run: list[Entry]) -> IO[bytes]:
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed by _read_spill once merged)
    packer = msgpack.Packer()
    for entry in run:
        spool.write(packer.pack(entry))
    spool.seek(0)
    return spool


def _read_spill(spool: IO[bytes]) -> Iterator[Entry]:
    with spool:
        for row in msgpack.Unpacker(spool, use_list=False):
            yield entry_from_row(row)


def entries_sorted(entries: Iterable[Entry]) -> Iterator[Entry]:
    """Sort entries by path in bounded memory (runs spilled to disk); of equal paths the last one wins."""
    runs: list[IO[bytes]] = []
    run: list[Entry] = []
    for entry in entries:
        # Spill a full run only when more entries follow, so an input that fits in one run never touches disk.
        if len(run) >= SORT_RUN_SIZE:
            run.sort(key=itemgetter(0))
            runs.append(_spill(run))
            run = []
        run.append(entry)
    run.sort(key=itemgetter(0))
    if runs:
        runs.append(_spill(run))
        merged: Iterator[Entry] = heapq.merge(*(_read_spill(spool) for spool in runs), key=itemgetter(0))
    else:
        merged = iter(run)
    previous: Entry | None = None
    for entry in merged:
        if previous is not None and previous.path != entry.path:
            yield previous
        previous = entry
    if previous is not None:
        yield previous
