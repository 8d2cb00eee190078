"""The content browser: what a dataset page, its diff page and their previews show, for the public catalog
and the admin alike.

Each page reads one page of entries (or of changes) through ``versioning.selectors``, so its cost depends on
the page size, never on the dataset's. A segment shows as files, as frames (a fusion dataset's: each frame's
files grouped by sensor) or as a sheet's table of rows (a segment with a schema). Preview links are signed: they
name the dataset, the commit, the entry, the file within it (a frame's part or a row's file column) and who may
follow them (``public`` or ``admin``), and the preview view checks that right again.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from django.core import signing

from catalog import previews
from datasets.models import Dataset
from project import errors
from storage_configs.backends import StorageBackend, backend_for
from versioning import selectors, sheets
from versioning.trees import Entry, Part

PUBLIC = "public"
ADMIN = "admin"
PREVIEW_SALT = "catalog.preview"
PER_PAGE = 24
MAX_PER_PAGE = 100
HISTORY_PER_PAGE = 10
SEGMENTS_SHOWN = 200
NAMES_SHOWN = 100
# Which file of an entry a preview shows: the entry's own, a frame's part (``part:<sensor>``) or the file in a
# row's column (``field:<column>``).
PART_SLOT = "part:"
FIELD_SLOT = "field:"
CELL_MAX_LENGTH = 120


@dataclass(frozen=True)
class Paging:
    """A page number and size as a visitor asked for them (already checked to be positive and bounded)."""

    page: int = 1
    per_page: int = PER_PAGE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(frozen=True)
class Pager:
    """Where a paged list is: page ``number`` of ``pages``, over ``total`` items."""

    number: int
    pages: int
    total: int


@dataclass
class EntryView:
    """One file as the browser shows it: its entry, and an image preview URL or the head of its text."""

    entry: Entry
    kind: str
    name: str = ""
    preview_token: str = ""
    text: previews.TextPreview | None = None
    problem: str = ""
    label_types: list[str] = field(default_factory=list)


def page_check(*, paging: Paging, total: int) -> Pager:
    """The pager of a list, refusing a page past its end (page 1 of an empty list exists)."""
    pages = max((total + paging.per_page - 1) // paging.per_page, 1)
    if paging.page > pages:
        raise errors.NotFound(f"page {paging.page} does not exist: there are {pages}", page=paging.page)
    return Pager(number=paging.page, pages=pages, total=total)


def preview_token(*, scope: str, dataset: Dataset, commit_id: str, path: str, slot: str = "") -> str:
    """A signed name of one file's preview at one commit, for visitors of ``scope``."""
    return signing.dumps([scope, dataset.pk, commit_id, path, slot], salt=PREVIEW_SALT, compress=True)


@dataclass(frozen=True)
class PreviewGrant:
    """What a preview token names: who may follow it, and which file of which entry at which commit."""

    scope: str
    dataset_id: int
    commit_id: str
    path: str
    slot: str


def preview_grant(*, token: str) -> PreviewGrant:
    """What a preview token names; a forged or altered one does not exist."""
    try:
        scope, dataset_id, commit_id, path, slot = signing.loads(token, salt=PREVIEW_SALT)
        return PreviewGrant(str(scope), int(dataset_id), str(commit_id), str(path), str(slot))
    except (signing.BadSignature, ValueError, TypeError):
        raise errors.NotFound("this preview link is not valid") from None


def entry_view(
    *,
    scope: str,
    dataset: Dataset,
    backend: StorageBackend,
    commit_id: str,
    entry: Entry,
    slot: str = "",
    name: str = "",
) -> EntryView:
    """What the browser shows of one file; one that cannot be previewed says why instead.

    A frame's part or a row's file comes as an entry with the frame's or row's path, its own object and
    label; ``slot`` says which file of that entry it is (what its preview link names) and ``name`` is the file
    name its kind is read from.
    """
    kind = previews.preview_kind(name or entry.path)
    view = EntryView(entry=entry, kind=kind, name=name or entry.path, label_types=sorted((entry.label or {}).keys()))
    if kind == "image":
        view.preview_token = preview_token(
            scope=scope, dataset=dataset, commit_id=commit_id, path=entry.path, slot=slot
        )
    elif kind == "text":
        try:
            view.text = previews.text_preview_get(backend=backend, entry=entry._replace(path=name) if name else entry)
        except errors.DomainError as problem:
            view.problem = problem.message
    return view


