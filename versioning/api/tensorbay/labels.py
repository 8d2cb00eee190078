"""TensorBay v1 views of labels, catalogs, notes, sizes and label statistics."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from project.api.base import parse_body
from project.api.fields import StrictBooleanField, StrictCharField
from project.api.tensorbay import EMPTY
from versioning import selectors, services
from versioning.api.tensorbay.common import (
    STATUS_PARAMETERS,
    DatasetScopedView,
    DraftBodySerializer,
    required_param,
    status_revision,
)


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
