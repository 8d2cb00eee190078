"""Graviti v2 views of sheets, their rows and schemas, at drafts (``DS/drafts/{n}/…``) and commits
(``DS/commits/{c}/…``); data-plane spec §1–§3.

Rows answer with lower-case field names and ``__record_key`` as a string, as the SDK's Arrow view needs. The
``…/records`` routes are the ``…/data`` routes under other names (spec §3.5): the list and body key
``records``, ``columns`` separated by ``,`` and the order in ``sort`` (repeated) instead of ``order_by``.
"""

from datetime import datetime
from typing import Any

from django.http.response import HttpResponseBase
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from datasets.models import Dataset
from project import errors
from project.api.base import CallerMemoView, parse_body, signed_page_cached
from project.api.fields import StrictCharField
from project.api.graviti import EMPTY, Timestamp, envelope
from versioning import selectors, services, sheets
from versioning.api.graviti.history import PAGE_PARAMETERS, DatasetScopedView
from versioning.sheet_order import SHEET_ORDER_MAX_ROWS, OrderColumn

TRUE_TEXTS = ("True", "true", "1")
RECORD_COUNT_PARAMETER = OpenApiParameter("with_record_count", str, enum=["True", "False"])
ORDER_TERMS = (
    "a column is a field name, with `.` into records; `-` before it orders descending. Rows that tie are in "
    "record-key order, and null comes first (last descending). Only scalar columns order rows, and only in "
    f"sheets of at most {SHEET_ORDER_MAX_ROWS} rows (each ordered page reads the whole sheet); without it rows "
    "are in record-key order"
)
DATA_PARAMETERS = [
    OpenApiParameter("columns", str, description="`|`-separated columns, `.` into records; none: every column"),
    OpenApiParameter("order_by", str, description=f"`|`-separated columns to order by: {ORDER_TERMS}"),
    *PAGE_PARAMETERS,
]
RECORDS_PARAMETERS = [
    OpenApiParameter("columns", str, description="`,`-separated columns, `.` into records; none: every column"),
    OpenApiParameter("sort", str, many=True, description=f"a column to order by, repeated for more: {ORDER_TERMS}"),
    # The views share the ``…/data`` views' parameters; ``sort`` stands in for ``order_by`` here.
    OpenApiParameter("order_by", exclude=True),
    *PAGE_PARAMETERS,
]


class SheetSummarySerializer(serializers.Serializer):
    """Sheet list item (data-plane spec §2.1)."""

    name = serializers.CharField()
    created_at = serializers.CharField()
    updated_at = serializers.CharField()
    record_count = serializers.IntegerField(required=False)


class SheetSerializer(SheetSummarySerializer):
    """Sheet detail: the portex schema exactly as it was sent."""

    schema = serializers.CharField()


class SheetCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=255)
    schema = StrictCharField(trim_whitespace=False)
    _avro_schema = StrictCharField(trim_whitespace=False)
    _arrow_schema = StrictCharField(required=False, default="", allow_blank=True, trim_whitespace=False)
    record_key_strategy = StrictCharField(required=False)


class SchemaUpdateSerializer(serializers.Serializer):
    _schema = StrictCharField(trim_whitespace=False)
    _avro_schema = StrictCharField(trim_whitespace=False)
    _arrow_schema = StrictCharField(required=False, default="", allow_blank=True, trim_whitespace=False)
    patch = serializers.ListField(child=serializers.DictField(), required=False)


class RowsSerializer(serializers.Serializer):
    strategy_arguments = serializers.DictField(required=False)
    list_key = "data"

    def get_fields(self) -> dict[str, serializers.Field]:
        # ``data`` is also a Serializer attribute, so the field is added here rather than declared.
        return {**super().get_fields(), self.list_key: serializers.ListField(child=serializers.DictField())}


class RecordsSerializer(RowsSerializer):
    """The rows of the ``…/records`` routes."""

    list_key = "records"


class RecordKeysSerializer(serializers.Serializer):
    record_keys = serializers.ListField(child=StrictCharField())