def part_entry(frame: Entry, part: Part) -> Entry:
    """A frame's part as an entry of its own: the frame's path, the part's object, label and timestamp."""
    return Entry(frame.path, part.object_key, part.sha1, part.size, part.label, part.timestamp)


@dataclass
class SensorFile:
    """One sensor's file in a frame (``part`` None when the frame holds none from it) and its preview."""

    sensor: str
    sensor_type: str
    part: Part | None
    view: EntryView | None


@dataclass
class FrameView:
    """A fusion frame: its id, the earliest of its files' timestamps, and its files by sensor."""

    frame_id: str
    timestamp: float | None
    files: list[SensorFile]


@dataclass(frozen=True)
class Column:
    """A column of a sheet: its name (lower case, as rows hold it) and its type as the schema gives it."""

    name: str
    kind: str


@dataclass
class Cell:
    """One value of a row: compact text, or for a file column the file's name, size and preview."""

    text: str
    file_name: str = ""
    file_size: int | None = None
    registered: bool = False
    view: EntryView | None = None


@dataclass
class RowView:
    """One row of a sheet: its record key and a cell per column."""

    record_key: str
    cells: list[Cell]


def _kind_text(kind: sheets.FieldType) -> str:
    if kind.kind == "array" and kind.items is not None:
        return f"array of {_kind_text(kind.items)}"
    return kind.kind


def sheet_columns(schema: dict[str, Any]) -> list[tuple[Column, sheets.FieldType]]:
    """The sheet's top-level columns in schema order; a schema that does not parse shows no columns."""
    try:
        parsed = sheets.schema_parse(schema.get("avro", ""))
    except errors.Invalid:
        return []
    return [(Column(name, _kind_text(kind)), kind) for name, kind in parsed.fields.items()]


def _compact(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool | int | float):
        text = json.dumps(value)
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= CELL_MAX_LENGTH else text[: CELL_MAX_LENGTH - 1] + "…"


def _file_of(dataset: Dataset, value: Any) -> tuple[str, str, int] | None:
    """(key, SHA-1, size) of a row's file value (``{key, extension, size, …}``) that names an object of this
    dataset, else None."""
    if not isinstance(value, dict) or not isinstance(value.get("key"), str) or not isinstance(value.get("size"), int):
        return None
    key = value["key"]
    prefix, _, sha1 = key.rpartition("/")
    if prefix != dataset.hex_id or not sheets.SHA1_PATTERN.fullmatch(sha1):
        return None
    return key, sha1, value["size"]


def _file_name(value: Any, sha1: str) -> str:
    extension = value.get("extension") if isinstance(value, dict) else None
    return f"{sha1[:12]}{extension if isinstance(extension, str) else ''}"


def sheet_rows(
    *, scope: str, dataset: Dataset, revision: selectors.Revision, sheet: str, schema: dict[str, Any], paging: Paging
) -> tuple[list[Column], list[RowView], Pager]:
    """A sheet's columns and one page of its rows; file columns preview files the dataset has registered."""
    columns = sheet_columns(schema)
    page = selectors.sheet_row_page(revision=revision, name=sheet, offset=paging.offset, limit=paging.per_page)
    pager = page_check(paging=paging, total=page.total)
    file_columns = {column.name for column, kind in columns if kind.kind == "file"}
    files = {
        found[1]
        for _, row in page.items
        for name in file_columns
        if (found := _file_of(dataset, row.get(name))) is not None
    }
    registered = selectors.objects_registered(dataset=dataset, sha1s=files)
    backend = backend_for(dataset.storage_config)
    rows = []
    for record_key, row in page.items:
        cells = []
        for column, _ in columns:
            value = row.get(column.name)
            found = _file_of(dataset, value) if column.name in file_columns else None
            if found is None:
                cells.append(Cell(text=_compact(value)))
                continue
            key, sha1, size = found
            cell = Cell(text="", file_name=_file_name(value, sha1), file_size=size, registered=sha1 in registered)
            if cell.registered:
                file_entry = Entry(f"{sheet}/{record_key}", key, sha1, size)
                cell.view = entry_view(
                    scope=scope,
                    dataset=dataset,
                    backend=backend,
                    commit_id=revision.commit_id,
                    entry=file_entry,
                    slot=FIELD_SLOT + column.name,
                    name=cell.file_name,
                )
            cells.append(cell)
        rows.append(RowView(record_key=record_key, cells=cells))
    return [column for column, _ in columns], rows, pager


