"""Basic search (issue #17): filters over the tree at a commit, and the read-only dataset holding the result.

A search reads the tree at one commit segment by segment, range by range, and writes the entries that match
to a spill file, so memory stays bounded whatever the dataset's size; the cost is one pass over the tree
(only the named segments' part of it when an ``and`` search names segments). The result is one internal
dataset (``Dataset.search_source`` set) whose one commit holds the matching entries with the source's segment
descriptions, sensors (segment metadata), catalog and notes: it is read through the ordinary views, listed
nowhere, and written by no one.

Semantics. A *file* is a plain entry, or one part (one sensor's file) of a composite entry (a fusion frame).
Each filter judges a file; ``conjunction`` ``and`` keeps a file every filter accepts, ``or`` one that any
accepts. With ``unit`` ``file`` a frame keeps only its accepted parts; with ``frame`` a frame with an accepted
part is kept whole. ``category`` and ``attribute`` look at the label items of the file (of one label type when
the filter names it): ``category`` accepts a file with an item of a listed category, ``attribute`` one with an
item whose every named attribute has one of the listed values (JSON equality: ``true`` is not ``1``).
"""

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple

import msgpack

from datasets.models import Dataset, User
from project import errors
from versioning import selectors, services
from versioning.models import ROOT_COMMIT_ID, Commit
from versioning.trees import PLAIN_ROW_LENGTH, Entry, TreeContent, TreeReader, entry_from_row, segment_bounds, tree_load

CONJUNCTIONS = ("and", "or")
UNITS = ("file", "frame")
# The operators each filter key takes, and the JSON type of its value under each.
OPERATORS: dict[str, dict[str, str]] = {
    "segment": {"in": "names", "=": "name"},
    "sensor": {"in": "names", "=": "name"},
    "category": {"in": "names", "=": "name"},
    "keyword": {"=": "name"},
    "withLabel": {"=": "boolean"},
    "size": {">": "number", "=": "number"},
    "attribute": {"in": "attributes"},
}
# The job checks it is still wanted (not aborted, within its time limit) after this many entries.
CHECK_EVERY = 1000


class Filter(NamedTuple):
    """One filter: ``key operator value``, scoped to one label type when ``label_type`` is set."""

    key: str
    operator: str
    value: Any
    label_type: str | None = None


@dataclass(frozen=True)
class SearchQuery:
    """A checked basic search over a dataset at one commit (None: ROOT, which holds nothing)."""

    dataset: Dataset
    commit: Commit | None
    conjunction: str
    unit: str
    filters: tuple[Filter, ...]


class File(NamedTuple):
    """What a filter judges: one file of an entry (``sensor`` is the part's name in a composite entry)."""

    segment: str
    remote_path: str
    size: int
    label: dict[str, Any] | None
    sensor: str | None


def _is_name_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _value_checked(key: str, kind: str, value: Any, field: str) -> Any:
    if kind == "names" and _is_name_list(value):
        return frozenset(value)
    if kind == "name" and isinstance(value, str):
        return frozenset([value]) if key != "keyword" else value.casefold()
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if kind == "attributes" and isinstance(value, dict) and value and all(isinstance(v, list) for v in value.values()):
        return value
    shapes = {
        "names": "a list of names",
        "name": "a string",
        "boolean": "true or false",
        "number": "a number",
        "attributes": "an object of attribute names to lists of accepted values",
    }
    raise errors.Invalid(field, f"must be {shapes[kind]} for {key!r}")


