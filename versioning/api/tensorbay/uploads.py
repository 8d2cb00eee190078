"""TensorBay v1 upload views: policies and the callbacks that register uploaded or cloud objects."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from datasets import selectors as catalog
from datasets import services as catalog_services
from project.api.base import parse_body, parse_int
from project.api.fields import StrictBooleanField, StrictCharField, StrictIntegerField
from project.api.tensorbay import EMPTY
from versioning.api.tensorbay.common import (
    DEFAULT_POLICY_SECONDS,
    DatasetScopedView,
    DraftBodySerializer,
    required_param,
)


class CallbackObjectSerializer(serializers.Serializer):
    checksum = serializers.RegexField(r"^[0-9a-f]{40}$")
    fileSize = StrictIntegerField(min_value=0)  # noqa: N815
    remotePath = StrictCharField()  # noqa: N815
    timestamp = serializers.FloatField(required=False)
    frameId = StrictCharField(required=False, max_length=64)  # noqa: N815
    sensorName = StrictCharField(required=False, max_length=255)  # noqa: N815

    def get_fields(self) -> dict[str, serializers.Field]:
        # ``label`` is also a Field attribute, so the field is added here rather than declared.
        return {**super().get_fields(), "label": serializers.DictField(required=False)}


class CallbackSerializer(DraftBodySerializer):
    segmentName = StrictCharField(max_length=255)  # noqa: N815
    objects = serializers.ListField(child=CallbackObjectSerializer(), max_length=128)


class CloudObjectSerializer(serializers.Serializer):
    cloudPath = StrictCharField()  # noqa: N815
    remotePath = StrictCharField()  # noqa: N815
    frameId = StrictCharField(required=False, max_length=64)  # noqa: N815
    sensorName = StrictCharField(required=False, max_length=255)  # noqa: N815

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), "label": serializers.DictField(required=False)}


class CloudCallbackSerializer(DraftBodySerializer):
    segmentName = StrictCharField(max_length=255)  # noqa: N815
    objects = serializers.ListField(child=CloudObjectSerializer(), max_length=128)
    deleteSource = StrictBooleanField(required=False, default=False)  # noqa: N815


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
                    frame_id=item.get("frameId"),
                    sensor_name=item.get("sensorName"),
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
                frame_id=item.get("frameId"),
                sensor_name=item.get("sensorName"),
            )
        return Response({})