class RowSerializer(serializers.Serializer):
    """A row: its fields, named in lower case, and its record key."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # A double-underscore name cannot be declared as a class attribute (Python would mangle it).
        return {sheets.RECORD_KEY: serializers.CharField()}


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "False") in TRUE_TEXTS


def _times(revision: selectors.Revision) -> dict[str, str]:
    """When the content last changed: a draft's last change, a commit's time, or the dataset's creation."""
    moment: datetime
    if revision.has_staged_changes:
        moment = revision.draft.updated_at  # type: ignore[union-attr]
    elif revision.commit is not None:
        moment = revision.commit.committed_at
    else:
        moment = revision.dataset.created_at
    text = Timestamp().to_representation(moment)
    return {"created_at": text, "updated_at": text}


def _columns(raw: str, separator: str) -> list[list[str]]:
    """The ``columns`` parameter: names separated by ``separator``, ``.`` into records; empty: every column."""
    return [[name.lower() for name in column.split(".")] for column in raw.split(separator) if column]


def _order(texts: list[str], parameter: str) -> list[OrderColumn]:
    """The columns to order by, each a ``.``-path with ``-`` before it to descend; empty texts are skipped."""
    order = []
    for text in texts:
        if not text:
            continue
        descending = text.startswith("-")
        names = tuple(text[1:].split(".") if descending else text.split("."))
        if not all(names):
            raise errors.Invalid(parameter, f"{text!r} is not a column")
        order.append(OrderColumn(names=names, descending=descending))
    return order


def _project(row: dict[str, Any], columns: list[list[str]]) -> dict[str, Any]:
    """The row with only the named columns (nested ones inside their records)."""
    if not columns:
        return row
    projected: dict[str, Any] = {}
    for names in columns:
        value: Any = row
        for name in names:
            value = value.get(name) if isinstance(value, dict) else None
        target = projected
        for name in names[:-1]:
            target = target.setdefault(name, {})
        target[names[-1]] = value
    return projected


class RevisionScopedView(DatasetScopedView):
    """A view under ``DS/drafts/{draft_number}`` or ``DS/commits/{commit_id}``."""

    def revision(self, request: Request, workspace: str, dataset: str, **ids: Any) -> selectors.Revision:
        """The draft or commit in the path, of the dataset as the caller may use it."""
        found = self.dataset(request, workspace, dataset)
        if "draft_number" in ids:
            return selectors.revision_resolve(dataset=found, revision=int(ids["draft_number"]))
        return selectors.revision_resolve(dataset=found, revision=ids["commit_id"])

    def draft(self, request: Request, workspace: str, dataset: str, draft_number: int) -> Any:
        """The draft in the path, of the dataset as the caller may write it."""
        found: Dataset = self.dataset(request, workspace, dataset)
        return selectors.draft_get(dataset=found, number=draft_number)


class SheetCollectionView(RevisionScopedView):
    """``DS/commits/{c}/sheets`` (and the reads of ``DS/drafts/{n}/sheets``)."""

    list_key = "sheets"

    @extend_schema(
        operation_id="list_commit_sheets",
        parameters=[RECORD_COUNT_PARAMETER, *PAGE_PARAMETERS],
        responses=envelope("sheets", SheetSummarySerializer),
    )
    def get(self, request: Request, workspace: str, dataset: str, **ids: Any) -> Response:
        """List the sheets by name: all of them unless ``offset`` or ``limit`` asks for a page."""
        revision = self.revision(request, workspace, dataset, **ids)
        names = selectors.sheet_list(revision=revision)
        if "offset" in request.query_params or "limit" in request.query_params:
            names = self.paginator.paginate_queryset(names, request, view=self)
        else:
            self.paginator.offset, self.paginator.total, self.paginator.list_key = 0, len(names), self.list_key
        with_count = _flag(request, "with_record_count")
        items = []
        for name in names:
            item: dict[str, Any] = {"name": name, **_times(revision)}
            if with_count:
                item["record_count"] = selectors.segment_entry_count(revision=revision, name=name)
            items.append(item)
        return self.paginator.get_paginated_response(items)


