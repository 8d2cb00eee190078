"""TensorBay v1 views of versioned content: drafts, commits, branches, tags, segments, data, uploads and diffs.

Reads take the client's status selector (``draftNumber`` or ``commit``) in the query string; writes take
``draftNumber`` in the JSON body and change only an open draft. A dataset without commits is at the ROOT id.
"""

from collections.abc import Mapping
from typing import Any

from django.http import HttpResponseBase
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from datasets import selectors as catalog
from datasets import services as catalog_services
from datasets.models import Dataset
from project import errors
from project.api.authentication import caller_key
from project.api.base import CallerMemoView, parse_body, parse_int, signed_page_cached
from project.api.fields import StrictBooleanField, StrictCharField, StrictIntegerField
from project.api.tensorbay import EMPTY, TensorBayView, envelope
from versioning import selectors, services
from versioning.models import ROOT_COMMIT_ID, Commit, Draft
from versioning.trees import Entry

PAGE_PARAMETERS = [OpenApiParameter("offset", int), OpenApiParameter("limit", int)]
STATUS_PARAMETERS = [OpenApiParameter("draftNumber", int), OpenApiParameter("commit", str)]
SEGMENT_PARAMETERS = [OpenApiParameter("segmentName", str, required=True), *STATUS_PARAMETERS]
# What the SDK asks for when it says nothing else.
DEFAULT_POLICY_SECONDS = 240


def unix(value: Any) -> int:
    """A datetime as unix seconds."""
    return int(value.timestamp())


def commit_fields(commit: Commit) -> dict[str, Any]:
    """A Commit object: the first commit's parent is the ROOT id."""
    return {
        "commitId": commit.id,
        "parentCommitId": commit.parent_commit_id,
        "title": commit.title,
        "description": commit.description,
        "committer": {"name": commit.committer_name, "date": unix(commit.committed_at)},
    }


class CommitterSerializer(serializers.Serializer):
    name = serializers.CharField()
    date = serializers.IntegerField()


class CommitSerializer(serializers.Serializer):
    """Commit (spec §3.4)."""

    commitId = serializers.CharField()  # noqa: N815
    parentCommitId = serializers.CharField()  # noqa: N815
    title = serializers.CharField()
    description = serializers.CharField()
    committer = CommitterSerializer()

    def to_representation(self, commit: Commit) -> dict[str, Any]:
        return commit_fields(commit)


class BranchSerializer(CommitSerializer):
    """Branch: the name and its head's Commit fields; a branch at ROOT is just ``{name, commitId}``."""

    name = serializers.CharField()

    def to_representation(self, branch: Any) -> dict[str, Any]:
        if branch.head is None:
            return {"name": branch.name, "commitId": ROOT_COMMIT_ID}
        return {"name": branch.name, **commit_fields(branch.head)}


class TagSerializer(CommitSerializer):
    """Tag: the name and its commit's fields."""

    name = serializers.CharField()

    def to_representation(self, tag: Any) -> dict[str, Any]:
        return {"name": tag.name, **commit_fields(tag.commit)}


class DraftSerializer(serializers.Serializer):
    """Draft (spec §3.4)."""

    number = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    branchName = serializers.CharField(source="branch_name")  # noqa: N815
    status = serializers.CharField(source="state")
    parentCommitId = serializers.CharField(source="parent_commit_id")  # noqa: N815
    author = serializers.SerializerMethodField()
    updatedAt = serializers.SerializerMethodField()  # noqa: N815

    def get_author(self, draft: Draft) -> dict[str, Any]:
        return {"name": draft.creator.display_name if draft.creator else "", "date": unix(draft.created_at)}

    def get_updatedAt(self, draft: Draft) -> int:  # noqa: N802
        return unix(draft.updated_at)


class NameCommitSerializer(serializers.Serializer):
    name = StrictCharField(max_length=255)
    commit = StrictCharField()


class NameSerializer(serializers.Serializer):
    name = StrictCharField(max_length=255)


class DraftCreateSerializer(serializers.Serializer):
    title = StrictCharField(max_length=255)
    branchName = StrictCharField(required=False, default="", allow_blank=True, max_length=255)  # noqa: N815
    description = StrictCharField(required=False, default="", allow_blank=True)


class DraftUpdateSerializer(serializers.Serializer):
    title = StrictCharField(required=False, max_length=255)
    description = StrictCharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=["OPEN", "CLOSED"], required=False)


class CommitCreateSerializer(serializers.Serializer):
    title = StrictCharField(max_length=255)
    draftNumber = StrictIntegerField(min_value=1)  # noqa: N815
    description = StrictCharField(required=False, default="", allow_blank=True)
    tag = StrictCharField(required=False, max_length=255)


