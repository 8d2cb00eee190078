"""``manage.py import_files WORKSPACE/DATASET FILE``: register objects as entries in one commit or one draft."""

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from datasets import services
from datasets.import_sources import SOURCE_FORMATS, file_digest, source_format, source_records
from datasets.management.import_reports import ImportCommand, dataset_named, import_note
from datasets.models import User
from project import errors
from storage_configs.backends import backend_for


class Command(ImportCommand):
    help = (
        "Upsert entries (path as segment/remotePath, object, size, sha1, optional label JSON) from JSON Lines or "
        "CSV onto a branch as one commit, or into one new draft with --draft. Streams the file; running it again "
        "changes nothing; an interrupted run leaves nothing behind."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset", metavar="WORKSPACE/DATASET")
        parser.add_argument("file", type=Path, help="a .jsonl or .csv file")
        parser.add_argument("--format", choices=SOURCE_FORMATS, help="the file's format (default: from its suffix)")
        parser.add_argument("--branch", help="branch to commit on (default: the dataset's default branch)")
        parser.add_argument("--message", help="commit or draft title (default: Import FILE)")
        parser.add_argument("--draft", action="store_true", help="stage the entries in a new draft instead")
        parser.add_argument("--verify", action="store_true", help="check each object exists with its size")
        parser.add_argument("--committer", metavar="USERNAME", help="the user recorded as committer")

    def handle(
        self,
        *args: Any,
        dataset: str,
        file: Path,
        format: str | None,
        branch: str | None,
        message: str | None,
        draft: bool,
        verify: bool,
        committer: str | None,
        **options: Any,
    ) -> None:
        try:
            target = dataset_named(dataset)
            chosen = source_format(file, format)
            size = file.stat().st_size
            digest = file_digest(file) if draft else ""
            user = User.objects.filter(username=committer).first() if committer else None
            if committer and user is None:
                raise errors.NotFound(f"user {committer!r} does not exist")
            report = self.report(options=options, unit="lines", total=size)
            entries = report.entries(
                source_records(file, source_format=chosen),
                verify_in=backend_for(target.storage_config) if verify else None,
            )
            result = services.dataset_entries_import(
                dataset=target,
                entries=entries,
                title=message or f"Import {file.name}",
                branch_name=branch,
                committer=user,
                as_draft=draft,
                source_digest=digest,
                dry_run=options["dry_run"],
            )
        except errors.DomainError as error:
            raise CommandError(error.message) from None
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror}") from None
        note = import_note(result, dry_run=options["dry_run"], branch=branch or target.default_branch)
        report.summary(self, created=result.created, updated=result.updated, skipped=result.unchanged, note=note)