@extend_schema_view(get=extend_schema(operation_id="list_draft_sheets"))
class DraftSheetCollectionView(SheetCollectionView):
    """``DS/drafts/{n}/sheets``: also creates sheets."""

    @extend_schema(operation_id="create_sheet", request=SheetCreateSerializer, responses={201: EMPTY})
    def post(self, request: Request, workspace: str, dataset: str, draft_number: int) -> Response:
        """Create an empty sheet in an open draft, keeping its schema texts as they are."""
        body = parse_body(SheetCreateSerializer, request)
        services.sheet_create(
            draft=self.draft(request, workspace, dataset, draft_number),
            name=body["name"],
            schema=sheets.schema_texts(portex=body["schema"], avro=body["_avro_schema"], arrow=body["_arrow_schema"]),
        )
        return Response({}, status=201)


class SheetView(RevisionScopedView):
    """``DS/commits/{c}/sheets/{sheet}`` (and the reads of ``DS/drafts/{n}/sheets/{sheet}``)."""

    @extend_schema(
        operation_id="get_commit_sheet",
        parameters=[RECORD_COUNT_PARAMETER, OpenApiParameter("schema_format", str, enum=["JSON", "YAML"])],
        responses=SheetSerializer,
    )
    def get(self, request: Request, workspace: str, dataset: str, sheet: str, **ids: Any) -> Response:
        """Describe a sheet: its schema as sent and, with ``with_record_count``, its number of rows."""
        revision = self.revision(request, workspace, dataset, **ids)
        found = selectors.sheet_get(
            revision=revision, name=sheet, with_record_count=_flag(request, "with_record_count")
        )
        body: dict[str, Any] = {"name": found.name, **_times(revision), "schema": found.schema["portex"]}
        if found.record_count is not None:
            body["record_count"] = found.record_count
        return Response(body)


@extend_schema_view(get=extend_schema(operation_id="get_draft_sheet"))
class DraftSheetView(SheetView):
    """``DS/drafts/{n}/sheets/{sheet}``: also deletes the sheet."""

    @extend_schema(operation_id="delete_sheet", responses={200: EMPTY})
    def delete(self, request: Request, workspace: str, dataset: str, sheet: str, draft_number: int) -> Response:
        """Delete a sheet and its rows from an open draft."""
        services.sheet_delete(draft=self.draft(request, workspace, dataset, draft_number), name=sheet)
        return Response({})


class SheetDataView(RevisionScopedView, CallerMemoView):
    """``DS/commits/{c}/sheets/{sheet}/data`` (and the reads of ``DS/drafts/{n}/sheets/{sheet}/data``)."""

    list_key = "data"
    column_separator = "|"
    order_parameter = "order_by"

    def order(self, request: Request) -> list[OrderColumn]:
        """The columns ``order_by`` names, separated by ``|``."""
        return _order(request.query_params.get(self.order_parameter, "").split("|"), self.order_parameter)

    @extend_schema(
        operation_id="list_commit_data", parameters=DATA_PARAMETERS, responses=envelope("data", RowSerializer)
    )
    def get(self, request: Request, workspace: str, dataset: str, sheet: str, **ids: Any) -> HttpResponseBase:
        """A page of rows in record-key order (or ``order_by``'s): exactly ``min(limit, record_count - offset)``.

        What a commit holds never changes, so its pages are kept for a while (see ``signed_page_cached``); a
        draft's pages are built each time.
        """
        revision = self.revision(request, workspace, dataset, **ids)
        if revision.has_staged_changes or revision.commit is None:
            return self.rows(request, revision, sheet)
        return signed_page_cached(
            request, parts=(revision.commit.pk,), build=lambda: self.rows(request, revision, sheet)
        )

    def rows(self, request: Request, revision: selectors.Revision, sheet: str) -> Response:
        """One page of the sheet's rows in the order asked for, with only the ``columns`` asked for."""
        columns = _columns(request.query_params.get("columns", ""), self.column_separator)
        order = self.order(request)
        rows = self.paginator.paginate_page(
            lambda offset, limit: selectors.sheet_row_page(
                revision=revision,
                name=sheet,
                offset=offset,
                limit=limit,
                order=order,
                order_field=self.order_parameter,
            ),
            request,
            self,
        )
        return self.paginator.get_paginated_response(
            [{**_project(row, columns), sheets.RECORD_KEY: key} for key, row in rows]
        )


