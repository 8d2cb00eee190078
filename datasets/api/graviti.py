"""Graviti v2 views of the catalog: the current user, workspaces, datasets and workspace storage configs."""

from datetime import UTC, datetime
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from datasets import selectors, services
from datasets.models import Dataset, Workspace
from project import errors
from project.api.authentication import caller_key
from project.api.base import list_response_cached, parse_body, parse_int
from project.api.fields import StrictBooleanField, StrictCharField
from project.api.graviti import EMPTY, GravitiView, Timestamp, envelope
from storage_configs import selectors as storage_config_selectors
from storage_configs.models import StorageConfig


class WorkspaceSerializer(serializers.Serializer):
    """Workspace object (spec §3.7)."""

    id = serializers.CharField(source="uuid.hex")
    type = serializers.CharField(source="kind")
    name = serializers.CharField()
    alias = serializers.CharField()
    description = serializers.CharField()
    email = serializers.CharField()
    location = serializers.CharField()


class CurrentUserSerializer(serializers.Serializer):
    """User object (spec §3.8)."""

    id = serializers.CharField(source="user.uuid.hex")
    nickname = serializers.CharField(source="user.display_name")
    email = serializers.CharField(source="user.email")
    mobile = serializers.CharField(source="user.mobile", allow_null=True)
    description = serializers.CharField(source="user.description")
    workspace = serializers.CharField(source="workspace.name")
    team = serializers.SerializerMethodField()

    def get_team(self, key: object) -> str | None:
        """The team workspace's name, for a key of a team workspace."""
        workspace = key.workspace  # type: ignore[attr-defined]
        return workspace.name if workspace.kind == workspace.Kind.TEAM else None


@extend_schema(responses=CurrentUserSerializer)
class CurrentUserView(GravitiView):
    """``GET /v2/current-user``."""

    def get(self, request: Request) -> Response:
        """Describe the key's user."""
        return Response(CurrentUserSerializer(caller_key(request)).data)


@extend_schema(responses=WorkspaceSerializer)
class CurrentWorkspaceView(GravitiView):
    """``GET /v2/current-workspace``: the workspace the key belongs to."""

    def get(self, request: Request) -> Response:
        """Describe the key's workspace."""
        return Response(WorkspaceSerializer(caller_key(request).workspace).data)


@extend_schema(responses=WorkspaceSerializer)
class WorkspaceView(GravitiView):
    """``GET /v2/workspaces/{workspace}``: a workspace the caller is a member of."""

    def get(self, request: Request, workspace: str) -> Response:
        """Describe the workspace, or 404 when the caller may not see it."""
        found = selectors.workspace_get_for_key(name=workspace, key=caller_key(request))
        return Response(WorkspaceSerializer(found).data)


# The SDK knows only these three backends; the hub's own storage and local directories take the same
# form uploads as OSS, so they are described as OSS.
BACKEND_TYPES = {
    StorageConfig.Kind.OSS: "OSS",
    StorageConfig.Kind.S3: "S3",
    StorageConfig.Kind.AZURE: "AZURE",
    StorageConfig.Kind.LOCAL: "OSS",
}
HUB_BACKEND_TYPE = "OSS"


def backend_type(config: StorageConfig | None) -> str:
    """The SDK's backend type of a storage config (the hub's own storage when there is none)."""
    return HUB_BACKEND_TYPE if config is None else BACKEND_TYPES[StorageConfig.Kind(config.kind)]


