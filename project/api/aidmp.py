"""AIDMP public datasets dialect (``/aids/aidmp/data/v1/``).

Errors follow the gateway convention of that service: ``{code, message, details}`` where ``code`` is the
gRPC status number and the HTTP status matches it.
"""

from typing import Any

from django.http import HttpRequest
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from project.api.authentication import OptionalAccessKeyAuthentication
from project.api.base import Dialect, DialectAPIView, PageNumberPagination
from project.api.errors import ErrorRecord, codes_by_status

# kind -> (HTTP status, gRPC status code)
ERRORS: dict[str, tuple[int, int]] = {
    "malformed": (400, 3),
    "missing": (400, 3),
    "invalid": (400, 3),
    "files_invalid": (400, 3),
    "storage_object_missing": (400, 9),
    "not_allowed": (400, 9),
    "unauthorized": (401, 16),
    "forbidden": (403, 7),
    "not_found": (404, 5),
    "method_not_allowed": (405, 12),
    "conflict": (409, 6),
    "too_large": (413, 8),
    "throttled": (429, 8),
    "unavailable": (503, 14),
    "internal": (500, 13),
}


class Aidmp(Dialect):
    """The AIDMP dialect."""

    name = "aidmp"
    title = "AIDMP public datasets"
    prefixes = ("/aids/aidmp/data/v1/",)

    def error_body(self, record: ErrorRecord, request: HttpRequest) -> tuple[int, dict[str, Any]]:
        """Map the record to an HTTP status and gRPC code."""
        status, code = ERRORS.get(record.kind, ERRORS["internal"])
        return status, {"code": code, "message": record.message, "details": []}

    def error_schemas(self) -> dict[int, dict[str, Any]]:
        """The JSON schema of the error body at each status the table answers with."""
        return {
            status: {
                "type": "object",
                "properties": {
                    "code": {"type": "integer", "enum": codes},
                    "message": {"type": "string"},
                    "details": {"type": "array", "items": {"type": "object"}},
                },
                "required": ["code", "message", "details"],
                "additionalProperties": False,
            }
            for status, codes in codes_by_status(ERRORS.values()).items()
        }


DIALECT = Aidmp()


class AidmpPagination(PageNumberPagination):
    """``page`` (default 1) and ``page_size`` (default 10, 0 to 1000; 0 asks only for the total)."""

    size_param = "page_size"
    default_size = 10
    min_size = 0
    max_size = 1000

    def params(self, request: Any) -> dict[str, Any]:
        """The query string over a JSON body's fields, since the seed's example sends them in a GET body."""
        body = request.data if isinstance(request.data, dict) else {}
        return {**body, **request.query_params.dict()}


def envelope(list_key: str, item: type[serializers.Serializer]) -> serializers.Serializer:
    """The schema of a list response: ``{<list_key>: [item], total}``."""
    return inline_serializer(
        name=f"Aidmp{list_key.title()}Page", fields={list_key: item(many=True), "total": serializers.IntegerField()}
    )


class AidmpView(DialectAPIView):
    """Base view for AIDMP endpoints: public, with an optional ``X-Token``."""

    dialect = DIALECT
    authentication_classes = [OptionalAccessKeyAuthentication]
    permission_classes = [AllowAny]
    pagination_class = AidmpPagination
