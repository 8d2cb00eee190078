"""TensorBay v1 views of a segment's data: paths, details with signed URLs, URLs, copy, move and delete."""

from typing import Any

from django.http import HttpResponseBase
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from datasets import selectors as catalog
from datasets.models import Dataset
from project import errors
from project.api.base import CallerMemoView, parse_body, signed_page_cached
from project.api.fields import StrictCharField
from project.api.tensorbay import EMPTY, envelope
from versioning import selectors, services
from versioning.api.tensorbay.common import (
    PAGE_PARAMETERS,
    SEGMENT_PARAMETERS,
    CopySourceSerializer,
    DatasetScopedView,
    DraftBodySerializer,
    copy_source,
    required_param,
    status_revision,
)
from versioning.api.tensorbay.fusion import (
    FrameDetailsSerializer,
    FrameUrlsSerializer,
    frame_details,
    frame_url_list,
    refuse_fusion,
)
from versioning.trees import Entry


class DataSourceSerializer(CopySourceSerializer):
    remotePaths = serializers.ListField(child=StrictCharField(), max_length=128)  # noqa: N815


class DataCopySerializer(DraftBodySerializer):
    strategy = StrictCharField(required=False, default="abort")
    segmentName = StrictCharField(max_length=255)  # noqa: N815
    remotePaths = serializers.ListField(child=StrictCharField(), required=False, max_length=128)  # noqa: N815

    def get_fields(self) -> dict[str, serializers.Field]:
        # ``source`` is also a Field attribute, so the field is added here rather than declared.
        return {**super().get_fields(), "source": DataSourceSerializer()}


class DataDeleteSerializer(DraftBodySerializer):
    segmentName = StrictCharField(max_length=255)  # noqa: N815
    remotePath = StrictCharField()  # noqa: N815


# Data


class DataPathSerializer(serializers.Serializer):
    remotePath = serializers.CharField(source="remote_path")  # noqa: N815


class DataDetailsSerializer(serializers.Serializer):
    """DataDetails: the path, a signed URL, the label (``{}`` for none) and the timestamp when set."""

    remotePath = serializers.CharField()  # noqa: N815
    url = serializers.CharField()
    timestamp = serializers.FloatField(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), "label": serializers.DictField()}


class UrlSerializer(serializers.Serializer):
    remotePath = serializers.CharField()  # noqa: N815
    url = serializers.CharField()


def items_page(list_key: str, name: str, items: list[type[serializers.Serializer]]) -> serializers.Serializer:
    """A list response whose items take one of several shapes (a normal segment's files or a fusion one's frames)."""
    return inline_serializer(
        name=f"{name}Page",
        fields={
            list_key: PolymorphicProxySerializer(
                component_name=name, serializers=items, resource_type_field_name=None, many=True
            ),
            "offset": serializers.IntegerField(),
            "recordSize": serializers.IntegerField(),
            "totalCount": serializers.IntegerField(),
        },
    )


class EntryPageView(DatasetScopedView):
    """A list of one segment's entries at the status selector's revision, or of one entry with ``remotePath``."""

    def entries(self, request: Request, dataset_id: str) -> tuple[Dataset, list[Entry]]:
        dataset = self.dataset(request, dataset_id)
        return dataset, self.page(request, status_revision(dataset, request.query_params))

    def page(self, request: Request, revision: selectors.Revision) -> list[Entry]:
        """The page of entries the query asks for at this revision."""
        params = request.query_params
        segment = required_param(params, "segmentName")
        remote_path = params.get("remotePath")
        if remote_path:
            entry = selectors.entry_get(revision=revision, segment=segment, remote_path=remote_path)
            return self.paginator.paginate_page(
                lambda offset, limit: selectors.Page(items=[entry][offset : offset + limit], total=1), request, self
            )
        return self.paginator.paginate_page(
            lambda offset, limit: selectors.entry_list(revision=revision, segment=segment, offset=offset, limit=limit),
            request,
            self,
        )

    def urls(self, request: Request, dataset: Dataset, entries: list[Entry]) -> list[str]:
        return catalog.dataset_object_urls(
            dataset=dataset, object_keys=[entry.object_key for entry in entries], base_url=self.base_url(request)
        )


