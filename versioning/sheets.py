"""Sheets: segments of the versioned tree whose entries are rows checked against a per-sheet schema.

A sheet's schema is kept as the segment's ``schema`` metadata: the texts a client sent (``portex``, ``avro``,
``arrow``), stored verbatim, of which only the Avro record is read here. A row is an entry at
``<sheet>/<record key>`` holding the row as its label; the row's first file (if any) is the entry's object,
so catalogs count rows with files as files. Record keys are fixed-width decimal strings from a per-dataset
counter, so path order is insertion order and a new key sorts after every key handed out before it.

Field names are compared without case at every level (two names that differ only in case are one field),
and rows are stored with lower-case names.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any

from project import errors

SCHEMA_KEY = "schema"
RECORD_KEY = "__record_key"
# 18 digits, as the official service's keys: the first key is 100000000000000001.
RECORD_KEY_BASE = 10**17
RECORD_KEY_PATTERN = re.compile(r"1\d{17}")
INT_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
FILE_FIELDS = ("key", "extension", "size")
SHA1_PATTERN = re.compile(r"[0-9a-f]{40}")


def record_key(number: int) -> str:
    """The record key of the counter's ``number``-th value (from 1)."""
    return str(RECORD_KEY_BASE + number)


def record_number(remote_path: str) -> int | None:
    """The counter value a record key stands for, or None for a path that is not a record key."""
    return int(remote_path) - RECORD_KEY_BASE if RECORD_KEY_PATTERN.fullmatch(remote_path) else None


@dataclass(frozen=True)
class FieldType:
    """One Avro type: ``kind`` is a primitive name, ``record``, ``array``, ``enum`` or ``file``."""

    kind: str
    fields: dict[str, "FieldType"] = field(default_factory=dict)
    items: "FieldType | None" = None
    indices: frozenset[int] = frozenset()


@dataclass(frozen=True)
class FileRef:
    """A file a row refers to: its object key, the SHA-1 the key ends with, and its size."""

    key: str
    sha1: str
    size: int


PRIMITIVES = {"int", "long", "float", "double", "boolean", "string", "bytes"}


def _parse_type(raw: Any, where: str) -> FieldType:
    if isinstance(raw, list):
        # Every field is ``["null", T]``: nulls are taken whatever the portex schema says.
        others = [member for member in raw if member != "null"]
        if len(others) != 1:
            raise errors.Invalid("_avro_schema", f"{where}: a union must be null and one type")
        return _parse_type(others[0], where)
    if isinstance(raw, str):
        if raw not in PRIMITIVES:
            raise errors.Invalid("_avro_schema", f"{where}: unknown type {raw!r}")
        return FieldType(kind=raw)
    if not isinstance(raw, dict):
        raise errors.Invalid("_avro_schema", f"{where}: a type is a name, a union or an object")
    kind = raw.get("type")
    if raw.get("logicalType") == "portex.enum":
        values = raw.get("values")
        if isinstance(values, list):
            indices = frozenset(range(len(values)))
        elif isinstance(values, dict):
            try:
                indices = frozenset(int(index) for index in values)
            except ValueError:
                raise errors.Invalid("_avro_schema", f"{where}: enum indices must be integers") from None
        else:
            raise errors.Invalid("_avro_schema", f"{where}: an enum needs values")
        return FieldType(kind="enum", indices=indices)
    if kind == "record":
        fields = raw.get("fields")
        if not isinstance(fields, list):
            raise errors.Invalid("_avro_schema", f"{where}: a record needs fields")
        parsed: dict[str, FieldType] = {}
        for item in fields:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
                raise errors.Invalid("_avro_schema", f"{where}: every field needs a name")
            name = item["name"].lower()
            if name in parsed:
                raise errors.Invalid("_avro_schema", f"{where}: field {item['name']!r} is given twice")
            parsed[name] = _parse_type(item.get("type"), f"{where}.{name}")
        if tuple(parsed)[:3] == FILE_FIELDS:
            return FieldType(kind="file", fields=parsed)
        return FieldType(kind="record", fields=parsed)
    if kind == "array":
        return FieldType(kind="array", items=_parse_type(raw.get("items"), f"{where}[]"))
    if isinstance(kind, str) and kind in PRIMITIVES:
        # Logical types (portex.date, .time, .timestamp, .timedelta) travel as their integer.
        return FieldType(kind=kind)
    raise errors.Invalid("_avro_schema", f"{where}: unknown type {kind!r}")