def _sensor_types(sensors: list[dict[str, Any]]) -> dict[str, str]:
    return {str(sensor.get("name", "")): str(sensor.get("type", "")) for sensor in sensors}


def frame_view(
    *, scope: str, dataset: Dataset, backend: StorageBackend, commit_id: str, frame: Entry, sensors: dict[str, str]
) -> FrameView:
    """A frame with one file per sensor (in the segment's sensor order, then any part of a sensor no longer
    defined), each with its preview."""
    parts = {part.name: part for part in frame.part_list()}
    files = []
    for name in [*sensors, *sorted(set(parts) - set(sensors))]:
        part = parts.get(name)
        view = None
        if part is not None:
            view = entry_view(
                scope=scope,
                dataset=dataset,
                backend=backend,
                commit_id=commit_id,
                entry=part_entry(frame, part),
                slot=PART_SLOT + name,
                name=part.remote_path,
            )
        files.append(SensorFile(sensor=name, sensor_type=sensors.get(name, ""), part=part, view=view))
    stamps = [part.timestamp for part in parts.values() if part.timestamp is not None]
    return FrameView(frame_id=frame.remote_path, timestamp=min(stamps) if stamps else frame.timestamp, files=files)


def fusion_frames(
    *,
    scope: str,
    dataset: Dataset,
    revision: selectors.Revision,
    segment: str,
    paging: Paging,
    frame: str | None,
    sensor: str | None,
) -> dict[str, Any]:
    """A fusion segment's sensors and one page of its frames (or the one frame asked for), keeping only one
    sensor's files when ``sensor`` is given."""
    sensors = selectors.segment_sensors(revision=revision, segment=segment)
    types = _sensor_types(sensors)
    if sensor is not None and sensor not in types:
        raise errors.NotFound(f"sensor {sensor!r} does not exist in segment {segment!r}", sensor=sensor)
    if frame is not None:
        entries = [selectors.entry_get(revision=revision, segment=segment, remote_path=frame)]
        pager = page_check(paging=Paging(page=paging.page, per_page=1), total=1)
    else:
        page = selectors.entry_list(revision=revision, segment=segment, offset=paging.offset, limit=paging.per_page)
        entries, pager = page.items, page_check(paging=paging, total=page.total)
    backend = backend_for(dataset.storage_config)
    shown = {sensor: types[sensor]} if sensor is not None else types
    frames = [
        frame_view(
            scope=scope, dataset=dataset, backend=backend, commit_id=revision.commit_id, frame=entry, sensors=shown
        )
        for entry in entries
    ]
    if sensor is not None:
        for view in frames:
            view.files = [file for file in view.files if file.sensor == sensor]
    return {"sensors": sensors, "sensor": sensor, "frame": frame, "frames": frames, "file_pager": pager}


def _revisions(dataset: Dataset) -> dict[str, Any]:
    branches = selectors.branch_list(dataset=dataset)
    tags = selectors.tag_list(dataset=dataset)
    return {
        "branches": list(branches[:NAMES_SHOWN]),
        "branch_count": branches.count(),
        "version_tags": list(tags[:NAMES_SHOWN]),
        "version_tag_count": tags.count(),
    }


