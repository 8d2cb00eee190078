"""``manage.py gc_versions [--dry-run] [--older-than DAYS]``: delete versioned content and objects nothing reaches."""

import sys
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from project import errors
from versioning import services
from versioning.garbage import CollectionReport

DEFAULT_GRACE_DAYS = 7.0


def _bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"


class Command(BaseCommand):
    help = (
        "Delete trees, ranges, segment metadata, object records and storage objects that no commit, tag, branch "
        "or draft of any dataset reaches (and the objects of deleted datasets), once older than the grace period."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="report what would be deleted, delete nothing")
        parser.add_argument(
            "--older-than",
            type=float,
            default=DEFAULT_GRACE_DAYS,
            metavar="DAYS",
            help=f"grace period: keep anything written less than DAYS ago (default {DEFAULT_GRACE_DAYS:g})",
        )
        parser.add_argument("--no-progress", action="store_true", help="print no progress bars")

    def handle(self, *args: Any, dry_run: bool, older_than: float, no_progress: bool, **options: Any) -> None:
        try:
            report = services.garbage_collect(
                grace=timedelta(days=older_than),
                dry_run=dry_run,
                progress=None if no_progress else getattr(self.stderr, "_out", sys.stderr),
            )
        except errors.DomainError as error:
            raise CommandError(str(error)) from error
        self._print(report)
        if report.errors:
            raise CommandError(f"{len(report.errors)} error(s); everything else was collected")

    def _print(self, report: CollectionReport) -> None:
        verb = "would delete" if report.dry_run else "deleted"
        self.stdout.write(f"mark at {report.marked_at.isoformat()}; keeping anything written after {report.cutoff}")
        for kind, tally in report.tallies.items():
            done = tally.found - tally.kept if report.dry_run else tally.deleted
            done_bytes = tally.found_bytes - tally.kept_bytes if report.dry_run else tally.deleted_bytes
            line = f"{kind}: {tally.found} unreachable, {verb} {done}"
            if tally.found_bytes:
                line += f" ({_bytes(done_bytes)})"
            if tally.kept:
                line += f", kept {tally.kept} too recent or in use again"
            self.stdout.write(line)
        for error in report.errors:
            self.stderr.write(error)