class DraftBodySerializer(serializers.Serializer):
    draftNumber = StrictIntegerField(min_value=1)  # noqa: N815


class SegmentCreateSerializer(DraftBodySerializer):
    name = StrictCharField(max_length=255)
    description = StrictCharField(required=False, allow_blank=True)


class SegmentDeleteSerializer(DraftBodySerializer):
    segmentName = StrictCharField(max_length=255)  # noqa: N815


class CopySourceSerializer(serializers.Serializer):
    segmentName = StrictCharField(max_length=255)  # noqa: N815
    id = StrictCharField(required=False)
    draftNumber = StrictIntegerField(required=False, min_value=1)  # noqa: N815
    commit = StrictCharField(required=False)


class SegmentCopySerializer(DraftBodySerializer):
    strategy = StrictCharField(required=False, default="abort")
    segmentName = StrictCharField(max_length=255)  # noqa: N815

    def get_fields(self) -> dict[str, serializers.Field]:
        # ``source`` is also a Field attribute, so the field is added here rather than declared.
        return {**super().get_fields(), "source": CopySourceSerializer()}


class DataSourceSerializer(CopySourceSerializer):
    remotePaths = serializers.ListField(child=StrictCharField(), max_length=128)  # noqa: N815


class DataCopySerializer(DraftBodySerializer):
    strategy = StrictCharField(required=False, default="abort")
    segmentName = StrictCharField(max_length=255)  # noqa: N815
    remotePaths = serializers.ListField(child=StrictCharField(), required=False, max_length=128)  # noqa: N815

    def get_fields(self) -> dict[str, serializers.Field]:
        # ``source`` is also a Field attribute, so the field is added here rather than declared.
        return {**super().get_fields(), "source": DataSourceSerializer()}


class DataDeleteSerializer(DraftBodySerializer):
    segmentName = StrictCharField(max_length=255)  # noqa: N815
    remotePath = StrictCharField()  # noqa: N815


class CallbackObjectSerializer(serializers.Serializer):
    checksum = serializers.RegexField(r"^[0-9a-f]{40}$")
    fileSize = StrictIntegerField(min_value=0)  # noqa: N815
    remotePath = StrictCharField()  # noqa: N815
    timestamp = serializers.FloatField(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        # ``label`` is also a Field attribute, so the field is added here rather than declared.
        return {**super().get_fields(), "label": serializers.DictField(required=False)}


class CallbackSerializer(DraftBodySerializer):
    segmentName = StrictCharField(max_length=255)  # noqa: N815
    objects = serializers.ListField(child=CallbackObjectSerializer(), max_length=128)


class CloudObjectSerializer(serializers.Serializer):
    cloudPath = StrictCharField()  # noqa: N815
    remotePath = StrictCharField()  # noqa: N815

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), "label": serializers.DictField(required=False)}


class CloudCallbackSerializer(DraftBodySerializer):
    segmentName = StrictCharField(max_length=255)  # noqa: N815
    objects = serializers.ListField(child=CloudObjectSerializer(), max_length=128)
    deleteSource = StrictBooleanField(required=False, default=False)  # noqa: N815


class LabelObjectSerializer(serializers.Serializer):
    remotePath = StrictCharField()  # noqa: N815

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), "label": serializers.DictField()}


class LabelsSerializer(DraftBodySerializer):
    segmentName = StrictCharField(max_length=255)  # noqa: N815
    objects = serializers.ListField(child=LabelObjectSerializer(), max_length=128)


class CatalogSerializer(DraftBodySerializer):
    catalog = serializers.DictField()


class NotesSerializer(DraftBodySerializer):
    isContinuous = StrictBooleanField(required=False)  # noqa: N815
    binPointCloudFields = serializers.ListField(  # noqa: N815
        child=StrictCharField(), required=False, allow_null=True
    )


def status_revision(dataset: Dataset, params: Mapping[str, Any]) -> selectors.Revision:
    """The revision a status selector names: ``draftNumber`` (an int) or ``commit`` (any revision)."""
    draft_number = params.get("draftNumber")
    if draft_number not in (None, ""):
        return selectors.revision_resolve(
            dataset=dataset, revision=parse_int(draft_number, field="draftNumber", default=0)
        )
    commit = params.get("commit")
    if commit:
        return selectors.revision_resolve(dataset=dataset, revision=commit)
    raise errors.Missing("draftNumber", "a draftNumber or a commit is required")


