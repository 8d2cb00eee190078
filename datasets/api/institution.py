"""Institution dataset list (seed 002): the signing key's workspace, newest first."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from datasets import selectors
from datasets.models import Dataset
from project import errors
from project.api.authentication import caller_signing_key
from project.api.base import parse_int
from project.api.institution import InstitutionView, envelope
from versioning.selectors import DatasetSummary, dataset_summaries_by_id


class InstitutionDatasetSerializer(serializers.Serializer):
    """A dataset as the seed's result table lists it; a batch is a segment of the default branch's head."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    tags = serializers.SerializerMethodField()
    describe = serializers.CharField(source="description")
    type = serializers.IntegerField(source="data_type")
    institutionName = serializers.SerializerMethodField()  # noqa: N815 (the seed's name)
    createUser = serializers.SerializerMethodField()  # noqa: N815
    fileSize = serializers.SerializerMethodField()  # noqa: N815
    dataCount = serializers.SerializerMethodField()  # noqa: N815
    batchCount = serializers.SerializerMethodField()  # noqa: N815
    batchList = serializers.SerializerMethodField()  # noqa: N815

    def summary(self, dataset: Dataset) -> DatasetSummary:
        return self.context["summaries"][dataset.pk]

    def get_tags(self, dataset: Dataset) -> list[str]:
        return [tag.name for tag in dataset.tags.all()]

    def get_institutionName(self, dataset: Dataset) -> str:  # noqa: N802
        return dataset.workspace.alias or dataset.workspace.name

    def get_createUser(self, dataset: Dataset) -> str:  # noqa: N802
        return dataset.creator.username if dataset.creator else ""

    def get_fileSize(self, dataset: Dataset) -> int:  # noqa: N802
        return self.summary(dataset).total_size

    def get_dataCount(self, dataset: Dataset) -> int:  # noqa: N802
        return self.summary(dataset).file_count

    def get_batchCount(self, dataset: Dataset) -> int:  # noqa: N802
        return len(self.summary(dataset).segments)

    def get_batchList(self, dataset: Dataset) -> list[dict]:  # noqa: N802
        return [
            {"batchId": name, "batchName": name, "dataCount": count} for name, count in self.summary(dataset).segments
        ]


# What a row of the workspace's list is read as, to build the items directly.
COLUMNS = ("id", "name", "description", "data_type", "workspace__alias", "workspace__name", "creator__username")


def institution_dataset_items(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What ``InstitutionDatasetSerializer(datasets, many=True)`` writes for the page's ``COLUMNS`` rows, built
    from rows with the same queries (tags, summaries) instead of model instances."""
    ids = [row["id"] for row in rows]
    tags = selectors.dataset_tag_names(dataset_ids=ids)
    summaries = dataset_summaries_by_id(ids=ids, with_segments=True)
    items = []
    for row in rows:
        summary = summaries[row["id"]]
        items.append(
            {
                "id": row["id"],
                "name": row["name"],
                "tags": [name for _, name in tags.get(row["id"], [])],
                "describe": row["description"],
                "type": row["data_type"],
                "institutionName": row["workspace__alias"] or row["workspace__name"],
                "createUser": row["creator__username"] or "",
                "fileSize": summary.total_size,
                "dataCount": summary.file_count,
                "batchCount": len(summary.segments),
                "batchList": [
                    {"batchId": name, "batchName": name, "dataCount": count} for name, count in summary.segments
                ],
            }
        )
    return items


class InstitutionDatasetListView(InstitutionView):
    """``GET /api/v1/datasets``."""

    list_key = "datasets"

    @extend_schema(
        parameters=[
            OpenApiParameter("type", int, enum=Dataset.DataType.values, description="data type"),
            OpenApiParameter("limit", int, description="1 to 100, default 20"),
            OpenApiParameter("offset", int, description="default 0"),
            OpenApiParameter("SecretId", str, required=True),
            OpenApiParameter("Timestamp", int, required=True, description="milliseconds since the epoch"),
        ],
        responses=envelope("datasets", InstitutionDatasetSerializer),
    )
    def get(self, request: Request) -> Response:
        data_type = None
        if "type" in request.query_params:
            data_type = parse_int(request.query_params["type"], field="type", default=0)
            if data_type not in Dataset.DataType.values:
                raise errors.Invalid("type", f"must be one of {Dataset.DataType.values}")
        workspace = caller_signing_key(request).workspace
        datasets = selectors.dataset_list_for_workspace(workspace=workspace, data_type=data_type)
        rows = self.paginator.paginate_rows(datasets, request, self, COLUMNS)
        return self.paginator.get_paginated_response(institution_dataset_items(rows))
