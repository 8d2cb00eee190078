"""TensorBay Open API v1 dialect (``/v1/`` and ``/gatewayv2/tensorbay-open-api/v1/``)."""

from functools import cached_property
from typing import Any

from django.http import HttpRequest
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated

from project.api.authentication import AccessKeyAuthentication
from project.api.base import Dialect, OffsetLimitPagination, ReplayedPostView
from project.api.errors import ErrorRecord, codes_by_status

# kind -> (HTTP status, code string the tensorbay SDK maps to an exception class)
ERRORS: dict[str, tuple[int, str]] = {
    "malformed": (400, "InvalidParamsValue"),
    "missing": (400, "RequestParamsMissing"),
    "invalid": (400, "InvalidParamsValue"),
    "files_invalid": (400, "InvalidParamsValue"),
    "storage_object_missing": (400, "InvalidParamsValue"),
    # The SDK picks its exception by code alone, so the status can say what happened.
    "too_large": (413, "InvalidParamsValue"),
    "unauthorized": (401, "Unauthorized"),
    "forbidden": (403, "AccessDenied"),
    "throttled": (429, "AccessDenied"),
    "not_allowed": (403, "Forbidden"),
    "not_found": (404, "ResourceNotExist"),
    "method_not_allowed": (405, "ResourceNotExist"),
    "conflict": (409, "NameConflict"),
    "unavailable": (503, "InternalServerError"),
    "internal": (500, "InternalServerError"),
}


class TensorBay(Dialect):
    """The TensorBay v1 dialect."""

    name = "tensorbay"
    title = "TensorBay Open API v1"
    prefixes = ("/gatewayv2/tensorbay-open-api/v1/", "/v1/")

    def error_body(self, record: ErrorRecord, request: HttpRequest) -> tuple[int, dict[str, Any]]:
        """Map the record to a status and code string."""
        status, code = ERRORS.get(record.kind, ERRORS["internal"])
        return status, {"code": code, "message": record.message}

    def error_schemas(self) -> dict[int, dict[str, Any]]:
        """The JSON schema of the error body at each status the table answers with."""
        return {
            status: {
                "type": "object",
                "properties": {"code": {"type": "string", "enum": codes}, "message": {"type": "string"}},
                "required": ["code", "message"],
                "additionalProperties": False,
            }
            for status, codes in codes_by_status(ERRORS.values()).items()
        }


DIALECT = TensorBay()


class TensorBayPagination(OffsetLimitPagination):
    """``offset`` and ``limit`` (1 to 128, default 128) into ``{…, offset, recordSize, totalCount}``."""


class TensorBayView(ReplayedPostView):
    """Base view for TensorBay endpoints, authenticated by ``X-Token``; POSTs are replayed to retries."""

    dialect = DIALECT
    authentication_classes = [AccessKeyAuthentication]
    permission_classes = [IsAuthenticated]
    pagination_class = TensorBayPagination
    list_key: str

    @cached_property
    def paginator(self) -> TensorBayPagination:
        """The dialect's paginator for this request."""
        return TensorBayPagination()


EMPTY = inline_serializer(name="TensorBayEmpty", fields={})


def envelope(list_key: str, item: type[serializers.Serializer]) -> serializers.Serializer:
    """The schema of a list response: ``{<list_key>: [item], offset, recordSize, totalCount}``.

    The component is named after the item, since several lists share a key (``data``, ``segments``).
    """
    return inline_serializer(
        name=f"TensorBay{item.__name__.removesuffix('Serializer')}Page",
        fields={
            list_key: item(many=True),
            "offset": serializers.IntegerField(),
            "recordSize": serializers.IntegerField(),
            "totalCount": serializers.IntegerField(),
        },
    )