def browse(
    *,
    dataset: Dataset,
    scope: str,
    diff_url: str,
    revision: str,
    segment: str | None,
    paging: Paging,
    history: Paging,
    sheet: str | None = None,
    frame: str | None = None,
    sensor: str | None = None,
) -> dict[str, Any]:
    """A dataset at a revision: its branches and tags, a page of its history, its segments and one page of
    the chosen segment (the first segment when none is chosen): files, frames by sensor, or a sheet's rows."""
    resolved = selectors.revision_resolve(dataset=dataset, revision=revision or dataset.default_branch)
    commits = selectors.commit_list(revision=resolved, offset=history.offset, limit=history.per_page)
    history_pager = page_check(paging=history, total=commits.total)
    segments = selectors.segment_list(revision=resolved, offset=0, limit=SEGMENTS_SHOWN)
    shown_names = [item.name for item in segments.items]
    sheet_names = selectors.sheets_among(
        revisions=[resolved], names=[*shown_names, *(n for n in (segment, sheet) if n)]
    )
    if sheet is not None:
        # A sheet is a segment: naming one picks it (over any segment the query also names).
        if sheet not in sheet_names:
            raise errors.NotFound(f"sheet {sheet!r} does not exist", sheet=sheet)
        segment = sheet
    chosen = segment if segment is not None else (segments.items[0].name if segments.items else None)
    is_fusion = dataset.kind == Dataset.Kind.FUSION
    if (frame is not None or sensor is not None) and (chosen is None or not is_fusion or chosen in sheet_names):
        raise errors.NotFound("only the segments of a fusion dataset hold frames and sensors")
    shown: dict[str, Any] = {"segment_kind": "files", "files": []}
    if chosen is None:
        shown["file_pager"] = page_check(paging=paging, total=0)
    elif chosen in sheet_names:
        schema = selectors.sheet_get(revision=resolved, name=chosen).schema
        columns, rows, pager = sheet_rows(
            scope=scope, dataset=dataset, revision=resolved, sheet=chosen, schema=schema, paging=paging
        )
        shown.update(segment_kind="sheet", columns=columns, rows=rows, file_pager=pager)
    elif is_fusion:
        shown.update(
            segment_kind="frames",
            **fusion_frames(
                scope=scope,
                dataset=dataset,
                revision=resolved,
                segment=chosen,
                paging=paging,
                frame=frame,
                sensor=sensor,
            ),
        )
    else:
        entries = selectors.entry_list(revision=resolved, segment=chosen, offset=paging.offset, limit=paging.per_page)
        backend = backend_for(dataset.storage_config)
        shown["file_pager"] = page_check(paging=paging, total=entries.total)
        shown["files"] = [
            entry_view(scope=scope, dataset=dataset, backend=backend, commit_id=resolved.commit_id, entry=entry)
            for entry in entries.items
        ]
    return {
        **_revisions(dataset),
        **shown,
        "dataset": dataset,
        "diff_url": diff_url,
        "revision": resolved,
        "commits": commits.items,
        "history_pager": history_pager,
        "segments": segments.items,
        "segment_count": segments.total,
        "sheet_names": sheet_names,
        "segment": chosen,
        "per_page": paging.per_page,
    }


@dataclass
class PartChange:
    """One sensor's file that changed in a frame: what it was and what it is (None where it is absent)."""

    sensor: str
    action: str
    old: EntryView | None
    new: EntryView | None


@dataclass
class ChangeView:
    """One changed file, frame or sheet row: what it was at the base and what it is at the head (None where it
    is absent); for a frame the sensors' files that changed, for a row its values before and after."""

    path: str
    action: str
    old: EntryView | None
    new: EntryView | None
    parts: list[PartChange] = field(default_factory=list)
    old_row: str = ""
    new_row: str = ""


def _part_changes(old: Entry | None, new: Entry | None, side: Any) -> list[PartChange]:
    """The parts added, modified and removed from one version of a frame to the other, by sensor."""
    before = {part.name: part for part in old.part_list()} if old is not None else {}
    after = {part.name: part for part in new.part_list()} if new is not None else {}
    changes = []
    for name in sorted(set(before) | set(after)):
        was, now = before.get(name), after.get(name)
        if was == now:
            continue
        action = "add" if was is None else "delete" if now is None else "modify"
        changes.append(
            PartChange(
                sensor=name,
                action=action,
                old=side("base", old, was) if was is not None else None,
                new=side("head", new, now) if now is not None else None,
            )
        )
    return changes


