"""TensorBay v1 views of the catalog: the user, storage configs and datasets."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from datasets import selectors, services
from datasets.models import Dataset
from project import errors
from project.api.authentication import caller_key
from project.api.base import parse_body, parse_int
from project.api.fields import StrictBooleanField, StrictCharField, StrictIntegerField
from project.api.tensorbay import EMPTY, TensorBayView, envelope
from storage_configs import selectors as storage_selectors
from storage_configs.models import StorageConfig
from versioning import selectors as versioning_selectors
from versioning.models import ROOT_COMMIT_ID

PAGE_PARAMETERS = [OpenApiParameter("offset", int), OpenApiParameter("limit", int)]


class UserSerializer(serializers.Serializer):
    """UserInfo as ``GAS.get_user()`` reads it."""

    id = serializers.CharField(source="user.uuid.hex")
    nickname = serializers.CharField(source="user.display_name")
    email = serializers.CharField(source="user.email", allow_null=True)
    mobile = serializers.CharField(source="user.mobile", allow_null=True)
    description = serializers.CharField(source="user.description")
    team = serializers.SerializerMethodField()

    def get_team(self, key: object) -> dict | None:
        """The key's workspace when it is a team workspace."""
        workspace = key.workspace  # type: ignore[attr-defined]
        if workspace.kind != workspace.Kind.TEAM:
            return None
        return {"name": workspace.name, "email": workspace.email, "description": workspace.description}


@extend_schema(responses=UserSerializer)
class UserView(TensorBayView):
    """``GET users``: the caller."""

    def get(self, request: Request) -> Response:
        """Describe the key's user and team."""
        return Response(UserSerializer(caller_key(request)).data)


# Storage configs


class StorageConfigSerializer(serializers.Serializer):
    """StorageConfig as ``list_auth_storage_configs`` reads it."""

    name = serializers.CharField()
    filePath = serializers.CharField(source="file_path")  # noqa: N815
    type = serializers.CharField(source="kind")
    isGravitiStorage = serializers.BooleanField(source="is_hub_default")  # noqa: N815


class AuthStorageConfigSerializer(serializers.Serializer):
    """The seed's ``auth-storage-configs`` item; the secret is never shown."""

    name = serializers.CharField()
    type = serializers.CharField(source="kind")
    endpoint = serializers.CharField()
    accesskeyId = serializers.CharField(source="access_key_id")  # noqa: N815
    bucketName = serializers.CharField(source="bucket")  # noqa: N815


class ObjectStoreConfigSerializer(serializers.Serializer):
    """Body of ``POST storage-configs/oss`` and ``/s3``."""

    name = StrictCharField(max_length=255)
    filePath = StrictCharField(max_length=1024, allow_blank=True)  # noqa: N815
    accesskeyId = StrictCharField(max_length=255)  # noqa: N815
    accesskeySecret = StrictCharField()  # noqa: N815
    endpoint = StrictCharField(max_length=1024)
    bucketName = StrictCharField(max_length=255)  # noqa: N815

    def fields_for_service(self, body: dict[str, Any]) -> dict[str, str]:
        return {
            "file_path": body["filePath"],
            "endpoint": body["endpoint"],
            "bucket": body["bucketName"],
            "access_key_id": body["accesskeyId"],
            "secret": body["accesskeySecret"],
        }


class AzureConfigSerializer(ObjectStoreConfigSerializer):
    """Body of ``POST storage-configs/azure``."""

    endpoint = None  # type: ignore[assignment]
    bucketName = None  # type: ignore[assignment]  # noqa: N815
    containerName = StrictCharField(max_length=255)  # noqa: N815
    accountType = StrictCharField(max_length=64)  # noqa: N815

    def fields_for_service(self, body: dict[str, Any]) -> dict[str, str]:
        return {
            "file_path": body["filePath"],
            "bucket": body["containerName"],
            "account_type": body["accountType"],
            "access_key_id": body["accesskeyId"],
            "secret": body["accesskeySecret"],
        }


