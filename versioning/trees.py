"""The content-addressed file tree: entries, ranges, metaranges and trees, and the streaming algorithms over them.

Entries are sorted by path (``segment/remotePath``) and cut into ranges: after ``MIN_RANGE_SIZE`` entries, a
range ends at the first entry whose path hashes to a cut point (one in ``CUT_ODDS``), or at ``MAX_RANGE_SIZE``
entries, so ranges hold about a thousand entries. The ranges are grouped into metaranges by the same rule one
level up (a node ends after a range whose last path hashes to a node cut point), and a tree lists its
metaranges, so a tree has two levels: at ten million entries about three hundred metaranges of some thirty
ranges each. A tree whose ranges fit in one metarange holds them inline instead, as every tree did before
trees had two levels, so small trees keep the ids they had.

Cut points depend only on the entries, so equal contents give equal ranges, metaranges and trees whatever
history built them, unchanged ranges and metaranges are shared, and a rewrite stops as soon as it meets a cut
point of the old tree again. A change opens the metaranges and ranges on its path only.
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
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from itertools import accumulate
from operator import itemgetter
from typing import IO, Any, Generic, NamedTuple, TypeVar

import msgpack
from django.db import connection, models
from django.utils import timezone

from project.prepared import PreparedQuery, get_rows
from versioning.fence import fence_share
from versioning.models import Metarange, Range, SegmentMetadata, Tree

MIN_RANGE_SIZE = 500
CUT_ODDS = 500
MAX_RANGE_SIZE = 4000
# Ranges per metarange, by the same rule: about thirty-two, so a change opens a node of a few kilobytes.
MIN_NODE_SIZE = 8
NODE_CUT_ODDS = 24
MAX_NODE_SIZE = 256
# Decoded metaranges are immutable and keyed by content hash, so many are kept per process.
NODE_CACHE_SIZE = 4096
# Decoded trees are immutable and keyed by content hash, so a few are kept per process.
TREE_CACHE_SIZE = 32
# New ranges are inserted this many at a time, so a big rewrite holds few encoded ranges in memory.
RANGE_WRITE_BATCH = 32
# Unsorted bulk input is sorted in runs of this many entries spilled to temporary files, then merged.
SORT_RUN_SIZE = 100_000
COMPRESSION_LEVEL = 1
# New entries (a bulk import's, say) are handed to the range writer in lists of at most this many.
ROW_CHUNK = 4096

V = TypeVar("V")


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
    """A pointer to one range, with what a page or a diff needs to know without opening it."""

    id: str
    first: str
    last: str
    length: int
    size: int


class NodeRef(NamedTuple):
    """A tree's pointer to one metarange: its id ("" for the ranges a one-node tree holds inline), its first
    and last paths, its entries, their bytes and its number of ranges."""

    id: str
    first: str
    last: str
    length: int
    size: int
    range_count: int


@dataclass(frozen=True)
class RangeList:
    """The decoded range pointers of one metarange, with their entry positions and last paths for bisecting."""

    refs: tuple[RangeRef, ...]
    starts: tuple[int, ...] = field(init=False, repr=False, compare=False)
    lasts: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts", tuple(accumulate((r.length for r in self.refs), initial=0)))
        object.__setattr__(self, "lasts", tuple(r.last for r in self.refs))

    def node(self, node_id: str) -> NodeRef:
        """The pointer to these ranges stored under ``node_id``."""
        refs = self.refs
        return NodeRef(node_id, refs[0].first, refs[-1].last, self.starts[-1], sum(r.size for r in refs), len(refs))

    def encode(self) -> bytes:
        """The canonical encoding whose hash is the metarange id."""
        return msgpack.packb([list(r) for r in self.refs])


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


def is_node_cut(path: str) -> bool:
    """Whether a metarange long enough may end after a range ending at this path (one in NODE_CUT_ODDS, drawn
    independently of the range cut points)."""
    digest = hashlib.blake2b(path.encode(), digest_size=8, person=b"metarange").digest()
    return int.from_bytes(digest, "big") % NODE_CUT_ODDS == 0


def _content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


class RangeIndex(NamedTuple):
    """A tree's ranges: its metarange pointers, and the ranges themselves when they fit in one metarange."""

    nodes: tuple[NodeRef, ...] = ()
    inline: RangeList | None = None