class DataView(EntryPageView):
    """``datasets/{id}/data`` (``?multipleCopy`` and ``?multipleMove`` on POST)."""

    list_key = "data"

    @extend_schema(
        operation_id="list_data_paths",
        parameters=[*SEGMENT_PARAMETERS, *PAGE_PARAMETERS],
        responses=envelope("data", DataPathSerializer),
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        """List the segment's remote paths, in path order."""
        dataset = self.dataset(request, dataset_id)
        refuse_fusion(dataset)
        entries = self.page(request, status_revision(dataset, request.query_params))
        return self.paginator.get_paginated_response(DataPathSerializer(entries, many=True).data)

    @extend_schema(operation_id="delete_data", request=DataDeleteSerializer, responses={200: EMPTY})
    def delete(self, request: Request, dataset_id: str) -> Response:
        """Delete one entry in a draft."""
        body = parse_body(DataDeleteSerializer, request)
        draft = self.draft(request, dataset_id, body["draftNumber"])
        refuse_fusion(draft.dataset)
        services.draft_stage_deletes(
            draft=draft,
            segment=body["segmentName"],
            remote_paths=[body["remotePath"]],
        )
        return Response({})

    @extend_schema(
        operation_id="copy_data",
        parameters=[OpenApiParameter("multipleCopy", bool), OpenApiParameter("multipleMove", bool)],
        request=DataCopySerializer,
        responses={200: EMPTY},
    )
    def post(self, request: Request, dataset_id: str) -> Response:
        """Copy (``?multipleCopy``) or move (``?multipleMove``) entries into a draft."""
        move = "multipleMove" in request.query_params
        if not move and "multipleCopy" not in request.query_params:
            raise errors.Missing("multipleCopy", "POST data needs ?multipleCopy or ?multipleMove")
        body = parse_body(DataCopySerializer, request)
        draft = self.draft(request, dataset_id, body["draftNumber"])
        refuse_fusion(draft.dataset)
        services.draft_entries_copy(
            draft=draft,
            source=copy_source(request, draft, body["source"], move=move),
            source_segment=body["source"]["segmentName"],
            source_paths=body["source"]["remotePaths"],
            target_segment=body["segmentName"],
            target_paths=body.get("remotePaths"),
            strategy=body["strategy"],
            move=move,
        )
        return Response({})


class DataDetailsView(EntryPageView, CallerMemoView):
    """``GET datasets/{id}/data/details``."""

    list_key = "dataDetails"

    @extend_schema(
        operation_id="list_data_details",
        parameters=[*SEGMENT_PARAMETERS, OpenApiParameter("remotePath", str), *PAGE_PARAMETERS],
        responses=items_page(
            "dataDetails", "TensorBayDataDetailsOrFrame", [DataDetailsSerializer, FrameDetailsSerializer]
        ),
    )
    def get(self, request: Request, dataset_id: str) -> HttpResponseBase:
        """The segment's entries with signed URLs and labels, in path order (a fusion segment's frames by id).

        What a commit holds never changes, so its pages are kept for a while, URLs and all (see
        ``signed_page_cached``); a draft's pages are built each time.
        """
        dataset = self.dataset(request, dataset_id)
        revision = status_revision(dataset, request.query_params)
        if revision.draft is not None or revision.commit is None:
            return self.details(request, dataset, revision)
        config = dataset.storage_config
        return signed_page_cached(
            request,
            parts=(
                revision.commit.pk,
                self.base_url(request),
                f"{config.pk}@{config.updated_at.isoformat()}" if config else "hub",
            ),
            build=lambda: self.details(request, dataset, revision),
        )

    def details(self, request: Request, dataset: Dataset, revision: selectors.Revision) -> Response:
        entries = self.page(request, revision)
        if dataset.kind == Dataset.Kind.FUSION:
            return self.paginator.get_paginated_response(frame_details(dataset, entries, self.base_url(request)))
        details = []
        for entry, url in zip(entries, self.urls(request, dataset, entries), strict=True):
            item: dict[str, Any] = {"remotePath": entry.remote_path, "url": url, "label": entry.label or {}}
            if entry.timestamp is not None:
                item["timestamp"] = entry.timestamp
            details.append(item)
        return self.paginator.get_paginated_response(details)


class DataUrlsView(EntryPageView):
    """``GET datasets/{id}/data/urls``."""

    list_key = "urls"

    @extend_schema(
        operation_id="list_data_urls",
        parameters=[*SEGMENT_PARAMETERS, OpenApiParameter("remotePath", str), *PAGE_PARAMETERS],
        responses=items_page("urls", "TensorBayUrlOrFrameUrls", [UrlSerializer, FrameUrlsSerializer]),
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        """Fresh signed URLs of the segment's entries, in path order (a fusion segment's by frame and sensor)."""
        dataset, entries = self.entries(request, dataset_id)
        if dataset.kind == Dataset.Kind.FUSION:
            return self.paginator.get_paginated_response(frame_url_list(dataset, entries, self.base_url(request)))
        urls = self.urls(request, dataset, entries)
        return self.paginator.get_paginated_response(
            [{"remotePath": entry.remote_path, "url": url} for entry, url in zip(entries, urls, strict=True)]
        )
