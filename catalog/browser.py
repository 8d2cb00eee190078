"""The content browser: what a dataset page, its diff page and their previews show, for the public catalog
and the admin alike.

Each page reads one page of entries (or of changes) through ``versioning.selectors``, so its cost depends on
the page size, never on the dataset's. Preview links are signed: they name the dataset, the commit, the path
and who may follow them (``public`` or ``admin``), and the preview view checks that right again.
"""

from dataclasses import dataclass, field
from typing import Any

from django.core import signing

from catalog import previews
from datasets.models import Dataset
from project import errors
from storage_configs.backends import StorageBackend, backend_for
from versioning import selectors
from versioning.trees import Entry

PUBLIC = "public"
ADMIN = "admin"
PREVIEW_SALT = "catalog.preview"
PER_PAGE = 24
MAX_PER_PAGE = 100
HISTORY_PER_PAGE = 10
SEGMENTS_SHOWN = 200
NAMES_SHOWN = 100


@dataclass(frozen=True)
class Paging:
    """A page number and size as a visitor asked for them (already checked to be positive and bounded)."""

    page: int = 1
    per_page: int = PER_PAGE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(frozen=True)
class Pager:
    """Where a paged list is: page ``number`` of ``pages``, over ``total`` items."""

    number: int
    pages: int
    total: int


@dataclass
class EntryView:
    """One file as the browser shows it: its entry, and an image preview URL or the head of its text."""

    entry: Entry
    kind: str
    preview_token: str = ""
    text: previews.TextPreview | None = None
    problem: str = ""
    label_types: list[str] = field(default_factory=list)


