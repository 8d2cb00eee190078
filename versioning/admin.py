"""Read-only admin pages for versioned history: commits and names are changed only through the services."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from versioning.models import Branch, Commit, Draft, Tag


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
