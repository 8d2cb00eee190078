"""whale.run dataset service (seed 000): dataset files, datasets, hiding and counters."""

import uuid
from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from datasets import selectors, services
from datasets.models import Dataset
from project import errors
from project.api.base import list_response_cached, parse_body
from project.api.fields import (
    LARGEST_INTEGER,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    datetime_text,
)
from project.api.whalerun import WhaleRunView, envelope, success

ORDER_FIELDS = ("id", "created_at", "updated_at", "title", *services.COUNTERS)


class TrimmableSerializer(serializers.Serializer):
    """An output that ``fields`` may trim to any subset, so the schema requires none of its fields."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for field in fields.values():
            # The schema requires every read-only field; these serializers only ever write responses.
            field.read_only, field.required = False, False
        return fields


class DatasetFileSerializer(TrimmableSerializer):
    id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    name = serializers.CharField()
    oss_object = serializers.CharField()
    size = serializers.IntegerField()
    mime_type = serializers.CharField()
    description = serializers.CharField()
    dataset_id = serializers.IntegerField(allow_null=True)
    parent_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class DatasetSerializer(TrimmableSerializer):
    id = serializers.IntegerField()
    uuid = serializers.CharField(source="uuid.hex")
    user_id = serializers.IntegerField(source="creator_id", allow_null=True)
    title = serializers.CharField()
    description = serializers.CharField()
    license = serializers.SerializerMethodField()
    hidden = serializers.BooleanField()
    featured = serializers.BooleanField()
    total_notebooks = serializers.IntegerField()
    total_topics = serializers.IntegerField()
    total_comments = serializers.IntegerField()
    total_votes = serializers.IntegerField()
    file_ids = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_license(self, dataset: Dataset) -> str:
        return dataset.licence.name if dataset.licence else ""

    def get_file_ids(self, dataset: Dataset) -> list[int]:
        return [file.pk for file in dataset.files.all()]


class DatasetFileCreateSerializer(serializers.Serializer):
    user_id = StrictIntegerField()
    name = StrictCharField(max_length=255)
    oss_object = StrictCharField(max_length=1024)
    size = StrictIntegerField(min_value=0)
    mime_type = StrictCharField(max_length=255, required=False, default="", allow_blank=True)
    description = StrictCharField(required=False, default="", allow_blank=True)


class DatasetWriteSerializer(serializers.Serializer):
    user_id = StrictIntegerField()
    title = StrictCharField(max_length=255)
    description = StrictCharField(allow_blank=True)
    license = StrictCharField(max_length=255, allow_blank=True)
    file_ids = serializers.ListField(child=StrictIntegerField())


class HiddenSerializer(serializers.Serializer):
    user_id = StrictIntegerField()
    hidden = StrictBooleanField()


class DeltaSerializer(serializers.Serializer):
    delta = StrictIntegerField()


FIELDS_PARAMETER = OpenApiParameter("fields", str, description="fields to return, comma-separated")
DATASET_RESPONSE = envelope("Dataset", {"dataset": DatasetSerializer()})


def parse_fields(request: Request, serializer_class: type[serializers.Serializer]) -> list[str] | None:
    """The ``fields`` URL parameter: which fields of each object to return."""
    raw = request.query_params.get("fields")
    if raw is None:
        return None
    names = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = sorted(set(names) - set(serializer_class().fields))
    if not names or unknown:
        raise errors.Invalid("fields", f"unknown fields: {', '.join(unknown) or '(none given)'}", location="query")
    return names


def render(serializer_class: type[serializers.Serializer], instance: Any, fields: list[str] | None) -> Any:
    """Serialize one object or a list, keeping only the requested fields."""
    data = serializer_class(instance, many=isinstance(instance, list)).data
    if fields is None:
        return data
    if isinstance(instance, list):
        return [{name: item[name] for name in fields} for item in data]
    return {name: data[name] for name in fields}


# The columns a list page reads; ``dataset_items`` turns them into exactly what ``DatasetSerializer`` writes.
DATASET_COLUMNS = (
    "id", "uuid", "creator_id", "title", "description", "licence__name", "hidden", "featured", *services.COUNTERS,
    "created_at", "updated_at",
)  # fmt: skip


def dataset_items(rows: list[dict[str, Any]], fields: list[str] | None) -> list[dict[str, Any]]:
    """A page of ``DatasetSerializer`` items built from ``values(*DATASET_COLUMNS)`` rows, files in one query."""
    file_ids = selectors.dataset_file_ids(dataset_ids=[row["id"] for row in rows]) if rows else {}
    items = [
        {
            "id": row["id"],
            "uuid": row["uuid"].hex,
            "user_id": row["creator_id"],
            "title": row["title"],
            "description": row["description"],
            "license": row["licence__name"] or "",
            "hidden": row["hidden"],
            "featured": row["featured"],
            **{counter: row[counter] for counter in services.COUNTERS},
            "file_ids": file_ids.get(row["id"], []),
            "created_at": datetime_text(row["created_at"]),
            "updated_at": datetime_text(row["updated_at"]),
        }
        for row in rows
    ]
    if fields is None:
        return items
    return [{name: item[name] for name in fields} for item in items]


def parse_list(raw: str | None, field: str, convert: Callable[[str], Any]) -> list | None:
    """A comma-separated URL parameter converted item by item (``int``, ``uuid.UUID``)."""
    if raw is None:
        return None
    try:
        return [convert(item.strip()) for item in raw.split(",") if item.strip()]
    except ValueError:
        raise errors.Invalid(field, "must be a comma-separated list", location="query") from None


def column_int(raw: str) -> int:
    """An integer a database column holds; anything else is a ``ValueError``."""
    value = int(raw)
    if not -LARGEST_INTEGER <= value <= LARGEST_INTEGER:
        raise ValueError(raw)
    return value


def parse_flag(raw: str | None, field: str) -> bool | None:
    """A 0/1 URL parameter."""
    if raw is None:
        return None
    if raw not in ("0", "1"):
        raise errors.Invalid(field, "must be 0 or 1", location="query")
    return raw == "1"


def parse_order(raw: str | None) -> tuple[str, ...]:
    """``order_by``: comma-separated fields of the whitelist, ``-`` for descending."""
    if raw is None:
        return ("-id",)
    keys = tuple(key.strip() for key in raw.split(",") if key.strip())
    if not keys or any(key.lstrip("-") not in ORDER_FIELDS for key in keys):
        raise errors.Invalid("order_by", f"must name fields of {', '.join(ORDER_FIELDS)}", location="query")
    return keys


def dataset_payload(dataset_id: int, fields: list[str] | None) -> Response:
    """``{dataset: …}`` for one dataset, reloaded with its files."""
    dataset = selectors.dataset_get_with_files(dataset_id=dataset_id)
    return success({"dataset": render(DatasetSerializer, dataset, fields)})


class DatasetFileCollectionView(WhaleRunView):
    """``POST /api/dataset_files/``."""

    @extend_schema(
        parameters=[FIELDS_PARAMETER],
        request=DatasetFileCreateSerializer,
        responses=envelope("DatasetFile", {"dataset_file": DatasetFileSerializer()}),
    )
    def post(self, request: Request) -> Response:
        fields = parse_fields(request, DatasetFileSerializer)
        data = parse_body(DatasetFileCreateSerializer, request)
        user = selectors.user_get(user_id=data.pop("user_id"))
        dataset_file = services.dataset_file_create(user=user, **data)
        return success({"dataset_file": render(DatasetFileSerializer, dataset_file, fields)})


LIST_PARAMETERS = [
    OpenApiParameter("ids", str, description="dataset ids, comma-separated"),
    OpenApiParameter("uuids", str, description="dataset uuids, comma-separated"),
    OpenApiParameter("user_ids", str, description="owner ids, comma-separated"),
    OpenApiParameter("hidden", int, enum=[0, 1]),
    OpenApiParameter("featured", int, enum=[0, 1]),
    OpenApiParameter("order_by", str, description=f"comma-separated of {', '.join(ORDER_FIELDS)}; '-' descends"),
    OpenApiParameter("page", int, description="default 1"),
    OpenApiParameter("per_page", int, description="default 20, at most 100"),
    FIELDS_PARAMETER,
]


class DatasetCollectionView(WhaleRunView):
    """``GET`` and ``POST /api/datasets/``."""

    list_key = "datasets"

    @extend_schema(
        parameters=LIST_PARAMETERS,
        responses=envelope(
            "DatasetList", {"datasets": DatasetSerializer(many=True), "total": serializers.IntegerField()}
        ),
    )
    def get(self, request: Request) -> HttpResponse:
        return list_response_cached(request, namespace="whalerun-datasets", build=lambda: self.list_page(request))

    def list_page(self, request: Request) -> Response:
        """One page of the filtered, ordered list."""
        params = request.query_params
        fields = parse_fields(request, DatasetSerializer)
        datasets = selectors.dataset_list(
            ids=parse_list(params.get("ids"), "ids", column_int),
            uuids=parse_list(params.get("uuids"), "uuids", uuid.UUID),
            user_ids=parse_list(params.get("user_ids"), "user_ids", column_int),
            hidden=parse_flag(params.get("hidden"), "hidden"),
            featured=parse_flag(params.get("featured"), "featured"),
            order_by=parse_order(params.get("order_by")),
        )
        rows = self.paginator.paginate_rows(datasets, request, self, DATASET_COLUMNS)
        return self.paginator.get_paginated_response(dataset_items(rows, fields))

    @extend_schema(parameters=[FIELDS_PARAMETER], request=DatasetWriteSerializer, responses=DATASET_RESPONSE)
    def post(self, request: Request) -> Response:
        fields = parse_fields(request, DatasetSerializer)
        data = parse_body(DatasetWriteSerializer, request)
        dataset = services.dataset_create_with_files(
            user=selectors.user_get(user_id=data["user_id"]),
            title=data["title"],
            description=data["description"],
            licence=data["license"],
            file_ids=data["file_ids"],
        )
        return dataset_payload(dataset.pk, fields)


class DatasetView(WhaleRunView):
    """``PUT /api/datasets/<id>/``: the owner edits metadata and files."""

    @extend_schema(parameters=[FIELDS_PARAMETER], request=DatasetWriteSerializer, responses=DATASET_RESPONSE)
    def put(self, request: Request, dataset_id: int) -> Response:
        fields = parse_fields(request, DatasetSerializer)
        data = parse_body(DatasetWriteSerializer, request)
        services.dataset_edit_with_files(
            dataset_id=dataset_id,
            user=selectors.user_get(user_id=data["user_id"]),
            title=data["title"],
            description=data["description"],
            licence=data["license"],
            file_ids=data["file_ids"],
        )
        return dataset_payload(dataset_id, fields)


class DatasetHiddenView(WhaleRunView):
    """``PUT /api/datasets/<id>/hidden/``: the owner hides or shows the dataset."""

    @extend_schema(parameters=[FIELDS_PARAMETER], request=HiddenSerializer, responses=DATASET_RESPONSE)
    def put(self, request: Request, dataset_id: int) -> Response:
        fields = parse_fields(request, DatasetSerializer)
        data = parse_body(HiddenSerializer, request)
        user = selectors.user_get(user_id=data["user_id"])
        services.dataset_set_hidden(dataset_id=dataset_id, user=user, hidden=data["hidden"])
        return dataset_payload(dataset_id, fields)


class DatasetCounterView(WhaleRunView):
    """``PUT /api/datasets/<id>/total_<counter>/``: add a delta, atomically, never below zero."""

    counter = ""

    @extend_schema(parameters=[FIELDS_PARAMETER], request=DeltaSerializer, responses=DATASET_RESPONSE)
    def put(self, request: Request, dataset_id: int) -> Response:
        fields = parse_fields(request, DatasetSerializer)
        data = parse_body(DeltaSerializer, request)
        services.dataset_counter_add(dataset_id=dataset_id, counter=self.counter, delta=data["delta"])
        return dataset_payload(dataset_id, fields)
