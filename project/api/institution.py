"""Institution dataset list dialect (``/api/v1/``): signed query strings and ``{code: 2xx, message}`` errors.

The seed fixes 208 and 213-216; the other codes are this service's own and documented in README.md.
"""

from typing import Any

from django.http import HttpRequest
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from project.api.authentication import SignatureAuthentication
from project.api.base import Dialect, DialectAPIView, OffsetLimitPagination
from project.api.errors import ErrorRecord, numbered_error_schemas

MESSAGES = {
    0: "调用成功",
    201: "SecretId、Timestamp或Signature参数缺失",
    202: "SecretId不存在或已停用",
    203: "Timestamp参数错误或已超出5分钟有效期",
    204: "Signature签名错误",
    205: "接口不存在",
    207: "服务内部错误",
    208: "type类型错误",
    209: "参数错误",
    210: "请求过于频繁",
    211: "请求方法不支持",
    212: "无权访问",
    213: "limit参数类型错误",
    214: "limit参数长度超过限制",
    215: "limit参数必须大于0",
    216: "offset参数类型错误",
    217: "Signature已被使用，请重新签名",
}

_UNAUTHORIZED_CODES = {"missing": 201, "unknown_key": 202, "timestamp": 203, "signature": 204, "replay": 217}
# (field, reason) -> code; a reason of None covers every reason for that field.
_INVALID_CODES: dict[tuple[str, str | None], int] = {
    ("type", None): 208,
    ("offset", None): 216,
    ("limit", "type"): 213,
    ("limit", "too_large"): 214,
    ("limit", "not_positive"): 215,
}

ERRORS: dict[str, tuple[int, int]] = {
    "malformed": (400, 209),
    "missing": (400, 209),
    "invalid": (400, 209),
    "files_invalid": (400, 209),
    "storage_object_missing": (400, 209),
    "conflict": (409, 209),
    "unauthorized": (401, 201),
    "forbidden": (403, 212),
    "not_allowed": (403, 212),
    "not_found": (404, 205),
    "method_not_allowed": (405, 211),
    "too_large": (413, 209),
    "throttled": (429, 210),
    "unavailable": (503, 207),
    "internal": (500, 207),
}


class Institution(Dialect):
    """The institution dialect."""

    name = "institution"
    title = "Institution dataset list"
    prefixes = ("/api/v1/",)

    def error_body(self, record: ErrorRecord, request: HttpRequest) -> tuple[int, dict[str, Any]]:
        """Map the record to a 2xx code; parameter and signature failures have codes of their own."""
        status, code = ERRORS.get(record.kind, ERRORS["internal"])
        if record.kind == "unauthorized":
            code = _UNAUTHORIZED_CODES.get(record.context.get("reason", ""), code)
        elif record.kind == "invalid":
            reason = record.context.get("reason")
            code = _INVALID_CODES.get((record.field, reason)) or _INVALID_CODES.get((record.field, None)) or code
        return status, {"code": code, "message": MESSAGES[code]}

    def error_schemas(self) -> dict[int, dict[str, Any]]:
        """The JSON schema of the error body at each status the tables answer with."""
        status_of = {kind: status for kind, (status, _) in ERRORS.items()}
        pairs = [
            *ERRORS.values(),
            *((status_of["unauthorized"], code) for code in _UNAUTHORIZED_CODES.values()),
            *((status_of["invalid"], code) for code in _INVALID_CODES.values()),
        ]
        return numbered_error_schemas(pairs, MESSAGES)


DIALECT = Institution()


class InstitutionPagination(OffsetLimitPagination):
    """``limit`` (1 to 100, default 20) and ``offset`` (default 0)."""

    default_limit = 20
    max_limit = 100

    def get_paginated_response(self, data: list) -> Response:
        """Wrap the page as ``{code, message, datasetCount, datasets}``."""
        return Response({"code": 0, "message": MESSAGES[0], "datasetCount": self.total, self.list_key: data})


def envelope(list_key: str, item: type[serializers.Serializer]) -> serializers.Serializer:
    """The schema of a list response: ``{code, message, datasetCount, <list_key>: [item]}``."""
    return inline_serializer(
        name=f"Institution{list_key.title()}Page",
        fields={
            "code": serializers.IntegerField(),
            "message": serializers.CharField(),
            "datasetCount": serializers.IntegerField(),
            list_key: item(many=True),
        },
    )


class InstitutionView(DialectAPIView):
    """Base view for institution endpoints: every request signed with a signing key."""

    dialect = DIALECT
    authentication_classes = [SignatureAuthentication]
    permission_classes: list = []
    pagination_class = InstitutionPagination
