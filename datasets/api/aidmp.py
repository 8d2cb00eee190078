"""AIDMP public dataset list (seed 001)."""

import json
from datetime import UTC, datetime
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from datasets import selectors
from datasets.models import Dataset, Membership
from project.api.aidmp import AidmpView, envelope
from project.api.authentication import caller_key
from project.api.base import list_response_cached
from versioning.selectors import DatasetSummary, dataset_summaries

ACL_READ, ACL_WRITE = 1, 2


def rfc3339(moment: datetime) -> str:
    """``2023-09-14T08:08:45.576Z``: UTC with milliseconds, as the seed writes times."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def tags_json(dataset: Dataset) -> str:
    """Tags as the JSON string ``[{category: [values]}]``, categories in first-seen order."""
    grouped: dict[str, list[str]] = {}
    for tag in dataset.tags.all():
        grouped.setdefault(tag.category.name, []).append(tag.name)
    return json.dumps([{category: values} for category, values in grouped.items()], ensure_ascii=False)


class RepoSerializer(serializers.Serializer):
    """``repo``: every field of the seed's table."""

    id = serializers.SerializerMethodField()
    name = serializers.CharField()
    display_name = serializers.SerializerMethodField()
    create_user_id = serializers.SerializerMethodField()
    desc = serializers.CharField(source="description")
    tenant_id = serializers.SerializerMethodField()
    branch_num = serializers.SerializerMethodField()
    commit_num = serializers.SerializerMethodField()
    file_num = serializers.SerializerMethodField()
    is_empty = serializers.SerializerMethodField()
    prefix_uri = serializers.SerializerMethodField()
    create_username = serializers.SerializerMethodField()
    last_commit_time = serializers.SerializerMethodField()
    create_time = serializers.SerializerMethodField()
    update_time = serializers.SerializerMethodField()
    default_branch = serializers.CharField()
    is_public = serializers.BooleanField()
    is_allow_public = serializers.BooleanField(source="is_public")
    repo_type = serializers.IntegerField(source="origin")
    oss_path = serializers.SerializerMethodField()
    is_async = serializers.SerializerMethodField()
    acl_list = serializers.SerializerMethodField()

    def summary(self, dataset: Dataset) -> DatasetSummary:
        return self.context["summaries"][dataset.pk]

    def get_id(self, dataset: Dataset) -> str:
        return str(dataset.uuid)

    def get_display_name(self, dataset: Dataset) -> str:
        return dataset.alias or dataset.name

    def get_create_user_id(self, dataset: Dataset) -> str:
        return str(dataset.creator.uuid) if dataset.creator else ""

    def get_tenant_id(self, dataset: Dataset) -> str:
        return str(dataset.workspace.uuid)

    def get_branch_num(self, dataset: Dataset) -> int:
        return self.summary(dataset).branch_count

    def get_commit_num(self, dataset: Dataset) -> int:
        return self.summary(dataset).commit_count

    def get_file_num(self, dataset: Dataset) -> str:
        return str(self.summary(dataset).object_count)

    def get_is_empty(self, dataset: Dataset) -> bool:
        return self.summary(dataset).entry_count == 0

    def get_prefix_uri(self, dataset: Dataset) -> str:
        return f"{dataset.workspace.name}/{dataset.name}"

    def get_create_username(self, dataset: Dataset) -> str:
        return dataset.creator.username if dataset.creator else ""

    def get_last_commit_time(self, dataset: Dataset) -> str:
        head = self.summary(dataset).head
        return rfc3339(head.committed_at if head else dataset.created_at)

    def get_create_time(self, dataset: Dataset) -> str:
        return rfc3339(dataset.created_at)

    def get_update_time(self, dataset: Dataset) -> str:
        return rfc3339(dataset.updated_at)

    def get_oss_path(self, dataset: Dataset) -> str:
        config = dataset.storage_config
        return f"{config.bucket}/{config.file_path}".strip("/") if config else ""

    def get_is_async(self, dataset: Dataset) -> bool:
        return False

    def get_acl_list(self, dataset: Dataset) -> list[int]:
        role = self.context["roles"].get(dataset.workspace_id)
        if self.context["anonymous"]:
            return []
        if role is not None and role != Membership.Role.READER:
            return [ACL_READ, ACL_WRITE]
        return [ACL_READ]


class PublicDatasetSerializer(serializers.Serializer):
    repo = serializers.SerializerMethodField()
    tenant_code = serializers.CharField(source="workspace.name")
    tags = serializers.SerializerMethodField()

    def get_repo(self, dataset: Dataset) -> dict[str, Any]:
        return RepoSerializer(dataset, context=self.context).data

    def get_tags(self, dataset: Dataset) -> str:
        return tags_json(dataset)


def public_dataset_items(datasets: list[Dataset], context: dict[str, Any]) -> list[dict[str, Any]]:
    """What ``PublicDatasetSerializer(datasets, many=True)`` writes, with the repo serializer's fields built once
    for the page instead of once per dataset."""
    repos = RepoSerializer(datasets, many=True, context=context).data
    return [
        {"repo": repo, "tenant_code": dataset.workspace.name, "tags": tags_json(dataset)}
        for dataset, repo in zip(datasets, repos, strict=True)
    ]


class PublicDatasetListView(AidmpView):
    """``GET /aids/aidmp/data/v1/datasets``: public, not hidden datasets."""

    list_key = "datasets"

    @extend_schema(
        parameters=[
            OpenApiParameter("page", int, description="default 1"),
            OpenApiParameter("page_size", int, description="default 10, 0 to 1000"),
            OpenApiParameter("keyword", str, description="matches name, display name or description"),
        ],
        responses=envelope("datasets", PublicDatasetSerializer),
    )
    def get(self, request: Request) -> HttpResponse:
        if request.auth is not None:
            return self.list_page(request)
        # Anonymous callers all see the same page; the GET body may carry the paging parameters too.
        params = json.dumps(self.paginator.params(request), sort_keys=True, default=str)
        return list_response_cached(
            request, namespace="aidmp-datasets", build=lambda: self.list_page(request), vary=(params,)
        )

    def list_page(self, request: Request) -> Response:
        """One page of the public list, with the caller's access where a key was sent."""
        params = self.paginator.params(request)
        datasets = selectors.dataset_list_public(keyword=str(params.get("keyword") or ""))
        page = self.paginator.paginate_queryset(datasets, request, self)
        anonymous = request.auth is None
        key = None if anonymous else caller_key(request)
        role = None if key is None else selectors.key_role(key=key)
        roles = {} if key is None or role is None else {key.workspace_id: role}
        context = {"summaries": dataset_summaries(datasets=page), "roles": roles, "anonymous": anonymous}
        return self.paginator.get_paginated_response(public_dataset_items(page, context))