def _filter_checked(index: int, raw: Any) -> Filter:
    field = f"arguments.filters[{index}]"
    if not isinstance(raw, dict):
        raise errors.Invalid(field, "must be an object")
    key, operator = raw.get("key"), raw.get("operator")
    if key == "frame":
        raise errors.Invalid(f"{field}.key", "frame filters are not supported")
    if key not in OPERATORS:
        raise errors.Invalid(f"{field}.key", f"must be one of {', '.join(OPERATORS)}")
    if operator not in OPERATORS[key]:
        raise errors.Invalid(f"{field}.operator", f"must be {' or '.join(OPERATORS[key])} for {key!r}")
    if "value" not in raw:
        raise errors.Missing(f"{field}.value")
    value = _value_checked(key, OPERATORS[key][operator], raw["value"], f"{field}.value")
    extra = raw.get("extraInfo")
    if extra is None:
        extra = {}
    if not isinstance(extra, dict):
        raise errors.Invalid(f"{field}.extraInfo", "must be an object")
    label_type = extra.get("labelType")
    if label_type is not None and not isinstance(label_type, str):
        raise errors.Invalid(f"{field}.extraInfo.labelType", "must be a string")
    return Filter(key, operator, value, label_type.upper() if label_type else None)


def _choice(arguments: dict[str, Any], name: str, choices: tuple[str, ...]) -> str:
    value = arguments.get(name, choices[0])
    if not isinstance(value, str) or value.lower() not in choices:
        raise errors.Invalid(f"arguments.{name}", f"must be one of {', '.join(choices)}")
    return value.lower()


def search_query(*, dataset: Dataset, arguments: dict[str, Any]) -> SearchQuery:
    """Check a basic search's arguments (TensorBay's ``basicSearch`` job) against the dataset."""
    commit_id = arguments.get("commit")
    if not isinstance(commit_id, str) or not commit_id:
        raise errors.Missing("arguments.commit")
    revision = selectors.revision_resolve(dataset=dataset, revision=commit_id)
    if revision.draft is not None:
        raise errors.Invalid("arguments.commit", "must name a commit")
    conjunction = _choice(arguments, "conjunction", CONJUNCTIONS)
    unit = _choice(arguments, "unit", UNITS)
    if unit == "frame" and dataset.kind != Dataset.Kind.FUSION:
        raise errors.Invalid("arguments.unit", "frame applies to fusion datasets only")
    raw_filters = arguments.get("filters")
    if not isinstance(raw_filters, list) or not raw_filters:
        raise errors.Invalid("arguments.filters", "must be a list of at least one filter")
    filters = tuple(_filter_checked(index, raw) for index, raw in enumerate(raw_filters))
    return SearchQuery(dataset, revision.commit, conjunction, unit, filters)


def _label_items(label: dict[str, Any] | None, label_type: str | None) -> Iterator[dict[str, Any]]:
    for kind, value in (label or {}).items():
        if label_type is not None and kind != label_type:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                yield item


