"""Read-only admin pages for versioned history: commits and names are changed only through the services."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from versioning.models import Branch, Commit, Draft, Job, Tag


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shows rows without letting the admin bypass the services' locking and invariants."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Commit)
class CommitAdmin(ReadOnlyAdmin):
    list_display = ["id", "dataset", "title", "committer", "committed_at", "entry_count", "total_size"]
    list_select_related = ["dataset__workspace", "committer"]
    search_fields = ["id", "title"]


@admin.register(Branch)
class BranchAdmin(ReadOnlyAdmin):
    list_display = ["name", "dataset", "head", "updated_at"]
    list_select_related = ["dataset__workspace"]
    search_fields = ["name"]


@admin.register(Tag)
class TagAdmin(ReadOnlyAdmin):
    list_display = ["name", "dataset", "commit", "created_at"]
    list_select_related = ["dataset__workspace"]
    search_fields = ["name"]


@admin.register(Draft)
class DraftAdmin(ReadOnlyAdmin):
    list_display = ["number", "dataset", "branch_name", "title", "state", "updated_at"]
    list_select_related = ["dataset__workspace"]
    list_filter = ["state"]


def _side(value: Any) -> str:
    if value is None:
        return "deleted"
    if isinstance(value, dict) and "sha1" in value:
        labels = ", ".join(f"{kind} ×{count}" for kind, count in sorted(value["label"].items())) or "no label"
        return f"sha1 {value['sha1']}, {value['size']} bytes, {labels}"
    return str(value)


JOB_FIELDS: tuple[str, ...] = (
    "id",
    "dataset",
    "job_type",
    "title",
    "description",
    "arguments",
    "status",
    "error_message",
    "result_draft",
    "conflict_count",
    "conflict_table",
    "attempt",
    "created_at",
    "started_at",
    "finished_at",
)


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["title", "dataset", "job_type", "status", "conflict_count", "result_draft", "created_at"]
    list_select_related = ["dataset__workspace", "result_draft"]
    list_filter = ["status", "job_type"]
    search_fields = ["id", "title"]
    fields = JOB_FIELDS
    readonly_fields = JOB_FIELDS

    @admin.display(description="conflicts (source / target)")
    def conflict_table(self, job: Job) -> str:
        """Each kept conflict with both sides' values."""
        if not job.conflicts:
            return "none"
        rows = format_html_join(
            "",
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((c["path"], c["kind"], _side(c["source"]), _side(c["target"])) for c in job.conflicts),
        )
        return format_html(
            '<table class="job-conflicts"><thead><tr><th>path</th><th>kind</th><th>source</th><th>target</th>'
            "</tr></thead><tbody>{}</tbody></table>",
            rows,
        )
