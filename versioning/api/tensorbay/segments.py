"""TensorBay v1 views of segments: list, create, delete, copy and move."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from project.api.base import parse_body
from project.api.fields import StrictCharField
from project.api.tensorbay import EMPTY, envelope
from versioning import selectors, services
from versioning.api.tensorbay.common import (
    PAGE_PARAMETERS,
    STATUS_PARAMETERS,
    CopySourceSerializer,
    DatasetScopedView,
    DraftBodySerializer,
    copy_source,
    status_revision,
)


class SegmentCreateSerializer(DraftBodySerializer):
    name = StrictCharField(max_length=255)
    description = StrictCharField(required=False, allow_blank=True)


class SegmentDeleteSerializer(DraftBodySerializer):
    segmentName = StrictCharField(max_length=255)  # noqa: N815


class SegmentCopySerializer(DraftBodySerializer):
    strategy = StrictCharField(required=False, default="abort")
    segmentName = StrictCharField(max_length=255)  # noqa: N815

    def get_fields(self) -> dict[str, serializers.Field]:
        # ``source`` is also a Field attribute, so the field is added here rather than declared.
        return {**super().get_fields(), "source": CopySourceSerializer()}


# Segments


class SegmentSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()


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
