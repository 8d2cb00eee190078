"""Ordering a sheet's rows by columns: which columns may order rows, and the rows of one page in that order.

A column is a path of field names (``["box", "x"]``) and orders ascending unless ``descending``; rows that tie
on every column keep record-key order. Null sorts before every value (last when descending). Only scalar
fields (numbers, booleans, strings, enum indices and the integer temporal types) order rows.

A page is chosen in one pass over the rows that keeps the sort values and record keys of at most the rows from
the sheet's nearer end to the page's far side (the first ``offset + limit``, or the last ``total - offset``), and
their rows too while those are at most ``KEEP_ROWS``; a wider window reads the page's rows again by key. Memory
is bounded by that window in a sheet of at most ``SHEET_ORDER_MAX_ROWS`` rows. Each ordered page reads the
whole sheet, which is why that bound exists.
"""

import heapq
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from project import errors
from versioning.sheets import FieldType

# The most rows a sheet may have for its rows to be listed in another order than by record key.
SHEET_ORDER_MAX_ROWS = 100_000
# A window of at most this many rows keeps the rows themselves, so its page needs no second read.
KEEP_ROWS = 1024
ORDERABLE_KINDS = {"int", "long", "float", "double", "boolean", "string", "enum"}


@dataclass(frozen=True)
class OrderColumn:
    """One column rows are ordered by: its field names from the top level, and the direction."""

    names: tuple[str, ...]
    descending: bool = False


def order_check(schema: FieldType, order: Sequence[OrderColumn], *, field: str) -> None:
    """Fail with ``Invalid`` (naming the parameter ``field``) unless every column is a scalar field of the schema."""
    for column in order:
        kind: FieldType | None = schema
        for name in column.names:
            if kind is None or kind.kind not in ("record", "file"):
                kind = None
                break
            kind = kind.fields.get(name.lower())
        dotted = ".".join(column.names)
        if kind is None:
            raise errors.Invalid(field, f"{dotted!r} is not a column of the sheet")
        if kind.kind not in ORDERABLE_KINDS:
            raise errors.Invalid(field, f"{dotted!r} is a {kind.kind}, not a value rows can be ordered by")


class _Descending:
    """A sort value compared the other way round."""

    __slots__ = ("value",)

    def __init__(self, value: tuple[Any, ...]) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.value == other.value

    def __lt__(self, other: "_Descending") -> bool:
        return other.value < self.value

    __hash__ = None  # type: ignore[assignment]


def _sort_value(value: Any, descending: bool) -> tuple[Any, ...]:
    """A value's place: null first, then by kind (a column whose type changed may hold several), then value.

    Descending places negate what negates (the kind, numbers) and wrap the rest, which costs more to compare.
    """
    sign = -1 if descending else 1
    if value is None:
        return (0,)
    if isinstance(value, bool | int | float):
        return (sign * 2, sign * value)
    if isinstance(value, str):
        return (sign * 3, _Descending((value,)) if descending else value)
    text = json.dumps(value, sort_keys=True)
    return (sign * 4, _Descending((text,)) if descending else text)


def _row_key(row: dict[str, Any], order: Sequence[OrderColumn]) -> tuple[Any, ...]:
    values: list[Any] = []
    for column in order:
        value: Any = row
        for name in column.names:
            value = value.get(name.lower()) if isinstance(value, dict) else None
        values.append(_sort_value(value, column.descending))
    return tuple(values)


def ordered_page(
    rows: Iterable[tuple[str, dict[str, Any]]], order: Sequence[OrderColumn], *, offset: int, limit: int, total: int
) -> list[tuple[str, dict[str, Any] | None]]:
    """(key, row) of rows ``offset`` to ``offset + limit`` of the ``total`` (key, row) pairs given in key order,
    once ordered; a row is None where the window was too wide to keep rows (read it by its key)."""
    if limit <= 0 or offset >= total:
        return []
    from_end = total - offset < offset + limit
    window = total - offset if from_end else offset + limit
    keep = window <= KEEP_ROWS
    # The key stands in for the row's position: pairs arrive in key order, so it breaks ties the same way.
    items = ((_row_key(row, order), key, row if keep else None) for key, row in rows)
    chosen = heapq.nlargest(window, items)[::-1][:limit] if from_end else heapq.nsmallest(window, items)[offset:]
    return [(key, row) for _, key, row in chosen]
