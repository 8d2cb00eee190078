"""What bulk imports read: JSON Lines or CSV files one record at a time, and object listings of a storage.

Every source yields ``SourceRecord``s in order, each either parsed fields or the reason it is bad, with the
place it came from (``line 12``, ``key a/b.jpg``) and how far through the input the reader is, so a
command can report bad records without stopping and show progress in bytes of the file.
"""

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from datasets.models import Dataset
from project import errors
from storage_configs.backends import LIST_PAGE_SIZE, StorageBackend, clean_key, clean_prefix
from versioning import services as versioning_services
from versioning.trees import Entry, TreeReader, entry_path

SOURCE_FORMATS = ("jsonl", "csv")
_SUFFIX_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}
_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off"}
DIGEST_CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class SourceRecord:
    """One record of a source: ``fields`` when it could be read, else ``error`` says why not."""

    where: str
    fields: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    # Bytes of the source consumed once this record was read (0 when the source has no known size).
    position: int = 0


def source_format(path: Path, chosen: str | None = None) -> str:
    """The format named, or the one the file name's suffix implies."""
    if chosen:
        if chosen not in SOURCE_FORMATS:
            raise errors.Invalid("format", f"must be one of {', '.join(SOURCE_FORMATS)}")
        return chosen
    found = _SUFFIX_FORMATS.get(path.suffix.lower())
    if found is None:
        raise errors.Invalid("format", f"cannot tell the format of {path.name}: name it with --format")
    return found


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes, read in chunks: what identifies one import source across runs."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(DIGEST_CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def source_records(path: Path, *, source_format: str) -> Iterator[SourceRecord]:
    """Read the file record by record in constant memory."""
    with path.open("rb") as raw:
        if source_format == "csv":
            yield from _csv_records(raw)
        else:
            yield from _jsonl_records(raw)


def _jsonl_records(raw: IO[bytes]) -> Iterator[SourceRecord]:
    position = 0
    for number, line in enumerate(raw, start=1):
        position += len(line)
        where = f"line {number}"
        try:
            text = line.decode("utf-8-sig" if number == 1 else "utf-8").strip()
        except UnicodeDecodeError:
            yield SourceRecord(where, error="not valid UTF-8", position=position)
            continue
        if not text:
            continue
        try:
            fields = json.loads(text)
        except json.JSONDecodeError as error:
            yield SourceRecord(where, error=f"not valid JSON ({error.msg} at column {error.colno})", position=position)
            continue
        if not isinstance(fields, dict):
            yield SourceRecord(where, error="must be a JSON object", position=position)
            continue
        yield SourceRecord(where, fields=fields, position=position)


def _csv_records(raw: IO[bytes]) -> Iterator[SourceRecord]:
    position = 0

    def lines() -> Iterator[str]:
        nonlocal position
        for number, line in enumerate(raw, start=1):
            position += len(line)
            # Bad bytes become U+FFFD, which the row check below reports; one bad line must not end the file.
            yield line.decode("utf-8-sig" if number == 1 else "utf-8", errors="replace")

    reader = csv.DictReader(lines(), restkey="\x00extra", restval=None)
    header = reader.fieldnames or []
    for row in reader:
        where = f"line {reader.line_num}"
        if "\x00extra" in row or any(value is None for value in row.values()):
            columns = len(row) - ("\x00extra" in row) + len(row.get("\x00extra") or [])
            columns -= sum(value is None for value in row.values())
            yield SourceRecord(where, error=f"has {columns} fields, the header has {len(header)}", position=position)
        elif any("\ufffd" in value for value in row.values()):
            yield SourceRecord(where, error="not valid UTF-8", position=position)
        else:
            # An empty cell means "not given", as an absent key does in JSON Lines.
            yield SourceRecord(where, fields={k: v for k, v in row.items() if v != ""}, position=position)


