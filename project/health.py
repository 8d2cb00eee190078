"""``/healthz``: is every service the hub needs reachable?"""

import logging
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def check_database() -> None:
    """Run a trivial query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    """Write and read back a short-lived key."""
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "ok", timeout=10)
    if cache.get(key) != "ok":
        raise RuntimeError("cache did not return the value just written")
    cache.delete(key)


def check_storage() -> None:
    """Write, read back and delete a small object in the hub's default storage."""
    name = default_storage.save(f"healthz/{uuid.uuid4().hex}", ContentFile(b"ok"))
    try:
        with default_storage.open(name) as stored:
            if stored.read() != b"ok":
                raise RuntimeError("storage did not return the bytes just written")
    finally:
        default_storage.delete(name)


def check_broker() -> None:
    """Connect to the jobs' broker (only when one is configured)."""
    from project.celery import app

    with app.connection_for_write(settings.CELERY_BROKER_URL) as broker:
        broker.ensure_connection(max_retries=1, timeout=2)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "cache": check_cache,
    "storage": check_storage,
    "broker": check_broker,
}


def checks() -> dict[str, Callable[[], None]]:
    """The checks that apply: the broker's only when ``CELERY_BROKER_URL`` names one."""
    return {name: check for name, check in CHECKS.items() if name != "broker" or settings.CELERY_BROKER_URL}


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every check passes; 503 naming each failing part otherwise."""
    report: dict[str, str] = {}
    for name, check in checks().items():
        try:
            check()
        except Exception as error:  # any failure of a service is a health finding, not a crash
            logger.warning("health check %s failed: %s", name, type(error).__name__)
            report[name] = f"unavailable ({type(error).__name__})"
        else:
            report[name] = "ok"
    healthy = all(state == "ok" for state in report.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", **report}, status=200 if healthy else 503)
