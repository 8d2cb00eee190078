"""The garbage-collection fence: writers of versioned content share it, a collection's mark takes it alone.

A transaction that stores ranges, trees or segment metadata, stages entries or registers objects calls
``fence_share`` before it writes, and stamps what it writes after that. A collection takes the fence
exclusively (``fence_mark``), which waits for every such transaction in flight, and reads the time: whatever
was written before is visible to its mark, whatever is written after carries a later stamp and is kept.
On SQLite the database itself serialises writers, and the mark's write to the fence row waits for them.

Lock order: a writer shares the fence after the row locks it takes (dataset, branch, draft), never before
one, so a writer waiting for the fence behind a collection never holds what a fence holder waits for.
"""

from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from versioning.models import GcFence

_SHARE = {"mysql": "LOCK IN SHARE MODE", "postgresql": "FOR SHARE"}


def _shared_until_commit() -> None:
    """Registered to run on commit by the transaction that shares the fence: its mark that it holds it."""


def _held() -> bool:
    """Whether the current transaction already shares the fence.

    The mark is an on-commit callback, so it lives exactly as long as the transaction (a commit runs the
    callbacks, a rollback drops them, and a savepoint rolled back drops the mark made in it: the fence is then
    taken again, which is harmless since a lock taken stays held until the transaction ends).
    """
    return any(entry[1] is _shared_until_commit for entry in connection.run_on_commit)


def fence_share() -> None:
    """Hold the fence shared until the current transaction ends (for the statement alone in autocommit).

    A transaction takes it once: further calls in it cost nothing.
    """
    clause = _SHARE.get(connection.vendor)
    if clause is None:
        return
    if connection.in_atomic_block and _held():
        return
    table = connection.ops.quote_name(GcFence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE id = 1 {clause}")
    if connection.in_atomic_block:
        transaction.on_commit(_shared_until_commit)


def fence_hold() -> None:
    """Hold the fence exclusively until the current transaction ends: no writer stages or commits meanwhile."""
    GcFence.objects.select_for_update().filter(pk=1).first()
    GcFence.objects.filter(pk=1).update(marked_at=F("marked_at"))  # a write, so SQLite takes its lock too


def fence_mark() -> datetime:
    """Wait until no writer holds the fence, record the time and return it: the start of a mark."""
    GcFence.objects.get_or_create(pk=1)
    with transaction.atomic():
        fence_hold()
        marked_at = timezone.now()
        GcFence.objects.filter(pk=1).update(marked_at=marked_at)
    return marked_at
