"""The criteria language of sheet searches (the graviti SDK's ``df.query`` and ``df.apply``), over stored rows.

A criteria object has ``where`` (a boolean expression rows must meet) and/or ``select`` (a list of
``{name: expression}``, one result column each). An expression is a literal, a reference or ``{"$op": [args]}``.
References are relative to a context: ``"$.a.b"`` is field ``b`` of record ``a`` of the context, ``"$"`` and
``"$."`` are the context itself. The context is the row, or inside ``$any_match``, ``$all_match`` and ``$filter``
(whose first argument is an array reference) each item of that array. Rows are evaluated one at a time, so a
search never holds a whole sheet. A comparison with null, or between values that do not compare, is false;
arithmetic with null is null.
"""

import math
import operator
from collections.abc import Callable
from typing import Any

from project import errors
from versioning.sheets import FieldType

COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": operator.eq,
    "$ne": operator.ne,
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}
ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "$add": operator.add,
    "$sub": operator.sub,
    "$mult": operator.mul,
    "$div": operator.truediv,
    "$mod": operator.mod,
    "$pow": operator.pow,
}
LOGICAL = ("$and", "$or")
ARRAY_PREDICATES = ("$any_match", "$all_match", "$filter")
AGGREGATES: dict[str, Callable[[list[Any]], Any]] = {"$size": len, "$max": max, "$min": min, "$sum": sum}
MAX_DEPTH = 32


def _invalid(reason: str) -> errors.Invalid:
    return errors.Invalid("criteria", reason)


def _reference_type(context: FieldType | None, reference: str) -> FieldType | None:
    """The type a reference names in a context of this type (None: unknown, as for a scalar item)."""
    names = [name for name in reference[2:].split(".") if name] if reference.startswith("$.") else []
    kind = context
    for name in names:
        if kind is None or kind.kind not in ("record", "file"):
            raise _invalid(f"{reference!r} names a field of something that is not a record")
        found = kind.fields.get(name.lower())
        if found is None:
            raise _invalid(f"{reference!r}: there is no field {name!r}")
        kind = found
    return kind


def _check(expression: Any, context: FieldType | None, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise _invalid("expressions are nested too deeply")
    if isinstance(expression, str) and expression.startswith("$"):
        _reference_type(context, expression)
        return
    if expression is None or isinstance(expression, bool | int | float | str):
        return
    if not isinstance(expression, dict) or len(expression) != 1:
        raise _invalid("an expression is a literal, a reference or {operator: [arguments]}")
    [(name, arguments)] = expression.items()
    if not isinstance(arguments, list):
        raise _invalid(f"the arguments of {name} are a list")
    if name in COMPARISONS or name in ARITHMETIC:
        if len(arguments) != 2:
            raise _invalid(f"{name} takes two arguments")
    elif name in LOGICAL:
        if not arguments:
            raise _invalid(f"{name} takes at least one argument")
    elif name in ARRAY_PREDICATES:
        if len(arguments) != 2 or not isinstance(arguments[0], str) or not arguments[0].startswith("$"):
            raise _invalid(f"{name} takes an array reference and an expression")
        array = _reference_type(context, arguments[0])
        if array is not None and array.kind != "array":
            raise _invalid(f"{arguments[0]!r} is not an array")
        _check(arguments[1], array.items if array is not None else None, depth + 1)
        return
    elif name in AGGREGATES:
        if len(arguments) != 1:
            raise _invalid(f"{name} takes one argument")
    else:
        raise _invalid(f"unknown operator {name!r}")
    for argument in arguments:
        _check(argument, context, depth + 1)


def criteria_check(schema: FieldType, criteria: Any) -> dict[str, Any]:
    """Check a criteria object against the sheet's schema; return it unchanged."""
    if not isinstance(criteria, dict) or not criteria.keys() <= {"where", "select"}:
        raise _invalid("must be an object with where and/or select")
    if "where" in criteria:
        _check(criteria["where"], schema, 0)
    if "select" in criteria:
        select = criteria["select"]
        if not isinstance(select, list) or not select:
            raise _invalid("select is a non-empty list")
        for item in select:
            if not isinstance(item, dict) or len(item) != 1 or not isinstance(next(iter(item)), str):
                raise _invalid("each select item is {name: expression}")
            _check(next(iter(item.values())), schema, 0)
    return criteria


def _resolve(context: Any, reference: str) -> Any:
    value = context
    for name in reference[2:].split(".") if reference.startswith("$.") else []:
        if not name:
            continue
        if not isinstance(value, dict):
            return None
        value = value.get(name.lower())
    return value


def _compare(function: Callable[[Any, Any], bool], left: Any, right: Any) -> bool:
    if left is None or right is None:
        return function is operator.ne and left is not right
    try:
        return bool(function(left, right))
    except TypeError:
        return False


def _arithmetic(function: Callable[[Any, Any], Any], left: Any, right: Any) -> Any:
    numbers = (int, float)
    if not isinstance(left, numbers) or not isinstance(right, numbers) or isinstance(left, bool):
        return None
    try:
        result = function(left, right)
    except (ZeroDivisionError, OverflowError, ValueError):
        return None
    return None if isinstance(result, complex) or (isinstance(result, float) and not math.isfinite(result)) else result


def evaluate(expression: Any, context: Any) -> Any:
    """The value of a checked expression in a context (a row, or an item of an array)."""
    if isinstance(expression, str) and expression.startswith("$"):
        return _resolve(context, expression)
    if not isinstance(expression, dict):
        return expression
    [(name, arguments)] = expression.items()
    if name == "$and":
        return all(evaluate(argument, context) is True for argument in arguments)
    if name == "$or":
        return any(evaluate(argument, context) is True for argument in arguments)
    if name in COMPARISONS:
        return _compare(COMPARISONS[name], evaluate(arguments[0], context), evaluate(arguments[1], context))
    if name in ARITHMETIC:
        return _arithmetic(ARITHMETIC[name], evaluate(arguments[0], context), evaluate(arguments[1], context))
    if name in ARRAY_PREDICATES:
        items = evaluate(arguments[0], context)
        if not isinstance(items, list):
            return [] if name == "$filter" else False
        matches = [evaluate(arguments[1], item) is True for item in items]
        if name == "$any_match":
            return any(matches)
        if name == "$all_match":
            return all(matches)
        return [item for item, matched in zip(items, matches, strict=True) if matched]
    items = evaluate(arguments[0], context)
    if not isinstance(items, list):
        return None
    if name == "$size":
        return len(items)
    values = [item for item in items if isinstance(item, int | float) and not isinstance(item, bool)]
    if not values and name != "$sum":
        return None
    return AGGREGATES[name](values)


def row_matches(criteria: dict[str, Any], row: dict[str, Any]) -> bool:
    """Whether a row meets the criteria's ``where`` (every row does without one)."""
    return "where" not in criteria or evaluate(criteria["where"], row) is True


def row_selected(criteria: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """The result row: the row itself, or with ``select`` each named column, as an array (the SDK types an
    ``apply`` result as an array of the expression's type)."""
    if "select" not in criteria:
        return row
    result: dict[str, Any] = {}
    for item in criteria["select"]:
        [(name, expression)] = item.items()
        value = evaluate(expression, row)
        result[name.lower()] = value if isinstance(value, list) else [value]
    return result
