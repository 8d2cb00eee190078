"""Graviti v2 views of versioning: branches, commits, revisions, drafts and tags of ``/v2/datasets/W/D``.

The SDK reads a null ``commit_id`` as "no commits", but parses ``committed_at`` of every branch and revision,
so a branch without commits answers null commit fields with empty texts and its creation time (spec §3.3).
"""

from datetime import datetime
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from datasets import selectors as catalog
from datasets.models import Dataset
from project import errors
from project.api.authentication import caller_key
from project.api.base import parse_body
from project.api.fields import StrictCharField, StrictIntegerField
from project.api.graviti import EMPTY, GravitiView, Timestamp, envelope
from versioning import selectors, services
from versioning.models import Branch, Commit, Tag

PAGE_PARAMETERS = [OpenApiParameter("offset", int), OpenApiParameter("limit", int)]
REVISION_TYPES = ("BRANCH", "TAG", "COMMIT")


class CommitSerializer(serializers.Serializer):
    """Commit object (spec §3.2); the first commit's parent is null."""

    commit_id = serializers.CharField(source="id", allow_null=True)
    parent_commit_id = serializers.CharField(source="parent_id", allow_null=True)
    title = serializers.CharField()
    description = serializers.CharField()
    committer = serializers.CharField(source="committer_name")
    committed_at = Timestamp()


def commit_fields(commit: Commit | None, since: datetime) -> dict[str, Any]:
    """A commit's fields, or those of no commit yet (null ids, empty texts, ``since`` as the time)."""
    if commit is not None:
        return dict(CommitSerializer(commit).data)
    return {
        "commit_id": None,
        "parent_commit_id": None,
        "title": "",
        "description": "",
        "committer": "",
        "committed_at": Timestamp().to_representation(since),
    }


class BranchSerializer(CommitSerializer):
    """Branch object (spec §3.3): the name and the fields of the head commit."""

    name = serializers.CharField()

    def to_representation(self, branch: Branch) -> dict[str, Any]:
        return {"name": branch.name, **commit_fields(branch.head, branch.created_at)}


class TagSerializer(CommitSerializer):
    """Tag object (spec §3.3): the name and the fields of the tagged commit."""

    name = serializers.CharField()

    def to_representation(self, tag: Tag) -> dict[str, Any]:
        return {"name": tag.name, **commit_fields(tag.commit, tag.created_at)}


class RevisionSerializer(CommitSerializer):
    """Revision object (spec §3.4): BRANCH, TAG or COMMIT and the fields of its commit."""

    type = serializers.ChoiceField(choices=REVISION_TYPES)

    def to_representation(self, revision: selectors.Revision) -> dict[str, Any]:
        since = revision.branch.created_at if revision.branch else revision.dataset.created_at
        return {"type": revision.kind, **commit_fields(revision.commit, since)}


class DraftSerializer(serializers.Serializer):
    """Draft object (spec §3.5); the parent is null for a draft on a branch without commits."""

    number = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    branch = serializers.CharField(source="branch_name")
    state = serializers.CharField()
    parent_commit_id = serializers.CharField(source="base_commit_id", allow_null=True)
    creator = serializers.SerializerMethodField()
    created_at = Timestamp()
    updated_at = Timestamp()

    def get_creator(self, draft: Any) -> str:
        return draft.creator.display_name if draft.creator else ""


class NameRevisionSerializer(serializers.Serializer):
    name = StrictCharField(max_length=255)
    revision = StrictCharField()


class CommitDraftSerializer(serializers.Serializer):
    draft_number = StrictIntegerField(min_value=1)
    title = StrictCharField(max_length=255)
    description = StrictCharField(required=False, default="", allow_blank=True)


class DraftCreateSerializer(serializers.Serializer):
    title = StrictCharField(max_length=255)
    branch = StrictCharField(required=False, default="", allow_blank=True, max_length=255)
    description = StrictCharField(required=False, default="", allow_blank=True)


class DraftUpdateSerializer(serializers.Serializer):
    state = StrictCharField(required=False)
    title = StrictCharField(required=False, max_length=255)
    description = StrictCharField(required=False, allow_blank=True)


class DatasetScopedView(GravitiView):
    """A view under ``/v2/datasets/{workspace}/{dataset}``: anyone who may read it reads, writers write."""

    def dataset(self, request: Request, workspace: str, dataset: str) -> Dataset:
        """The dataset in the path, as the caller may use it for this request's method."""
        return catalog.dataset_get_for_key(
            workspace=workspace, name=dataset, key=caller_key(request), write=request.method != "GET"
        )