class DatasetSerializer(serializers.Serializer):
    """Dataset object (spec §3.1)."""

    id = serializers.CharField(source="hex_id")
    name = serializers.CharField()
    alias = serializers.CharField()
    workspace = serializers.CharField(source="workspace.name")
    default_branch = serializers.CharField()
    commit_id = serializers.CharField(source="head_commit_id", allow_null=True)
    cover_url = serializers.CharField(source="cover")
    creator = serializers.SerializerMethodField()
    created_at = Timestamp()
    updated_at = Timestamp()
    is_public = serializers.BooleanField()
    storage_config = serializers.SerializerMethodField()
    backend_type = serializers.SerializerMethodField()

    def get_creator(self, dataset: Dataset) -> str:
        return dataset.creator.display_name if dataset.creator else ""

    def get_storage_config(self, dataset: Dataset) -> str:
        return dataset.storage_config.name if dataset.storage_config else ""

    def get_backend_type(self, dataset: Dataset) -> str:
        # Objects of every dataset are read and written the Azure way (data-plane spec §5.5): through the hub's
        # object route, or with a native container SAS for Azure storage.
        return "AZURE"


# The columns a list page reads; ``dataset_items`` turns them into exactly what ``DatasetSerializer`` writes.
DATASET_COLUMNS = (
    "uuid", "name", "alias", "workspace__name", "default_branch", "head_commit_id", "cover", "creator__nickname",
    "creator__username", "created_at", "updated_at", "is_public", "storage_config__name",
)  # fmt: skip


TIMESTAMP = Timestamp()


