"""The curator's admin: datasets with their history and moderation, workspaces, members and keys.

Keys are shown as prefixes only; a new key's secret is shown once, on the page that answers its issue.
Every hide/unhide/feature/unfeature goes through ``services.dataset_moderate``, as the APIs' do.
"""

import json
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import display_for_value
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import capfirst

from catalog import browser as catalog_browser
from catalog import views as catalog_views
from datasets import selectors, services
from datasets.models import (
    AccessKey,
    Dataset,
    DatasetFile,
    Licence,
    Membership,
    ModerationEvent,
    SigningKey,
    Tag,
    TagCategory,
    User,
    Workspace,
)
from project import errors
from storage_configs.backends import backend_for
from versioning import selectors as versioning_selectors
from versioning.labels import label_summary
from versioning.sheets import schema_parse
from versioning.trees import Entry

# action name: (flag, value, past tense)
MODERATION_ACTIONS = {
    "hide": ("hidden", True, "hidden"),
    "unhide": ("hidden", False, "unhidden"),
    "feature": ("featured", True, "featured"),
    "unfeature": ("featured", False, "unfeatured"),
}
admin.site.site_header = "Dataset Hub administration"
admin.site.site_title = "Dataset Hub"
# The dataset list is wide; the page's own breadcrumbs and index are enough to move around.
admin.site.enable_nav_sidebar = False
COMMITS_PER_PAGE = 20
FILES_PER_PAGE = 50
ROWS_PER_PAGE = 20
# A cell of the sheet panel shows at most this many characters of the value's JSON.
CELL_CHARACTERS = 80
BRANCHES_SHOWN = 100
EVENTS_SHOWN = 20
# The dataset page lists this many of its newest jobs, each with this many of its conflicts.
JOBS_SHOWN = 20
CONFLICTS_SHOWN = 5
CONFIRMATION_SHOWN = 100


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "nickname", "is_staff", "is_active")
    fieldsets = (*(BaseUserAdmin.fieldsets or ()), ("Profile", {"fields": ("nickname", "mobile", "description")}))


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "owner", "created_at")
    list_filter = ("kind",)
    search_fields = ("name", "alias", "owner__username")
    list_select_related = ("owner",)
    raw_id_fields = ("owner", "default_storage_config")
    inlines = [MembershipInline]


