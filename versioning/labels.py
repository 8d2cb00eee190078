"""Labels of entries: their rules against a draft's catalog, mask references, and label statistics.

A label is an object keyed by label type (``BOX2D``, ``SEMANTIC_MASK``, …), as TensorBay sends it. Every type
a label uses needs a catalog entry, and an attribute whose catalog entry lists an ``enum`` (or says
``boolean``) takes only those values. A mask arrives as ``{checksum, fileSize, info?}`` and is stored as a
reference to its object: ``{remotePath, checksum, fileSize, objectKey, info?}``.

Statistics count, per label type, the labels, the labels of each category and, for enumerable attributes
(an ``enum`` or a ``boolean`` in the catalog), the labels holding each value. The counts are a ``Counter``
over tuple keys, so a commit adds the counts of what it stages and subtracts those of what it replaces.
"""

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import Any

from project import errors

MASK_TYPES = ("SEMANTIC_MASK", "INSTANCE_MASK", "PANOPTIC_MASK")
SHA1_PATTERN = re.compile(r"[0-9a-f]{40}")

# A mask object's key in storage for its SHA-1 and size, after checking it is there with that size.
MaskObject = Callable[[str, int], str]
# A segment's statistics id when it was counted and holds no labels; a tree built without counting has none.
NO_LABELS = "-"
Enumerable = frozenset[tuple[str, str]]
Counts = Counter[tuple[str, ...]]


def _refuse(remote_path: str, field: str, reason: str) -> errors.Invalid:
    return errors.Invalid(field, f"{reason} (remote path {remote_path!r})", remote_path=remote_path)


def catalog_check(*, catalog: Any) -> None:
    """Refuse a catalog that is empty or not an object of label types, each an object."""
    if not isinstance(catalog, dict) or not catalog:
        raise errors.Invalid("catalog", "must hold at least one label type")
    for label_type, info in catalog.items():
        if not isinstance(info, dict):
            raise errors.Invalid(f"catalog.{label_type}", "must be an object")
        attributes = info.get("attributes", [])
        if not isinstance(attributes, list) or not all(
            isinstance(item, dict) and isinstance(item.get("name"), str) for item in attributes
        ):
            raise errors.Invalid(f"catalog.{label_type}.attributes", "must be a list of objects with a name")


def _attribute_infos(catalog: dict, label_type: str) -> dict[str, dict]:
    info = catalog.get(label_type)
    attributes = info.get("attributes", []) if isinstance(info, dict) else []
    if not isinstance(attributes, list):
        return {}
    return {item["name"]: item for item in attributes if isinstance(item, dict) and isinstance(item.get("name"), str)}


def _is_boolean(info: dict) -> bool:
    kind = info.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    return "boolean" in kinds and all(k in ("boolean", "null") for k in kinds)