def required_param(params: Mapping[str, Any], name: str) -> str:
    """A query parameter that must be present and non-empty."""
    value = params.get(name)
    if not value:
        raise errors.Missing(name)
    return value


class DatasetScopedView(TensorBayView):
    """A view under ``datasets/{id}``: anyone who may read the dataset reads, only writers write."""

    def dataset(self, request: Request, dataset_id: str, *, write: bool | None = None) -> Dataset:
        """The dataset in the path, as the caller may use it for this request's method (or to ``write``)."""
        return catalog.dataset_get_by_id_for_key(
            dataset_id=dataset_id,
            key=caller_key(request),
            write=request.method != "GET" if write is None else write,
        )

    def draft(self, request: Request, dataset_id: str, number: int) -> Draft:
        """The dataset's draft with this number, for a write."""
        return selectors.draft_get(dataset=self.dataset(request, dataset_id, write=True), number=number)

    def base_url(self, request: Request) -> str:
        """The hub's address as this request reached it, for the URLs it signs."""
        return request.build_absolute_uri("/")


# Drafts, commits, branches, tags


class DraftCollectionView(DatasetScopedView):
    """``datasets/{id}/drafts``."""

    list_key = "drafts"

    @extend_schema(
        operation_id="list_drafts",
        parameters=[
            OpenApiParameter("status", str, enum=["OPEN", "CLOSED", "COMMITTED", "ALL"]),
            OpenApiParameter("branchName", str),
            *PAGE_PARAMETERS,
        ],
        responses=envelope("drafts", DraftSerializer),
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        """List drafts by number: OPEN ones unless ``status`` says otherwise, on every branch unless one is named."""
        drafts = selectors.draft_list(
            dataset=self.dataset(request, dataset_id),
            state=request.query_params.get("status", "OPEN"),
            branch_name=request.query_params.get("branchName"),
        )
        page = self.paginator.paginate_queryset(drafts, request, view=self)
        return self.paginator.get_paginated_response(DraftSerializer(page, many=True).data)

    @extend_schema(
        operation_id="create_draft",
        request=DraftCreateSerializer,
        responses=inline_serializer("TensorBayDraftNumber", {"draftNumber": serializers.IntegerField()}),
    )
    def post(self, request: Request, dataset_id: str) -> Response:
        """Open a draft on a branch (the default branch when none is named)."""
        body = parse_body(DraftCreateSerializer, request)
        draft = services.draft_create(
            dataset=self.dataset(request, dataset_id),
            title=body["title"],
            description=body["description"],
            branch_name=body["branchName"] or None,
            creator=caller_key(request).user,
        )
        return Response({"draftNumber": draft.number})


class DraftView(DatasetScopedView):
    """``datasets/{id}/drafts/{n}``."""

    @extend_schema(operation_id="update_draft", request=DraftUpdateSerializer, responses={200: EMPTY})
    def patch(self, request: Request, dataset_id: str, draft_number: int) -> Response:
        """Change an open draft's title or description, or close it with ``status: CLOSED``."""
        body = parse_body(DraftUpdateSerializer, request)
        services.draft_edit(
            draft=self.draft(request, dataset_id, draft_number),
            title=body.get("title"),
            description=body.get("description"),
            state=body.get("status"),
        )
        return Response({})


class CommitCollectionView(DatasetScopedView):
    """``datasets/{id}/commits``."""

    list_key = "commits"

    @extend_schema(
        operation_id="list_commits",
        parameters=[OpenApiParameter("commit", str), *PAGE_PARAMETERS],
        responses=envelope("commits", CommitSerializer),
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        """The revision's commit (the default branch's head by default) and its ancestors, newest first."""
        found = self.dataset(request, dataset_id)
        revision = selectors.revision_resolve(
            dataset=found, revision=request.query_params.get("commit") or found.default_branch
        )
        commits = self.paginator.paginate_page(
            lambda offset, limit: selectors.commit_list(revision=revision, offset=offset, limit=limit), request, self
        )
        return self.paginator.get_paginated_response(CommitSerializer(commits, many=True).data)

    @extend_schema(
        operation_id="commit",
        request=CommitCreateSerializer,
        responses=inline_serializer("TensorBayCommitId", {"commitId": serializers.CharField()}),
    )
    def post(self, request: Request, dataset_id: str) -> Response:
        """Commit an open draft onto its branch, tagging the commit when ``tag`` is given."""
        body = parse_body(CommitCreateSerializer, request)
        commit = services.draft_commit(
            draft=self.draft(request, dataset_id, body["draftNumber"]),
            title=body["title"],
            description=body["description"],
            committer=caller_key(request).user,
            tag=body.get("tag"),
        )
        return Response({"commitId": commit.id})


class BranchCollectionView(DatasetScopedView):
    """``datasets/{id}/branches``."""

    list_key = "branches"

    @extend_schema(
        operation_id="list_branches",
        parameters=[OpenApiParameter("name", str), *PAGE_PARAMETERS],
        responses=envelope("branches", BranchSerializer),
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        """List branches by name (only the exactly named one with ``name``)."""
        branches = selectors.branch_list(
            dataset=self.dataset(request, dataset_id), name=request.query_params.get("name")
        )
        page = self.paginator.paginate_queryset(branches, request, view=self)
        return self.paginator.get_paginated_response(BranchSerializer(page, many=True).data)

    @extend_schema(operation_id="create_branch", request=NameCommitSerializer, responses={201: EMPTY})
    def post(self, request: Request, dataset_id: str) -> Response:
        """Create a branch at a commit (a branch or tag name is taken too; ROOT is forbidden)."""
        body = parse_body(NameCommitSerializer, request)
        services.branch_create(dataset=self.dataset(request, dataset_id), name=body["name"], revision=body["commit"])
        return Response({}, status=201)

    @extend_schema(operation_id="delete_branch", request=NameSerializer, responses={200: EMPTY})
    def delete(self, request: Request, dataset_id: str) -> Response:
        """Delete a branch other than the default one, named in the body."""
        body = parse_body(NameSerializer, request)
        services.branch_delete(dataset=self.dataset(request, dataset_id), name=body["name"])
        return Response({})


class TagCollectionView(DatasetScopedView):
    """``datasets/{id}/tags``."""

    list_key = "tags"

    @extend_schema(
        operation_id="list_tags",
        parameters=[OpenApiParameter("name", str), *PAGE_PARAMETERS],
        responses=envelope("tags", TagSerializer),
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        """List tags by name (only the exactly named one with ``name``)."""
        tags = selectors.tag_list(dataset=self.dataset(request, dataset_id), name=request.query_params.get("name"))
        page = self.paginator.paginate_queryset(tags, request, view=self)
        return self.paginator.get_paginated_response(TagSerializer(page, many=True).data)

    @extend_schema(operation_id="create_tag", request=NameCommitSerializer, responses={201: EMPTY})
    def post(self, request: Request, dataset_id: str) -> Response:
        """Tag the commit a commit id, branch name or tag name names."""
        body = parse_body(NameCommitSerializer, request)
        services.tag_create(
            dataset=self.dataset(request, dataset_id),
            name=body["name"],
            revision=body["commit"],
            creator=caller_key(request).user,
        )
        return Response({}, status=201)

    @extend_schema(operation_id="delete_tag", request=NameSerializer, responses={200: EMPTY})
    def delete(self, request: Request, dataset_id: str) -> Response:
        """Delete a tag named in the body; its commit stays."""
        body = parse_body(NameSerializer, request)
        services.tag_delete(dataset=self.dataset(request, dataset_id), name=body["name"])
        return Response({})


# Segments


class SegmentSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()


def copy_source(request: Request, draft: Draft, source: dict, *, move: bool) -> selectors.Revision:
    """The revision a copy reads from: another dataset or version when the source names one, else the draft."""
    dataset = draft.dataset
    if move or ("id" not in source and "draftNumber" not in source and "commit" not in source):
        return selectors.revision_resolve(dataset=dataset, revision=draft.number)
    source_dataset = dataset
    if source.get("id") and source["id"] != dataset.hex_id:
        source_dataset = catalog.dataset_get_by_id_for_key(dataset_id=source["id"], key=caller_key(request))
    return status_revision(source_dataset, source)


class SegmentCollectionView(DatasetScopedView):
    """``datasets/{id}/segments`` (``?copy`` and ``?move`` on POST)."""

    list_key = "segments"

    @extend_schema(
        operation_id="list_segments",
        parameters=[*STATUS_PARAMETERS, *PAGE_PARAMETERS],
        responses=envelope("segments", SegmentSerializer),
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        """List the segments at the status selector's revision, by name."""
        revision = status_revision(self.dataset(request, dataset_id), request.query_params)
        segments = self.paginator.paginate_page(
            lambda offset, limit: selectors.segment_list(revision=revision, offset=offset, limit=limit), request, self
        )
        return self.paginator.get_paginated_response(SegmentSerializer(segments, many=True).data)

    @extend_schema(
        operation_id="create_segment",
        parameters=[OpenApiParameter("copy", bool), OpenApiParameter("move", bool)],
        request=SegmentCreateSerializer,
        responses={200: EMPTY},
    )
    def post(self, request: Request, dataset_id: str) -> Response:
        """Create a segment in a draft; with ``?copy`` or ``?move``, copy or move one into it."""
        if "copy" in request.query_params or "move" in request.query_params:
            return self.copy(request, dataset_id, move="move" in request.query_params)
        body = parse_body(SegmentCreateSerializer, request)
        services.draft_segment_ensure(
            draft=self.draft(request, dataset_id, body["draftNumber"]),
            name=body["name"],
            description=body.get("description"),
        )
        return Response({})

    def copy(self, request: Request, dataset_id: str, *, move: bool) -> Response:
        body = parse_body(SegmentCopySerializer, request)
        draft = self.draft(request, dataset_id, body["draftNumber"])
        services.draft_segment_copy(
            draft=draft,
            source=copy_source(request, draft, body["source"], move=move),
            source_segment=body["source"]["segmentName"],
            target_segment=body["segmentName"],
            strategy=body["strategy"],
            move=move,
        )
        return Response({})

    @extend_schema(operation_id="delete_segment", request=SegmentDeleteSerializer, responses={200: EMPTY})
    def delete(self, request: Request, dataset_id: str) -> Response:
        """Delete a segment and its entries in a draft."""
        body = parse_body(SegmentDeleteSerializer, request)
        services.draft_segment_delete(
            draft=self.draft(request, dataset_id, body["draftNumber"]), name=body["segmentName"]
        )
        return Response({})


# Data


class DataPathSerializer(serializers.Serializer):
    remotePath = serializers.CharField(source="remote_path")  # noqa: N815


class DataDetailsSerializer(serializers.Serializer):
    """DataDetails: the path, a signed URL, the label (``{}`` for none) and the timestamp when set."""

    remotePath = serializers.CharField()  # noqa: N815
    url = serializers.CharField()
    timestamp = serializers.FloatField(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), "label": serializers.DictField()}


class UrlSerializer(serializers.Serializer):
    remotePath = serializers.CharField()  # noqa: N815
    url = serializers.CharField()


class EntryPageView(DatasetScopedView):
    """A list of one segment's entries at the status selector's revision, or of one entry with ``remotePath``."""

    def entries(self, request: Request, dataset_id: str) -> tuple[Dataset, list[Entry]]:
        dataset = self.dataset(request, dataset_id)
        return dataset, self.page(request, status_revision(dataset, request.query_params))

    def page(self, request: Request, revision: selectors.Revision) -> list[Entry]:
        """The page of entries the query asks for at this revision."""
        params = request.query_params
        segment = required_param(params, "segmentName")
        remote_path = params.get("remotePath")
        if remote_path:
            entry = selectors.entry_get(revision=revision, segment=segment, remote_path=remote_path)
            return self.paginator.paginate_page(
                lambda offset, limit: selectors.Page(items=[entry][offset : offset + limit], total=1), request, self
            )
        return self.paginator.paginate_page(
            lambda offset, limit: selectors.entry_list(revision=revision, segment=segment, offset=offset, limit=limit),
            request,
            self,
        )

    def urls(self, request: Request, dataset: Dataset, entries: list[Entry]) -> list[str]:
        return catalog.dataset_object_urls(
            dataset=dataset, object_keys=[entry.object_key for entry in entries], base_url=self.base_url(request)
        )


class DataView(EntryPageView):
    """``datasets/{id}/data`` (``?multipleCopy`` and ``?multipleMove`` on POST)."""

    list_key = "data"

    @extend_schema(
        operation_id="list_data_paths",
        parameters=[*SEGMENT_PARAMETERS, *PAGE_PARAMETERS],
        responses=envelope("data", DataPathSerializer),
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        """List the segment's remote paths, in path order."""
        _, entries = self.entries(request, dataset_id)
        return self.paginator.get_paginated_response(DataPathSerializer(entries, many=True).data)

    @extend_schema(operation_id="delete_data", request=DataDeleteSerializer, responses={200: EMPTY})
    def delete(self, request: Request, dataset_id: str) -> Response:
        """Delete one entry in a draft."""
        body = parse_body(DataDeleteSerializer, request)
        services.draft_stage_deletes(
            draft=self.draft(request, dataset_id, body["draftNumber"]),
            segment=body["segmentName"],
            remote_paths=[body["remotePath"]],
        )
        return Response({})

    @extend_schema(
        operation_id="copy_data",
        parameters=[OpenApiParameter("multipleCopy", bool), OpenApiParameter("multipleMove", bool)],
        request=DataCopySerializer,
        responses={200: EMPTY},
    )
    def post(self, request: Request, dataset_id: str) -> Response:
        """Copy (``?multipleCopy``) or move (``?multipleMove``) entries into a draft."""
        move = "multipleMove" in request.query_params
        if not move and "multipleCopy" not in request.query_params:
            raise errors.Missing("multipleCopy", "POST data needs ?multipleCopy or ?multipleMove")
        body = parse_body(DataCopySerializer, request)
        draft = self.draft(request, dataset_id, body["draftNumber"])
        services.draft_entries_copy(
            draft=draft,
            source=copy_source(request, draft, body["source"], move=move),
            source_segment=body["source"]["segmentName"],
            source_paths=body["source"]["remotePaths"],
            target_segment=body["segmentName"],
            target_paths=body.get("remotePaths"),
            strategy=body["strategy"],
            move=move,
        )
        return Response({})


class DataDetailsView(EntryPageView, CallerMemoView):
    """``GET datasets/{id}/data/details``."""

    list_key = "dataDetails"

    @extend_schema(
        operation_id="list_data_details",
        parameters=[*SEGMENT_PARAMETERS, OpenApiParameter("remotePath", str), *PAGE_PARAMETERS],
        responses=envelope("dataDetails", DataDetailsSerializer),
    )
    def get(self, request: Request, dataset_id: str) -> HttpResponseBase:
        """The segment's entries with signed URLs and labels, in path order.

        What a commit holds never changes, so its pages are kept for a while, URLs and all (see
        ``signed_page_cached``); a draft's pages are built each time.
        """
        dataset = self.dataset(request, dataset_id)
        revision = status_revision(dataset, request.query_params)
        if revision.draft is not None or revision.commit is None:
            return self.details(request, dataset, revision)
        config = dataset.storage_config
        return signed_page_cached(
            request,
            parts=(
                revision.commit.pk,
                self.base_url(request),
                f"{config.pk}@{config.updated_at.isoformat()}" if config else "hub",
            ),
            build=lambda: self.details(request, dataset, revision),
        )

    def details(self, request: Request, dataset: Dataset, revision: selectors.Revision) -> Response:
        entries = self.page(request, revision)
        details = []
        for entry, url in zip(entries, self.urls(request, dataset, entries), strict=True):
            item: dict[str, Any] = {"remotePath": entry.remote_path, "url": url, "label": entry.label or {}}
            if entry.timestamp is not None:
                item["timestamp"] = entry.timestamp
            details.append(item)
        return self.paginator.get_paginated_response(details)


class DataUrlsView(EntryPageView):
    """``GET datasets/{id}/data/urls``."""

    list_key = "urls"

    @extend_schema(
        operation_id="list_data_urls",
        parameters=[*SEGMENT_PARAMETERS, OpenApiParameter("remotePath", str), *PAGE_PARAMETERS],
        responses=envelope("urls", UrlSerializer),
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        """Fresh signed URLs of the segment's entries, in path order."""
        dataset, entries = self.entries(request, dataset_id)
        urls = self.urls(request, dataset, entries)
        return self.paginator.get_paginated_response(
            [{"remotePath": entry.remote_path, "url": url} for entry, url in zip(entries, urls, strict=True)]
        )


# Uploads


class PolicySerializer(serializers.Serializer):
    result = serializers.DictField(child=serializers.CharField())
    extra = inline_serializer(
        "TensorBayPolicyExtra",
        {
            "objectPrefix": serializers.CharField(),
            "host": serializers.CharField(),
            "backendType": serializers.CharField(),
        },
    )
    expireAt = serializers.IntegerField()  # noqa: N815


class PolicyView(DatasetScopedView):
    """``GET datasets/{id}/policies``: how to upload files of an open draft straight to storage."""

    @extend_schema(
        operation_id="get_policy",
        parameters=[
            OpenApiParameter("expired", int),
            OpenApiParameter("segmentName", str),
            OpenApiParameter("draftNumber", int, required=True),
        ],
        responses=PolicySerializer,
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        """The upload policy: string form fields (with ``multipleUploadLimit``), host, key prefix and expiry."""
        params = request.query_params
        number = parse_int(required_param(params, "draftNumber"), field="draftNumber", default=0)
        policy = catalog.dataset_upload_policy(
            draft=self.draft(request, dataset_id, number),
            expires_in=parse_int(params.get("expired"), field="expired", default=DEFAULT_POLICY_SECONDS),
            base_url=self.base_url(request),
        )
        return Response(
            {
                "result": policy.fields,
                "extra": {
                    "objectPrefix": policy.object_prefix,
                    "host": policy.host,
                    "backendType": policy.backend_type,
                },
                "expireAt": policy.expires_at,
            }
        )


class CallbackView(DatasetScopedView):
    """``PUT datasets/{id}/multi/callback``: register uploaded files in an open draft."""

    @extend_schema(operation_id="upload_callback", request=CallbackSerializer, responses={200: EMPTY})
    def put(self, request: Request, dataset_id: str) -> Response:
        """Stage each file whose object (by SHA-1) is in storage with its size; a path registered again is
        replaced."""
        body = parse_body(CallbackSerializer, request)
        catalog_services.dataset_objects_register(
            draft=self.draft(request, dataset_id, body["draftNumber"]),
            segment=body["segmentName"],
            objects=[
                catalog_services.UploadedObject(
                    remote_path=item["remotePath"],
                    sha1=item["checksum"],
                    size=item["fileSize"],
                    label=item.get("label"),
                    timestamp=item.get("timestamp"),
                )
                for item in body["objects"]
            ],
        )
        return Response({})


class CloudCallbackView(DatasetScopedView):
    """``PUT datasets/{id}/multi/cloud-callback``: register files already in the dataset's storage config."""

    @extend_schema(operation_id="import_cloud_files", request=CloudCallbackSerializer, responses={200: EMPTY})
    def put(self, request: Request, dataset_id: str) -> Response:
        """Stage each named object of the authorised storage under its remote path."""
        body = parse_body(CloudCallbackSerializer, request)
        draft = self.draft(request, dataset_id, body["draftNumber"])
        for item in body["objects"]:
            catalog_services.dataset_cloud_object_register(
                draft=draft,
                segment=body["segmentName"],
                cloud_path=item["cloudPath"],
                remote_path=item["remotePath"],
                label=item.get("label"),
            )
        return Response({})


class LabelsView(DatasetScopedView):
    """``PUT datasets/{id}/multi/data/labels``: replace labels of a draft's entries."""

    @extend_schema(operation_id="upload_labels", request=LabelsSerializer, responses={200: EMPTY})
    def put(self, request: Request, dataset_id: str) -> Response:
        """Set the label of each named entry."""
        body = parse_body(LabelsSerializer, request)
        services.draft_labels_set(
            draft=self.draft(request, dataset_id, body["draftNumber"]),
            segment=body["segmentName"],
            labels={item["remotePath"]: item["label"] for item in body["objects"]},
        )
        return Response({})


# Catalog, notes, sizes, statistics


class CatalogView(DatasetScopedView):
    """``datasets/{id}/labels/catalogs``."""

    @extend_schema(
        operation_id="get_catalog",
        parameters=STATUS_PARAMETERS,
        responses=inline_serializer("TensorBayCatalog", {"catalog": serializers.DictField()}),
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        """The catalog at the revision, verbatim (``{}`` when none)."""
        revision = status_revision(self.dataset(request, dataset_id), request.query_params)
        return Response({"catalog": selectors.revision_metadata(revision=revision).catalog})

    @extend_schema(operation_id="upload_catalog", request=CatalogSerializer, responses={200: EMPTY})
    def put(self, request: Request, dataset_id: str) -> Response:
        """Replace a draft's catalog."""
        body = parse_body(CatalogSerializer, request)
        services.draft_metadata_set(draft=self.draft(request, dataset_id, body["draftNumber"]), catalog=body["catalog"])
        return Response({})


class NotesView(DatasetScopedView):
    """``datasets/{id}/notes``."""

    @extend_schema(
        operation_id="get_notes",
        parameters=STATUS_PARAMETERS,
        responses=inline_serializer(
            "TensorBayNotes",
            {
                "isContinuous": serializers.BooleanField(),
                "binPointCloudFields": serializers.ListField(child=serializers.CharField(), allow_null=True),
            },
        ),
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        """The notes at the revision."""
        revision = status_revision(self.dataset(request, dataset_id), request.query_params)
        notes = selectors.revision_metadata(revision=revision).notes
        return Response(
            {
                "isContinuous": notes.get("isContinuous", False),
                "binPointCloudFields": notes.get("binPointCloudFields"),
            }
        )

    @extend_schema(operation_id="update_notes", request=NotesSerializer, responses={200: EMPTY})
    def patch(self, request: Request, dataset_id: str) -> Response:
        """Set the given notes of a draft (``binPointCloudFields: null`` clears them)."""
        body = parse_body(NotesSerializer, request)
        notes = {name: body[name] for name in ("isContinuous", "binPointCloudFields") if name in body}
        services.draft_metadata_set(draft=self.draft(request, dataset_id, body["draftNumber"]), notes=notes)
        return Response({})


class TotalSizeView(DatasetScopedView):
    """``GET datasets/{id}/total-size``."""

    @extend_schema(
        operation_id="get_total_size",
        parameters=[OpenApiParameter("commit", str, required=True)],
        responses=inline_serializer("TensorBayTotalSize", {"totalSize": serializers.IntegerField()}),
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        """Bytes of every entry at a commit."""
        dataset = self.dataset(request, dataset_id)
        revision = selectors.revision_resolve(dataset=dataset, revision=required_param(request.query_params, "commit"))
        return Response({"totalSize": selectors.revision_stats(revision=revision).total_size})


class LabelStatisticsView(DatasetScopedView):
    """``GET datasets/{id}/labels/statistics``."""

    @extend_schema(
        operation_id="get_label_statistics",
        parameters=STATUS_PARAMETERS,
        responses=inline_serializer("TensorBayLabelStatistics", {"labelStatistics": serializers.DictField()}),
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        """Per label type, the number of labels and of each category."""
        revision = status_revision(self.dataset(request, dataset_id), request.query_params)
        return Response({"labelStatistics": selectors.label_statistics(revision=revision)})


# Diffs


def diff_head(dataset: Dataset, basehead: str) -> selectors.Revision:
    """The head a ``basehead`` names: ``commit-<id>`` or ``draft-<n>`` (compared with its parent)."""
    kind, _, value = basehead.partition("-")
    if kind == "commit" and value:
        return selectors.revision_resolve(dataset=dataset, revision=value)
    if kind == "draft" and value.isdigit():
        return selectors.revision_resolve(dataset=dataset, revision=int(value))
    raise errors.Invalid("basehead", "must be commit-<id> or draft-<number>")


class SegmentDiffSerializer(serializers.Serializer):
    name = serializers.CharField()
    action = serializers.CharField()


class DataDiffSerializer(serializers.Serializer):
    """DataDiff: the path, the action, and what changed of the file and of the label."""

    remotePath = serializers.CharField()  # noqa: N815
    action = serializers.CharField()
    file = inline_serializer("TensorBayFileAction", {"action": serializers.CharField()})

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            **super().get_fields(),
            "label": inline_serializer("TensorBayLabelAction", {"action": serializers.CharField()}),
        }

    def to_representation(self, change: Any) -> dict[str, Any]:
        action = change.action
        file_action = label_action = action
        if change.old is not None and change.new is not None:
            file_action = "modify" if change.old.sha1 != change.new.sha1 else "unmodify"
            label_action = "modify" if change.old.label != change.new.label else "unmodify"
        return {
            "remotePath": change.path.partition("/")[2],
            "action": action,
            "file": {"action": file_action},
            "label": {"action": label_action},
        }


class SegmentDiffView(DatasetScopedView):
    """``GET datasets/{id}/diffs/{basehead}/segments``."""

    list_key = "segments"

    @extend_schema(
        operation_id="list_segment_diffs",
        parameters=PAGE_PARAMETERS,
        responses=envelope("segments", SegmentDiffSerializer),
    )
    def get(self, request: Request, dataset_id: str, basehead: str) -> Response:
        """The segments the head changed since its parent (or a draft since its base), by name."""
        head = diff_head(self.dataset(request, dataset_id), basehead)
        base = selectors.diff_base(revision=head)
        changes = self.paginator.paginate_page(
            lambda offset, limit: selectors.diff_segments(base=base, head=head, offset=offset, limit=limit),
            request,
            self,
        )
        return self.paginator.get_paginated_response(SegmentDiffSerializer(changes, many=True).data)


class DataDiffView(DatasetScopedView):
    """``GET datasets/{id}/diffs/{basehead}/segments/{segment}/data``."""

    list_key = "data"

    @extend_schema(
        operation_id="list_data_diffs",
        parameters=PAGE_PARAMETERS,
        responses=envelope("data", DataDiffSerializer),
    )
    def get(self, request: Request, dataset_id: str, basehead: str, segment: str) -> Response:
        """The entries of one segment the head changed, by path."""
        head = diff_head(self.dataset(request, dataset_id), basehead)
        base = selectors.diff_base(revision=head)
        changes = self.paginator.paginate_page(
            lambda offset, limit: selectors.diff_entries(
                base=base, head=head, segment=segment, offset=offset, limit=limit
            ),
            request,
            self,
        )
        return self.paginator.get_paginated_response(DataDiffSerializer(changes, many=True).data)
