"""Reads of a fixed shape whose SQL is compiled once per database connection, then run with new values.

Compiling a queryset (its joins, ``select_related`` columns and ordering) costs as much as running a small
indexed lookup. A ``PreparedQuery`` builds its queryset once with sample values, keeps the compiled SQL and
the recipe for turning rows into instances, and for every call runs that SQL with the call's values in the
samples' places: the same statement, the same instances, without compiling it again.
"""

import inspect
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models import query as querysets
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query import MAX_GET_RESULTS, ModelIterable, ValuesIterable, ValuesListIterable
from django.db.models.signals import post_init, pre_init
from django.db.models.sql.compiler import SQLCompiler

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class _Compiled:
    """One connection's compiled statement, where each named value goes, and how rows become results."""

    compiler: SQLCompiler
    sql: str
    params: tuple[Any, ...]
    positions: dict[str, list[int]]
    prepare: dict[str, Callable[[Any], Any]]
    converters: dict[int, Any]
    build_row: Callable[[Any], Any]


class PreparedQuery(Generic[M]):
    """``build(**values)`` returns the queryset; ``samples`` are values of each name's type, each unlike every
    other parameter of the statement, as an exact lookup passes it to the database (a UUID may become its hex).

    A list sample (``ids=[-1]``) stands for a list value of an ``__in`` lookup: the statement is compiled once
    for each length of list it is called with. Only plain model, ``values()`` and ``values_list()`` querysets,
    with ``select_related`` and annotations, are supported.
    """

    def __init__(self, build: Callable[..., QuerySet[M, Any]], **samples: Any) -> None:
        self.build = build
        self.samples = samples
        self.lists = tuple(name for name, sample in samples.items() if isinstance(sample, list))
        # Per connection, the statement compiled for each length of the list values.
        self.compiled: WeakKeyDictionary[BaseDatabaseWrapper, dict[tuple[int, ...], _Compiled | None]] = (
            WeakKeyDictionary()
        )

    def first(self, **values: Any) -> Any:
        """The first result, or ``None``: the queryset must be sliced to one row (``[:1]``)."""
        return next(self.iterate(**values), None)

    def get(self, **values: Any) -> Any:
        """The one result, raising as ``QuerySet.get`` does: the queryset must be ``get_rows``' of the model's."""
        results = list(self.iterate(**values))
        if len(results) == 1:
            return results[0]
        model: Any = self.build(**self.samples).model
        name = model._meta.object_name
        if not results:
            raise model.DoesNotExist(f"{name} matching query does not exist.")
        count = f"more than {MAX_GET_RESULTS - 1}" if len(results) == MAX_GET_RESULTS else len(results)
        raise model.MultipleObjectsReturned(f"get() returned more than one {name} -- it returned {count}!")

    def iterate(self, **values: Any) -> Iterator[Any]:
        """Run the statement with ``values`` and yield instances (or dicts, for a ``values()`` queryset)."""
        connection = connections[DEFAULT_DB_ALIAS]
        # An ``__in`` lookup drops repeated values and None, so its statement has a parameter per value left.
        values = {
            name: [item for item in dict.fromkeys(value) if item is not None] if name in self.lists else value
            for name, value in values.items()
        }
        shape = tuple(len(values[name]) for name in self.lists)
        compiled_shapes = self.compiled.setdefault(connection, {})
        if shape not in compiled_shapes:
            compiled_shapes[shape] = self.compile(connection, dict(zip(self.lists, shape, strict=True)))
        compiled = compiled_shapes[shape]
        if compiled is None:
            return iter(())
        params = list(compiled.params)
        for name, positions in compiled.positions.items():
            prepare = compiled.prepare[name]
            for position, value in zip(positions, values[name] if name in self.lists else [values[name]], strict=True):
                params[position] = prepare(value)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows: Any = cursor.fetchall()
        if compiled.converters:
            rows = compiled.compiler.apply_converters(rows, compiled.converters)
        return map(compiled.build_row, rows)

    def compile(self, connection: BaseDatabaseWrapper, lengths: dict[str, int]) -> _Compiled | None:
        """Compile the queryset built from the samples (a list's sample repeated to ``lengths``, each unlike the
        others), as a ``QuerySet`` would for this connection; ``None`` for a statement Django does not run (an
        ``__in`` lookup of no values)."""
        samples = {
            name: [_nth(sample[0], n) for n in range(lengths[name])] if name in lengths else sample
            for name, sample in self.samples.items()
        }
        # The queryset's internals, which django-stubs does not describe.
        queryset: Any = self.build(**samples)
        if queryset._prefetch_related_lookups or queryset._known_related_objects:
            raise ValueError("a prepared query cannot prefetch or carry known related objects")
        compiler = queryset.query.get_compiler(connection=connection)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            return None
        positions: dict[str, list[int]] = {}
        prepare: dict[str, Callable[[Any], Any]] = {}
        for name, sample in samples.items():
            positions[name] = []
            for item in sample if name in lengths else [sample]:
                forms: list[tuple[Any, Callable[[Any], Any]]] = [(item, _unchanged)]
                if isinstance(item, uuid.UUID):
                    forms.append((item.hex, _hex))  # what a database without a UUID type receives
                for form, prepare[name] in forms:
                    found = [position for position, param in enumerate(params) if param == form]
                    if len(found) == 1:
                        break
                else:
                    raise ValueError(f"the sample of {name!r} must appear exactly once among the parameters")
                positions[name].append(found[0])
        fields = [column[0] for column in compiler.select[0 : compiler.col_count]]
        converters = compiler.get_converters(fields)
        names = [*queryset.query.extra_select, *queryset.query.values_select, *queryset.query.annotation_select]
        if queryset._iterable_class is ValuesIterable:
            build_row: Callable[[Any], Any] = lambda row: dict(zip(names, row, strict=True))  # noqa: E731
        elif queryset._iterable_class is ValuesListIterable and list(queryset._fields or names) == names:
            build_row = tuple
        elif queryset._iterable_class is ModelIterable:
            build_row = _instance_builder(compiler, connection.alias)
        else:
            raise ValueError("a prepared query yields model instances, values() dicts or values_list() tuples in order")
        return _Compiled(compiler, sql, tuple(params), positions, prepare, converters, build_row)