class BranchCollectionView(DatasetScopedView):
    """``DS/branches``."""

    list_key = "branches"

    @extend_schema(
        operation_id="list_branches", parameters=PAGE_PARAMETERS, responses=envelope("branches", BranchSerializer)
    )
    def get(self, request: Request, workspace: str, dataset: str) -> Response:
        """List the branches by name."""
        branches = selectors.branch_list(dataset=self.dataset(request, workspace, dataset))
        page = self.paginator.paginate_queryset(branches, request, view=self)
        return self.paginator.get_paginated_response(BranchSerializer(page, many=True).data)

    @extend_schema(operation_id="create_branch", request=NameRevisionSerializer, responses={201: BranchSerializer})
    def post(self, request: Request, workspace: str, dataset: str) -> Response:
        """Create a branch at the commit a branch name, tag name or commit id names."""
        body = parse_body(NameRevisionSerializer, request)
        branch = services.branch_create(
            dataset=self.dataset(request, workspace, dataset), name=body["name"], revision=body["revision"]
        )
        return Response(BranchSerializer(branch).data, status=201)


class BranchView(DatasetScopedView):
    """``DS/branches/{branch}``."""

    @extend_schema(operation_id="get_branch", responses=BranchSerializer)
    def get(self, request: Request, workspace: str, dataset: str, branch: str) -> Response:
        """Describe a branch and its head commit."""
        found = selectors.branch_get(dataset=self.dataset(request, workspace, dataset), name=branch)
        return Response(BranchSerializer(found).data)

    @extend_schema(operation_id="delete_branch", responses={200: EMPTY})
    def delete(self, request: Request, workspace: str, dataset: str, branch: str) -> Response:
        """Delete a branch other than the default one."""
        services.branch_delete(dataset=self.dataset(request, workspace, dataset), name=branch)
        return Response({})


class CommitCollectionView(DatasetScopedView):
    """``DS/commits``."""

    list_key = "commits"

    @extend_schema(
        operation_id="list_commits",
        parameters=[OpenApiParameter("revision", str), *PAGE_PARAMETERS],
        responses=envelope("commits", CommitSerializer),
    )
    def get(self, request: Request, workspace: str, dataset: str) -> Response:
        """The revision's commit (the default branch's head by default) and its ancestors, newest first."""
        found = self.dataset(request, workspace, dataset)
        revision = selectors.revision_resolve(
            dataset=found, revision=request.query_params.get("revision", found.default_branch)
        )
        commits = self.paginator.paginate_page(
            lambda offset, limit: selectors.commit_list(revision=revision, offset=offset, limit=limit), request, self
        )
        return self.paginator.get_paginated_response(CommitSerializer(commits, many=True).data)

    @extend_schema(operation_id="commit_draft", request=CommitDraftSerializer, responses={201: CommitSerializer})
    def post(self, request: Request, workspace: str, dataset: str) -> Response:
        """Commit an open draft onto its branch; the draft becomes COMMITTED."""
        body = parse_body(CommitDraftSerializer, request)
        draft = selectors.draft_get(dataset=self.dataset(request, workspace, dataset), number=body["draft_number"])
        commit = services.draft_commit(
            draft=draft, title=body["title"], description=body["description"], committer=caller_key(request).user
        )
        return Response(CommitSerializer(commit).data, status=201)


class CommitView(DatasetScopedView):
    """``DS/commits/{commit_id}``."""

    @extend_schema(operation_id="get_commit", responses=CommitSerializer)
    def get(self, request: Request, workspace: str, dataset: str, commit_id: str) -> Response:
        """Describe a commit."""
        commit = selectors.commit_get(dataset=self.dataset(request, workspace, dataset), commit_id=commit_id)
        return Response(CommitSerializer(commit).data)


class RevisionView(DatasetScopedView):
    """``DS/revisions/{revision}``."""

    @extend_schema(operation_id="get_revision", responses=RevisionSerializer)
    def get(self, request: Request, workspace: str, dataset: str, revision: str) -> Response:
        """Say whether a revision names a branch, a tag or a commit, and describe its commit."""
        resolved = selectors.revision_resolve(dataset=self.dataset(request, workspace, dataset), revision=revision)
        if resolved.kind not in REVISION_TYPES:
            raise errors.NotFound(f"revision {revision!r} does not exist", revision=revision)
        return Response(RevisionSerializer(resolved).data)


