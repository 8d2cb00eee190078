"""What every dialect is made of: an error table with ``render_error``, a base view and paginators."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Protocol

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from rest_framework import serializers
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets import list_cache
from datasets.services import LAST_USED_RESOLUTION
from project import errors
from project.api.errors import ErrorRecord, normalise
from project.api.fields import LARGEST_INTEGER
from project.api.renderers import json_bytes
from project.cache import CACHE_UNREACHABLE, optional_get, optional_set

logger = logging.getLogger(__name__)


class Dialect:
    """A URL prefix plus its error rendering; subclasses fill in the table and the body shape."""

    name: ClassVar[str]
    title: ClassVar[str]
    prefixes: ClassVar[tuple[str, ...]]

    def render_error(self, record: ErrorRecord, request: HttpRequest) -> HttpResponse:
        """Render the record as this dialect's error response."""
        status, body = self.error_body(record, request)
        response = HttpResponse(json_bytes(body), status=status, content_type="application/json")
        if record.retry_after is not None:
            response["Retry-After"] = str(record.retry_after)
        return response

    def error_body(self, record: ErrorRecord, request: HttpRequest) -> tuple[int, dict[str, Any]]:
        """Return the HTTP status and JSON body for the record."""
        raise NotImplementedError

    def exception_handler(self, exc: Exception, context: dict[str, Any]) -> HttpResponse:
        """DRF exception handler for this dialect's views."""
        return self.render_error(normalise(exc), context["request"])

    def owns(self, path: str) -> bool:
        """Whether the path lies under one of this dialect's prefixes."""
        return any(path.startswith(prefix) for prefix in self.prefixes)


class DialectAPIView(APIView):
    """Base view: errors render in the view's dialect, whatever the path it is mounted on."""

    dialect: ClassVar[Dialect]
    pagination_class: ClassVar[type[DialectPagination]]

    @cached_property
    def paginator(self) -> DialectPagination:
        """The dialect's paginator for this request."""
        return self.pagination_class()

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], HttpResponse]:
        """Route every exception through the dialect's renderer."""
        return self.dialect.exception_handler


# How long the first answer to a POST is kept for retries carrying the same X-Request-Id: the SDKs' four
# attempts, without backoff and with 30 s timeouts, are over within two minutes.
REPLAY_SECONDS = 10 * 60


def replay_key(request: HttpRequest, namespace: str) -> str | None:
    """The cache key of a POST's first answer: the caller's token, the path with its query and ``X-Request-Id``."""
    request_id = request.headers.get("X-Request-Id", "")
    token = request.headers.get("X-Token", "")
    if request.method != "POST" or not request_id or not token:
        return None
    caller = hashlib.sha256(token.encode()).hexdigest()
    digest = hashlib.sha256(f"{caller}\n{request.get_full_path()}\n{request_id}".encode()).hexdigest()
    return f"{namespace}-post:{digest}"


