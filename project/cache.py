"""The cache as an optional part: when it cannot be reached, reads miss and writes are dropped.

What the cache only smooths over degrades this way: the replay of a POST's first answer to a retry (a retry
then runs again, as it would after the replay window) and per-key or per-address rate limits (not enforced
while the cache is away). What the cache guarantees does not degrade: an institution signature is accepted
once, so while the cache is away signed requests answer the dialect's 503.
"""

import logging
from typing import Any

from django.core.cache import cache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# What django-redis raises when Redis does not answer (it wraps redis-py's errors; the rest are its own).
CACHE_UNREACHABLE: tuple[type[Exception], ...] = (ConnectionInterrupted, RedisConnectionError, RedisTimeoutError)


def optional_get(key: str) -> Any:
    """The cached value, or ``None`` when there is none or the cache cannot be reached."""
    try:
        return cache.get(key)
    except CACHE_UNREACHABLE as error:
        logger.warning("cache unavailable, reading %s as a miss (%s)", key.split(":")[0], type(error).__name__)
        return None


def optional_set(key: str, value: Any, timeout: int) -> None:
    """Store the value, or drop it when the cache cannot be reached."""
    try:
        cache.set(key, value, timeout)
    except CACHE_UNREACHABLE as error:
        logger.warning("cache unavailable, not storing %s (%s)", key.split(":")[0], type(error).__name__)
