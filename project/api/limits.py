"""Limits on every request under a dialect's prefix: requests per minute per key and per address, body size.

Counters live in the Django cache (Redis in production, so every process shares them) in fixed one-minute
windows, incremented atomically. The cache is optional: when it cannot be reached the request goes through
and a warning is logged.
"""

import hashlib
import logging
import math
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from project import errors
from project.api.base import Dialect
from project.api.dialects import dialect_for_path
from project.api.errors import normalise
from project.cache import CACHE_UNREACHABLE

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60


def client_address(request: HttpRequest) -> str:
    """The address the request came from: ``REMOTE_ADDR``, or behind ``TRUSTED_PROXY_COUNT`` proxies the
    ``X-Forwarded-For`` entry the outermost of them added (entries further left are the client's to forge).
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies < 1:
        return remote
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [entry for entry in forwarded if entry]
    if not forwarded:
        return remote
    return forwarded[-min(proxies, len(forwarded))]


def caller_key(request: HttpRequest, dialect: Dialect) -> str:
    """The credential the request presents: an ``X-Token`` access key, or an institution ``SecretId``."""
    token = request.headers.get("X-Token", "")
    if not token and dialect.name == "institution":
        token = request.GET.get("SecretId", "")
    return token


def window_hit(*, scope: str, identity: str, limit: int, now: float) -> int | None:
    """Count one request of ``identity``; return the seconds to wait when it is over ``limit``, else None."""
    window = int(now // WINDOW_SECONDS)
    # Hashed: a key is a secret and must not be stored, and a hash fits any cache's key rules.
    digest = hashlib.sha256(identity.encode()).hexdigest()
    key = f"ratelimit:{scope}:{digest}:{window}"
    cache.add(key, 0, timeout=2 * WINDOW_SECONDS)
    if cache.incr(key) <= limit:
        return None
    return max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))


def rate_limit(request: HttpRequest, dialect: Dialect) -> None:
    """Raise ``Throttled`` when the caller's key or address has used up its requests for this minute."""
    checks = [
        ("key", caller_key(request, dialect), settings.RATE_LIMIT_PER_KEY),
        ("address", client_address(request), settings.RATE_LIMIT_PER_ADDRESS),
    ]
    now = time.time()
    waits = []
    for scope, identity, limit in checks:
        if limit <= 0 or not identity:
            continue
        try:
            wait = window_hit(scope=scope, identity=identity, limit=limit, now=now)
        except CACHE_UNREACHABLE as error:
            # Only the type: a cache error's text can carry its URL, password included.
            logger.warning("rate limiting skipped, the cache is unavailable (%s)", type(error).__name__)
            return
        if wait is not None:
            waits.append(wait)
    if waits:
        raise errors.Throttled(retry_after=max(waits))


def body_size_limit(request: HttpRequest) -> None:
    """Raise ``TooLarge`` for a body announced larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` before it is read.

    DRF's parsers read the body straight from the stream, past Django's own check of that setting.
    """
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None:
        return
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise errors.Malformed("Content-Length is not a number") from None
    if length > limit:
        raise errors.TooLarge(f"request bodies are limited to {limit} bytes")


class RequestLimitMiddleware:
    """Refuse over-limit requests under a dialect's prefix with that dialect's 429 or 413 error."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        dialect = dialect_for_path(request.path)
        if dialect is None:
            return self.get_response(request)
        try:
            rate_limit(request, dialect)
            body_size_limit(request)
        except errors.DomainError as error:
            return dialect.render_error(normalise(error), request)
        return self.get_response(request)