class ReplayedPostView(DialectAPIView):
    """A view whose POSTs are safe to retry: the SDKs retry a POST answered 5xx or 429 (or cut off) with the
    same ``X-Request-Id``, and a retry of a POST that succeeded gets the first answer again instead of
    creating twice. Every answer echoes ``X-Request-Id``, so callers can match answers to requests in logs.
    The cache that keeps first answers is optional: without it every request runs.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        key = replay_key(request, self.dialect.name)
        if key is not None:
            first = optional_get(key)
            if first is not None:
                status, data = first
                return self.echo(request, JsonResponse(data, status=status, safe=False))
        response = super().dispatch(request, *args, **kwargs)
        if key is not None and response.status_code in (200, 201):
            optional_set(key, (response.status_code, response.data), REPLAY_SECONDS)  # type: ignore[attr-defined]
        return self.echo(request, response)

    def echo(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        """Send ``X-Request-Id`` back."""
        request_id = request.headers.get("X-Request-Id")
        if request_id:
            response["X-Request-Id"] = request_id
        return response


def list_response_cached(
    request: Request, *, namespace: str, build: Callable[[], Response], vary: Sequence[str] = ()
) -> HttpResponse:
    """Answer a list page from the cache, keyed by the path, the query and ``vary``; errors are never kept."""
    body = list_cache.list_page_cached(
        namespace=namespace,
        parts=(request.get_full_path(), *vary),
        build=lambda: json_bytes(build().data),
    )
    return HttpResponse(body, content_type="application/json")


def signed_page_seconds() -> int:
    """How long a page with signed URLs may be kept: at most a tenth of their lifetime (``STORAGE_URL_EXPIRES``),
    so a URL handed out from the cache keeps at least nine tenths of it, and never longer than
    ``LIST_CACHE_SECONDS``; 0 keeps nothing."""
    return max(0, min(settings.LIST_CACHE_SECONDS, settings.STORAGE_URL_EXPIRES // 10))


def signed_page_cached(request: Request, *, parts: Sequence[str], build: Callable[[], Response]) -> HttpResponse:
    """Answer a page of content that never changes (``parts`` name it, with the path and query) from the cache,
    for ``signed_page_seconds()``. Errors are never kept. The answer names its cache key
    (``signed_page_key``), so ``CallerMemoView`` can send the page again."""
    seconds = signed_page_seconds()
    if seconds <= 0:
        return HttpResponse(json_bytes(build().data), content_type="application/json")
    digest = hashlib.sha256("\n".join((request.get_full_path(), *parts)).encode()).hexdigest()
    key = f"signed-page:{digest}"
    body = optional_get(key)
    if body is None:
        body = json_bytes(build().data)
        optional_set(key, body, seconds)
    response = HttpResponse(body, content_type="application/json")
    response.signed_page_key = key  # type: ignore[attr-defined]
    return response


@dataclass(frozen=True)
class CallerMemo:
    """Where a caller's answer to one URL is remembered, the generations current before it was looked up, and
    what was found: ``(generations, signed page key, headers)`` or ``None``."""

    key: str
    generations: tuple[str, ...]
    found: Any

    @classmethod
    def look_up(cls, request: HttpRequest) -> CallerMemo | None:
        """The memo of a keyed GET; ``None`` when such answers are not kept or the cache cannot be reached."""
        token = request.headers.get("X-Token", "")
        if request.method != "GET" or not token or signed_page_seconds() <= 0:
            return None
        digest = hashlib.sha256(f"{token}\n{request.build_absolute_uri()}".encode()).hexdigest()
        key = f"caller-memo:{digest}"
        names = (list_cache.GENERATION_KEY, list_cache.ACCESS_GENERATION_KEY)
        try:
            found = cache.get_many([key, *names])
            if all(found.get(name) for name in names):
                generations = tuple(str(found[name]) for name in names)
            else:
                generations = list_cache.generations(*names)
        except CACHE_UNREACHABLE as error:
            logger.warning("cache unavailable, answering from the database (%s)", type(error).__name__)
            return None
        return cls(key=key, generations=generations, found=found.get(key))

    def answer(self) -> HttpResponse | None:
        """The remembered answer, if nothing it depended on changed since and its page is still kept."""
        if self.found is None:
            return None
        generations, page_key, headers = self.found
        if tuple(generations) != self.generations:
            return None
        body = optional_get(page_key)
        if body is None:
            return None
        response = HttpResponse(body)
        for name, value in headers:
            response[name] = value
        return response

    def remember(self, response: HttpResponseBase) -> None:
        """Remember a page answer under the generations read before it was built."""
        page_key = getattr(response, "signed_page_key", None)
        if response.status_code != 200 or page_key is None:
            return
        seconds = min(signed_page_seconds(), int(LAST_USED_RESOLUTION.total_seconds()))
        optional_set(self.key, (self.generations, page_key, list(response.items())), seconds)


class CallerMemoView(DialectAPIView):
    """A view whose GET answers may be pages kept by ``signed_page_cached``. A caller answered with such a page
    is remembered: the same key asking for the same URL gets the page again straight from the cache, without
    authenticating, looking up the dataset or resolving the revision again.

    The memo holds the catalog and access generations read before the first answer was built. Any change to
    what that answer depended on (the dataset, its storage, a branch or tag, the key, its user or membership)
    renews one of them, and the memo no longer answers. It lives no longer than the page and at most
    ``LAST_USED_RESOLUTION``, so a key's last use is still recorded to within two of them. List it after the
    dialect's base view (``class V(TensorBayView, CallerMemoView)``): it then runs inside ``ReplayedPostView``,
    and remembered answers echo ``X-Request-Id`` like the others.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        memo = CallerMemo.look_up(request)
        if memo is None:
            return super().dispatch(request, *args, **kwargs)
        answer = memo.answer()
        if answer is not None:
            return answer
        response = super().dispatch(request, *args, **kwargs)
        memo.remember(response)
        return response


