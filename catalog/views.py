"""The pages a person opens: the front page with the public catalog, a dataset's page and its diffs, and the
previews they show. Views parse the query, call the catalog's readers and render; every refusal is raised
and rendered as an HTML page by ``html_errors``."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from catalog import browser
from datasets import selectors
from datasets.models import Dataset
from project import errors

# The dialects as the front page introduces them (project.urls mounts them; a test keeps the two in step).
DIALECTS = [
    {
        "name": "tensorbay",
        "title": "TensorBay Open API v1",
        "bases": ["/v1/", "/gatewayv2/tensorbay-open-api/v1/"],
        "auth": "X-Token access key",
    },
    {"name": "graviti", "title": "Graviti Open API v2", "bases": ["/v2/"], "auth": "X-Token access key"},
    {
        "name": "whalerun",
        "title": "whale.run dataset service",
        "bases": ["/api/"],
        "auth": "trusted services (X-Service-Token when configured)",
    },
    {
        "name": "aidmp",
        "title": "AIDMP public datasets",
        "bases": ["/aids/aidmp/data/v1/"],
        "auth": "public; X-Token optional",
    },
    {
        "name": "institution",
        "title": "Institution dataset list",
        "bases": ["/api/v1/"],
        "auth": "SecretId, Timestamp and Signature query parameters",
    },
]
CATALOG_PER_PAGE = 20
# Past any list's end, but small enough that an offset computed from it fits every database's integers.
MAX_PAGE = 10**9
KEYWORD_MAX_LENGTH = 200
# Refusals by kind: what the visitor did wrong answers 400, what does not exist (or may not be seen) 404.
STATUS_BY_KIND = {
    "malformed": 400,
    "missing": 400,
    "invalid": 400,
    "not_found": 404,
    "forbidden": 404,
    "unauthorized": 404,
    "storage_object_missing": 404,
    "unavailable": 503,
}


def error_page(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """The HTML page of a refusal."""
    titles = {400: "Bad request", 404: "Not found", 503: "Unavailable"}
    context = {"status": status, "title": titles.get(status, "Error"), "message": message}
    return render(request, "catalog/error.html", context, status=status)


def refusal_page(request: HttpRequest, error: errors.DomainError) -> HttpResponse:
    """The HTML page of a domain refusal; an error that is no refusal of the request goes on up."""
    status = STATUS_BY_KIND.get(error.kind)
    if status is None:
        raise error
    return error_page(request, status, error.message)


def html_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Render the domain's refusals as HTML pages with their status."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except errors.DomainError as error:
            return refusal_page(request, error)

    return wrapped


def query_int(query: QueryDict, name: str, *, default: int, low: int, high: int | None = None) -> int:
    """An integer query parameter within bounds."""
    raw = query.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise errors.Invalid(name, "must be a whole number") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise errors.Invalid(name, f"must be {bounds}")
    return value


def query_paging(query: QueryDict, page: str = "page") -> browser.Paging:
    """The page number and size a list of files or changes is asked for."""
    return browser.Paging(
        page=query_int(query, page, default=1, low=1, high=MAX_PAGE),
        per_page=query_int(query, "per_page", default=browser.PER_PAGE, low=1, high=browser.MAX_PER_PAGE),
    )


def query_text(query: QueryDict, name: str, max_length: int = 255) -> str:
    value = query.get(name, "").strip()
    if len(value) > max_length or "\x00" in value:
        raise errors.Invalid(name, f"must be at most {max_length} characters")
    return value


def catalog_filters(query: QueryDict) -> selectors.CatalogFilters:
    tag_ids = []
    for raw in query.getlist("tag"):
        if not raw.isdigit():
            raise errors.Invalid("tag", "must be a tag id")
        tag_ids.append(int(raw))
    data_type = query.get("data_type", "")
    if data_type and (not data_type.isdigit() or int(data_type) not in Dataset.DataType.values):
        raise errors.Invalid("data_type", f"must be one of {', '.join(map(str, Dataset.DataType.values))}")
    return selectors.CatalogFilters(
        keyword=query_text(query, "q", KEYWORD_MAX_LENGTH),
        tag_ids=tuple(tag_ids),
        licence=query_text(query, "licence"),
        data_type=int(data_type) if data_type else None,
        workspace=query_text(query, "workspace"),
    )


def _with(query: QueryDict, **changes: str | None) -> str:
    """The query string with some parameters set (or removed by None), back to page 1 unless given."""
    updated = query.copy()
    updated.pop("page", None)
    for name, value in changes.items():
        updated.pop(name, None)
        if value is not None:
            updated[name] = value
    return "?" + updated.urlencode() if updated else "?"


@require_safe
@html_errors
def home(request: HttpRequest) -> HttpResponse:
    """What the hub is, where each dialect lives and its docs, and the public catalog: search, facets, pages."""
    filters = catalog_filters(request.GET)
    datasets = selectors.dataset_catalog_search(filters=filters)
    paginator = Paginator(datasets, CATALOG_PER_PAGE, allow_empty_first_page=True)
    number = query_int(request.GET, "page", default=1, low=1, high=MAX_PAGE)
    if number > paginator.num_pages:
        raise errors.NotFound(f"page {number} does not exist: there are {paginator.num_pages}")
    page = paginator.page(number)
    facets = selectors.dataset_catalog_facets(datasets=datasets)
    context = {
        "dialects": [
            {**dialect, "docs_url": reverse("docs") + f"?urls.primaryName={dialect['name']}"} for dialect in DIALECTS
        ],
        "filters": filters,
        "page": page,
        "facets": facet_links(request.GET, facets, filters),
        "filtered": any(
            [filters.keyword, filters.tag_ids, filters.licence, filters.data_type is not None, filters.workspace]
        ),
        "previous_link": _with(request.GET, page=str(number - 1)) if page.has_previous() else "",
        "next_link": _with(request.GET, page=str(number + 1)) if page.has_next() else "",
    }
    return render(request, "catalog/home.html", context)


def facet_links(
    query: QueryDict, facets: dict[str, list[selectors.Facet]], filters: selectors.CatalogFilters
) -> dict[str, list[tuple[selectors.Facet, bool, str]]]:
    """Per facet, each value with whether it is chosen and the link that toggles it (tags add up, the others
    replace one another)."""
    chosen_tags = {str(tag_id) for tag_id in filters.tag_ids}
    links = {
        "tag": [
            (facet, facet.value in chosen_tags, _tag_link(query, facet.value, facet.value in chosen_tags))
            for facet in facets["tag"]
        ]
    }
    for name in ("licence", "data_type", "workspace"):
        links[name] = [
            (
                facet,
                query.get(name) == facet.value,
                _with(query, **{name: None if query.get(name) == facet.value else facet.value}),
            )
            for facet in facets[name]
        ]
    return links


def _tag_link(query: QueryDict, value: str, chosen: bool) -> str:
    updated = query.copy()
    updated.pop("page", None)
    tags = [tag for tag in updated.getlist("tag") if tag != value]
    if not chosen:
        tags.append(value)
    updated.setlist("tag", tags)
    return "?" + updated.urlencode()


def browser_query(request: HttpRequest) -> dict[str, Any]:
    """The content browser's query: revision, segment (or sheet, or a fusion segment's frame and sensor), page
    of files (frames, rows) and page of history."""
    segment = request.GET.get("segment")
    return {
        "revision": query_text(request.GET, "rev"),
        "segment": segment if segment else None,
        **{name: query_text(request.GET, name) or None for name in ("sheet", "frame", "sensor")},
        "paging": query_paging(request.GET),
        "history": browser.Paging(
            page=query_int(request.GET, "history_page", default=1, low=1, high=MAX_PAGE),
            per_page=browser.HISTORY_PER_PAGE,
        ),
    }


@require_safe
@html_errors
def dataset_page(request: HttpRequest, workspace: str, name: str) -> HttpResponse:
    """A public dataset: what it is, its branches, tags and history, and its files at any revision."""
    dataset = selectors.dataset_get_public(workspace=workspace, name=name)
    contents = browser.browse(
        dataset=dataset,
        scope=browser.PUBLIC,
        diff_url=reverse("catalog:diff", args=[workspace, name]),
        **browser_query(request),
    )
    return render(request, "catalog/dataset.html", {"dataset": dataset, "browser": contents})


def diff_query(request: HttpRequest) -> dict[str, Any]:
    """The diff page's query: head and base revisions and the page of changes."""
    return {
        "head": query_text(request.GET, "head"),
        "base": query_text(request.GET, "base"),
        "paging": query_paging(request.GET),
    }


