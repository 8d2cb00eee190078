"""``manage.py import_datasets FILE``: create or update catalog entries from JSON Lines or CSV."""

from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from datasets import services
from datasets.import_sources import SOURCE_FORMATS, dataset_fields_from_record, source_format, source_records
from datasets.management.import_reports import ImportCommand
from project import errors


class Command(ImportCommand):
    help = (
        "Create or update datasets by (workspace, name) from JSON Lines or CSV with the columns workspace, name, "
        "title, description, license, tags ({category: [values]}), type, is_public, storage_config. An absent "
        "field or empty cell keeps the current value. All records are written in one transaction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="a .jsonl or .csv file")
        parser.add_argument("--format", choices=SOURCE_FORMATS, help="the file's format (default: from its suffix)")
        parser.add_argument(
            "--owner", metavar="USERNAME", help="create missing workspaces owned by this user (created if missing)"
        )

    def handle(self, *args: Any, file: Path, format: str | None, owner: str | None, **options: Any) -> None:
        try:
            chosen = source_format(file, format)
            size = file.stat().st_size
        except errors.DomainError as error:
            raise CommandError(error.message) from None
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror}") from None
        report = self.report(options=options, unit="datasets", total=size)
        outcomes: Counter[str] = Counter()
        with transaction.atomic():
            owner_user = services.user_get_or_create(username=owner) if owner else None
            for record in report.good(source_records(file, source_format=chosen)):
                try:
                    _, outcome = services.dataset_import(owner=owner_user, **dataset_fields_from_record(record.fields))
                except errors.DomainError as error:
                    report.fail(record.where, error.message)
                    continue
                outcomes[outcome] += 1
            if options["dry_run"]:
                transaction.set_rollback(True)
        report.summary(
            self,
            created=outcomes["created"],
            updated=outcomes["updated"],
            skipped=outcomes["unchanged"],
            note="dry run: nothing was changed" if options["dry_run"] else "",
        )