def parse_body(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """Validate the JSON body with the serializer; a body that is not an object is a bad value."""
    if not isinstance(request.data, dict):
        raise errors.Invalid("body", "must be a JSON object")
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def parse_int(raw: object, *, field: str, default: int) -> int:
    """Parse an integer parameter (a query string, or a JSON integer), raising ``Invalid(field, 'type')``.

    An integer wider than a database column holds is refused the same way.
    """
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise errors.Invalid(field, "type")
    try:
        value = int(raw)
    except ValueError:
        raise errors.Invalid(field, "type") from None
    if not -LARGEST_INTEGER <= value <= LARGEST_INTEGER:
        raise errors.Invalid(field, "type")
    return value


class PageOfItems(Protocol):
    """A page computed by the domain (items and the whole list's total), like ``versioning.selectors.Page``."""

    @property
    def items(self) -> list: ...

    @property
    def total(self) -> int: ...


def count(items: QuerySet | Sequence) -> int:
    """Count a queryset in the database or a sequence in memory."""
    return items.count() if isinstance(items, QuerySet) else len(items)


class DialectPagination(BasePagination):
    """A dialect's paginator: returns the page itself and knows where its parameters come from."""

    list_key = "results"

    def params(self, request: Any) -> Any:
        """Where the paging parameters are read from."""
        return request.query_params

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list:
        raise NotImplementedError

    def paginate_rows(self, queryset: QuerySet, request: Any, view: Any, columns: Sequence[str]) -> list[dict]:
        raise NotImplementedError

    def get_paginated_response(self, data: Any) -> Response:
        raise NotImplementedError


class OffsetLimitPagination(DialectPagination):
    """``offset``/``limit`` paging into ``{<list>, offset, <record size>, <total count>}``."""

    default_limit = 128
    max_limit = 128
    record_size_key = "recordSize"
    total_count_key = "totalCount"

    def parse(self, params: Any) -> tuple[int, int]:
        """Read and check ``offset`` and ``limit``."""
        offset = parse_int(params.get("offset"), field="offset", default=0)
        limit = parse_int(params.get("limit"), field="limit", default=self.default_limit)
        if offset < 0:
            raise errors.Invalid("offset", "must not be negative")
        if limit < 1:
            raise errors.Invalid("limit", "not_positive")
        if limit > self.max_limit:
            raise errors.Invalid("limit", "too_large")
        if offset > LARGEST_INTEGER - limit:
            raise errors.Invalid("offset", "too large")
        return offset, limit

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list:
        """Return exactly ``min(limit, total - offset)`` items."""
        self.offset, self.limit = self.parse(self.params(request))
        self.total = count(queryset)
        self.list_key = getattr(view, "list_key", "results")
        return list(queryset[self.offset : self.offset + self.limit])

    def paginate_rows(self, queryset: QuerySet, request: Any, view: Any, columns: Sequence[str]) -> list[dict]:
        """The same page as ``paginate_queryset``, as ``values(*columns)`` rows instead of model instances."""
        self.offset, self.limit = self.parse(self.params(request))
        self.total = queryset.count()
        self.list_key = getattr(view, "list_key", "results")
        return list(queryset.prefetch_related(None).values(*columns)[self.offset : self.offset + self.limit])

    def paginate_page(self, fetch: Callable[[int, int], PageOfItems], request: Any, view: Any) -> list:
        """Page a list the domain pages itself: ``fetch(offset, limit)`` returns the items and the total."""
        self.offset, self.limit = self.parse(request.query_params)
        page = fetch(self.offset, self.limit)
        self.total = page.total
        self.list_key = view.list_key
        return page.items

    def get_paginated_response(self, data: Any) -> Response:
        """Wrap one page in the envelope."""
        return Response(
            {
                self.list_key: data,
                "offset": self.offset,
                self.record_size_key: len(data),
                self.total_count_key: self.total,
            }
        )


class PageNumberPagination(DialectPagination):
    """``page``/size paging into ``{<list>, total}``."""

    size_param = "per_page"
    default_size = 20
    min_size = 1
    max_size = 100

    def parse(self, params: Any) -> tuple[int, int]:
        """Read and check the page number and size."""
        page = parse_int(params.get("page"), field="page", default=1)
        size = parse_int(params.get(self.size_param), field=self.size_param, default=self.default_size)
        if page < 1:
            raise errors.Invalid("page", "must be at least 1")
        if not self.min_size <= size <= self.max_size:
            raise errors.Invalid(self.size_param, f"must be between {self.min_size} and {self.max_size}")
        if (page - 1) * size > LARGEST_INTEGER - size:
            raise errors.Invalid("page", "too large")
        return page, size

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list:
        """Return the requested page (empty past the end)."""
        page, size = self.parse(self.params(request))
        self.total = count(queryset)
        self.list_key = getattr(view, "list_key", "results")
        start = (page - 1) * size
        return list(queryset[start : start + size])

    def paginate_rows(self, queryset: QuerySet, request: Any, view: Any, columns: Sequence[str]) -> list[dict]:
        """The same page as ``paginate_queryset``, as ``values(*columns)`` rows instead of model instances."""
        page, size = self.parse(self.params(request))
        self.total = queryset.count()
        self.list_key = getattr(view, "list_key", "results")
        start = (page - 1) * size
        return list(queryset.prefetch_related(None).values(*columns)[start : start + size])

    def get_paginated_response(self, data: list) -> Response:
        """Wrap one page in the envelope."""
        return Response({self.list_key: data, "total": self.total})
