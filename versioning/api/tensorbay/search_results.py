"""TensorBay v1 view of search results (spec part 2 §8.4): turn a search job's result into a dataset.

The route is at the root (``searchResults/{jobId}/datasets``), not under ``datasets/``: the SDK names the
job alone. Its result is read as a dataset through the ordinary dataset-scoped views.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from datasets import selectors as catalog
from datasets import services as catalog_services
from project import errors
from project.api.authentication import caller_key
from project.api.base import parse_body
from project.api.fields import StrictBooleanField, StrictCharField
from project.api.tensorbay import EMPTY, TensorBayView
from versioning import selectors


class SearchResultDatasetSerializer(serializers.Serializer):
    datasetName = StrictCharField(max_length=255)  # noqa: N815
    alias = StrictCharField(required=False, default="", allow_blank=True, max_length=255)
    isPublic = StrictBooleanField(required=False, default=False)  # noqa: N815


class SearchResultDatasetView(TensorBayView):
    """``searchResults/{jobId}/datasets``."""

    @extend_schema(
        operation_id="create_dataset_from_search_result", request=SearchResultDatasetSerializer, responses={201: EMPTY}
    )
    def post(self, request: Request, job_id: str) -> Response:
        """Create a dataset in the caller's workspace whose first commit is the search's result."""
        body = parse_body(SearchResultDatasetSerializer, request)
        key = caller_key(request)
        job = selectors.search_job_get(job_id=job_id)
        try:
            catalog.dataset_get_by_id_for_key(dataset_id=job.dataset.hex_id, key=key)
        except errors.NotFound:
            # A job of a dataset the caller may not read does not exist for it.
            raise errors.NotFound(f"job {job_id!r} does not exist", job=job_id) from None
        catalog_services.dataset_create_from_search(
            job=job,
            workspace=key.workspace,
            creator=key.user,
            name=body["datasetName"],
            alias=body["alias"],
            is_public=body["isPublic"],
        )
        return Response({}, status=201)