class LocalConfigSerializer(serializers.Serializer):
    """Body of ``POST storage-configs/local``."""

    name = StrictCharField(max_length=255)
    filePath = StrictCharField(max_length=1024, allow_blank=True)  # noqa: N815
    endpoint = StrictCharField(max_length=1024)

    def fields_for_service(self, body: dict[str, Any]) -> dict[str, str]:
        return {"file_path": body["filePath"], "endpoint": body["endpoint"]}


CONFIG_BODIES: dict[str, type[serializers.Serializer]] = {
    StorageConfig.Kind.OSS: ObjectStoreConfigSerializer,
    StorageConfig.Kind.S3: ObjectStoreConfigSerializer,
    StorageConfig.Kind.AZURE: AzureConfigSerializer,
    StorageConfig.Kind.LOCAL: LocalConfigSerializer,
}


class StorageConfigCollectionView(TensorBayView):
    """``GET storage-configs``: the key's workspace's configs."""

    list_key = "configs"
    serializer_class: type[serializers.Serializer] = StorageConfigSerializer

    @extend_schema(
        parameters=[OpenApiParameter("name", str), *PAGE_PARAMETERS],
        responses=envelope("configs", StorageConfigSerializer),
    )
    def get(self, request: Request) -> Response:
        """List the configs by name (only the exactly named one with ``name``)."""
        configs = storage_selectors.storage_config_list(
            workspace=caller_key(request).workspace, name=request.query_params.get("name", "")
        )
        page = self.paginator.paginate_queryset(configs, request, view=self)
        return self.paginator.get_paginated_response(self.serializer_class(page, many=True).data)


class AuthStorageConfigCollectionView(StorageConfigCollectionView):
    """``GET auth-storage-configs``: the seed's listing with endpoints and key ids (never secrets)."""

    serializer_class = AuthStorageConfigSerializer

    @extend_schema(
        parameters=[OpenApiParameter("name", str), *PAGE_PARAMETERS],
        responses=envelope("configs", AuthStorageConfigSerializer),
    )
    def get(self, request: Request) -> Response:
        """List the configs by name (only the exactly named one with ``name``)."""
        return super().get(request)


class StorageConfigCreateView(TensorBayView):
    """``POST storage-configs/{oss,s3,azure,local}``."""

    kind: str = StorageConfig.Kind.LOCAL

    def post(self, request: Request) -> Response:
        """Create a config of this kind in the key's workspace."""
        serializer_class = CONFIG_BODIES[self.kind]
        body = parse_body(serializer_class, request)
        key = caller_key(request)
        services.workspace_storage_config_create(
            workspace=key.workspace,
            user=key.user,
            name=body["name"],
            kind=self.kind,
            **serializer_class().fields_for_service(body),  # type: ignore[attr-defined]
        )
        return Response({})


def storage_config_create_view(kind: str) -> Any:
    """The create view of one kind, with its body documented."""

    @extend_schema(operation_id=f"create_{kind}_storage_config", request=CONFIG_BODIES[kind], responses={200: EMPTY})
    def post(self: StorageConfigCreateView, request: Request) -> Response:
        return StorageConfigCreateView.post(self, request)

    view_class: type[StorageConfigCreateView] = type(
        f"{kind.title()}StorageConfigCreateView", (StorageConfigCreateView,), {"kind": kind, "post": post}
    )
    return view_class.as_view()


class StorageConfigView(TensorBayView):
    """``DELETE storage-configs/{name}``."""

    @extend_schema(operation_id="delete_storage_config", responses={200: EMPTY})
    def delete(self, request: Request, name: str) -> Response:
        """Delete a config no dataset uses."""
        key = caller_key(request)
        services.workspace_storage_config_delete(workspace=key.workspace, user=key.user, name=name)
        return Response({})


# Datasets


def unix(value: Any) -> int:
    """A datetime as unix seconds."""
    return int(value.timestamp())


