"""Graviti Open API v2 dialect (``/v2/``): snake_case, and (status, code) pairs the graviti SDK registers."""

from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from django.http import HttpRequest
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated

from project.api.authentication import AccessKeyAuthentication
from project.api.base import Dialect, OffsetLimitPagination, ReplayedPostView
from project.api.errors import ErrorRecord, codes_by_status

# kind -> (HTTP status, code); a None code is left out, which the SDK reads as a bare 503.
ERRORS: dict[str, tuple[int, str | None]] = {
    "malformed": (400, "InvalidParamsValue"),
    "missing": (400, "RequestParamsMissing"),
    "invalid": (400, "InvalidParamsValue"),
    "files_invalid": (400, "InvalidParamsValue"),
    "storage_object_missing": (400, "InvalidParamsValue"),
    # The SDK registers exceptions by (status, code) and has no 413: a bad value is the closest it knows.
    "too_large": (400, "InvalidParamsValue"),
    "unauthorized": (401, "Unauthorized"),
    "forbidden": (403, "AccessDenied"),
    "not_allowed": (403, "Forbidden"),
    "not_found": (404, "ResourceNotExist"),
    "method_not_allowed": (405, "ResourceNotExist"),
    "conflict": (409, "NameConflict"),
    "throttled": (429, "TooManyRequests"),
    "unavailable": (503, None),
    "internal": (500, "InternalServerError"),
}


class Graviti(Dialect):
    """The Graviti v2 dialect."""

    name = "graviti"
    title = "Graviti Open API v2"
    prefixes = ("/v2/",)

    def error_body(self, record: ErrorRecord, request: HttpRequest) -> tuple[int, dict[str, Any]]:
        """Map the record to a registered (status, code) pair."""
        status, code = ERRORS.get(record.kind, ERRORS["internal"])
        body: dict[str, Any] = {"message": record.message}
        if code is not None:
            body["code"] = code
        return status, body

    def error_schemas(self) -> dict[int, dict[str, Any]]:
        """The JSON schema of the error body at each status the table answers with; a bare status has no code."""
        coded = codes_by_status((status, code) for status, code in ERRORS.values() if code is not None)
        bare = {status for status, code in ERRORS.values() if code is None}
        schemas: dict[int, dict[str, Any]] = {}
        for status in sorted({*coded, *bare}):
            properties: dict[str, Any] = {"message": {"type": "string"}}
            if status in coded:
                properties["code"] = {"type": "string", "enum": coded[status]}
            schemas[status] = {
                "type": "object",
                "properties": properties,
                "required": sorted(properties) if status not in bare else ["message"],
                "additionalProperties": False,
            }
        return schemas


DIALECT = Graviti()


class Timestamp(serializers.DateTimeField):
    """UTC to the second with a literal ``Z``, the only form the SDK's parser is sure to take."""

    def to_representation(self, value: datetime) -> str:
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GravitiPagination(OffsetLimitPagination):
    """``offset`` and ``limit`` (1 to 128, default 128) into ``{…, offset, record_size, total_count}``."""

    record_size_key = "record_size"
    total_count_key = "total_count"


EMPTY = inline_serializer(name="GravitiEmpty", fields={})


def envelope(list_key: str, item: type[serializers.Serializer], **extra: serializers.Field) -> serializers.Serializer:
    """The schema of a list response: ``{<list_key>: [item], offset, record_size, total_count}``."""
    return inline_serializer(
        name=f"Graviti{list_key.title().replace('_', '')}Page",
        fields={
            **extra,
            list_key: item(many=True),
            "offset": serializers.IntegerField(),
            "record_size": serializers.IntegerField(),
            "total_count": serializers.IntegerField(),
        },
    )


class GravitiView(ReplayedPostView):
    """Base view for Graviti endpoints, authenticated by ``X-Token``; POSTs are replayed to retries."""

    dialect = DIALECT
    authentication_classes = [AccessKeyAuthentication]
    permission_classes = [IsAuthenticated]
    pagination_class = GravitiPagination
    list_key: str

    @cached_property
    def paginator(self) -> GravitiPagination:
        """The dialect's paginator for this request."""
        return GravitiPagination()