def diff(*, dataset: Dataset, scope: str, head: str, base: str, paging: Paging) -> dict[str, Any]:
    """The files (or frames) added, modified and removed from ``base`` (default: the head's parent) to
    ``head``; a frame names its sensors' files that changed."""
    head_revision = selectors.revision_resolve(dataset=dataset, revision=head or dataset.default_branch)
    base_revision = (
        selectors.revision_resolve(dataset=dataset, revision=base)
        if base
        else selectors.diff_base(revision=head_revision)
    )
    changes = selectors.diff_entries(
        base=base_revision, head=head_revision, offset=paging.offset, limit=paging.per_page
    )
    pager = page_check(paging=paging, total=changes.total)
    segments = selectors.diff_segments(base=base_revision, head=head_revision, offset=0, limit=SEGMENTS_SHOWN)
    backend = backend_for(dataset.storage_config)
    revisions = {"base": base_revision, "head": head_revision}

    def side(which: str, entry: Entry | None, part: Part | None = None) -> EntryView | None:
        if entry is None or (entry.is_composite and part is None):
            return None
        commit_id = revisions[which].commit_id
        if part is not None:
            return entry_view(
                scope=scope,
                dataset=dataset,
                backend=backend,
                commit_id=commit_id,
                entry=part_entry(entry, part),
                slot=PART_SLOT + part.name,
                name=part.remote_path,
            )
        return entry_view(scope=scope, dataset=dataset, backend=backend, commit_id=commit_id, entry=entry)

    # A sheet's row shows its values rather than a file preview.
    changed_segments = {(change.old or change.new).segment for change in changes.items}  # type: ignore[union-attr]
    sheet_names = selectors.sheets_among(revisions=[head_revision, base_revision], names=changed_segments)
    views = []
    for change in changes.items:
        entry: Entry = change.old or change.new  # type: ignore[assignment]
        if entry.segment in sheet_names:
            views.append(
                ChangeView(
                    path=change.path,
                    action=change.action,
                    old=None,
                    new=None,
                    old_row=_compact(change.old.label) if change.old is not None else "",
                    new_row=_compact(change.new.label) if change.new is not None else "",
                )
            )
            continue
        views.append(
            ChangeView(
                path=change.path,
                action=change.action,
                old=side("base", change.old),
                new=side("head", change.new),
                parts=_part_changes(change.old, change.new, side) if entry.is_composite else [],
            )
        )
    return {
        **_revisions(dataset),
        "head": head_revision,
        "base": base_revision,
        "changes": views,
        "change_pager": pager,
        "segment_changes": segments.items,
        "per_page": paging.per_page,
        "is_fusion": dataset.kind == Dataset.Kind.FUSION,
    }


def _slot_entry(dataset: Dataset, entry: Entry, slot: str) -> tuple[Entry, str]:
    """The file a preview slot names in an entry, as an entry of its own, and the name its kind is read from."""
    if slot.startswith(PART_SLOT):
        parts = {part.name: part for part in entry.part_list()}
        part = parts.get(slot[len(PART_SLOT) :])
        if part is None:
            raise errors.NotFound("this frame holds no file from that sensor")
        return part_entry(entry, part), part.remote_path
    if slot.startswith(FIELD_SLOT):
        value = (entry.label or {}).get(slot[len(FIELD_SLOT) :])
        found = _file_of(dataset, value)
        if found is None:
            raise errors.NotFound("this row holds no file in that column")
        key, sha1, size = found
        return Entry(entry.path, key, sha1, size), _file_name(value, sha1)
    if slot:
        raise errors.NotFound("this preview link is not valid")
    return entry, entry.path


def preview_image(*, dataset: Dataset, commit_id: str, path: str, slot: str = "") -> bytes:
    """The PNG thumbnail of one image file at a commit (an entry's own, a frame's part or a row's file), with
    its labels drawn over it."""
    revision = selectors.revision_resolve(dataset=dataset, revision=commit_id)
    segment, _, remote_path = path.partition("/")
    held = selectors.entry_get(revision=revision, segment=segment, remote_path=remote_path)
    entry, name = _slot_entry(dataset, held, slot)
    if previews.preview_kind(name) != "image":
        raise errors.Invalid("path", "only images have a preview image")
    if slot.startswith(FIELD_SLOT) and not selectors.objects_registered(dataset=dataset, sha1s={entry.sha1}):
        raise errors.NotFound("this file is not registered with the dataset")
    thumbnail = previews.thumbnail_get(backend=backend_for(dataset.storage_config), entry=entry)
    return previews.thumbnail_with_labels(thumbnail=thumbnail, label=entry.label)
