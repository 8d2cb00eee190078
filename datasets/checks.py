"""Checks of the catalog's own settings (``manage.py check``, some with ``--deploy`` only)."""

from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.checks import CheckMessage, Tags, Warning, register

# As long as Django asks of a secret key: long enough that it cannot be guessed.
SERVICE_TOKEN_MIN_LENGTH = 32


@register(Tags.security, deploy=True)
def whalerun_service_token_check(**kwargs: Any) -> list[CheckMessage]:
    """Warn when whale.run routes accept any caller: they trust the caller's ``user_id``."""
    token = settings.WHALERUN_SERVICE_TOKEN
    if token and len(token) >= SERVICE_TOKEN_MIN_LENGTH:
        return []
    return [
        Warning(
            "whale.run routes under /api/ trust any caller that reaches them (callers name the acting user)"
            if not token
            else "WHALERUN_SERVICE_TOKEN is short enough to guess",
            hint=f"Set WHALERUN_SERVICE_TOKEN to {SERVICE_TOKEN_MIN_LENGTH}+ random characters and give it to the "
            "services that call the whale.run dialect.",
            id="datasethub.W001",
        )
    ]


@register(Tags.caches)
def list_cache_check(**kwargs: Any) -> list[CheckMessage]:
    """Warn when list pages are cached in a cache each process keeps apart: changes would show late."""
    if settings.LIST_CACHE_SECONDS <= 0 or not isinstance(caches["default"], LocMemCache):
        return []
    return [
        Warning(
            "LIST_CACHE_SECONDS is on with the local-memory cache: a change made through one process does not "
            "retire the list pages and remembered answers other processes keep (a revoked key would still be "
            "answered there)",
            hint="Set REDIS_URL, or LIST_CACHE_SECONDS=0.",
            id="datasethub.W002",
        )
    ]