@require_safe
@html_errors
def diff_page(request: HttpRequest, workspace: str, name: str) -> HttpResponse:
    """What changed between two revisions of a public dataset (by default, a commit against its parent)."""
    dataset = selectors.dataset_get_public(workspace=workspace, name=name)
    context = browser.diff(dataset=dataset, scope=browser.PUBLIC, **diff_query(request))
    context.update(dataset=dataset, dataset_url=reverse("catalog:dataset", args=[workspace, name]))
    return render(request, "catalog/diff.html", context)


def may_preview(request: HttpRequest, scope: str, dataset: Dataset) -> bool:
    """Public previews show public, not hidden datasets; admin previews need a user who may view datasets."""
    if scope == browser.PUBLIC:
        return dataset.is_public and not dataset.hidden
    user = request.user
    return scope == browser.ADMIN and user.is_active and user.is_staff and user.has_perm("datasets.view_dataset")


@require_safe
@html_errors
def preview(request: HttpRequest, token: str) -> HttpResponse:
    """The thumbnail a signed preview link names, if its visitor may still see the dataset."""
    grant = browser.preview_grant(token=token)
    dataset = Dataset.objects.select_related("storage_config").filter(pk=grant.dataset_id).first()
    if dataset is None or not may_preview(request, grant.scope, dataset):
        raise errors.NotFound("this preview does not exist")
    png = browser.preview_image(dataset=dataset, commit_id=grant.commit_id, path=grant.path, slot=grant.slot)
    response = HttpResponse(png, content_type="image/png")
    # The link names a commit, whose content never changes; visibility is checked again once it expires.
    response["Cache-Control"] = "private, max-age=3600"
    return response
