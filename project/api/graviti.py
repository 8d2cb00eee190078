"""Graviti Open API v2 dialect (``/v2/``): snake_case, and (status, code) pairs the graviti SDK registers."""

from typing import Any

from django.http import HttpRequest
from rest_framework.permissions import IsAuthenticated

from project.api.authentication import AccessKeyAuthentication
from project.api.base import Dialect, DialectAPIView, OffsetLimitPagination
from project.api.errors import ErrorRecord

# kind -> (HTTP status, code); a None code is left out, which the SDK reads as a bare 503.
ERRORS: dict[str, tuple[int, str | None]] = {
    "malformed": (400, "InvalidParamsValue"),
    "missing": (400, "RequestParamsMissing"),
    "invalid": (400, "InvalidParamsValue"),
    "files_invalid": (400, "InvalidParamsValue"),
    "storage_object_missing": (400, "InvalidParamsValue"),
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


DIALECT = Graviti()


class GravitiPagination(OffsetLimitPagination):
    """``offset`` and ``limit`` (1 to 128, default 128) into ``{…, offset, record_size, total_count}``."""

    record_size_key = "record_size"
    total_count_key = "total_count"


class GravitiView(DialectAPIView):
    """Base view for Graviti endpoints, authenticated by ``X-Token``."""

    dialect = DIALECT
    authentication_classes = [AccessKeyAuthentication]
    permission_classes = [IsAuthenticated]
    pagination_class = GravitiPagination