def dataset_items(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A page of ``DatasetSerializer`` items built from ``values(*DATASET_COLUMNS)`` rows."""
    return [
        {
            "id": row["uuid"].hex,
            "name": row["name"],
            "alias": row["alias"],
            "workspace": row["workspace__name"],
            "default_branch": row["default_branch"],
            "commit_id": row["head_commit_id"],
            "cover_url": row["cover"],
            "creator": row["creator__nickname"] or row["creator__username"] or "",
            "created_at": TIMESTAMP.to_representation(row["created_at"]),
            "updated_at": TIMESTAMP.to_representation(row["updated_at"]),
            "is_public": row["is_public"],
            "storage_config": row["storage_config__name"] or "",
            # As ``DatasetSerializer.get_backend_type``: every dataset's objects are read the Azure way.
            "backend_type": "AZURE",
        }
        for row in rows
    ]


class DatasetCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=255)
    alias = StrictCharField(max_length=255, required=False, default="", allow_blank=True)
    storage_config = StrictCharField(required=False, allow_null=True, default=None)
    with_draft = StrictBooleanField(required=False, allow_null=True, default=False)


class DatasetUpdateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=255, required=False)
    alias = StrictCharField(max_length=255, required=False, allow_blank=True)
    default_branch = StrictCharField(max_length=255, required=False)


class StorageConfigSerializer(serializers.Serializer):
    """Storage-config object (spec §3.6); ids are the integer key as 32 hex digits."""

    id = serializers.SerializerMethodField()
    name = serializers.CharField()
    config_type = serializers.SerializerMethodField()
    backend_type = serializers.SerializerMethodField()

    def get_id(self, config: StorageConfig) -> str:
        return f"{config.pk:032x}"

    def get_config_type(self, config: StorageConfig) -> str:
        return "GRAVITI" if config.is_hub_default else "AUTHORIZED"

    def get_backend_type(self, config: StorageConfig) -> str:
        return backend_type(config)


class DefaultStorageConfigSerializer(serializers.Serializer):
    """The SDK sends ``deafault_storage_config`` (sic); the right spelling is taken too."""

    deafault_storage_config = StrictCharField(required=False)
    default_storage_config = StrictCharField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        name = attrs.get("deafault_storage_config", attrs.get("default_storage_config"))
        if name is None:
            raise errors.Missing("default_storage_config")
        return {"name": name}


class DatasetCollectionView(GravitiView):
    """``/v2/datasets``: the caller's workspace's datasets (the workspace comes from the key)."""

    list_key = "datasets"

    @extend_schema(
        operation_id="list_datasets",
        parameters=[OpenApiParameter("offset", int), OpenApiParameter("limit", int)],
        responses=envelope("datasets", DatasetSerializer),
    )
    def get(self, request: Request) -> HttpResponse:
        """List the workspace's datasets, oldest first."""
        workspace = caller_key(request).workspace
        return list_response_cached(
            request,
            namespace="graviti-datasets",
            build=lambda: self.list_page(request, workspace),
            vary=(str(workspace.pk),),
        )

    def list_page(self, request: Request, workspace: Workspace) -> Response:
        """One page of the workspace's datasets."""
        datasets = selectors.dataset_list_with_head(workspace=workspace)
        rows = self.paginator.paginate_rows(datasets, request, self, DATASET_COLUMNS)
        return self.paginator.get_paginated_response(dataset_items(rows))

    @extend_schema(operation_id="create_dataset", request=DatasetCreateSerializer, responses={201: DatasetSerializer})
    def post(self, request: Request) -> Response:
        """Create a dataset with its default branch ``main`` (and draft 1 with ``with_draft``)."""
        body = parse_body(DatasetCreateSerializer, request)
        key = caller_key(request)
        dataset = services.dataset_create_in_storage(
            workspace=key.workspace,
            creator=key.user,
            name=body["name"],
            alias=body["alias"],
            storage_config_name=body["storage_config"],
            with_draft=bool(body["with_draft"]),
        )
        return Response(DatasetSerializer(dataset).data, status=201)


class DatasetView(GravitiView):
    """``/v2/datasets/{workspace}/{dataset}``."""

    @extend_schema(operation_id="get_dataset", responses=DatasetSerializer)
    def get(self, request: Request, workspace: str, dataset: str) -> Response:
        """Describe the dataset."""
        found = selectors.dataset_get_for_key(workspace=workspace, name=dataset, key=caller_key(request))
        return Response(DatasetSerializer(found).data)

    @extend_schema(operation_id="update_dataset", request=DatasetUpdateSerializer, responses=DatasetSerializer)
    def patch(self, request: Request, workspace: str, dataset: str) -> Response:
        """Change the name, alias or default branch; the answer shows the dataset after the change."""
        body = parse_body(DatasetUpdateSerializer, request)
        found = selectors.dataset_get_for_key(workspace=workspace, name=dataset, key=caller_key(request), write=True)
        return Response(DatasetSerializer(services.dataset_update(dataset=found, **body)).data)

    @extend_schema(operation_id="delete_dataset", responses={200: EMPTY})
    def delete(self, request: Request, workspace: str, dataset: str) -> Response:
        """Delete the dataset with its history; 200 with ``{}``, as the SDK takes no 204."""
        found = selectors.dataset_get_for_key(workspace=workspace, name=dataset, key=caller_key(request), write=True)
        services.dataset_delete(dataset=found)
        return Response({})


class StorageConfigCollectionView(GravitiView):
    """``/v2/workspaces/{workspace}/storage-configs``."""

    list_key = "storage_configs"

    @extend_schema(
        operation_id="list_storage_configs",
        parameters=[
            OpenApiParameter("sort", str, many=True),
            OpenApiParameter("offset", int),
            OpenApiParameter("limit", int),
        ],
        responses=envelope("storage_configs", StorageConfigSerializer, default_storage_config=serializers.CharField()),
    )
    def get(self, request: Request, workspace: str) -> Response:
        """List the workspace's storage configs and name its default one."""
        found = selectors.workspace_get_for_key(name=workspace, key=caller_key(request))
        configs = storage_config_selectors.storage_config_list(
            workspace=found, sort=request.query_params.getlist("sort")
        )
        page = self.paginator.paginate_queryset(configs, request, view=self)
        response = self.paginator.get_paginated_response(StorageConfigSerializer(page, many=True).data)
        default = found.default_storage_config
        response.data = {"default_storage_config": default.name if default else "", **response.data}
        return response

    @extend_schema(
        operation_id="update_storage_configs", request=DefaultStorageConfigSerializer, responses={200: EMPTY}
    )
    def patch(self, request: Request, workspace: str) -> Response:
        """Set the workspace's default storage config."""
        body = parse_body(DefaultStorageConfigSerializer, request)
        key = caller_key(request)
        found = selectors.workspace_get_for_key(name=workspace, key=key)
        services.workspace_set_default_storage_config(workspace=found, user=key.user, name=body["name"])
        return Response({})


class StorageConfigView(GravitiView):
    """``/v2/workspaces/{workspace}/storage-configs/{storage_config}``."""

    @extend_schema(operation_id="get_storage_config", responses=StorageConfigSerializer)
    def get(self, request: Request, workspace: str, storage_config: str) -> Response:
        """Describe one of the workspace's storage configs."""
        found = selectors.workspace_get_for_key(name=workspace, key=caller_key(request))
        config = storage_config_selectors.storage_config_get(workspace=found, name=storage_config)
        return Response(StorageConfigSerializer(config).data)


class ObjectPermissionSerializer(serializers.Serializer):
    """Object permission (data-plane spec §5.1), always AZURE-shaped: the SDK builds
    ``{endpoint_prefix}/{key}?{sas_param}``; ``prefix`` is where PUT keys start."""

    backend_type = serializers.CharField()
    expire_at = serializers.CharField()
    permission = inline_serializer(
        "GravitiObjectPermissionFields",
        {
            "container_name": serializers.CharField(),
            "account_name": serializers.CharField(),
            "endpoint_prefix": serializers.CharField(),
            "sas_param": serializers.CharField(),
            "prefix": serializers.CharField(required=False),
        },
    )


class ObjectCopySerializer(serializers.Serializer):
    source_dataset = StrictCharField(max_length=255)
    keys = serializers.ListField(child=StrictCharField(), max_length=2048)


class ObjectPermissionView(GravitiView):
    """``GET /v2/datasets/{workspace}/{dataset}/objects/permissions``."""

    @extend_schema(
        operation_id="get_object_permission",
        parameters=[
            OpenApiParameter("actions", str, enum=["GET", "PUT"], required=True),
            OpenApiParameter("is_internal", str),
            OpenApiParameter("expired", int),
        ],
        responses=ObjectPermissionSerializer,
    )
    def get(self, request: Request, workspace: str, dataset: str) -> Response:
        """Where and how to read (GET) or write (PUT) the dataset's objects; writing needs write access."""
        action = request.query_params.get("actions")
        if not action:
            raise errors.Missing("actions")
        if action not in ("GET", "PUT"):
            raise errors.Invalid("actions", "must be GET or PUT")
        found = selectors.dataset_get_for_key(
            workspace=workspace, name=dataset, key=caller_key(request), write=action == "PUT"
        )
        access = selectors.dataset_object_access(
            dataset=found,
            action=action,
            expires_in=parse_int(request.query_params.get("expired"), field="expired", default=600),
            base_url=request.build_absolute_uri("/"),
        )
        permission = {
            "container_name": access.container_name,
            "account_name": access.account_name,
            "endpoint_prefix": access.endpoint_prefix,
            "sas_param": access.sas_param,
        }
        if action == "PUT":
            permission["prefix"] = selectors.dataset_object_key(dataset=found, sha1="")
        expire_at = Timestamp().to_representation(datetime.fromtimestamp(access.expires_at, UTC))
        return Response({"backend_type": "AZURE", "expire_at": expire_at, "permission": permission})


class ObjectCopyView(GravitiView):
    """``POST /v2/datasets/{workspace}/{dataset}/objects/copy``: the path names the target dataset."""

    @extend_schema(
        operation_id="copy_objects",
        request=ObjectCopySerializer,
        responses={
            201: inline_serializer("GravitiCopiedKeys", {"keys": serializers.ListField(child=serializers.CharField())})
        },
    )
    def post(self, request: Request, workspace: str, dataset: str) -> Response:
        """Copy objects of another dataset of the workspace; the answer has one target key per key, in order."""
        body = parse_body(ObjectCopySerializer, request)
        key = caller_key(request)
        target = selectors.dataset_get_for_key(workspace=workspace, name=dataset, key=key, write=True)
        source = selectors.dataset_get_for_key(workspace=workspace, name=body["source_dataset"], key=key)
        return Response(
            {"keys": services.dataset_objects_copy(target=target, source=source, keys=body["keys"])}, status=201
        )
