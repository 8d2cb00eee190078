"""Shared pieces of the TensorBay v1 versioning views: status selectors, the dataset-scoped base view."""

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request

from datasets import selectors as catalog
from datasets.models import Dataset
from project import errors
from project.api.authentication import caller_key
from project.api.base import parse_int
from project.api.fields import StrictCharField, StrictIntegerField
from project.api.tensorbay import TensorBayView
from versioning import selectors
from versioning.models import Commit, Draft

PAGE_PARAMETERS = [OpenApiParameter("offset", int), OpenApiParameter("limit", int)]
STATUS_PARAMETERS = [OpenApiParameter("draftNumber", int), OpenApiParameter("commit", str)]
SEGMENT_PARAMETERS = [OpenApiParameter("segmentName", str, required=True), *STATUS_PARAMETERS]
# What the SDK asks for when it says nothing else.
DEFAULT_POLICY_SECONDS = 240


def unix(value: Any) -> int:
    """A datetime as unix seconds."""
    return int(value.timestamp())


def commit_fields(commit: Commit) -> dict[str, Any]:
    """A Commit object: the first commit's parent is the ROOT id."""
    return {
        "commitId": commit.id,
        "parentCommitId": commit.parent_commit_id,
        "title": commit.title,
        "description": commit.description,
        "committer": {"name": commit.committer_name, "date": unix(commit.committed_at)},
    }


class DraftBodySerializer(serializers.Serializer):
    draftNumber = StrictIntegerField(min_value=1)  # noqa: N815


class CopySourceSerializer(serializers.Serializer):
    segmentName = StrictCharField(max_length=255)  # noqa: N815
    id = StrictCharField(required=False)
    draftNumber = StrictIntegerField(required=False, min_value=1)  # noqa: N815
    commit = StrictCharField(required=False)


def status_revision(dataset: Dataset, params: Mapping[str, Any]) -> selectors.Revision:
    """The revision a status selector names: ``draftNumber`` (an int) or ``commit`` (any revision)."""
    draft_number = params.get("draftNumber")
    if draft_number not in (None, ""):
        return selectors.revision_resolve(
            dataset=dataset, revision=parse_int(draft_number, field="draftNumber", default=0)
        )
    commit = params.get("commit")
    if commit:
        return selectors.revision_resolve(dataset=dataset, revision=commit)
    raise errors.Missing("draftNumber", "a draftNumber or a commit is required")


def required_param(params: Mapping[str, Any], name: str) -> str:
    """A query parameter that must be present and non-empty."""
    value = params.get(name)
    if not value:
        raise errors.Missing(name)
    return value


class DatasetScopedView(TensorBayView):
    """A view under ``datasets/{id}``: anyone who may read the dataset reads, only writers write."""

    def dataset(self, request: Request, dataset_id: str, *, write: bool | None = None) -> Dataset:
        """The dataset in the path, as the caller may use it for this request's method (or to ``write``)."""
        return catalog.dataset_get_by_id_for_key(
            dataset_id=dataset_id,
            key=caller_key(request),
            write=request.method != "GET" if write is None else write,
        )

    def draft(self, request: Request, dataset_id: str, number: int) -> Draft:
        """The dataset's draft with this number, for a write."""
        return selectors.draft_get(dataset=self.dataset(request, dataset_id, write=True), number=number)

    def base_url(self, request: Request) -> str:
        """The hub's address as this request reached it, for the URLs it signs."""
        return request.build_absolute_uri("/")


def copy_source(request: Request, draft: Draft, source: dict, *, move: bool) -> selectors.Revision:
    """The revision a copy reads from: another dataset or version when the source names one, else the draft."""
    dataset = draft.dataset
    if move or ("id" not in source and "draftNumber" not in source and "commit" not in source):
        return selectors.revision_resolve(dataset=dataset, revision=draft.number)
    source_dataset = dataset
    if source.get("id") and source["id"] != dataset.hex_id:
        source_dataset = catalog.dataset_get_by_id_for_key(dataset_id=source["id"], key=caller_key(request))
    return status_revision(source_dataset, source)
