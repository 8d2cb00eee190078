"""``manage.py import_files WORKSPACE/DATASET FILE``: register objects as entries in one commit or one draft."""

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from datasets import selectors, services
from datasets.import_sources import SOURCE_FORMATS, file_digest, source_format, source_records
from datasets.management.import_reports import ImportCommand
from datasets.models import Dataset, User
from project import errors
from storage_configs.backends import backend_for


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