@admin.action(description="Revoke selected keys")
def revoke_keys(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    """Revoke every selected key that is still active."""
    revoke = services.access_key_revoke if queryset.model is AccessKey else services.signing_key_revoke
    for key in queryset.filter(revoked_at__isnull=True):
        revoke(key=key)
    modeladmin.message_user(request, "Keys revoked.", messages.SUCCESS)


class KeyIssueForm(forms.ModelForm):
    """Who a new key is for; the user must be a member of the workspace, as the services require."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        user, workspace = cleaned.get("user"), cleaned.get("workspace")
        if user is None or workspace is None:
            return cleaned
        if selectors.membership_get(workspace=workspace, user=user) is None:
            raise forms.ValidationError(f"{user.username} is not a member of workspace {workspace.name}.")
        return cleaned


class IssueOnceAdmin(admin.ModelAdmin):
    """Add means issue: the service makes the key, and its secret appears only on the answer to that POST."""

    issue_fields: tuple[str, ...] = ("user", "workspace")
    form = KeyIssueForm
    raw_id_fields = ("user", "workspace")

    def issue(self, cleaned_data: dict[str, Any]) -> tuple[Model, list[tuple[str, str]]]:
        """Issue the key; return it and the (label, value) pairs to show once."""
        raise NotImplementedError

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        if obj is None:
            return self.issue_fields
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        # Who a key belongs to is fixed once it is issued.
        return readonly if obj is None else ["user", "workspace", *readonly]

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if request.method != "POST":
            return super().add_view(request, form_url, extra_context)
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = self.get_form(request, None, change=False)(request.POST)
        if not form.is_valid():
            # The standard page validates again and shows the errors.
            return super().add_view(request, form_url, extra_context)
        key, shown = self.issue(form.cleaned_data)
        self.log_addition(request, key, [{"added": {}}])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{capfirst(self.opts.verbose_name)} issued",
            "key": key,
            "shown": shown,
        }
        response = TemplateResponse(request, "admin/datasets/key_issued.html", context)
        # The secret must not outlive this page in any cache.
        add_never_cache_headers(response)
        return response


@admin.register(AccessKey)
class AccessKeyAdmin(IssueOnceAdmin):
    list_display = ("prefix", "name", "user", "workspace", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "user__username", "workspace__name")
    list_select_related = ("user", "workspace")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    fields = ("user", "workspace", "name", *readonly_fields)
    issue_fields = ("user", "workspace", "name")
    actions = [revoke_keys]

    def issue(self, cleaned_data: dict[str, Any]) -> tuple[Model, list[tuple[str, str]]]:
        key, raw_key = services.access_key_create(
            user=cleaned_data["user"], workspace=cleaned_data["workspace"], name=cleaned_data.get("name", "")
        )
        return key, [("Access key", raw_key)]


@admin.register(SigningKey)
class SigningKeyAdmin(IssueOnceAdmin):
    list_display = ("secret_id", "user", "workspace", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("secret_id", "user__username", "workspace__name")
    list_select_related = ("user", "workspace")
    readonly_fields = ("secret_id", "created_at", "last_used_at", "revoked_at")
    fields = ("user", "workspace", *readonly_fields)
    actions = [revoke_keys]

    def issue(self, cleaned_data: dict[str, Any]) -> tuple[Model, list[tuple[str, str]]]:
        key, secret = services.signing_key_create(user=cleaned_data["user"], workspace=cleaned_data["workspace"])
        return key, [("SecretId", key.secret_id), ("Secret", secret)]


class TagFilter(admin.RelatedFieldListFilter):
    """Only tags some dataset carries, each with its category read in the same query."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        tags = selectors.tag_list_for_datasets(datasets=model_admin.get_queryset(request))
        return [(str(tag.pk), str(tag)) for tag in tags]


class DatasetChangeList(ChangeList):
    """The changelist that adds each row's file count from one batch of version summaries."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        # Iterating fills the page queryset's cache, so the rows rendered are these very objects.
        page = list(self.result_list)
        summaries = versioning_selectors.dataset_summaries(datasets=page)
        for dataset in page:
            dataset.file_count = summaries[dataset.pk].file_count  # type: ignore[attr-defined]


class DatasetForm(forms.ModelForm):
    class Meta:
        model = Dataset
        fields = ["title", "description", "licence", "tags", "data_type", "cover"]


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    form = DatasetForm
    list_display = (
        "name",
        "title",
        "workspace",
        "owner",
        "visibility",
        "hidden_toggle",
        "featured_toggle",
        "notebooks",
        "topics",
        "comments",
        "votes",
        "file_count",
        "reclaimable",
        "updated_at",
    )
    list_filter = (
        "hidden",
        "featured",
        "is_public",
        "data_type",
        ("licence", admin.RelatedOnlyFieldListFilter),
        ("workspace", admin.RelatedOnlyFieldListFilter),
        ("tags", TagFilter),
    )
    search_fields = ("name", "title", "description", "creator__username")
    list_select_related = ("workspace", "creator", "garbage")
    ordering = ("-updated_at", "-pk")
    autocomplete_fields = ("tags",)
    actions = ["hide", "unhide", "feature", "unfeature"]
    fieldsets = (
        (None, {"fields": ("workspace", "name", "uuid", "creator")}),
        ("Description", {"fields": ("title", "description", "licence", "tags", "data_type", "cover")}),
        (
            "State",
            {
                "fields": (
                    "is_public",
                    "hidden",
                    "featured",
                    "default_branch",
                    "storage_config",
                    "reclaimable",
                    ("total_notebooks", "total_topics", "total_comments", "total_votes"),
                    ("created_at", "updated_at"),
                )
            },
        ),
    )
    readonly_fields = (
        "workspace",
        "name",
        "uuid",
        "creator",
        "is_public",
        "hidden",
        "featured",
        "default_branch",
        "storage_config",
        "reclaimable",
        "total_notebooks",
        "total_topics",
        "total_comments",
        "total_votes",
        "created_at",
        "updated_at",
    )

    def get_list_display(self, request: HttpRequest) -> Any:
        """Who may not moderate sees the flags without the buttons that would change them."""
        if self.has_moderate_permission(request):
            return self.list_display
        plain = {"hidden_toggle": "hidden", "featured_toggle": "featured"}
        return [plain.get(name, name) for name in self.list_display]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return DatasetChangeList

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Datasets are created through the APIs, which also start their history."""
        return False

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("datasets.moderate_dataset")

    def save_model(self, request: HttpRequest, obj: Dataset, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        services.dataset_edit_metadata(
            dataset=obj,
            title=data["title"],
            description=data["description"],
            licence=data["licence"],
            data_type=data["data_type"],
            cover=data["cover"],
            tags=list(data["tags"]),
        )

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        """The tags were saved by ``dataset_edit_metadata``."""

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[list[str], dict[str, int], set[str], list]:
        """Summarise instead of collecting every related row: a big dataset has millions (and protected commits)."""
        datasets = [f"{dataset} with its branches, tags, commits, drafts and files" for dataset in objs]
        perms_needed = set() if self.has_delete_permission(request) else {"dataset"}
        return datasets, {"datasets": len(datasets)}, perms_needed, []

    def delete_model(self, request: HttpRequest, obj: Dataset) -> None:
        services.dataset_delete(dataset=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        for dataset in queryset:
            services.dataset_delete(dataset=dataset)

    @admin.display(description="reclaimable", ordering="garbage__reclaimable_bytes")
    def reclaimable(self, dataset: Dataset) -> str:
        """Storage the last garbage collection found unreachable in the dataset and has not deleted yet."""
        try:
            garbage = dataset.garbage  # type: ignore[attr-defined]
        except ObjectDoesNotExist:
            return "-"
        return f"{filesizeformat(garbage.reclaimable_bytes)} in {garbage.object_count} objects"

    @admin.display(description="owner", ordering="creator__username")
    def owner(self, dataset: Dataset) -> str:
        return dataset.creator.username if dataset.creator else "-"

    # Short headers keep every column of the list on one screen.
    @admin.display(description="notebooks", ordering="total_notebooks")
    def notebooks(self, dataset: Dataset) -> int:
        return dataset.total_notebooks

    @admin.display(description="topics", ordering="total_topics")
    def topics(self, dataset: Dataset) -> int:
        return dataset.total_topics

    @admin.display(description="comments", ordering="total_comments")
    def comments(self, dataset: Dataset) -> int:
        return dataset.total_comments

    @admin.display(description="votes", ordering="total_votes")
    def votes(self, dataset: Dataset) -> int:
        return dataset.total_votes

    @admin.display(description="visibility", ordering="is_public")
    def visibility(self, dataset: Dataset) -> str:
        return "public" if dataset.is_public else "private"

    @admin.display(description="files")
    def file_count(self, dataset: Dataset) -> int:
        return getattr(dataset, "file_count", 0)

    def _toggle(self, dataset: Dataset, flag: str, on: str, off: str) -> str:
        value = getattr(dataset, flag)
        action = off if value else on
        return format_html(
            '{} <button type="submit" class="button moderate-toggle" formaction="{}" data-dataset="{}">{}</button>',
            display_for_value(value, "", boolean=True),
            reverse("admin:datasets_dataset_moderate", args=[dataset.pk, action]),
            dataset.name,
            action,
        )

    @admin.display(description="hidden", ordering="hidden")
    def hidden_toggle(self, dataset: Dataset) -> str:
        return self._toggle(dataset, "hidden", "hide", "unhide")

    @admin.display(description="featured", ordering="featured")
    def featured_toggle(self, dataset: Dataset) -> str:
        return self._toggle(dataset, "featured", "feature", "unfeature")

    def _moderate_selected(
        self, request: HttpRequest, queryset: QuerySet[Dataset], action: str
    ) -> TemplateResponse | None:
        """Ask for confirmation (and an optional reason), then moderate every selected dataset."""
        flag, value, done = MODERATION_ACTIONS[action]
        if request.POST.get("post") == "yes":
            count = services.dataset_moderate_many(
                dataset_ids=list(queryset.values_list("pk", flat=True)),
                actor=request.user,  # type: ignore[arg-type]
                flag=flag,
                value=value,
                reason=request.POST.get("reason", "").strip(),
                via="admin",
            )
            self.message_user(request, f"{count} dataset(s) {done}.", messages.SUCCESS)
            return None
        return self._confirmation(request, queryset, action, bulk=True)

    def _confirmation(
        self, request: HttpRequest, datasets: QuerySet[Dataset], action: str, *, bulk: bool
    ) -> TemplateResponse:
        # "Select all N" means every row the filters match; the confirmation passes that on and names a few.
        select_across = bulk and request.POST.get("select_across") == "1"
        shown = list(datasets[:CONFIRMATION_SHOWN])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{action.capitalize()} datasets",
            "datasets": shown,
            "count": datasets.count() if len(shown) == CONFIRMATION_SHOWN else len(shown),
            "action": action,
            "bulk": bulk,
            "select_across": select_across,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            # Django acts only with some ids selected, even when "all" means the filters.
            "selected_ids": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "next": request.GET.get("next", ""),
        }
        return TemplateResponse(request, "admin/datasets/dataset/moderate_confirmation.html", context)

    @admin.action(description="Hide selected datasets", permissions=["moderate"])
    def hide(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> TemplateResponse | None:
        return self._moderate_selected(request, queryset, "hide")

    @admin.action(description="Unhide selected datasets", permissions=["moderate"])
    def unhide(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> TemplateResponse | None:
        return self._moderate_selected(request, queryset, "unhide")

    @admin.action(description="Feature selected datasets", permissions=["moderate"])
    def feature(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> TemplateResponse | None:
        return self._moderate_selected(request, queryset, "feature")

    @admin.action(description="Unfeature selected datasets", permissions=["moderate"])
    def unfeature(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> TemplateResponse | None:
        return self._moderate_selected(request, queryset, "unfeature")

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:dataset_id>/moderate/<str:action>/", wrap(self.moderate_view), name="datasets_dataset_moderate"),
            path("<int:dataset_id>/download/", wrap(self.download_view), name="datasets_dataset_download"),
            path("<int:dataset_id>/diff/", wrap(self.diff_view), name="datasets_dataset_diff"),
            *super().get_urls(),
        ]

    def _dataset_or_404(self, request: HttpRequest, dataset_id: int) -> Dataset:
        dataset = self.get_object(request, str(dataset_id))
        if dataset is None:
            raise Http404("no such dataset")
        return dataset

    def moderate_view(self, request: HttpRequest, dataset_id: int, action: str) -> HttpResponse:
        """One dataset: GET asks to confirm with an optional reason, POST moderates (the changelist's toggles)."""
        if action not in MODERATION_ACTIONS:
            raise Http404("no such moderation action")
        if not self.has_moderate_permission(request):
            raise PermissionDenied
        dataset = self._dataset_or_404(request, dataset_id)
        if request.method != "POST":
            return self._confirmation(request, self.get_queryset(request).filter(pk=dataset.pk), action, bulk=False)
        flag, value, done = MODERATION_ACTIONS[action]
        services.dataset_moderate_many(
            dataset_ids=[dataset.pk],
            actor=request.user,  # type: ignore[arg-type]
            flag=flag,
            value=value,
            reason=request.POST.get("reason", "").strip(),
            via="admin",
        )
        self.message_user(request, f"{dataset} {done}.", messages.SUCCESS)
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = reverse("admin:datasets_dataset_changelist")
        return HttpResponseRedirect(target)

    def download_view(self, request: HttpRequest, dataset_id: int) -> HttpResponse:
        """Redirect to a signed, expiring URL of one file of a commit, made when the link is followed."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        dataset = self._dataset_or_404(request, dataset_id)
        segment, _, remote_path = request.GET.get("path", "").partition("/")
        try:
            revision = versioning_selectors.revision_resolve(dataset=dataset, revision=request.GET.get("commit", ""))
            entry = versioning_selectors.entry_get(revision=revision, segment=segment, remote_path=remote_path)
            object_key = entry.object_key
            if entry.is_composite:
                parts = {part.name: part for part in entry.part_list()}
                if request.GET.get("part") not in parts:
                    raise Http404("no such file in the frame")
                object_key = parts[request.GET["part"]].object_key
            url = backend_for(dataset.storage_config).url(
                object_key, expires_in=settings.STORAGE_URL_EXPIRES, base_url=request.build_absolute_uri("/")
            )
        except (errors.NotFound, errors.Invalid) as error:
            raise Http404(error.message) from None
        return HttpResponseRedirect(url)

    def diff_view(self, request: HttpRequest, dataset_id: int) -> HttpResponse:
        """What changed between two revisions of any dataset, hidden and private ones included."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        dataset = self._dataset_or_404(request, dataset_id)
        try:
            context = catalog_browser.diff(
                dataset=dataset, scope=catalog_browser.ADMIN, **catalog_views.diff_query(request)
            )
        except errors.DomainError as error:
            return catalog_views.refusal_page(request, error)
        context.update(
            self.admin_site.each_context(request),
            opts=self.opts,
            original=dataset,
            title=f"Changes in {dataset}",
            change_url=reverse("admin:datasets_dataset_change", args=[dataset.pk]),
        )
        return TemplateResponse(request, "admin/datasets/dataset/diff.html", context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        dataset = self.get_object(request, object_id)
        if dataset is not None and self.has_view_permission(request, dataset):
            try:
                contents = catalog_browser.browse(
                    dataset=dataset,
                    scope=catalog_browser.ADMIN,
                    diff_url=reverse("admin:datasets_dataset_diff", args=[dataset.pk]),
                    **catalog_views.browser_query(request),
                )
            except errors.DomainError as error:
                return catalog_views.refusal_page(request, error)
            extra_context = {**(extra_context or {}), **self._history_context(request, dataset), "browser": contents}
        return super().change_view(request, object_id, form_url, extra_context)

    def _history_context(self, request: HttpRequest, dataset: Dataset) -> dict[str, Any]:
        """Branches, tags, one page of history and one page of files at the default head, and moderation."""
        head = versioning_selectors.revision_resolve(dataset=dataset, revision=dataset.default_branch)
        commit_page = _page_number(request, "commit_page")
        file_page = _page_number(request, "file_page")
        commits = versioning_selectors.commit_list(
            revision=head, offset=(commit_page - 1) * COMMITS_PER_PAGE, limit=COMMITS_PER_PAGE
        )
        files = versioning_selectors.entry_list(
            revision=head, offset=(file_page - 1) * FILES_PER_PAGE, limit=FILES_PER_PAGE
        )
        download = reverse("admin:datasets_dataset_download", args=[dataset.pk])
        branches = versioning_selectors.branch_list(dataset=dataset)
        tags = versioning_selectors.tag_list(dataset=dataset)
        events = selectors.moderation_event_list(dataset=dataset)
        jobs = versioning_selectors.job_list(dataset=dataset)
        return {
            "jobs": [
                (job, reverse("admin:versioning_job_change", args=[job.pk]), job.conflicts[:CONFLICTS_SHOWN])
                for job in jobs[:JOBS_SHOWN]
            ],
            "job_count": jobs.count(),
            "job_list_url": reverse("admin:versioning_job_changelist") + f"?dataset__id__exact={dataset.pk}",
            "head": head,
            "branches": branches[:BRANCHES_SHOWN],
            "branch_count": branches.count(),
            "version_tags": tags[:BRANCHES_SHOWN],
            "version_tag_count": tags.count(),
            "commits": commits.items,
            "commit_pages": _pager(request, "commit_page", commit_page, commits.total, COMMITS_PER_PAGE),
            "files": _file_rows(files.items, download, head.commit_id),
            "file_total": head.commit.file_count if head.commit is not None else 0,
            "file_pages": _pager(request, "file_page", file_page, files.total, FILES_PER_PAGE),
            **self._sheet_context(request, head),
            "moderation_events": events[:EVENTS_SHOWN],
            "moderation_event_count": events.count(),
            "moderation_log_url": reverse("admin:datasets_moderationevent_changelist")
            + f"?dataset__id__exact={dataset.pk}",
            "moderation_actions": [
                (action, reverse("admin:datasets_dataset_moderate", args=[dataset.pk, action]))
                for action, (flag, value, _) in MODERATION_ACTIONS.items()
                if getattr(dataset, flag) != value
            ]
            if self.has_moderate_permission(request)
            else [],
        }

    def _sheet_context(self, request: HttpRequest, head: versioning_selectors.Revision) -> dict[str, Any]:
        """The Graviti sheets at the head, and one page of the chosen sheet's rows (the first sheet by default)."""
        names = versioning_selectors.sheet_list(revision=head)
        if not names:
            return {"sheets": []}
        chosen = request.GET.get("sheet", "")
        chosen = chosen if chosen in names else names[0]
        row_page = _page_number(request, "row_page")
        sheet = versioning_selectors.sheet_get(revision=head, name=chosen)
        columns = list(schema_parse(sheet.schema.get("avro", "")).fields)
        rows = versioning_selectors.sheet_row_page(
            revision=head, name=chosen, offset=(row_page - 1) * ROWS_PER_PAGE, limit=ROWS_PER_PAGE
        )

        def link(name: str) -> str:
            query = request.GET.copy()
            query["sheet"], query["row_page"] = name, "1"
            return "?" + query.urlencode()

        return {
            "sheets": [
                (name, versioning_selectors.segment_entry_count(revision=head, name=name), link(name)) for name in names
            ],
            "sheet": chosen,
            "sheet_columns": columns,
            "sheet_rows": [
                (key, [json.dumps(row.get(column), ensure_ascii=False)[:CELL_CHARACTERS] for column in columns])
                for key, row in rows.items
            ],
            "row_pages": _pager(request, "row_page", row_page, rows.total, ROWS_PER_PAGE),
        }


FileRow = tuple[str, int, str, str, list[tuple[str, list[str]]]]


def _file_rows(entries: list[Entry], download: str, commit_id: str) -> list[FileRow]:
    """(path, size, sha1, download link, label summary) of each file of the entries: a fusion frame lists its
    sensors' files, each with its own label."""
    rows: list[FileRow] = []
    for entry in entries:
        if not entry.is_composite:
            link = f"{download}?{_query(commit=commit_id, path=entry.path)}"
            rows.append((entry.path, entry.size, entry.sha1, link, label_summary(entry.label)))
            continue
        for part in entry.part_list():
            link = f"{download}?{_query(commit=commit_id, path=entry.path, part=part.name)}"
            path = f"{entry.path} {part.name} {part.remote_path}"
            rows.append((path, part.size, part.sha1, link, label_summary(part.label)))
    return rows


def _query(**params: str) -> str:
    query = QueryDict(mutable=True)
    query.update(params)
    return query.urlencode()


def _page_number(request: HttpRequest, name: str) -> int:
    try:
        return max(int(request.GET.get(name, "1")), 1)
    except ValueError:
        return 1


def _pager(request: HttpRequest, name: str, number: int, total: int, per_page: int) -> dict[str, Any]:
    """Where a paged panel is and the links to its neighbours, keeping the other panels' pages."""
    pages = max((total + per_page - 1) // per_page, 1)

    def link(page: int) -> str:
        query = request.GET.copy()
        query[name] = str(page)
        return "?" + query.urlencode()

    return {
        "number": number,
        "pages": pages,
        "previous": link(number - 1) if number > 1 else "",
        "next": link(number + 1) if number < pages else "",
    }


@admin.register(ModerationEvent)
class ModerationEventAdmin(admin.ModelAdmin):
    """The moderation log: read-only, filterable by what, how, who's dataset and when."""

    list_display = ("created_at", "action", "dataset_link", "workspace", "actor", "via", "reason")
    list_filter = (
        "action",
        "via",
        "created_at",
        ("actor", admin.RelatedOnlyFieldListFilter),
        ("dataset__workspace", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("dataset__name", "dataset__title", "actor__username", "reason")
    list_select_related = ("dataset__workspace", "actor")
    date_hierarchy = "created_at"

    @admin.display(description="dataset", ordering="dataset__name")
    def dataset_link(self, event: ModerationEvent) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:datasets_dataset_change", args=[event.dataset_id]), event.dataset.name
        )

    @admin.display(description="workspace", ordering="dataset__workspace__name")
    def workspace(self, event: ModerationEvent) -> str:
        return event.dataset.workspace.name

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ModerationEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ModerationEvent | None = None) -> bool:
        return False


@admin.register(DatasetFile)
class DatasetFileAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "dataset", "size", "created_at")
    search_fields = ("name", "oss_object")
    list_select_related = ("user", "dataset__workspace")
    raw_id_fields = ("user", "dataset", "parent", "storage_config")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "category")
    list_select_related = ("category",)
    search_fields = ("name", "category__name")
    ordering = ("category__name", "name")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        # Tags print with their category, in lists and in the dataset page's autocomplete alike.
        return super().get_queryset(request).select_related("category")


admin.site.register(Licence, search_fields=("name",))
admin.site.register(TagCategory, search_fields=("name",))
