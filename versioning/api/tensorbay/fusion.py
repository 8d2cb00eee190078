"""TensorBay v1 views of fusion segments: frames (one entry per frame, one part per sensor) and sensors."""

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from datasets import selectors as catalog
from datasets.models import Dataset
from project import errors
from project.api.base import parse_body
from project.api.fields import StrictCharField
from project.api.tensorbay import EMPTY
from versioning import selectors, services
from versioning.api.tensorbay.common import (
    SEGMENT_PARAMETERS,
    DatasetScopedView,
    DraftBodySerializer,
    required_param,
    status_revision,
)
from versioning.trees import Entry


class FrameDeleteSerializer(DraftBodySerializer):
    segmentName = StrictCharField(max_length=255)  # noqa: N815
    frameId = StrictCharField(max_length=64)  # noqa: N815


class SensorDeleteSerializer(DraftBodySerializer):
    segmentName = StrictCharField(max_length=255)  # noqa: N815
    sensorName = StrictCharField(max_length=255)  # noqa: N815


class SensorBodySerializer(DraftBodySerializer):
    """A sensor as ``Sensor.dumps()`` gives it, plus the segment and draft; the sensor is kept verbatim."""

    segmentName = StrictCharField(max_length=255)  # noqa: N815
    name = StrictCharField(max_length=255)
    type = serializers.ChoiceField(choices=services.SENSOR_TYPES)
    description = StrictCharField(required=False, allow_blank=True)
    extrinsics = serializers.DictField(required=False)
    intrinsics = serializers.DictField(required=False)


class SensorSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=services.SENSOR_TYPES)
    description = serializers.CharField(required=False)
    extrinsics = serializers.DictField(required=False)
    intrinsics = serializers.DictField(required=False)


# What ``Sensor.dumps()`` sends (the sensor itself, without where it goes).
SENSOR_KEYS = ("name", "type", "description", "extrinsics", "intrinsics")


class FrameItemSerializer(serializers.Serializer):
    """One sensor's file in a frame: path, signed URL, label (``{}`` for none), timestamp when set."""

    sensorName = serializers.CharField()  # noqa: N815
    remotePath = serializers.CharField()  # noqa: N815
    url = serializers.CharField()
    timestamp = serializers.FloatField(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), "label": serializers.DictField()}


class FrameDetailsSerializer(serializers.Serializer):
    frameId = serializers.CharField()  # noqa: N815
    frame = FrameItemSerializer(many=True)


class SensorUrlSerializer(serializers.Serializer):
    sensorName = serializers.CharField()  # noqa: N815
    url = serializers.CharField()


class FrameUrlsSerializer(serializers.Serializer):
    frameId = serializers.CharField()  # noqa: N815
    urls = SensorUrlSerializer(many=True)


def check_fusion(dataset: Dataset) -> None:
    """Refuse a fusion-only call on a normal dataset."""
    if dataset.kind != Dataset.Kind.FUSION:
        raise errors.NotAllowed("only fusion datasets have frames and sensors")


def refuse_fusion(dataset: Dataset) -> None:
    """Refuse a file-by-file call on a fusion dataset, whose segments hold frames (the SDK never sends one)."""
    if dataset.kind == Dataset.Kind.FUSION:
        raise errors.NotAllowed("a fusion segment holds frames: use data/details, frames and multi/callback")


def frame_urls(dataset: Dataset, frames: list[Entry], base_url: str) -> list[list[str]]:
    """Signed URLs of every part of every frame, in one signing pass, grouped back by frame."""
    parts = [frame.part_list() for frame in frames]
    flat = catalog.dataset_object_urls(
        dataset=dataset, object_keys=[part.object_key for held in parts for part in held], base_url=base_url
    )
    grouped, start = [], 0
    for held in parts:
        grouped.append(flat[start : start + len(held)])
        start += len(held)
    return grouped


def frame_details(dataset: Dataset, frames: list[Entry], base_url: str) -> list[dict[str, Any]]:
    """``dataDetails`` of a fusion segment: per frame its id and its files in sensor-name order."""
    details = []
    for frame, urls in zip(frames, frame_urls(dataset, frames, base_url), strict=True):
        items = []
        for part, url in zip(frame.part_list(), urls, strict=True):
            item: dict[str, Any] = {
                "sensorName": part.name,
                "remotePath": part.remote_path,
                "url": url,
                "label": part.label or {},
            }
            if part.timestamp is not None:
                item["timestamp"] = part.timestamp
            items.append(item)
        details.append({"frameId": frame.remote_path, "frame": items})
    return details


def frame_url_list(dataset: Dataset, frames: list[Entry], base_url: str) -> list[dict[str, Any]]:
    """``urls`` of a fusion segment, aligned item for item with its ``dataDetails``."""
    return [
        {
            "frameId": frame.remote_path,
            "urls": [{"sensorName": part.name, "url": url} for part, url in zip(frame.part_list(), urls, strict=True)],
        }
        for frame, urls in zip(frames, frame_urls(dataset, frames, base_url), strict=True)
    ]


class FrameView(DatasetScopedView):
    """``datasets/{id}/frames``."""

    @extend_schema(operation_id="delete_frame", request=FrameDeleteSerializer, responses={200: EMPTY})
    def delete(self, request: Request, dataset_id: str) -> Response:
        """Delete a frame, every sensor's file of it, from a fusion segment in a draft."""
        body = parse_body(FrameDeleteSerializer, request)
        draft = self.draft(request, dataset_id, body["draftNumber"])
        services.draft_frame_delete(draft=draft, segment=body["segmentName"], frame_id=body["frameId"])
        return Response({})


class SensorView(DatasetScopedView):
    """``datasets/{id}/sensors``: the sensors of a fusion segment, versioned with it."""

    @extend_schema(
        operation_id="list_sensors",
        parameters=SEGMENT_PARAMETERS,
        responses=inline_serializer("TensorBaySensors", {"sensors": SensorSerializer(many=True)}),
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        """The segment's sensors at the status selector's revision, by name (not paged)."""
        dataset = self.dataset(request, dataset_id)
        check_fusion(dataset)
        revision = status_revision(dataset, request.query_params)
        segment = required_param(request.query_params, "segmentName")
        return Response({"sensors": selectors.segment_sensors(revision=revision, segment=segment)})

    @extend_schema(operation_id="upload_sensor", request=SensorBodySerializer, responses={200: EMPTY})
    def post(self, request: Request, dataset_id: str) -> Response:
        """Define a sensor of a segment in a draft; posting a name again replaces its definition."""
        body = parse_body(SensorBodySerializer, request)
        draft = self.draft(request, dataset_id, body["draftNumber"])
        sensor = {key: body[key] for key in SENSOR_KEYS if key in body}
        services.draft_sensor_put(draft=draft, segment=body["segmentName"], sensor=sensor)
        return Response({})

    @extend_schema(operation_id="delete_sensor", request=SensorDeleteSerializer, responses={200: EMPTY})
    def delete(self, request: Request, dataset_id: str) -> Response:
        """Remove a sensor, and its files in every frame, from a segment in a draft."""
        body = parse_body(SensorDeleteSerializer, request)
        draft = self.draft(request, dataset_id, body["draftNumber"])
        services.draft_sensor_delete(draft=draft, segment=body["segmentName"], name=body["sensorName"])
        return Response({})