class DatasetSerializer(serializers.Serializer):
    """Dataset as ``GET datasets/{id}`` answers it; ``commitId`` is ROOT for a dataset without commits."""

    id = serializers.CharField(source="hex_id")
    name = serializers.CharField()
    alias = serializers.CharField()
    type = serializers.IntegerField(source="kind")
    defaultBranch = serializers.CharField(source="default_branch")  # noqa: N815
    commitId = serializers.SerializerMethodField()  # noqa: N815
    coverUrl = serializers.CharField(source="cover")  # noqa: N815
    updateTime = serializers.SerializerMethodField()  # noqa: N815
    owner = serializers.CharField(source="workspace.name")
    isPublic = serializers.BooleanField(source="is_public")  # noqa: N815
    configName = serializers.SerializerMethodField()  # noqa: N815

    def get_commitId(self, dataset: Dataset) -> str:  # noqa: N802
        return getattr(dataset, "head_commit_id", None) or ROOT_COMMIT_ID

    def get_updateTime(self, dataset: Dataset) -> int:  # noqa: N802
        return unix(dataset.updated_at)

    def get_configName(self, dataset: Dataset) -> str:  # noqa: N802
        return dataset.storage_config.name if dataset.storage_config else ""


class DatasetListItemSerializer(DatasetSerializer):
    """Dataset in ``GET datasets``: with the entry count and size at the default branch's head."""

    dataCount = serializers.SerializerMethodField()  # noqa: N815
    dataSize = serializers.SerializerMethodField()  # noqa: N815

    def get_dataCount(self, dataset: Dataset) -> int:  # noqa: N802
        return self.context["summaries"][dataset.pk].entry_count

    def get_dataSize(self, dataset: Dataset) -> int:  # noqa: N802
        return self.context["summaries"][dataset.pk].total_size


class DatasetCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=255)
    alias = StrictCharField(max_length=255, required=False, default="", allow_blank=True)
    type = StrictIntegerField(required=False, default=Dataset.Kind.NORMAL, min_value=0, max_value=1)
    configName = StrictCharField(required=False, allow_null=True, default=None)  # noqa: N815
    isPublic = StrictBooleanField(required=False, default=False)  # noqa: N815


class DatasetIdSerializer(serializers.Serializer):
    id = serializers.CharField()


class DatasetUpdateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=255, required=False)
    alias = StrictCharField(max_length=255, required=False, allow_blank=True)
    isPublic = StrictBooleanField(required=False)  # noqa: N815
    defaultBranch = StrictCharField(max_length=255, required=False)  # noqa: N815


def query_flag(raw: str | None, *, field: str) -> bool:
    """A boolean query parameter: ``true``/``false`` in any case, absent meaning false."""
    if raw is None or raw == "":
        return False
    if raw.lower() not in ("true", "false"):
        raise errors.Invalid(field, "must be true or false")
    return raw.lower() == "true"


class DatasetCollectionView(TensorBayView):
    """``datasets``: the key's workspace's datasets."""

    list_key = "datasets"

    @extend_schema(
        operation_id="list_datasets",
        parameters=[
            OpenApiParameter("name", str),
            OpenApiParameter("needFuzzyQuery", bool),
            OpenApiParameter("needTeamDataset", bool),
            OpenApiParameter("sortBy", str, enum=["created_at", "updated_at"]),
            OpenApiParameter("orderBy", str, enum=["asc", "desc"]),
            *PAGE_PARAMETERS,
        ],
        responses=envelope("datasets", DatasetListItemSerializer),
    )
    def get(self, request: Request) -> Response:
        """List datasets, last updated first unless ``sortBy``/``orderBy`` say otherwise."""
        params = request.query_params
        query_flag(params.get("needTeamDataset"), field="needTeamDataset")
        datasets = selectors.dataset_search(
            workspace=caller_key(request).workspace,
            name=params.get("name", ""),
            fuzzy=query_flag(params.get("needFuzzyQuery"), field="needFuzzyQuery"),
            sort_by=params.get("sortBy", "updated_at"),
            order=params.get("orderBy", "desc"),
        )
        page = self.paginator.paginate_queryset(datasets, request, view=self)
        summaries = versioning_selectors.dataset_summaries(datasets=page)
        data = DatasetListItemSerializer(page, many=True, context={"summaries": summaries}).data
        return self.paginator.get_paginated_response(data)

    @extend_schema(
        operation_id="create_dataset",
        request=DatasetCreateSerializer,
        responses={201: DatasetIdSerializer},
    )
    def post(self, request: Request) -> Response:
        """Create a dataset with its default branch ``main`` at ROOT; 201 with its id."""
        body = parse_body(DatasetCreateSerializer, request)
        key = caller_key(request)
        dataset = services.dataset_create_in_storage(
            workspace=key.workspace,
            creator=key.user,
            name=body["name"],
            alias=body["alias"],
            storage_config_name=body["configName"],
            is_public=body["isPublic"],
            kind=body["type"],
        )
        return Response({"id": dataset.hex_id}, status=201)


