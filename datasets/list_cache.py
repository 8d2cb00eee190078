"""The cache of dataset list pages, retired all at once by a catalog generation every relevant change renews.

A reader takes the generation before it queries, and a writer renews it again once its transaction commits,
so a page built from data read before a commit is stored under a generation nobody reads any more. The
cache is optional: when it fails, lists are built from the database and writes still succeed.

A second generation, the access generation, is renewed by every change to who may use which key (keys, users,
memberships, workspaces): answers remembered per caller (``project.api.base.CallerMemoView``) hold both.
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
ACCESS_GENERATION_KEY = "access-generation"

logger = logging.getLogger(__name__)


def _renew(key: str) -> None:
    try:
        cache.set(key, uuid.uuid4().hex, None)
    except CACHE_UNREACHABLE as error:
        # Only the type: a cache error's text can carry its URL, password included.
        logger.warning("cache unavailable, cached answers expire on their own (%s)", type(error).__name__)


def _changed(key: str) -> None:
    _renew(key)
    if connection.in_atomic_block:
        transaction.on_commit(lambda: _renew(key))


def catalog_changed() -> None:
    """Retire every cached list page: now, and again when the current transaction commits."""
    _changed(GENERATION_KEY)


def access_changed() -> None:
    """Retire every answer remembered per caller: now, and again when the current transaction commits."""
    _changed(ACCESS_GENERATION_KEY)


def database_lost() -> None:
    """Retire every cached answer now: a request that lost the database may have committed with only the answer
    lost on the way back, and then the renewals that follow a commit never ran."""
    _renew(GENERATION_KEY)
    _renew(ACCESS_GENERATION_KEY)


def generations(*keys: str) -> tuple[str, ...]:
    """The current value of each generation, starting the ones the cache does not hold. Raises
    ``CACHE_UNREACHABLE`` errors."""
    found = cache.get_many(keys)
    current = []
    for key in keys:
        generation = found.get(key)
        if generation is None:
            generation = uuid.uuid4().hex
            if not cache.add(key, generation, None):
                generation = cache.get(key) or generation
        current.append(str(generation))
    return tuple(current)


def list_page_cached(*, namespace: str, parts: Sequence[str], build: Callable[[], bytes]) -> bytes:
    """The bytes ``build()`` returns for these parts, from the cache while nothing they show has changed."""
    seconds = settings.LIST_CACHE_SECONDS
    if seconds <= 0:
        return build()
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    try:
        key = f"list:{namespace}:{generations(GENERATION_KEY)[0]}:{digest}"
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
