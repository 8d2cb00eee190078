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
from versioning.selectors import DatasetSummary, dataset_summaries_by_id

ACL_READ, ACL_WRITE = 1, 2


def rfc3339(moment: datetime) -> str:
    """``2023-09-14T08:08:45.576Z``: UTC with milliseconds, as the seed writes times."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def tags_json(dataset: Dataset) -> str:
    """Tags as the JSON string ``[{category: [values]}]``, categories in first-seen order."""
    return tag_names_json([(tag.category.name, tag.name) for tag in dataset.tags.all()])


def tag_names_json(names: list[tuple[str, str]]) -> str:
    """``tags_json`` of tags given as (category, name) pairs in tag order."""
    grouped: dict[str, list[str]] = {}
    for category, name in names:
        grouped.setdefault(category, []).append(name)
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
        return acl_list(self.context["roles"].get(dataset.workspace_id), anonymous=self.context["anonymous"])


class PublicDatasetSerializer(serializers.Serializer):
    repo = serializers.SerializerMethodField()
    tenant_code = serializers.CharField(source="workspace.name")
    tags = serializers.SerializerMethodField()

    def get_repo(self, dataset: Dataset) -> dict[str, Any]:
        return RepoSerializer(dataset, context=self.context).data

    def get_tags(self, dataset: Dataset) -> str:
        return tags_json(dataset)


def acl_list(role: str | None, *, anonymous: bool) -> list[int]:
    """What the caller may do with a dataset, given their role in its workspace."""
    if anonymous:
        return []
    if role is not None and role != Membership.Role.READER:
        return [ACL_READ, ACL_WRITE]
    return [ACL_READ]


def public_dataset_items(rows: list[dict[str, Any]], *, roles: dict[int, str], anonymous: bool) -> list[dict[str, Any]]:
    """What ``PublicDatasetSerializer(datasets, many=True)`` writes for the page's ``PUBLIC_LIST_COLUMNS`` rows,
    built from rows in three more queries (workspaces, tags, the summaries' four) instead of model instances."""
    ids = [row["id"] for row in rows]
    workspaces = selectors.workspace_rows(ids=list({row["workspace_id"]: None for row in rows}))
    tags = selectors.dataset_tag_names(dataset_ids=ids)
    summaries = dataset_summaries_by_id(ids=ids)
    items = []
    for row in rows:
        workspace = workspaces[row["workspace_id"]]
        summary = summaries[row["id"]]
        has_creator = row["creator_id"] is not None
        oss_path = (
            f"{row['storage_config__bucket']}/{row['storage_config__file_path']}".strip("/")
            if row["storage_config_id"] is not None
            else ""
        )
        repo = {
            "id": str(row["uuid"]),
            "name": row["name"],
            "display_name": row["alias"] or row["name"],
            "create_user_id": str(row["creator__uuid"]) if has_creator else "",
            "desc": row["description"],
            "tenant_id": str(workspace["uuid"]),
            "branch_num": summary.branch_count,
            "commit_num": summary.commit_count,
            "file_num": str(summary.object_count),
            "is_empty": summary.entry_count == 0,
            "prefix_uri": f"{workspace['name']}/{row['name']}",
            "create_username": row["creator__username"] if has_creator else "",
            "last_commit_time": rfc3339(summary.head.committed_at if summary.head else row["created_at"]),
            "create_time": rfc3339(row["created_at"]),
            "update_time": rfc3339(row["updated_at"]),
            "default_branch": row["default_branch"],
            "is_public": bool(row["is_public"]),
            "is_allow_public": bool(row["is_public"]),
            "repo_type": row["origin"],
            "oss_path": oss_path,
            "is_async": False,
            "acl_list": acl_list(roles.get(row["workspace_id"]), anonymous=anonymous),
        }
        items.append({"repo": repo, "tenant_code": workspace["name"], "tags": tag_names_json(tags.get(row["id"], []))})
    return items


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
        rows = self.paginator.paginate_rows(datasets, request, self, selectors.PUBLIC_LIST_COLUMNS)
        anonymous = request.auth is None
        key = None if anonymous else caller_key(request)
        role = None if key is None else selectors.key_role(key=key)
        roles = {} if key is None or role is None else {key.workspace_id: role}
        return self.paginator.get_paginated_response(public_dataset_items(rows, roles=roles, anonymous=anonymous))