def page_check(*, paging: Paging, total: int) -> Pager:
    """The pager of a list, refusing a page past its end (page 1 of an empty list exists)."""
    pages = max((total + paging.per_page - 1) // paging.per_page, 1)
    if paging.page > pages:
        raise errors.NotFound(f"page {paging.page} does not exist: there are {pages}", page=paging.page)
    return Pager(number=paging.page, pages=pages, total=total)


def preview_token(*, scope: str, dataset: Dataset, commit_id: str, path: str) -> str:
    """A signed name of one file's preview at one commit, for visitors of ``scope``."""
    return signing.dumps([scope, dataset.pk, commit_id, path], salt=PREVIEW_SALT, compress=True)


def preview_grant(*, token: str) -> tuple[str, int, str, str]:
    """(scope, dataset id, commit id, path) a preview token names; a forged or altered one does not exist."""
    try:
        scope, dataset_id, commit_id, path = signing.loads(token, salt=PREVIEW_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        raise errors.NotFound("this preview link is not valid") from None
    return str(scope), int(dataset_id), str(commit_id), str(path)


def entry_view(*, scope: str, dataset: Dataset, backend: StorageBackend, commit_id: str, entry: Entry) -> EntryView:
    """What the browser shows of one entry; a file that cannot be previewed says why instead."""
    kind = previews.preview_kind(entry.path)
    view = EntryView(entry=entry, kind=kind, label_types=sorted((entry.label or {}).keys()))
    if kind == "image":
        view.preview_token = preview_token(scope=scope, dataset=dataset, commit_id=commit_id, path=entry.path)
    elif kind == "text":
        try:
            view.text = previews.text_preview_get(backend=backend, entry=entry)
        except errors.DomainError as problem:
            view.problem = problem.message
    return view


def _revisions(dataset: Dataset) -> dict[str, Any]:
    branches = selectors.branch_list(dataset=dataset)
    tags = selectors.tag_list(dataset=dataset)
    return {
        "branches": list(branches[:NAMES_SHOWN]),
        "branch_count": branches.count(),
        "version_tags": list(tags[:NAMES_SHOWN]),
        "version_tag_count": tags.count(),
    }


def browse(
    *,
    dataset: Dataset,
    scope: str,
    diff_url: str,
    revision: str,
    segment: str | None,
    paging: Paging,
    history: Paging,
) -> dict[str, Any]:
    """A dataset at a revision: its branches and tags, a page of its history, its segments and one page of
    the chosen segment's files (the first segment's when none is chosen)."""
    resolved = selectors.revision_resolve(dataset=dataset, revision=revision or dataset.default_branch)
    commits = selectors.commit_list(revision=resolved, offset=history.offset, limit=history.per_page)
    history_pager = page_check(paging=history, total=commits.total)
    segments = selectors.segment_list(revision=resolved, offset=0, limit=SEGMENTS_SHOWN)
    chosen = segment if segment is not None else (segments.items[0].name if segments.items else None)
    files: list[EntryView] = []
    if chosen is None:
        file_pager = page_check(paging=paging, total=0)
    else:
        entries = selectors.entry_list(revision=resolved, segment=chosen, offset=paging.offset, limit=paging.per_page)
        file_pager = page_check(paging=paging, total=entries.total)
        backend = backend_for(dataset.storage_config)
        files = [
            entry_view(scope=scope, dataset=dataset, backend=backend, commit_id=resolved.commit_id, entry=entry)
            for entry in entries.items
        ]
    return {
        **_revisions(dataset),
        "dataset": dataset,
        "diff_url": diff_url,
        "revision": resolved,
        "commits": commits.items,
        "history_pager": history_pager,
        "segments": segments.items,
        "segment_count": segments.total,
        "segment": chosen,
        "files": files,
        "file_pager": file_pager,
        "per_page": paging.per_page,
    }


@dataclass
class ChangeView:
    """One changed file: what it was at the base and what it is at the head (None where it is absent)."""

    path: str
    action: str
    old: EntryView | None
    new: EntryView | None


def diff(*, dataset: Dataset, scope: str, head: str, base: str, paging: Paging) -> dict[str, Any]:
    """The files added, modified and removed from ``base`` (default: the head's parent) to ``head``."""
    head_revision = selectors.revision_resolve(dataset=dataset, revision=head or dataset.default_branch)
    base_revision = (
        selectors.revision_resolve(dataset=dataset, revision=base)
        if base
        else selectors.diff_base(revision=head_revision)
    )
    changes = selectors.diff_entries(
        base=base_revision, head=head_revision, offset=paging.offset, limit=paging.per_page
    )
    pager = page_check(paging=paging, total=changes.total)
    segments = selectors.diff_segments(base=base_revision, head=head_revision, offset=0, limit=SEGMENTS_SHOWN)
    backend = backend_for(dataset.storage_config)

    def side(revision: selectors.Revision, entry: Entry | None) -> EntryView | None:
        if entry is None:
            return None
        return entry_view(scope=scope, dataset=dataset, backend=backend, commit_id=revision.commit_id, entry=entry)

    return {
        **_revisions(dataset),
        "head": head_revision,
        "base": base_revision,
        "changes": [
            ChangeView(
                path=change.path,
                action=change.action,
                old=side(base_revision, change.old),
                new=side(head_revision, change.new),
            )
            for change in changes.items
        ],
        "change_pager": pager,
        "segment_changes": segments.items,
        "per_page": paging.per_page,
    }


def preview_image(*, dataset: Dataset, commit_id: str, path: str) -> bytes:
    """The PNG thumbnail of one image file at a commit, with its labels drawn over it."""
    revision = selectors.revision_resolve(dataset=dataset, revision=commit_id)
    segment, _, remote_path = path.partition("/")
    entry = selectors.entry_get(revision=revision, segment=segment, remote_path=remote_path)
    if previews.preview_kind(entry.path) != "image":
        raise errors.Invalid("path", "only images have a preview image")
    thumbnail = previews.thumbnail_get(backend=backend_for(dataset.storage_config), entry=entry)
    return previews.thumbnail_with_labels(thumbnail=thumbnail, label=entry.label)