class DraftCollectionView(DatasetScopedView):
    """``DS/drafts``."""

    list_key = "drafts"

    @extend_schema(
        operation_id="list_drafts",
        parameters=[
            OpenApiParameter("state", str, enum=["OPEN", "CLOSED", "COMMITTED", "ALL"]),
            OpenApiParameter("branch", str),
            *PAGE_PARAMETERS,
        ],
        responses=envelope("drafts", DraftSerializer),
    )
    def get(self, request: Request, workspace: str, dataset: str) -> Response:
        """List drafts by number: OPEN ones unless ``state`` says otherwise, on every branch unless one is named."""
        drafts = selectors.draft_list(
            dataset=self.dataset(request, workspace, dataset),
            state=request.query_params.get("state", "OPEN"),
            branch_name=request.query_params.get("branch"),
        )
        page = self.paginator.paginate_queryset(drafts, request, view=self)
        return self.paginator.get_paginated_response(DraftSerializer(page, many=True).data)

    @extend_schema(operation_id="create_draft", request=DraftCreateSerializer, responses={201: DraftSerializer})
    def post(self, request: Request, workspace: str, dataset: str) -> Response:
        """Open a draft on a branch (the default branch when none is named)."""
        body = parse_body(DraftCreateSerializer, request)
        draft = services.draft_create(
            dataset=self.dataset(request, workspace, dataset),
            title=body["title"],
            description=body["description"],
            branch_name=body["branch"] or None,
            creator=caller_key(request).user,
        )
        return Response(DraftSerializer(draft).data, status=201)


class DraftView(DatasetScopedView):
    """``DS/drafts/{draft_number}``."""

    @extend_schema(operation_id="get_draft", responses=DraftSerializer)
    def get(self, request: Request, workspace: str, dataset: str, draft_number: int) -> Response:
        """Describe a draft."""
        draft = selectors.draft_get(dataset=self.dataset(request, workspace, dataset), number=draft_number)
        return Response(DraftSerializer(draft).data)

    @extend_schema(operation_id="update_draft", request=DraftUpdateSerializer, responses=DraftSerializer)
    def patch(self, request: Request, workspace: str, dataset: str, draft_number: int) -> Response:
        """Change an open draft's title or description, or close it with ``state`` CLOSED."""
        body = parse_body(DraftUpdateSerializer, request)
        draft = selectors.draft_get(dataset=self.dataset(request, workspace, dataset), number=draft_number)
        return Response(DraftSerializer(services.draft_edit(draft=draft, **body)).data)


class TagCollectionView(DatasetScopedView):
    """``DS/tags``."""

    list_key = "tags"

    @extend_schema(operation_id="list_tags", parameters=PAGE_PARAMETERS, responses=envelope("tags", TagSerializer))
    def get(self, request: Request, workspace: str, dataset: str) -> Response:
        """List the tags by name."""
        tags = selectors.tag_list(dataset=self.dataset(request, workspace, dataset))
        page = self.paginator.paginate_queryset(tags, request, view=self)
        return self.paginator.get_paginated_response(TagSerializer(page, many=True).data)

    @extend_schema(operation_id="create_tag", request=NameRevisionSerializer, responses={201: TagSerializer})
    def post(self, request: Request, workspace: str, dataset: str) -> Response:
        """Tag the commit a branch name, tag name or commit id names."""
        body = parse_body(NameRevisionSerializer, request)
        tag = services.tag_create(
            dataset=self.dataset(request, workspace, dataset),
            name=body["name"],
            revision=body["revision"],
            creator=caller_key(request).user,
        )
        return Response(TagSerializer(tag).data, status=201)


class TagView(DatasetScopedView):
    """``DS/tags/{tag}``."""

    @extend_schema(operation_id="get_tag", responses=TagSerializer)
    def get(self, request: Request, workspace: str, dataset: str, tag: str) -> Response:
        """Describe a tag and its commit."""
        found = selectors.tag_get(dataset=self.dataset(request, workspace, dataset), name=tag)
        return Response(TagSerializer(found).data)

    @extend_schema(operation_id="delete_tag", responses={200: EMPTY})
    def delete(self, request: Request, workspace: str, dataset: str, tag: str) -> Response:
        """Delete a tag; its commit stays."""
        services.tag_delete(dataset=self.dataset(request, workspace, dataset), name=tag)
        return Response({})