@dataclass(frozen=True)
class TreeContent:
    """A decoded tree: segments (name, description, entry count and, when it has any, the ids of its metadata
    and of its label statistics) by name, and its ranges: the ordered metarange pointers, or for a tree of one
    metarange a single pointer with id "" and the range pointers inline."""

    segments: tuple[tuple[Any, ...], ...] = ()
    nodes: tuple[NodeRef, ...] = ()
    inline: RangeList | None = None
    starts: tuple[int, ...] = field(init=False, repr=False, compare=False)
    lasts: tuple[str, ...] = field(init=False, repr=False, compare=False)
    spans: dict[str, tuple[int, int]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts", tuple(accumulate((n.length for n in self.nodes), initial=0)))
        object.__setattr__(self, "lasts", tuple(n.last for n in self.nodes))
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
        ranges: RangeIndex,
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

        segments = tuple(segment(name) for name in sorted(descriptions))
        return cls(segments=segments, nodes=ranges.nodes, inline=ranges.inline)

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
        return sum(n.size for n in self.nodes)

    @property
    def range_index(self) -> RangeIndex:
        """The tree's ranges, to build another tree holding the same."""
        return RangeIndex(self.nodes, self.inline)

    def node_ranges(self, index: int) -> RangeList:
        """The range pointers of the tree's ``index``-th metarange."""
        node_id = self.nodes[index].id
        return node_load(node_id) if node_id else self.inline  # type: ignore[return-value]

    def ranges(self) -> Iterator[RangeRef]:
        """Every range pointer in path order, opening every metarange (for a pass over the whole tree)."""
        for index in range(len(self.nodes)):
            yield from self.node_ranges(index).refs

    def range_windows(self, start: int, stop: int) -> Iterator[tuple[RangeRef, int]]:
        """(range, position of its first entry) of each range holding entries at positions ``start`` to ``stop``,
        opening only the metaranges over them."""
        if start >= stop:
            return
        index = bisect_right(self.starts, start) - 1
        while index < len(self.nodes) and self.starts[index] < stop:
            ranges, node_start = self.node_ranges(index), self.starts[index]
            first = max(bisect_right(ranges.starts, start - node_start) - 1, 0)
            for position in range(first, len(ranges.refs)):
                range_start = node_start + ranges.starts[position]
                if range_start >= stop:
                    return
                yield ranges.refs[position], range_start
            index += 1

    def encode(self) -> bytes:
        """The canonical encoding whose hash is the tree id (a one-metarange tree lists its ranges inline)."""
        segments = [list(s) for s in self.segments]
        if len(self.nodes) > 1:
            return msgpack.packb({"segments": segments, "nodes": [list(n) for n in self.nodes]})
        refs = self.inline.refs if self.inline is not None else ()
        return msgpack.packb({"segments": segments, "ranges": [list(r) for r in refs]})

    @classmethod
    def decode(cls, raw: bytes) -> "TreeContent":
        """Read a tree back from its encoding."""
        data = msgpack.unpackb(raw, use_list=False)
        if "nodes" in data:
            return cls(segments=data["segments"], nodes=tuple(NodeRef._make(n) for n in data["nodes"]))
        index = inline_index(tuple(RangeRef._make(r) for r in data["ranges"]))
        return cls(segments=data["segments"], nodes=index.nodes, inline=index.inline)


def inline_index(refs: tuple[RangeRef, ...]) -> RangeIndex:
    """The index of a tree holding ``refs`` inline, as one metarange without an id (no ranges, no metarange)."""
    if not refs:
        return RangeIndex()
    ranges = RangeList(refs)
    return RangeIndex((ranges.node(""),), ranges)


EMPTY_TREE = TreeContent()


class _ContentCache(Generic[V]):
    """The most recently used decoded contents by id, shared by a process's threads (contents never change)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        return self._items.get(key)

    def remember(self, key: str, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_tree_cache: _ContentCache[TreeContent] = _ContentCache(TREE_CACHE_SIZE)


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


# What ``values_list("data", flat=True).get(pk=…)`` runs, compiled once: pages read a metarange and a range or
# two each.
_TREE_DATA: PreparedQuery[Tree] = PreparedQuery(
    lambda tree_id: get_rows(Tree.objects.filter(pk=tree_id).values_list("data")), tree_id="<tree id>"
)
_NODE_DATA: PreparedQuery[Metarange] = PreparedQuery(
    lambda node_id: get_rows(Metarange.objects.filter(pk=node_id).values_list("data")), node_id="<metarange id>"
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
    _tree_cache.remember(tree_id, content)
    return content


def tree_save(content: TreeContent) -> str:
    """Store the tree once under the hash of its encoding and return that id."""
    raw = content.encode()
    tree_id = _content_hash(raw)
    content_store(Tree, [Tree(id=tree_id, data=zlib.compress(raw, COMPRESSION_LEVEL))])
    _tree_cache.remember(tree_id, content)
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


def _range_tuples(range_id: str) -> tuple[tuple[Any, ...], ...]:
    """A stored range's rows as tuples, arrays inside them too: a rewrite only copies them into new ranges
    (they encode exactly as lists do), and rows of plain values, as tuples, are soon left out of the cyclic
    garbage collector's walks, which a commit's thousands of rows would otherwise set off again and again."""
    return msgpack.unpackb(_range_bytes(range_id), use_list=False)


def _as_lists(value: Any) -> Any:
    """A row (or a value inside one) read as tuples, with its arrays as lists again: as ``range_rows`` reads it."""
    if isinstance(value, tuple):
        return [_as_lists(item) if isinstance(item, tuple | dict) else item for item in value]
    if isinstance(value, dict):
        return {key: _as_lists(item) if isinstance(item, tuple | dict) else item for key, item in value.items()}
    return value


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


_node_cache: _ContentCache[RangeList] = _ContentCache(NODE_CACHE_SIZE)


def node_load(node_id: str) -> RangeList:
    """Read and decode a stored metarange (kept in a per-process cache: metaranges never change)."""
    ranges = _node_cache.get(node_id)
    if ranges is None:
        (data,) = _NODE_DATA.get(node_id=node_id)
        ranges = RangeList(tuple(RangeRef._make(r) for r in msgpack.unpackb(zlib.decompress(data), use_list=False)))
    _node_cache.remember(node_id, ranges)
    return ranges


def _stored_row(entry: Entry | list[Any]) -> Sequence[Any]:
    """The row a range stores for an entry: a plain entry without its empty ``parts``, so ranges of plain
    entries keep the encoding (and the ids) they had before entries could hold parts."""
    return entry[:PLAIN_ROW_LENGTH] if len(entry) > PLAIN_ROW_LENGTH and entry[-1] is None else entry


def checked_paths(rows: Sequence[Sequence[Any]]) -> set[str]:
    """The paths of a stored range's rows that its writer found not to be cut points: those from the
    ``MIN_RANGE_SIZE``-th on, but the last (the range ended there, or the entries did)."""
    return set(map(itemgetter(0), rows[MIN_RANGE_SIZE - 1 : -1]))


def checked_lasts(refs: Sequence[RangeRef]) -> set[str]:
    """The last paths of a stored metarange's ranges that its writer found not to be metarange cut points, as
    ``checked_paths`` finds them for a range's rows."""
    return {ref.last for ref in refs[MIN_NODE_SIZE - 1 : -1]}


class RangeWriter:
    """Builds ranges from a stream of sorted entries, cutting at content-defined points, and stores them.

    Each range pointer, built or reused, goes to ``sink`` (by default the writer's own ``refs``).
    """

    def __init__(self, sink: Callable[[RangeRef], None] | None = None) -> None:
        self.refs: list[RangeRef] = []
        self._sink = sink or self.refs.append
        self._pending: list[Sequence[Any]] = []
        self._unsaved: list[Range] = []

    @property
    def is_at_cut(self) -> bool:
        """Whether no entries are waiting, so an existing range can be appended as it is."""
        return not self._pending

    def add(self, entry: Entry | list[Any]) -> None:
        """Append the next entry or raw row (paths must arrive in increasing order)."""
        pending = self._pending
        pending.append(_stored_row(entry))
        size = len(pending)
        if size >= MIN_RANGE_SIZE and (size >= MAX_RANGE_SIZE or is_cut_point(entry[0])):
            self.cut()

    def extend(self, chunks: Iterable[Sequence[Sequence[Any]]], not_cut: Container[str] = ()) -> None:
        """Append lists of stored rows in order, as ``add`` does row by row: a list is copied in slices, and a
        row is checked for a cut point only where a range may end (from its ``MIN_RANGE_SIZE``-th row on) and
        only when its path is not in ``not_cut`` (paths known not to be cut points: see ``checked_paths``)."""
        for rows in chunks:
            start, count = 0, len(rows)
            while start < count:
                pending = self._pending
                room = MIN_RANGE_SIZE - 1 - len(pending)
                if room > 0:
                    taken = rows[start : start + room]
                    pending.extend(taken)
                    start += len(taken)
                    if start >= count:
                        break
                limit = start + MAX_RANGE_SIZE - len(pending)  # the row at ``limit - 1`` fills a range
                stop = min(count, limit)
                cut = next(
                    (i for i in range(start, stop) if rows[i][0] not in not_cut and is_cut_point(rows[i][0])), None
                )
                if cut is None:
                    if stop < limit:
                        pending.extend(rows[start:])
                        break
                    cut = limit - 1
                pending.extend(rows[start : cut + 1])
                start = cut + 1
                self.cut()

    def reuse(self, ref: RangeRef) -> None:
        """Append an existing range unchanged."""
        self._sink(ref)

    def cut(self) -> None:
        """Close the range being built, if any."""
        if not self._pending:
            return
        raw = msgpack.packb(self._pending)
        range_id = _content_hash(raw)
        self._unsaved.append(Range(id=range_id, data=zlib.compress(raw, COMPRESSION_LEVEL)))
        first, last = self._pending[0][0], self._pending[-1][0]
        self._sink(RangeRef(range_id, first, last, len(self._pending), sum(map(itemgetter(3), self._pending))))
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
        """Close and store everything and return the range pointers in order (those the writer kept)."""
        self.cut()
        self.flush()
        return self.refs


class NodeWriter:
    """Groups a stream of range pointers into metaranges, cutting at content-defined points, and stores them.

    A tree whose ranges make one metarange keeps them inline, so that metarange is never stored.
    """

    def __init__(self) -> None:
        self.nodes: list[NodeRef] = []
        self._pending: list[RangeRef] = []
        self._unsaved: list[Metarange] = []
        self._first: RangeList | None = None  # the ranges of the first metarange, while it may stay inline

    @property
    def is_at_cut(self) -> bool:
        """Whether no range pointers are waiting, so an existing metarange can be appended as it is."""
        return not self._pending

    def add(self, ref: RangeRef) -> None:
        """Append the next range pointer (in path order)."""
        self.extend((ref,))

    def extend(self, refs: Iterable[RangeRef], not_cut: Container[str] = ()) -> None:
        """Append range pointers in order, checking for a cut point only a range whose last path is not in
        ``not_cut`` (those known not to be cut points: see ``checked_lasts``)."""
        pending = self._pending
        for ref in refs:
            pending.append(ref)
            size = len(pending)
            if size >= MAX_NODE_SIZE or (size >= MIN_NODE_SIZE and ref.last not in not_cut and is_node_cut(ref.last)):
                self.cut()
                pending = self._pending

    def reuse(self, node: NodeRef, ranges: RangeList | None = None) -> None:
        """Append an existing metarange unchanged (the inline ranges of a one-metarange tree, range by range)."""
        if not node.id:
            for ref in ranges.refs:  # type: ignore[union-attr]
                self.add(ref)
            return
        self.nodes.append(node)
        if len(self.nodes) == 1:
            self._first = ranges

    def cut(self) -> None:
        """Close the metarange being built, if any."""
        if not self._pending:
            return
        ranges = RangeList(tuple(self._pending))
        raw = ranges.encode()
        node = ranges.node(_content_hash(raw))
        self._unsaved.append(Metarange(id=node.id, data=zlib.compress(raw, COMPRESSION_LEVEL)))
        _node_cache.remember(node.id, ranges)
        self.nodes.append(node)
        if len(self.nodes) == 1:
            self._first = ranges
        self._pending = []
        if len(self._unsaved) >= RANGE_WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        """Store the metaranges built so far (in id order, as ranges are)."""
        if self._unsaved:
            self._unsaved.sort(key=lambda r: r.id)
            content_store(Metarange, self._unsaved)
            self._unsaved = []

    def finish(self) -> RangeIndex:
        """Close everything and return the tree's range index: inline for one metarange, else stored."""
        self.cut()
        if len(self.nodes) == 1:
            self._unsaved = []
            first = self._first or node_load(self.nodes[0].id)
            return inline_index(first.refs)
        self.flush()
        return RangeIndex(tuple(self.nodes))


def ranges_build(refs: Iterable[RangeRef]) -> RangeIndex:
    """The range index of a tree holding these range pointers, in path order (its metaranges stored)."""
    nodes = NodeWriter()
    for ref in refs:
        nodes.add(ref)
    return nodes.finish()


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


Observer = Callable[[Any, Change], None]


def _unobserved(old: Any, change: Change) -> None:
    return None


def entries_apply(
    entries: Iterable[Any], changes: Iterable[Change], delta: Counter[str] | None = None
) -> Iterator[Any]:
    """Apply sorted changes to sorted entries (or raw rows), streaming; with ``delta``, count there the entries
    each segment gains (a new path) or loses (a deleted one)."""
    counts: Counter[str] = Counter() if delta is None else delta
    change_iterator = iter(changes)
    change = next(change_iterator, None)
    for entry in entries:
        path = entry[0]
        while change is not None and change.path < path:
            if change.entry is not None:
                counts[change.path.partition("/")[0]] += 1
                yield change.entry
            change = next(change_iterator, None)
        if change is not None and change.path == path:
            if change.entry is not None:
                yield change.entry
            else:
                counts[path.partition("/")[0]] -= 1
            change = next(change_iterator, None)
        else:
            yield entry
    while change is not None:
        if change.entry is not None:
            counts[change.path.partition("/")[0]] += 1
            yield change.entry
        change = next(change_iterator, None)


def _path(row: Sequence[Any]) -> str:
    return row[0]


def rows_apply(
    rows: Sequence[Sequence[Any]], changes: Iterable[Change], delta: Counter[str], observe: Observer = _unobserved
) -> Iterator[Sequence[Sequence[Any]]]:
    """What ``entries_apply`` yields for sorted stored rows, as lists of stored rows: each run of rows between two
    changes is one slice, found by bisecting, so a range with a few changes costs little more than a copy.
    ``observe(old, change)`` is called for every change with the row it replaces or deletes (None for a path
    that held none)."""
    at, count = 0, len(rows)
    added: list[Sequence[Any]] = []
    for change in changes:
        path = change.path
        index = bisect_left(rows, path, at, count, key=_path)
        if index > at:
            if added:
                yield added
                added = []
            yield rows[at:index]
        if index < count and rows[index][0] == path:
            observe(rows[index], change)
            at = index + 1
            if change.entry is None:
                delta[path.partition("/")[0]] -= 1
                continue
        else:
            observe(None, change)
            at = index
            if change.entry is None:
                continue
            delta[path.partition("/")[0]] += 1
        added.append(_stored_row(change.entry))
        if len(added) >= ROW_CHUNK:
            yield added
            added = []
    if added:
        yield added
    if at < count:
        yield rows[at:]


def _anywhere(path: str) -> bool:
    return True


def ranges_apply(
    tree: TreeContent,
    changes: Iterable[Change],
    cleared_segments: Iterable[str] = (),
    observe: Observer = _unobserved,
) -> tuple[RangeIndex, Counter[str]]:
    """Apply sorted changes to the tree's ranges (and drop the entries of cleared segments), rewriting only the
    metaranges and ranges touched.

    Untouched metaranges and ranges are reused by id; a touched range is merged with its changes and cut again,
    carrying on into the next ranges only until a cut point of the old tree is met again, and the range pointers
    of a touched metarange are grouped again the same way one level up. Returns the new range index and the
    change in entry count per segment. ``observe`` sees each change beside the row it replaces, as
    ``rows_apply`` calls it (a cleared segment's rows are gone by then), its arrays as lists.
    """
    bounds = sorted(segment_bounds(name) for name in cleared_segments)
    stream = _ChangeStream(changes)
    nodes = NodeWriter()
    writer = RangeWriter(nodes.add)
    delta: Counter[str] = Counter()

    def overlaps_cleared(ref: RangeRef | NodeRef) -> bool:
        return any(ref.first < high and ref.last >= low for low, high in bounds)

    def inside_cleared(ref: RangeRef | NodeRef) -> bool:
        return any(ref.first >= low and ref.last < high for low, high in bounds)

    def is_cleared(path: str) -> bool:
        return any(low <= path < high for low, high in bounds)

    def settled() -> bool:
        return writer.is_at_cut and nodes.is_at_cut

    def observe_listed(old: Any, change: Change) -> None:
        observe(None if old is None else _as_lists(old), change)

    def apply_node(ranges: RangeList, after: str | None) -> None:
        """Rewrite the ranges of one opened metarange; ``after`` is the first path of the next metarange."""
        refs = ranges.refs
        count = len(refs)
        lasts_not_cut = checked_lasts(refs)
        index = 0
        while index < count:
            head = stream.peek()
            if not bounds and writer.is_at_cut:
                # The ranges before the one before the first that reaches the next change are reused as
                # they are (that one may have the change in the gap after it).
                reach = count if head is None else bisect_left(ranges.lasts, head.path, index)
                if reach - 1 > index or (head is None and reach > index):
                    skipped = reach if head is None else reach - 1
                    nodes.extend(refs[index:skipped], lasts_not_cut)
                    index = skipped
                    continue
            ref = refs[index]
            index += 1
            following = refs[index].first if index < count else after
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
            rows: Sequence[Sequence[Any]] = _range_tuples(ref.id)
            rows_not_cut = checked_paths(rows)
            if bounds:
                delta.subtract(row[0].partition("/")[0] for row in rows if is_cleared(row[0]))
                rows = [row for row in rows if not is_cleared(row[0])]
            writer.extend(rows_apply(rows, stream.take_while(belongs), delta, observe_listed), rows_not_cut)

    old_nodes = tree.nodes
    node_count = len(old_nodes)
    for node_index, node in enumerate(old_nodes):
        head = stream.peek()
        if head is None and not bounds and settled():
            for rest in old_nodes[node_index:]:  # nothing left to change: the rest is reused as it is
                nodes.reuse(rest, tree.inline if not rest.id else None)
            break
        after = old_nodes[node_index + 1].first if node_index + 1 < node_count else None
        # A metarange is opened for a change up to the next one's first path, which covers the gap after it.
        touched = head is not None and (after is None or head.path < after)
        if not touched and not overlaps_cleared(node) and settled():
            nodes.reuse(node, tree.inline if not node.id else None)
            continue
        if not touched and inside_cleared(node):
            delta[node.first.partition("/")[0]] -= node.length
            continue
        apply_node(tree.node_ranges(node_index), after)
    writer.extend(rows_apply((), stream.take_while(_anywhere), delta, observe))
    writer.finish()
    return nodes.finish(), delta


class TreeReader:
    """Reads parts of one tree, opening only the metaranges and ranges needed (a range at most once while it is
    current)."""

    def __init__(self, content: TreeContent) -> None:
        self.content = content
        self._open_id: str | None = None
        self._open_rows: list[list[Any]] = []
        self._open_paths: list[str] = []

    def _range(self, ref: RangeRef) -> tuple[list[list[Any]], list[str]]:
        """The open range's raw rows and paths (entries are built only for the rows read)."""
        if ref.id != self._open_id:
            self._open_rows = range_rows(ref.id)
            self._open_paths = [row[0] for row in self._open_rows]
            self._open_id = ref.id
        return self._open_rows, self._open_paths

    def slice(self, start: int, stop: int) -> Iterator[Entry]:
        """Entries at positions ``start`` to ``stop`` (exclusive) of the whole tree, in path order."""
        for ref, range_start in self.content.range_windows(start, stop):
            offset = max(start - range_start, 0)
            taken: list[Entry]
            if ref.id == self._open_id:
                taken = list(map(entry_from_row, self._open_rows[offset : offset + stop - start]))
            else:
                taken = range_slice(ref.id, offset, offset + stop - start)
            yield from taken
            start += len(taken)

    def _ranges_from(self, path: str) -> Iterator[RangeRef]:
        """The range pointers from the first one whose last path is at or after ``path`` on, in order."""
        content = self.content
        index = bisect_left(content.lasts, path)
        while index < len(content.nodes):
            ranges = content.node_ranges(index)
            yield from ranges.refs[bisect_left(ranges.lasts, path) :]
            index += 1

    def interval(self, low: str, high: str | None) -> Iterator[Entry]:
        """Entries with ``low <= path < high``, streaming range by range."""
        for ref in self._ranges_from(low):
            if high is not None and ref.first >= high:
                return
            rows, paths = self._range(ref)
            begin = bisect_left(paths, low)
            end = len(paths) if high is None else bisect_left(paths, high)
            yield from map(entry_from_row, rows[begin:end])
            if end < len(paths):
                return

    def get(self, path: str) -> Entry | None:
        """The entry at ``path``, or None."""
        ref = next(self._ranges_from(path), None)
        if ref is None or path < ref.first:
            return None
        rows, paths = self._range(ref)
        found = bisect_left(paths, path)
        return entry_from_row(rows[found]) if found < len(paths) and paths[found] == path else None


def _differing_ranges(
    old: TreeContent, new: TreeContent, low: str, high: str | None
) -> tuple[list[RangeRef], list[RangeRef]]:
    """The range pointers of each tree within ``[low, high)``, leaving out the metaranges both trees share (they
    hold the same entries in both), so only the metaranges that differ are opened."""

    def within(ref: RangeRef | NodeRef) -> bool:
        return ref.last >= low and (high is None or ref.first < high)

    old_nodes = [index for index, node in enumerate(old.nodes) if within(node)]
    new_nodes = [index for index, node in enumerate(new.nodes) if within(node)]
    shared = {old.nodes[i].id for i in old_nodes} & {new.nodes[i].id for i in new_nodes}
    shared.discard("")

    def ranges(tree: TreeContent, indexes: list[int]) -> list[RangeRef]:
        return [
            ref
            for index in indexes
            if tree.nodes[index].id not in shared
            for ref in tree.node_ranges(index).refs
            if within(ref)
        ]

    return ranges(old, old_nodes), ranges(new, new_nodes)


def trees_diff(old: TreeContent, new: TreeContent, low: str = "", high: str | None = None) -> Iterator[EntryChange]:
    """Differences between two trees within ``[low, high)`` in path order, opening only the metaranges and the
    ranges that differ.

    Two differing ranges over the same paths (a change that kept a range's first and last path, the usual
    case) hold exactly the entries of that span in each tree, so they are compared on their own, by bytes;
    the rest are walked together.
    """

    def inside(path: str) -> bool:
        return path >= low and (high is None or path < high)

    old_ranges, new_ranges = _differing_ranges(old, new, low, high)
    old_from = new_from = 0
    new_at = 0
    for old_at, ref in enumerate(old_ranges):
        if not inside(ref.first) or not inside(ref.last):
            continue
        while new_at < len(new_ranges) and new_ranges[new_at].first < ref.first:
            new_at += 1
        if new_at == len(new_ranges):
            break
        match = new_ranges[new_at]
        if match.first == ref.first and match.last == ref.last:
            yield from _ranges_walk(old_ranges[old_from:old_at], new_ranges[new_from:new_at], inside)
            if match.id != ref.id:
                yield from _range_pair_diff(ref.id, match.id)
            old_from, new_from = old_at + 1, new_at + 1
    yield from _ranges_walk(old_ranges[old_from:], new_ranges[new_from:], inside)


_CHUNK = 4096


def _common_prefix(a: bytes, a_start: int, b: bytes, b_start: int, limit: int) -> int:
    """How many bytes from ``a_start`` and ``b_start`` on are equal, at most ``limit``."""
    length = 0
    while (
        length < limit
        and a[a_start + length : a_start + length + _CHUNK] == b[b_start + length : b_start + length + _CHUNK]
    ):
        length += _CHUNK
    if length >= limit:
        return limit
    low, high = length, min(length + _CHUNK, limit)  # equal up to low; unequal somewhere before high
    while low < high:
        middle = (low + high + 1) // 2
        if a[a_start + low : a_start + middle] == b[b_start + low : b_start + middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _common_suffix(a: bytes, b: bytes, limit: int) -> int:
    """How many bytes at the ends of ``a`` and ``b`` are equal, at most ``limit``."""
    return _common_prefix(a[::-1], 0, b[::-1], 0, limit)


class _RowReader:
    """Reads the rows of one encoded range from a byte position on, keeping track of where it is."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        unpacker = msgpack.Unpacker()
        unpacker.feed(raw)
        unpacker.read_array_header()
        self.body = unpacker.tell()
        self._unpacker = unpacker
        self._base = 0
        self.rows: list[Any] = []

    @property
    def left(self) -> int:
        """Bytes after the rows read so far."""
        return len(self.raw) - self._base - self._unpacker.tell()

    def skip_within(self, end: int) -> None:
        """Skip the rows that lie wholly before byte ``end``."""
        tell, skip = self._unpacker.tell, self._unpacker.skip
        try:
            while True:
                position = tell()
                skip()
                if tell() > end:
                    break
        except msgpack.OutOfData:
            return  # every row lies before ``end``
        # This row reaches past ``end``: read on from its start.
        self._unpacker = msgpack.Unpacker()
        self._unpacker.feed(self.raw[position:])
        self._base = position

    def read(self) -> None:
        """Read one more row."""
        self.rows.append(self._unpacker.unpack())


def _range_pair_diff(old_id: str, new_id: str) -> Iterator[EntryChange]:
    """Differences between two ranges over the same paths, decoding only the rows between their common
    leading and trailing bytes."""
    old, new = _RowReader(_range_bytes(old_id)), _RowReader(_range_bytes(new_id))
    limit = min(len(old.raw) - old.body, len(new.raw) - new.body)
    prefix = _common_prefix(old.raw, old.body, new.raw, new.body, limit)
    suffix = _common_suffix(old.raw, new.raw, limit - prefix)
    # Rows wholly inside the common leading bytes are the same on both sides (equal bytes parse alike).
    old.skip_within(old.body + prefix)
    new.skip_within(new.body + prefix)
    # Read on until both sides are inside the common trailing bytes at the same distance from their ends:
    # what follows is the same bytes on both sides, each starting at a row, so the same rows.
    while not (old.left == new.left <= suffix):
        if old.left >= new.left:
            old.read()
        else:
            new.read()
    yield from entries_diff(map(entry_from_row, old.rows), map(entry_from_row, new.rows))


def _ranges_walk(
    old_ranges: list[RangeRef], new_ranges: list[RangeRef], inside: Callable[[str], bool]
) -> Iterator[EntryChange]:
    """Differences between the entries of two sorted runs of ranges (those ``inside`` the window), opening a
    range only when the walk reaches it and stepping over a range both runs hold."""
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