def _nth(sample: Any, n: int) -> Any:
    """The ``n``-th of a list's distinct samples."""
    if isinstance(sample, uuid.UUID):
        return uuid.UUID(int=sample.int + n)
    if isinstance(sample, int):
        return sample - n
    return f"{sample}{n}"


def _unchanged(value: Any) -> Any:
    return value


def _hex(value: uuid.UUID) -> str:
    return value.hex


def first_row(queryset: QuerySet[M]) -> QuerySet[M]:
    """The one-row queryset ``queryset.first()`` runs (ordered by pk unless already ordered)."""
    return (queryset if queryset.ordered else queryset.order_by("pk"))[:1]


def get_rows(queryset: QuerySet[M, Any]) -> QuerySet[M, Any]:
    """The queryset ``queryset.get()`` runs: unordered, at most ``MAX_GET_RESULTS`` rows."""
    return queryset.order_by()[:MAX_GET_RESULTS]


def _instance_builder(compiler: SQLCompiler, alias: str) -> Callable[[Any], Model]:
    """What ``ModelIterable`` does with each row, its column layout worked out once."""
    select, klass_info, annotation_col_map = compiler.select, compiler.klass_info, compiler.annotation_col_map
    assert klass_info is not None
    model_cls = klass_info["model"]
    select_fields = klass_info["select_fields"]
    start, end = select_fields[0], select_fields[-1] + 1
    init_list = [column[0].target.attname for column in select[start:end]]
    construct = _constructor(model_cls, init_list, alias)
    related_populators = [_RelatedPopulator(info, select, alias) for info in klass_info.get("related_klass_infos", [])]
    annotations = list((annotation_col_map or {}).items())

    def build(row: Any) -> Model:
        instance = construct(row[start:end])
        for populator in related_populators:
            populator.populate(row, instance)
        for name, position in annotations:
            setattr(instance, name, row[position])
        return instance

    return build


class _RelatedPopulator(querysets.RelatedPopulator):  # type: ignore[misc]
    """Django's ``select_related`` populator, building its instances with ``_constructor``."""

    def __init__(self, klass_info: dict[str, Any], select: Any, db: str) -> None:
        super().__init__(klass_info, select, db)  # type: ignore[call-arg]  # django-stubs describe a later Django
        self.construct = _constructor(self.model_cls, self.init_list, db)
        self.related_populators = [
            _RelatedPopulator(info, select, db) for info in klass_info.get("related_klass_infos", [])
        ]

    def populate(self, row: Any, from_obj: Model) -> None:
        data = self.reorder_for_init(row) if self.reorder_for_init else row[self.cols_start : self.cols_end]
        instance = None if data[self.pk_idx] is None else self.construct(data)
        if instance is not None:
            for populator in self.related_populators:
                populator.populate(row, instance)
        self.local_setter(from_obj, instance)
        if instance is not None:
            self.remote_setter(instance, from_obj)


def _constructor(model_cls: type[Model], attnames: list[str], alias: str) -> Callable[[Any], Model]:
    """``model_cls.from_db(alias, attnames, values)``, or, for a model that neither overrides how it is built
    nor has a field setter of its own, the same instance without the per-field ``__init__`` loop: a row of
    every concrete field in order, whose values ``__init__`` would only store in the instance's ``__dict__``."""
    concrete = [field.attname for field in model_cls._meta.concrete_fields]
    plain = (
        attnames == concrete
        and model_cls.__init__ is Model.__init__
        and getattr(model_cls.from_db, "__func__", None) is getattr(Model.from_db, "__func__", None)
        and all(_stored_as_is(model_cls, name) for name in attnames)
    )

    def from_db(values: Any) -> Model:
        return model_cls.from_db(alias, attnames, values)

    def fast(values: Any) -> Model:
        if pre_init.has_listeners(model_cls) or post_init.has_listeners(model_cls):
            return from_db(values)
        instance = model_cls.__new__(model_cls)
        state = instance._state = ModelState()
        instance.__dict__.update(zip(attnames, values, strict=True))
        state.adding = False
        state.db = alias
        return instance

    return fast if plain else from_db


def _stored_as_is(model_cls: type[Model], attname: str) -> bool:
    """Whether setting the attribute on a new instance only stores the value in its ``__dict__``."""
    descriptor = inspect.getattr_static(model_cls, attname, None)
    return not hasattr(type(descriptor), "__set__") or type(descriptor) is ForeignKeyDeferredAttribute
