"""What every import command shares: common options, the dataset it names, progress, bad records, the summary.

Progress goes to stderr: a tqdm bar with rate and ETA when stderr is a terminal, otherwise one plain line
every ``--progress-every`` records (and a last one), so logs of unattended runs stay readable.
"""

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from datasets import selectors, services
from datasets.import_sources import SourceRecord, entry_from_fields
from datasets.models import Dataset
from project import errors
from storage_configs.backends import StorageBackend
from versioning.trees import Entry

PROGRESS_EVERY = 10_000


class ImportCommand(BaseCommand):
    """An import command: ``--dry-run``, ``--strict`` and ``--progress-every`` on top of its own options."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument("--dry-run", action="store_true", help="do everything, then roll back: change nothing")
        parser.add_argument("--strict", action="store_true", help="stop at the first bad record and change nothing")
        parser.add_argument(
            "--progress-every",
            type=int,
            default=PROGRESS_EVERY,
            metavar="N",
            help=f"without a terminal, print a progress line every N records (default {PROGRESS_EVERY})",
        )
        return parser

    def report(self, *, options: dict[str, Any], unit: str, total: int | None = None) -> "ImportReport":
        """A report for this run, drawing on the terminal when stderr is one."""
        stream: TextIO = getattr(self.stderr, "_out", sys.stderr)
        return ImportReport(
            name=self.__module__.rpartition(".")[2],
            stream=stream,
            unit=unit,
            total=total,
            strict=options["strict"],
            every=max(1, options["progress_every"]),
            terminal=stream.isatty(),
        )


class ImportReport:
    """Counts records, shows progress, reports bad records and writes the summary."""

    def __init__(
        self, *, name: str, stream: TextIO, unit: str, total: int | None, strict: bool, every: int, terminal: bool
    ) -> None:
        self.name = name
        self.stream = stream
        self.unit = unit
        self.total = total
        self.strict = strict
        self.every = every
        self.read = 0
        self.failed = 0
        self.started = time.monotonic()
        self._position = 0
        self._bar = (
            tqdm(total=total, unit="B" if total else unit, unit_scale=True, file=stream, desc=name, dynamic_ncols=True)
            if terminal
            else None
        )

    def fail(self, where: str, reason: str) -> None:
        """Report a bad record; under ``--strict`` stop the whole run (its transaction rolls back)."""
        self.failed += 1
        message = f"{where}: {reason}"
        if self._bar is not None:
            self._bar.write(message, file=self.stream)
        else:
            self.stream.write(message + "\n")
        if self.strict:
            raise CommandError(f"{message} (stopped by --strict; nothing was changed)")

    def advance(self, record: SourceRecord) -> None:
        """Count a record read and show progress."""
        self.read += 1
        if self._bar is not None:
            if self.total:
                self._bar.update(record.position - self._position)
                self._position = record.position
            else:
                self._bar.update(1)
        elif self.read % self.every == 0:
            self._line(record.position)

    def good(self, records: Iterable[SourceRecord]) -> Iterator[SourceRecord]:
        """The records that could be read, reporting the others; counts and progress as they pass."""
        for record in records:
            self.advance(record)
            if record.error:
                self.fail(record.where, record.error)
            else:
                yield record

    def entries(self, records: Iterable[SourceRecord], *, verify_in: StorageBackend | None = None) -> Iterator[Entry]:
        """The entries the good records describe, optionally checked to exist with their size in a storage."""
        for record in self.good(records):
            try:
                entry = entry_from_fields(record.fields)
                if verify_in is not None:
                    _verify(verify_in, entry)
            except errors.DomainError as error:
                self.fail(record.where, error.message)
                continue
            yield entry

    def _line(self, position: int) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        share = f" ({100 * position / self.total:.0f}% of the input)" if self.total else ""
        self.stream.write(
            f"{self.name}: {self.read} {self.unit} read{share}, {self.failed} bad, "
            f"{self.read / elapsed:.0f} {self.unit}/s\n"
        )
        self.stream.flush()

    def close(self) -> None:
        """Finish the bar, or write the last progress line."""
        if self._bar is not None:
            self._bar.close()
        else:
            self._line(self.total or 0)

    def summary(self, command: BaseCommand, *, created: int, updated: int, skipped: int, note: str = "") -> None:
        """Write the summary to stdout; fail the command (exit status 1) when any record failed."""
        self.close()
        command.stdout.write(
            f"{self.name}: created {created}, updated {updated}, skipped {skipped}, failed {self.failed}"
            + (f" — {note}" if note else "")
        )
        if self.failed:
            raise CommandError(f"{self.failed} record(s) failed")


def _verify(backend: StorageBackend, entry: Entry) -> None:
    """Fail unless the entry's object is stored with exactly its size."""
    try:
        stored = backend.size(entry.object_key)
    except errors.StorageObjectMissing:
        raise errors.StorageObjectMissing(f"object {entry.object_key!r} does not exist") from None
    if stored != entry.size:
        raise errors.StorageObjectMissing(f"object {entry.object_key!r} has {stored} bytes, not {entry.size}")


def dataset_named(path: str) -> Dataset:
    """The dataset ``WORKSPACE/DATASET`` names."""
    workspace, slash, name = path.partition("/")
    if not slash or not workspace or not name:
        raise errors.Invalid("dataset", "must be WORKSPACE/DATASET")
    return selectors.dataset_get_by_name(workspace_name=workspace, name=name)


def import_note(result: services.EntriesImported, *, dry_run: bool, branch: str) -> str:
    """What the summary says the run left behind."""
    if result.repeated and result.draft is not None:
        return f"already staged in draft {result.draft.number} by an earlier run of this file"
    if result.commit is None and result.draft is None:
        return f"nothing to commit: branch {branch!r} already holds these entries"
    prefix = "dry run, nothing was changed; it would make " if dry_run else ""
    if result.draft is not None:
        return f"{prefix}draft {result.draft.number} on branch {branch!r}"
    assert result.commit is not None
    return f"{prefix}commit {result.commit.id} on branch {branch!r}"
