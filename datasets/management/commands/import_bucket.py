"""``manage.py import_bucket WORKSPACE/DATASET --storage-config NAME``: register what a storage already holds."""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from datasets import services
from datasets.import_sources import bucket_records
from datasets.management.import_reports import ImportCommand, dataset_named, import_note
from datasets.models import User
from project import errors
from storage_configs import selectors as storage_selectors
from storage_configs.backends import LIST_PAGE_SIZE, backend_for
from versioning import selectors as versioning_selectors
from versioning.trees import TreeReader, tree_load


class Command(ImportCommand):
    help = (
        "Register every object under a prefix of the dataset's storage config as an entry, without copying, in "
        "one commit. The listing is paged; each object is read once to compute its SHA-1, except objects the "
        "branch already holds with the same key and size (see --rehash). Running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset", metavar="WORKSPACE/DATASET")
        parser.add_argument("--storage-config", required=True, metavar="NAME", help="the dataset's storage config")
        parser.add_argument("--prefix", default="", help="only keys that start with this (relative to the config)")
        parser.add_argument("--segment", default="", help="segment the entries go in (default: the unnamed one)")
        parser.add_argument("--branch", help="branch to commit on (default: the dataset's default branch)")
        parser.add_argument("--message", help="commit title (default: Import PREFIX)")
        parser.add_argument(
            "--page-size", type=int, default=LIST_PAGE_SIZE, metavar="N", help="keys per listing request (default 1000)"
        )
        parser.add_argument("--rehash", action="store_true", help="read every object, even ones already committed")
        parser.add_argument("--committer", metavar="USERNAME", help="the user recorded as committer")

    def handle(
        self,
        *args: Any,
        dataset: str,
        storage_config: str,
        prefix: str,
        segment: str,
        branch: str | None,
        message: str | None,
        rehash: bool,
        page_size: int,
        committer: str | None,
        **options: Any,
    ) -> None:
        try:
            target = dataset_named(dataset)
            config = storage_selectors.storage_config_get(workspace=target.workspace, name=storage_config)
            if target.storage_config_id != config.pk:
                raise errors.Invalid(
                    "storage_config",
                    f"dataset {dataset} keeps its objects in another storage config, not {config.name}",
                )
            user = User.objects.filter(username=committer).first() if committer else None
            if committer and user is None:
                raise errors.NotFound(f"user {committer!r} does not exist")
            branch_name = branch or target.default_branch
            head = versioning_selectors.branch_list(dataset=target, name=branch_name).first()
            known = TreeReader(tree_load(head.head.tree_id)) if head is not None and head.head is not None else None
            report = self.report(options=options, unit="objects")
            records = bucket_records(
                backend=backend_for(config),
                prefix=prefix,
                segment=segment,
                known=known,
                rehash=rehash,
                page_size=max(1, page_size),
            )
            result = services.dataset_entries_import(
                dataset=target,
                entries=report.entries(records),
                title=message or f"Import {prefix or 'everything'} from {config.name}",
                branch_name=branch_name,
                committer=user,
                dry_run=options["dry_run"],
            )
        except errors.DomainError as error:
            raise CommandError(error.message) from None
        note = import_note(result, dry_run=options["dry_run"], branch=branch_name)
        report.summary(self, created=result.created, updated=result.updated, skipped=result.unchanged, note=note)