def _same(left: Any, right: Any) -> bool:
    """JSON equality: ``true`` is not ``1``."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    return left == right


def _check_attributes(remote_path: str, field: str, attributes: Any, infos: dict[str, dict]) -> None:
    if attributes is None:
        return
    if not isinstance(attributes, dict):
        raise _refuse(remote_path, field, "must be an object")
    for name, value in attributes.items():
        info = infos.get(name)
        if info is None:
            continue
        enum = info.get("enum")
        if isinstance(enum, list) and not any(_same(value, allowed) for allowed in enum):
            raise _refuse(remote_path, f"{field}.{name}", f"{json.dumps(value)} is not in the catalog's enum")
        if _is_boolean(info) and not (isinstance(value, bool) or (value is None and info.get("type") != "boolean")):
            raise _refuse(remote_path, f"{field}.{name}", "must be a boolean, as the catalog says")


def _mask_remote_path(remote_path: str) -> str:
    """A mask's path: its data's with the extension replaced by ``.png`` (``hello.txt`` → ``hello.png``)."""
    return str(PurePosixPath(remote_path).with_suffix(".png")) if PurePosixPath(remote_path).name else remote_path


def _mask_prepare(remote_path: str, field: str, value: Any, infos: dict[str, dict], mask_object: MaskObject) -> dict:
    if not isinstance(value, dict):
        raise _refuse(remote_path, field, "must be an object with checksum and fileSize")
    checksum, size, info = value.get("checksum"), value.get("fileSize"), value.get("info")
    if not isinstance(checksum, str) or not SHA1_PATTERN.fullmatch(checksum):
        raise _refuse(remote_path, f"{field}.checksum", "must be 40 lowercase hex digits")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _refuse(remote_path, f"{field}.fileSize", "must be a non-negative integer")
    if info is not None:
        if not isinstance(info, list) or not all(isinstance(item, dict) for item in info):
            raise _refuse(remote_path, f"{field}.info", "must be a list of objects")
        for index, item in enumerate(info):
            _check_attributes(remote_path, f"{field}.info[{index}].attributes", item.get("attributes"), infos)
    # The object key comes from the hub, never from the client, so a label cannot point at another's object.
    stored = {
        "remotePath": _mask_remote_path(remote_path),
        "checksum": checksum,
        "fileSize": size,
        "objectKey": mask_object(checksum, size),
    }
    if info is not None:
        stored["info"] = info
    return stored


def label_prepare(*, catalog: dict, remote_path: str, label: Any, mask_object: MaskObject) -> dict | None:
    """Check a label against the catalog and return it as stored (masks as references); refuse with
    ``Invalid`` naming the remote path and the field."""
    if label is None:
        return None
    if not isinstance(label, dict):
        raise _refuse(remote_path, "label", "must be an object")
    prepared: dict[str, Any] = {}
    for label_type, value in label.items():
        field = f"label.{label_type}"
        if not isinstance(catalog.get(label_type), dict):
            raise _refuse(remote_path, field, f"the draft's catalog has no {label_type}")
        infos = _attribute_infos(catalog, label_type)
        if label_type in MASK_TYPES:
            prepared[label_type] = _mask_prepare(remote_path, field, value, infos, mask_object)
            continue
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            where = field if not isinstance(value, list) else f"{field}[{index}]"
            if not isinstance(item, dict):
                raise _refuse(remote_path, where, "must be an object")
            _check_attributes(remote_path, f"{where}.attributes", item.get("attributes"), infos)
        prepared[label_type] = value
    return prepared or None


def mask_references(label: dict | None) -> list[tuple[str, dict]]:
    """(mask type, stored reference) of each mask a stored label holds."""
    return [(key, value) for key, value in (label or {}).items() if key in MASK_TYPES and isinstance(value, dict)]


def mask_sha1s(labels: Iterable[dict | None]) -> Iterable[str]:
    """SHA-1 of every mask object the labels refer to."""
    for label in labels:
        for _, reference in mask_references(label):
            if isinstance(reference.get("checksum"), str):
                yield reference["checksum"]


def label_summary(label: dict | None) -> list[tuple[str, list[str]]]:
    """(label type, its categories by name) of a stored label, types by name, for people to read."""
    summary = []
    for label_type, value in sorted((label or {}).items()):
        items = value if isinstance(value, list) else [value]
        names = {item.get("category") for item in items if isinstance(item, dict)}
        summary.append((label_type, sorted(name for name in names if isinstance(name, str))))
    return summary


# Statistics


def enumerable_attributes(catalog: dict) -> Enumerable:
    """(label type, attribute name) of every attribute the catalog makes enumerable (an enum or a boolean)."""
    return frozenset(
        (label_type, name)
        for label_type in catalog
        for name, info in _attribute_infos(catalog, label_type).items()
        if isinstance(info.get("enum"), list) or _is_boolean(info)
    )


def label_counts(label: dict | None, enumerable: Enumerable) -> Counts:
    """The statistics counts of one stored label."""
    counts: Counts = Counter()
    for label_type, value in (label or {}).items():
        if label_type in MASK_TYPES:
            counts["q", label_type] += 1
            continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            counts["q", label_type] += 1
            if not isinstance(item, dict):
                continue
            category = item.get("category")
            category = category if isinstance(category, str) else None
            if category is not None:
                counts["c", label_type, category] += 1
            attributes = item.get("attributes")
            if not isinstance(attributes, dict):
                continue
            for name, attribute in attributes.items():
                if (label_type, name) not in enumerable or isinstance(attribute, (dict, list)):
                    continue
                encoded = json.dumps(attribute)
                counts["a", label_type, name, encoded] += 1
                if category is not None:
                    counts["ca", label_type, category, name, encoded] += 1
    return counts


def counts_encode(counts: Counts, enumerable: Enumerable) -> dict[str, Any]:
    """Counts as a JSON object, with the enumerable attributes they were counted for ({} for none)."""
    rows = sorted([*key, n] for key, n in counts.items() if n > 0)
    if not rows:
        return {}
    return {"enumerable": sorted(list(pair) for pair in enumerable), "counts": rows}


def counts_decode(data: dict[str, Any], enumerable: Enumerable) -> Counts | None:
    """Counts stored by ``counts_encode``, or None when they were counted for other enumerable attributes."""
    if not data:
        return Counter()
    if frozenset(tuple(pair) for pair in data["enumerable"]) != enumerable:
        return None
    return Counter({tuple(row[:-1]): row[-1] for row in data["counts"]})


def _value_order(info: dict | None) -> Callable[[str], tuple[int, str]]:
    enum = info.get("enum") if info else None
    known = [json.dumps(value) for value in enum] if isinstance(enum, list) else ["false", "true"]

    def position(encoded: str) -> tuple[int, str]:
        return (known.index(encoded), "") if encoded in known else (len(known), encoded)

    return position


def _attribute_list(values: dict[str, dict[str, int]], infos: dict[str, dict]) -> list[dict[str, Any]]:
    order = {name: index for index, name in enumerate(infos)}
    listed = []
    for name in sorted(values, key=lambda name: (order.get(name, len(order)), name)):
        seen = sorted(values[name], key=_value_order(infos.get(name)))
        listed.append(
            {"name": name, "enum": [json.loads(v) for v in seen], "quantities": [values[name][v] for v in seen]}
        )
    return listed


def statistics_render(counts: Counts, catalog: dict) -> dict[str, dict[str, Any]]:
    """TensorBay's ``labelStatistics``: per type its ``quantity``, ``categories`` (by name) and ``attributes``
    (in catalog order, values in enum order); empty lists are left out."""
    types: dict[str, dict[str, Any]] = {}
    categories: dict[str, dict[str, int]] = {}
    type_values: dict[str, dict[str, dict[str, int]]] = {}
    category_values: dict[tuple[str, str], dict[str, dict[str, int]]] = {}
    for key, n in counts.items():
        if n <= 0:
            continue
        kind, label_type = key[0], key[1]
        if kind == "q":
            types[label_type] = {"quantity": n}
        elif kind == "c":
            categories.setdefault(label_type, {})[key[2]] = n
        elif kind == "a":
            type_values.setdefault(label_type, {}).setdefault(key[2], {})[key[3]] = n
        else:
            category_values.setdefault((label_type, key[2]), {}).setdefault(key[3], {})[key[4]] = n
    for label_type, statistics in types.items():
        infos = _attribute_infos(catalog, label_type)
        listed = []
        for name, n in sorted(categories.get(label_type, {}).items()):
            category: dict[str, Any] = {"name": name, "quantity": n}
            attributes = _attribute_list(category_values.get((label_type, name), {}), infos)
            if attributes:
                category["attributes"] = attributes
            listed.append(category)
        if listed:
            statistics["categories"] = listed
        attributes = _attribute_list(type_values.get(label_type, {}), infos)
        if attributes:
            statistics["attributes"] = attributes
    return dict(sorted(types.items()))