class DatasetView(TensorBayView):
    """``datasets/{id}``."""

    @extend_schema(operation_id="get_dataset", responses=DatasetSerializer)
    def get(self, request: Request, dataset_id: str) -> Response:
        """Describe the dataset; ``commitId`` is its default branch's head."""
        found = selectors.dataset_get_by_id_for_key(dataset_id=dataset_id, key=caller_key(request))
        return Response(DatasetSerializer(found).data)

    @extend_schema(operation_id="update_dataset", request=DatasetUpdateSerializer, responses={200: EMPTY})
    def patch(self, request: Request, dataset_id: str) -> Response:
        """Rename the dataset or change its alias, visibility or default branch."""
        body = parse_body(DatasetUpdateSerializer, request)
        found = selectors.dataset_get_by_id_for_key(dataset_id=dataset_id, key=caller_key(request), write=True)
        services.dataset_update(
            dataset=found,
            name=body.get("name"),
            alias=body.get("alias"),
            is_public=body.get("isPublic"),
            default_branch=body.get("defaultBranch"),
        )
        return Response({})

    @extend_schema(operation_id="delete_dataset", responses={200: EMPTY})
    def delete(self, request: Request, dataset_id: str) -> Response:
        """Delete the dataset with its history."""
        found = selectors.dataset_get_by_id_for_key(dataset_id=dataset_id, key=caller_key(request), write=True)
        services.dataset_delete(dataset=found)
        return Response({})


# Files of authorised storage configs


class CloudFileCollectionView(TensorBayView):
    """``GET cloud/{name}/files``: the objects under a prefix of one of the workspace's storage configs."""

    @extend_schema(
        operation_id="list_cloud_files",
        parameters=[OpenApiParameter("prefix", str), OpenApiParameter("marker", str), OpenApiParameter("limit", int)],
        responses=inline_serializer(
            "TensorBayCloudFiles",
            {
                "cloudFiles": serializers.ListField(child=serializers.CharField()),
                "truncated": serializers.BooleanField(),
                "nextMarker": serializers.CharField(),
            },
        ),
    )
    def get(self, request: Request, name: str) -> Response:
        """One page of keys; ``truncated`` with ``nextMarker`` when more follow."""
        params = request.query_params
        limit = parse_int(params.get("limit"), field="limit", default=128)
        if not 1 <= limit <= 1000:
            raise errors.Invalid("limit", "must be between 1 and 1000")
        config = storage_selectors.storage_config_get(workspace=caller_key(request).workspace, name=name)
        page = selectors.storage_config_files(
            storage_config=config, prefix=params.get("prefix", ""), marker=params.get("marker", ""), limit=limit
        )
        return Response(
            {"cloudFiles": page.keys, "truncated": page.next_marker is not None, "nextMarker": page.next_marker or ""}
        )


class CloudFileUrlView(TensorBayView):
    """``GET cloud/{name}/files/urls``: a signed URL of one object of a storage config."""

    @extend_schema(
        operation_id="get_cloud_file_url",
        parameters=[OpenApiParameter("filePath", str, required=True)],
        responses=inline_serializer("TensorBayCloudFileUrl", {"url": serializers.CharField()}),
    )
    def get(self, request: Request, name: str) -> Response:
        """The URL reads the object without credentials until it expires."""
        file_path = request.query_params.get("filePath")
        if not file_path:
            raise errors.Missing("filePath")
        config = storage_selectors.storage_config_get(workspace=caller_key(request).workspace, name=name)
        url = selectors.storage_config_file_url(
            storage_config=config, key=file_path, base_url=request.build_absolute_uri("/")
        )
        return Response({"url": url})
