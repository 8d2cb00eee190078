"""Graviti v2 views of sheet searches (``DS/searches``; data-plane spec §2.4, §4 (f)).

A search reads, so readers of the dataset create and read searches; deleting one is a write. A history names
either ``commit_id`` or ``draft_number``, never a null ``commit_id`` (the SDK tests for the key).
"""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from datasets import selectors as catalog
from datasets.models import Dataset
from project import errors
from project.api.authentication import caller_key
from project.api.base import parse_body, parse_int
from project.api.fields import StrictCharField, StrictIntegerField
from project.api.graviti import EMPTY, Timestamp, envelope
from versioning import selectors, services, sheets
from versioning.api.graviti.history import PAGE_PARAMETERS, DatasetScopedView
from versioning.api.graviti.sheets import RowSerializer
from versioning.models import SearchHistory


class SearchSerializer(serializers.Serializer):
    """Search history: ``commit_id`` for a search of a commit, ``draft_number`` for one of a draft."""

    id = serializers.CharField()
    commit_id = serializers.CharField(required=False)
    draft_number = serializers.IntegerField(required=False)
    sheet = serializers.CharField()
    criteria = serializers.DictField()
    record_count = serializers.IntegerField(allow_null=True)
    creator = serializers.CharField()
    created_at = Timestamp()

    def to_representation(self, search: SearchHistory) -> dict[str, Any]:
        at: dict[str, Any] = (
            {"commit_id": search.commit_id} if search.commit_id else {"draft_number": search.draft.number}  # type: ignore[union-attr]
        )
        return {
            "id": search.id,
            **at,
            "sheet": search.sheet,
            "criteria": search.criteria,
            "record_count": search.record_count,
            "creator": search.creator.display_name if search.creator else "",
            "created_at": Timestamp().to_representation(search.created_at),
        }


class SearchCreateSerializer(serializers.Serializer):
    sheet = StrictCharField(max_length=255)
    criteria = serializers.DictField()
    commit_id = StrictCharField(required=False)
    draft_number = StrictIntegerField(required=False, min_value=1)


class SearchScopedView(DatasetScopedView):
    """A view of the searches of ``DS``: reading them, and creating one, needs read access."""

    def readable(self, request: Request, workspace: str, dataset: str) -> Dataset:
        """The dataset in the path, as the caller may read it."""
        return catalog.dataset_get_for_key(workspace=workspace, name=dataset, key=caller_key(request))


class SearchCollectionView(SearchScopedView):
    """``DS/searches``."""

    list_key = "searches"

    @extend_schema(
        operation_id="list_search_histories",
        parameters=[
            OpenApiParameter("commit_id", str),
            OpenApiParameter("draft_number", int),
            OpenApiParameter("sheet", str),
            OpenApiParameter("sort", str),
            *PAGE_PARAMETERS,
        ],
        responses=envelope("searches", SearchSerializer),
    )
    def get(self, request: Request, workspace: str, dataset: str) -> Response:
        """List the dataset's searches, newest first, optionally of one commit, draft or sheet."""
        params = request.query_params
        draft_number = params.get("draft_number")
        searches = selectors.search_list(
            dataset=self.readable(request, workspace, dataset),
            commit_id=params.get("commit_id") or None,
            draft_number=parse_int(draft_number, field="draft_number", default=0) if draft_number else None,
            sheet=params.get("sheet") or None,
        )
        page = self.paginator.paginate_queryset(searches, request, view=self)
        return self.paginator.get_paginated_response(SearchSerializer(page, many=True).data)

    @extend_schema(
        operation_id="create_search_history", request=SearchCreateSerializer, responses={201: SearchSerializer}
    )
    def post(self, request: Request, workspace: str, dataset: str) -> Response:
        """Search a sheet of a commit (``commit_id``) or a draft (``draft_number``)."""
        body = parse_body(SearchCreateSerializer, request)
        found = self.readable(request, workspace, dataset)
        if "commit_id" in body and "draft_number" in body:
            raise errors.Invalid("commit_id", "give commit_id or draft_number, not both")
        if "draft_number" in body:
            revision = selectors.revision_resolve(dataset=found, revision=body["draft_number"])
        elif "commit_id" in body:
            revision = selectors.revision_resolve(dataset=found, revision=body["commit_id"])
        else:
            raise errors.Missing("commit_id")
        search = services.search_create(
            revision=revision, sheet=body["sheet"], criteria=body["criteria"], creator=caller_key(request).user
        )
        return Response(SearchSerializer(search).data, status=201)


class SearchView(SearchScopedView):
    """``DS/searches/{search_id}``."""

    @extend_schema(operation_id="get_search_history", responses=SearchSerializer)
    def get(self, request: Request, workspace: str, dataset: str, search_id: str) -> Response:
        """Describe a search."""
        search = selectors.search_get(dataset=self.readable(request, workspace, dataset), search_id=search_id)
        return Response(SearchSerializer(search).data)

    @extend_schema(operation_id="delete_search_history", responses={200: EMPTY})
    def delete(self, request: Request, workspace: str, dataset: str, search_id: str) -> Response:
        """Forget a search."""
        search = selectors.search_get(dataset=self.dataset(request, workspace, dataset), search_id=search_id)
        services.search_delete(search=search)
        return Response({})


class SearchRecordCountView(SearchScopedView):
    """``DS/searches/{search_id}/record-count``: a bare JSON integer."""

    @extend_schema(operation_id="get_search_record_count", responses={200: OpenApiTypes.INT})
    def get(self, request: Request, workspace: str, dataset: str, search_id: str) -> Response:
        """How many rows the search finds."""
        search = selectors.search_get(dataset=self.readable(request, workspace, dataset), search_id=search_id)
        return Response(selectors.search_record_count(search=search))


class SearchRecordsView(SearchScopedView):
    """``DS/searches/{search_id}/records``."""

    list_key = "records"

    @extend_schema(
        operation_id="list_search_records",
        parameters=PAGE_PARAMETERS,
        responses=inline_serializer(
            "GravitiSearchRecordsPage",
            {
                "records": RowSerializer(many=True),
                "offset": serializers.IntegerField(),
                "record_size": serializers.IntegerField(),
                "total_count": serializers.IntegerField(),
            },
        ),
    )
    def get(self, request: Request, workspace: str, dataset: str, search_id: str) -> Response:
        """A page of the rows the search finds (or of its ``select`` columns), in record-key order."""
        search = selectors.search_get(dataset=self.readable(request, workspace, dataset), search_id=search_id)
        records = self.paginator.paginate_page(
            lambda offset, limit: selectors.search_records(search=search, offset=offset, limit=limit), request, self
        )
        return self.paginator.get_paginated_response([{**row, sheets.RECORD_KEY: key} for key, row in records])