def schema_parse(avro: str) -> FieldType:
    """Parse the Avro record a client sent for a sheet; a text that is not one is ``Invalid``."""
    if not isinstance(avro, str):
        raise errors.Invalid("_avro_schema", "must be a JSON text")
    try:
        raw = json.loads(avro)
    except ValueError:
        raise errors.Invalid("_avro_schema", "must be a JSON text") from None
    if not isinstance(raw, dict) or raw.get("type") != "record":
        raise errors.Invalid("_avro_schema", "must be an Avro record")
    parsed = _parse_type(raw, "root")
    if parsed.kind != "record":
        raise errors.Invalid("_avro_schema", "must be an Avro record")
    return parsed


def schema_texts(*, portex: str, avro: str, arrow: str = "") -> dict[str, str]:
    """The metadata kept for a sheet's schema, after checking that the Avro record parses."""
    if not isinstance(portex, str) or not portex:
        raise errors.Invalid("schema", "must be a non-empty text")
    if not isinstance(arrow, str):
        raise errors.Invalid("_arrow_schema", "must be a text")
    schema_parse(avro)
    return {"portex": portex, "avro": avro, "arrow": arrow}


def _fail(where: str, reason: str) -> errors.Invalid:
    return errors.Invalid("data", f"{where}: {reason}")


def _value(kind: FieldType, value: Any, where: str, files: list[FileRef]) -> Any:
    if value is None:
        return None
    if kind.kind in INT_RANGES or kind.kind == "enum":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(where, "must be an integer")
        if kind.kind == "enum":
            if value not in kind.indices:
                raise _fail(where, "is not an index of the enum")
        else:
            low, high = INT_RANGES[kind.kind]
            if not low <= value <= high:
                raise _fail(where, f"must be between {low} and {high}")
        return value
    if kind.kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(where, "must be a number")
        return value
    if kind.kind == "boolean":
        if not isinstance(value, bool):
            raise _fail(where, "must be true or false")
        return value
    if kind.kind == "string":
        if not isinstance(value, str):
            raise _fail(where, "must be a string")
        return value
    if kind.kind == "bytes":
        raise _fail(where, "binary values cannot be sent as JSON")
    if kind.kind == "array":
        if not isinstance(value, list):
            raise _fail(where, "must be an array")
        return [_value(kind.items, item, f"{where}[{index}]", files) for index, item in enumerate(value)]  # type: ignore[arg-type]
    checked = _record(kind, value, where, files, ignore_unknown=False)
    if kind.kind == "file":
        key, size = checked.get("key"), checked.get("size")
        if not isinstance(key, str) or not isinstance(size, int):
            raise _fail(where, "a file needs its key and size")
        sha1 = key.rpartition("/")[2]
        if "/" not in key or not SHA1_PATTERN.fullmatch(sha1) or size < 0:
            raise _fail(where, "a file key is a prefix and the file's SHA-1")
        files.append(FileRef(key=key, sha1=sha1, size=size))
    return checked


def _record(kind: FieldType, value: Any, where: str, files: list[FileRef], *, ignore_unknown: bool) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, "must be an object")
    checked: dict[str, Any] = {}
    for name, item in value.items():
        lowered = name.lower() if isinstance(name, str) else name
        field_type = kind.fields.get(lowered)
        if field_type is None:
            if ignore_unknown:
                continue
            raise _fail(f"{where}.{name}", "is not a field of the schema")
        if lowered in checked:
            raise _fail(f"{where}.{name}", "is given twice")
        checked[lowered] = _value(field_type, item, f"{where}.{lowered}", files)
    return checked


def row_check(schema: FieldType, row: Any, *, partial: bool = False) -> tuple[dict[str, Any], list[FileRef]]:
    """The row with lower-case names and the files it refers to; a row that does not fit is ``Invalid``.

    ``partial`` (an update) ignores top-level names the schema does not know, as the graviti SDK sends leaf
    names of nested columns as top-level names while updating a row.
    """
    files: list[FileRef] = []
    if isinstance(row, dict):
        row = {name: item for name, item in row.items() if name != RECORD_KEY}
    checked = _record(schema, row, "row", files, ignore_unknown=partial)
    return checked, files


def row_files(schema: FieldType, row: dict[str, Any]) -> list[FileRef]:
    """The files a stored row refers to, in field order."""
    files: list[FileRef] = []
    _record(schema, row, "row", files, ignore_unknown=True)
    return files
