"""whale.run dataset service dialect (``/api/``): ``{code, message, data}`` envelopes with 1xxx codes."""

from typing import Any

from django.http import HttpRequest
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from project.api.authentication import ServiceTokenAuthentication
from project.api.base import Dialect, DialectAPIView, PageNumberPagination
from project.api.errors import ErrorRecord, numbered_error_schemas

MESSAGES = {
    0: "Success",
    1000: "Internal Server Error",
    1100: "Bad Request",
    1101: "Unauthorized",
    1103: "Forbidden",
    1104: "Not Found",
    1201: "GET方法url参数不完整",
    1202: "GET方法url参数值错误",
    1401: "POST/PUT方法json数据不完整",
    1402: "POST/PUT方法json数据值或类型错误",
    1430: "oss对象不存在",
    1431: "数据集文件异常",
    1601: "DELETE方法url参数不完整",
    1602: "DELETE方法url参数值错误",
}

# Parameter errors are numbered by where the parameter travelled: a GET URL, a POST/PUT body, a DELETE URL.
_PARAMETER_CODES = {
    ("missing", "GET"): 1201,
    ("invalid", "GET"): 1202,
    ("missing", "BODY"): 1401,
    ("invalid", "BODY"): 1402,
    ("missing", "DELETE"): 1601,
    ("invalid", "DELETE"): 1602,
}


def _parameter_channel(record: ErrorRecord, method: str) -> str:
    """GET, BODY or DELETE: a URL parameter (``location='query'``) of a POST or PUT counts as GET's."""
    if method == "DELETE":
        return "DELETE"
    if method == "GET" or record.context.get("location") == "query":
        return "GET"
    return "BODY"


ERRORS: dict[str, tuple[int, int]] = {
    "malformed": (400, 1100),
    "unauthorized": (401, 1101),
    "forbidden": (403, 1103),
    "not_allowed": (403, 1103),
    "not_found": (404, 1104),
    "method_not_allowed": (405, 1100),
    "conflict": (409, 1402),
    "storage_object_missing": (400, 1430),
    "files_invalid": (400, 1431),
    "too_large": (413, 1100),
    "throttled": (429, 1100),
    "unavailable": (503, 1000),
    "internal": (500, 1000),
}


class WhaleRun(Dialect):
    """The whale.run dialect."""

    name = "whalerun"
    title = "whale.run dataset service"
    prefixes = ("/api/",)

    def error_body(self, record: ErrorRecord, request: HttpRequest) -> tuple[int, dict[str, Any]]:
        """Map the record to a 1xxx code; parameter errors depend on the method."""
        if record.kind in ("missing", "invalid"):
            status, code = 400, _PARAMETER_CODES[(record.kind, _parameter_channel(record, request.method or ""))]
        else:
            status, code = ERRORS.get(record.kind, ERRORS["internal"])
        return status, {"code": code, "message": MESSAGES[code], "data": {}}

    def error_schemas(self) -> dict[int, dict[str, Any]]:
        """The JSON schema of the error body at each status the table answers with."""
        pairs = [*ERRORS.values(), *((400, code) for code in _PARAMETER_CODES.values())]
        return numbered_error_schemas(pairs, MESSAGES, empty_data=True)


DIALECT = WhaleRun()


def success(data: dict[str, Any], status: int = 200) -> Response:
    """Wrap data in the success envelope."""
    return Response({"code": 0, "message": MESSAGES[0], "data": data}, status=status)


def envelope(name: str, data: dict[str, serializers.Field]) -> serializers.Serializer:
    """The schema of a success response: ``{code: 0, message, data: {…}}``."""
    return inline_serializer(
        name=f"WhaleRun{name}Response",
        fields={
            "code": serializers.IntegerField(),
            "message": serializers.CharField(),
            "data": inline_serializer(name=f"WhaleRun{name}Data", fields=data),
        },
    )


class WhaleRunPagination(PageNumberPagination):
    """``page`` (default 1) and ``per_page`` (default 20, at most 100)."""

    size_param = "per_page"
    default_size = 20
    max_size = 100

    def get_paginated_response(self, data: list) -> Response:
        """Wrap the page in the success envelope."""
        return success({self.list_key: data, "total": self.total})


class WhaleRunView(DialectAPIView):
    """Base view for whale.run endpoints: trusted callers, optional shared service token."""

    dialect = DIALECT
    authentication_classes = [ServiceTokenAuthentication]
    permission_classes: list = []
    pagination_class = WhaleRunPagination