def _text(fields: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = fields.get(name)
    if value is None:
        if required:
            raise errors.Missing(name)
        return None
    if not isinstance(value, str):
        raise errors.Invalid(name, "must be a string")
    if required and not value.strip():
        raise errors.Missing(name)
    return value


def _integer(fields: dict[str, Any], name: str) -> int | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise errors.Invalid(name, "must be a non-negative integer")


def _boolean(fields: dict[str, Any], name: str) -> bool | None:
    value = fields.get(name)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise errors.Invalid(name, "must be true or false")


def _json_object(fields: dict[str, Any], name: str) -> dict[str, Any] | None:
    """An object, given as JSON or (in CSV) as a cell holding JSON text."""
    value = fields.get(name)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise errors.Invalid(name, "must be a JSON object") from None
    if value is not None and not isinstance(value, dict):
        raise errors.Invalid(name, "must be a JSON object")
    return value


def entry_from_fields(fields: dict[str, Any]) -> Entry:
    """The entry a record describes: ``path`` (``segment/remotePath``), ``object``, ``size``, ``sha1``, ``label``."""
    path = _text(fields, "path", required=True) or ""
    segment, slash, remote_path = path.partition("/")
    if not slash or not remote_path:
        raise errors.Invalid("path", "must be segment/remotePath (an empty segment is written /remotePath)")
    object_key = clean_key(_text(fields, "object", required=True) or "", field="object")
    size = _integer(fields, "size")
    if size is None:
        raise errors.Missing("size")
    sha1 = (_text(fields, "sha1", required=True) or "").strip().lower()
    entry = Entry.create(
        segment=segment,
        remote_path=remote_path,
        object_key=object_key,
        sha1=sha1,
        size=size,
        label=_json_object(fields, "label"),
    )
    versioning_services.entry_check(entry=entry)
    return entry


def _data_type(fields: dict[str, Any]) -> int | None:
    value = fields.get("type")
    if value is None:
        return None
    by_label = {label: number for number, label in Dataset.DataType.choices}
    if isinstance(value, str) and value.strip().lower() in by_label:
        return by_label[value.strip().lower()]
    number = _integer(fields, "type")
    if number not in Dataset.DataType.values:
        raise errors.Invalid("type", f"must be one of {Dataset.DataType.values} or {', '.join(by_label)}")
    return number


def dataset_fields_from_record(fields: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``services.dataset_import`` a catalog record gives; absent fields stay None."""
    tags = _json_object(fields, "tags")
    return {
        "workspace_name": (_text(fields, "workspace", required=True) or "").strip(),
        "name": _text(fields, "name", required=True),
        "title": _text(fields, "title"),
        "description": _text(fields, "description"),
        "licence": _text(fields, "license") if "license" in fields else _text(fields, "licence"),
        "tags": tags,
        "data_type": _data_type(fields),
        "is_public": _boolean(fields, "is_public"),
        "storage_config_name": _text(fields, "storage_config"),
    }


def bucket_records(
    *,
    backend: StorageBackend,
    prefix: str,
    segment: str,
    known: TreeReader | None,
    rehash: bool,
    page_size: int = LIST_PAGE_SIZE,
) -> Iterator[SourceRecord]:
    """Every object under the prefix as an entry record, paging through the listing.

    The SHA-1 is read from the bytes: each object is streamed and hashed. An object the branch already holds
    at the same path with the same key and size keeps its recorded SHA-1 (one size request, no read) unless
    ``rehash``; that makes a repeated import cheap, but an object rewritten in place with the same size keeps
    its old SHA-1 until imported with ``rehash``.
    """
    prefix = clean_prefix(prefix)
    # Paths are keys relative to the prefix's directory: prefix ``images/ca`` turns ``images/cat.jpg`` into ``cat.jpg``.
    directory = prefix.rpartition("/")[0]
    for key in backend.iter_keys(prefix, page_size=page_size):
        where = f"key {key}"
        remote_path = key[len(directory) + 1 :] if directory else key
        try:
            existing = None if known is None or rehash else known.get(entry_path(segment, remote_path))
            if existing is not None and existing.object_key == key and backend.size(key) == existing.size:
                sha1, size = existing.sha1, existing.size
            else:
                digest, size = hashlib.sha1(usedforsecurity=False), 0
                for chunk in backend.iter_chunks(key):
                    digest.update(chunk)
                    size += len(chunk)
                sha1 = digest.hexdigest()
        except errors.DomainError as error:
            yield SourceRecord(where, error=error.message)
            continue
        fields = {"path": entry_path(segment, remote_path), "object": key, "size": size, "sha1": sha1}
        yield SourceRecord(where, fields=fields)
