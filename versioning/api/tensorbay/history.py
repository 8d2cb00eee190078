"""TensorBay v1 views of drafts, commits, branches and tags."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from project.api.authentication import caller_key
from project.api.base import parse_body
from project.api.fields import StrictCharField, StrictIntegerField
from project.api.tensorbay import EMPTY, envelope
from versioning import selectors, services
from versioning.api.tensorbay.common import PAGE_PARAMETERS, DatasetScopedView, commit_fields, unix
from versioning.models import ROOT_COMMIT_ID, Commit, Draft


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
