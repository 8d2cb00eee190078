"""The cache of dataset list pages, retired all at once by a catalog generation every relevant change renews.

A reader takes the generation before it queries, and a writer renews it again once its transaction commits,
so a page built from data read before a commit is stored under a generation nobody reads any more. The
cache is optional: when it fails, lists are built from the database and writes still succeed.
"""

import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from project.cache import CACHE_UNREACHABLE

GENERATION_KEY = "catalog-generation"

logger = logging.getLogger(__name__)


def _renew_generation() -> None:
    try:
        cache.set(GENERATION_KEY, uuid.uuid4().hex, None)
    except CACHE_UNREACHABLE as error:
        # Only the type: a cache error's text can carry its URL, password included.
        logger.warning("cache unavailable, cached list pages expire on their own (%s)", type(error).__name__)


def catalog_changed() -> None:
    """Retire every cached list page: now, and again when the current transaction commits."""
    _renew_generation()
    if connection.in_atomic_block:
        transaction.on_commit(_renew_generation)


def _generation() -> str:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        generation = uuid.uuid4().hex
        if not cache.add(GENERATION_KEY, generation, None):
            generation = cache.get(GENERATION_KEY) or generation
    return str(generation)


def list_page_cached(*, namespace: str, parts: Sequence[str], build: Callable[[], bytes]) -> bytes:
    """The bytes ``build()`` returns for these parts, from the cache while nothing they show has changed."""
    seconds = settings.LIST_CACHE_SECONDS
    if seconds <= 0:
        return build()
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    try:
        key = f"list:{namespace}:{_generation()}:{digest}"
        cached = cache.get(key)
    except CACHE_UNREACHABLE as error:
        logger.warning("cache unavailable, building the list page from the database (%s)", type(error).__name__)
        return build()
    if cached is not None:
        return bytes(cached)
    page = build()
    try:
        cache.set(key, page, seconds)
    except CACHE_UNREACHABLE as error:
        logger.warning("cache unavailable, the list page is not kept (%s)", type(error).__name__)
    return page