def _json_equal(left: Any, right: Any) -> bool:
    """JSON equality: ``true`` is not ``1``."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    return left == right


def _attributes_match(item: dict[str, Any], accepted: dict[str, list[Any]]) -> bool:
    attributes = item.get("attributes")
    if not isinstance(attributes, dict):
        return False
    return all(
        name in attributes and any(_json_equal(attributes[name], value) for value in values)
        for name, values in accepted.items()
    )


def _accepts(rule: Filter, file: File) -> bool:
    key, value = rule.key, rule.value
    if key == "segment":
        return file.segment in value
    if key == "sensor":
        return file.sensor is not None and file.sensor in value
    if key == "keyword":
        return value in file.remote_path.casefold()
    if key == "withLabel":
        return any(bool(v) for v in (file.label or {}).values()) == value
    if key == "size":
        return file.size > value if rule.operator == ">" else file.size == value
    if key == "category":
        return any(item.get("category") in value for item in _label_items(file.label, rule.label_type))
    return any(_attributes_match(item, value) for item in _label_items(file.label, rule.label_type))


def file_matches(query: SearchQuery, file: File) -> bool:
    """Whether the search keeps one file."""
    verdicts = (_accepts(rule, file) for rule in query.filters)
    return all(verdicts) if query.conjunction == "and" else any(verdicts)


def entry_matched(query: SearchQuery, entry: Entry) -> Entry | None:
    """The part of an entry the search keeps: the entry, a frame with only its accepted parts, or None."""
    segment = entry.segment
    if not entry.is_composite:
        file = File(segment, entry.remote_path, entry.size, entry.label, None)
        return entry if file_matches(query, file) else None
    parts = entry.part_list()
    kept = [p for p in parts if file_matches(query, File(segment, p.remote_path, p.size, p.label, p.name))]
    if not kept:
        return None
    if query.unit == "frame" or len(kept) == len(parts):
        return entry
    return Entry.composite(segment=segment, name=entry.remote_path, parts=kept)


def _segments_searched(query: SearchQuery, tree: TreeContent) -> list[str]:
    """The segments that can hold matches, in tree order (by path prefix, as ``segment_bounds`` cut them)."""
    names = sorted(tree.descriptions, key=lambda name: name + "/")
    if query.conjunction == "and":
        for rule in query.filters:
            if rule.key == "segment":
                names = [name for name in names if name in rule.value]
    return names


@dataclass
class SearchPlan:
    """The matching entries of a search, spilled to disk in path order, with the segments they fall in."""

    query: SearchQuery
    tree: TreeContent
    spool: IO[bytes]
    count: int = 0
    segments: list[str] = field(default_factory=list)

    def entries(self) -> Iterator[Entry]:
        """The matching entries, in path order (read once)."""
        self.spool.seek(0)
        for row in msgpack.Unpacker(self.spool, raw=False):
            yield entry_from_row(row)


@contextmanager
def search_plan(*, query: SearchQuery, check: Callable[[], None] = lambda: None) -> Iterator[SearchPlan]:
    """Run the search (reads only), calling ``check`` now and then so an unwanted search stops early."""
    tree = tree_load(query.commit.tree_id) if query.commit is not None else TreeContent()
    with tempfile.TemporaryFile() as spool:
        plan = SearchPlan(query=query, tree=tree, spool=spool)
        packer = msgpack.Packer()
        reader = TreeReader(tree)
        seen = 0
        for segment in _segments_searched(query, tree):
            low, high = segment_bounds(segment)
            found = 0
            for entry in reader.interval(low, high):
                seen += 1
                if seen % CHECK_EVERY == 0:
                    check()
                matched = entry_matched(query, entry)
                if matched is not None:
                    row = matched if matched.is_composite else matched[:PLAIN_ROW_LENGTH]
                    spool.write(packer.pack(list(row)))
                    found += 1
            if found:
                plan.segments.append(segment)
                plan.count += found
        check()
        yield plan


def search_result_write(*, plan: SearchPlan, name: str, title: str, creator: User | None) -> tuple[Dataset, Commit]:
    """Write a search's result: an internal dataset whose one commit holds the matching entries.

    Call it inside the transaction that records the job's success, so a failure leaves nothing behind.
    """
    source = plan.query.dataset
    result = Dataset.all_objects.create(
        workspace_id=source.workspace_id,
        name=name,
        title=title[:255],
        data_type=source.data_type,
        kind=source.kind,
        storage_config_id=source.storage_config_id,
        creator=creator,
        search_source=source,
    )
    descriptions = plan.tree.descriptions
    metadata_ids = plan.tree.metadata_ids
    commit_id = plan.query.commit.id if plan.query.commit is not None else ROOT_COMMIT_ID
    revision = selectors.revision_resolve(dataset=source, revision=commit_id)
    commit = services.commit_import(
        dataset=result,
        entries=plan.entries(),
        title=title,
        committer=creator,
        presorted=True,
        checked=True,
        segment_descriptions={name: descriptions[name] for name in plan.segments},
        segment_metadata={name: metadata_ids[name] for name in plan.segments if metadata_ids.get(name)},
        metadata=selectors.revision_metadata(revision=revision),
        composite=source.kind == Dataset.Kind.FUSION,
    )
    return result, commit


def search_result_delete(*, dataset: Dataset) -> None:
    """Delete a search's result dataset with its commit; its trees and ranges are left to garbage collection."""
    if not dataset.is_search_result:
        raise errors.NotAllowed("only a search result is deleted with its job")
    services.history_delete(dataset=dataset)
    dataset.delete()