@extend_schema_view(get=extend_schema(operation_id="list_draft_data"))
class DraftSheetDataView(SheetDataView):
    """``DS/drafts/{n}/sheets/{sheet}/data``: also adds, updates and deletes rows."""

    rows_serializer: type[RowsSerializer] = RowsSerializer

    @extend_schema(operation_id="add_data", request=RowsSerializer, responses={201: EMPTY})
    def post(self, request: Request, workspace: str, dataset: str, sheet: str, draft_number: int) -> Response:
        """Append rows (at most 2,048) under new record keys, after every existing row."""
        body = parse_body(self.rows_serializer, request)
        draft = self.draft(request, workspace, dataset, draft_number)
        services.sheet_rows_add(draft=draft, name=sheet, rows=body[self.rows_serializer.list_key])
        return Response({}, status=201)

    @extend_schema(operation_id="update_data", request=RowsSerializer, responses={200: EMPTY})
    def patch(self, request: Request, workspace: str, dataset: str, sheet: str, draft_number: int) -> Response:
        """Merge each row's top-level fields into the row its ``__record_key`` names, in order."""
        body = parse_body(self.rows_serializer, request)
        draft = self.draft(request, workspace, dataset, draft_number)
        services.sheet_rows_update(draft=draft, name=sheet, rows=body[self.rows_serializer.list_key])
        return Response({})

    @extend_schema(operation_id="delete_data", request=RecordKeysSerializer, responses={200: EMPTY})
    def delete(self, request: Request, workspace: str, dataset: str, sheet: str, draft_number: int) -> Response:
        """Delete the rows the JSON body's ``record_keys`` name."""
        body = parse_body(RecordKeysSerializer, request)
        draft = self.draft(request, workspace, dataset, draft_number)
        services.sheet_rows_delete(draft=draft, name=sheet, record_keys=body["record_keys"])
        return Response({})


class RecordsRoutes:
    """The ``…/records`` names of the ``…/data`` routes (spec §3.5)."""

    list_key = "records"
    column_separator = ","
    order_parameter = "sort"
    rows_serializer: type[RowsSerializer] = RecordsSerializer

    def order(self, request: Request) -> list[OrderColumn]:
        """The columns ``sort`` names, one per value (repeated for more)."""
        return _order(request.query_params.getlist(self.order_parameter), self.order_parameter)


RECORDS_PAGE = envelope("records", RowSerializer)


@extend_schema_view(
    get=extend_schema(operation_id="list_commit_records", parameters=RECORDS_PARAMETERS, responses=RECORDS_PAGE)
)
class SheetRecordsView(RecordsRoutes, SheetDataView):
    """``DS/commits/{c}/sheets/{sheet}/records`` (and the reads of ``DS/drafts/{n}/sheets/{sheet}/records``)."""


@extend_schema_view(
    get=extend_schema(operation_id="list_draft_records", parameters=RECORDS_PARAMETERS, responses=RECORDS_PAGE),
    post=extend_schema(operation_id="add_records", request=RecordsSerializer),
    patch=extend_schema(operation_id="update_records", request=RecordsSerializer),
    delete=extend_schema(operation_id="delete_records"),
)
class DraftSheetRecordsView(RecordsRoutes, DraftSheetDataView):
    """``DS/drafts/{n}/sheets/{sheet}/records``: also adds, updates and deletes rows."""


class SheetSchemaView(RevisionScopedView):
    """``DS/drafts/{n}/sheets/{sheet}/schema``."""

    @extend_schema(operation_id="update_schema", request=SchemaUpdateSerializer, responses={200: EMPTY})
    def patch(self, request: Request, workspace: str, dataset: str, sheet: str, draft_number: int) -> Response:
        """Replace the sheet's schema with the whole new one; existing rows read a new field as null."""
        body = parse_body(SchemaUpdateSerializer, request)
        services.sheet_schema_set(
            draft=self.draft(request, workspace, dataset, draft_number),
            name=sheet,
            schema=sheets.schema_texts(portex=body["_schema"], avro=body["_avro_schema"], arrow=body["_arrow_schema"]),
        )
        return Response({})
