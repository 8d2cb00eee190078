"""Graviti Open API v2 dialect (``/v2/``): snake_case, and (status, code) pairs the graviti SDK registers."""

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Protocol

from django.core.cache import cache
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from project.api.authentication import AccessKeyAuthentication
from project.api.base import Dialect, DialectAPIView, OffsetLimitPagination
from project.api.errors import ErrorRecord

# How long the first answer to a POST is kept for retries carrying the same X-Request-Id: the SDK's four
# attempts, without backoff and with 30 s timeouts, are over within two minutes.
REPLAY_SECONDS = 10 * 60

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


class Timestamp(serializers.DateTimeField):
    """UTC to the second with a literal ``Z``, the only form the SDK's parser is sure to take."""

    def to_representation(self, value: datetime) -> str:
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PageOfItems(Protocol):
    """A page computed by the domain (items and the whole list's total), like ``versioning.selectors.Page``."""

    @property
    def items(self) -> list: ...

    @property
    def total(self) -> int: ...


class GravitiPagination(OffsetLimitPagination):
    """``offset`` and ``limit`` (1 to 128, default 128) into ``{…, offset, record_size, total_count}``."""

    record_size_key = "record_size"
    total_count_key = "total_count"

    def paginate_page(self, fetch: Callable[[int, int], PageOfItems], request: Request, view: Any) -> list:
        """Page a list the domain pages itself: ``fetch(offset, limit)`` returns the items and the total."""
        self.offset, self.limit = self.parse(request.query_params)
        page = fetch(self.offset, self.limit)
        self.total = page.total
        self.list_key = view.list_key
        return page.items

    def get_paginated_response(self, data: Any) -> Response:
        """Wrap one page of serialized items (a serializer's list) in the envelope."""
        return super().get_paginated_response(data)


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


def replay_key(request: HttpRequest) -> str | None:
    """The cache key of a POST's first answer: the caller's token, the path and ``X-Request-Id``."""
    request_id = request.headers.get("X-Request-Id", "")
    token = request.headers.get("X-Token", "")
    if request.method != "POST" or not request_id or not token:
        return None
    caller = hashlib.sha256(token.encode()).hexdigest()
    return "graviti-post:" + hashlib.sha256(f"{caller}\n{request.path}\n{request_id}".encode()).hexdigest()


class GravitiView(DialectAPIView):
    """Base view for Graviti endpoints, authenticated by ``X-Token``.

    The SDK retries a POST answered 5xx or 429 with the same ``X-Request-Id``; a retry of a POST that
    succeeded gets the first answer again instead of creating twice.
    """

    dialect = DIALECT
    authentication_classes = [AccessKeyAuthentication]
    permission_classes = [IsAuthenticated]
    pagination_class = GravitiPagination
    list_key: str

    @cached_property
    def paginator(self) -> GravitiPagination:
        """The dialect's paginator for this request."""
        return GravitiPagination()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        key = replay_key(request)
        if key is not None:
            first = cache.get(key)
            if first is not None:
                status, data = first
                return self.echo(request, JsonResponse(data, status=status, safe=False))
        response = super().dispatch(request, *args, **kwargs)
        if key is not None and response.status_code in (200, 201):
            cache.set(key, (response.status_code, response.data), REPLAY_SECONDS)  # type: ignore[attr-defined]
        return self.echo(request, response)

    def echo(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        """Send ``X-Request-Id`` back, so a caller can match answers to requests in its logs."""
        request_id = request.headers.get("X-Request-Id")
        if request_id:
            response["X-Request-Id"] = request_id
        return response
