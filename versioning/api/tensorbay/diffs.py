"""TensorBay v1 views of diffs between a revision and its parent or another revision."""

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from datasets.models import Dataset
from project import errors
from project.api.tensorbay import envelope
from versioning import selectors
from versioning.api.tensorbay.common import PAGE_PARAMETERS, DatasetScopedView

# Diffs


def diff_head(dataset: Dataset, basehead: str) -> selectors.Revision:
    """The head a ``basehead`` names: ``commit-<id>`` or ``draft-<n>`` (compared with its parent)."""
    kind, _, value = basehead.partition("-")
    if kind == "commit" and value:
        return selectors.revision_resolve(dataset=dataset, revision=value)
    if kind == "draft" and value.isdigit():
        return selectors.revision_resolve(dataset=dataset, revision=int(value))
    raise errors.Invalid("basehead", "must be commit-<id> or draft-<number>")


class SegmentDiffSerializer(serializers.Serializer):
    name = serializers.CharField()
    action = serializers.CharField()


class DataDiffSerializer(serializers.Serializer):
    """DataDiff: the path, the action, and what changed of the file and of the label."""

    remotePath = serializers.CharField()  # noqa: N815
    action = serializers.CharField()
    file = inline_serializer("TensorBayFileAction", {"action": serializers.CharField()})

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            **super().get_fields(),
            "label": inline_serializer("TensorBayLabelAction", {"action": serializers.CharField()}),
        }

    def to_representation(self, change: Any) -> dict[str, Any]:
        action = change.action
        file_action = label_action = action
        if change.old is not None and change.new is not None:
            file_action = "modify" if change.old.sha1 != change.new.sha1 else "unmodify"
            label_action = "modify" if change.old.label != change.new.label else "unmodify"
        return {
            "remotePath": change.path.partition("/")[2],
            "action": action,
            "file": {"action": file_action},
            "label": {"action": label_action},
        }


class SegmentDiffView(DatasetScopedView):
    """``GET datasets/{id}/diffs/{basehead}/segments``."""

    list_key = "segments"

    @extend_schema(
        operation_id="list_segment_diffs",
        parameters=PAGE_PARAMETERS,
        responses=envelope("segments", SegmentDiffSerializer),
    )
    def get(self, request: Request, dataset_id: str, basehead: str) -> Response:
        """The segments the head changed since its parent (or a draft since its base), by name."""
        head = diff_head(self.dataset(request, dataset_id), basehead)
        base = selectors.diff_base(revision=head)
        changes = self.paginator.paginate_page(
            lambda offset, limit: selectors.diff_segments(base=base, head=head, offset=offset, limit=limit),
            request,
            self,
        )
        return self.paginator.get_paginated_response(SegmentDiffSerializer(changes, many=True).data)


class DataDiffView(DatasetScopedView):
    """``GET datasets/{id}/diffs/{basehead}/segments/{segment}/data``."""

    list_key = "data"

    @extend_schema(
        operation_id="list_data_diffs",
        parameters=PAGE_PARAMETERS,
        responses=envelope("data", DataDiffSerializer),
    )
    def get(self, request: Request, dataset_id: str, basehead: str, segment: str) -> Response:
        """The entries of one segment the head changed, by path."""
        head = diff_head(self.dataset(request, dataset_id), basehead)
        base = selectors.diff_base(revision=head)
        changes = self.paginator.paginate_page(
            lambda offset, limit: selectors.diff_entries(
                base=base, head=head, segment=segment, offset=offset, limit=limit
            ),
            request,
            self,
        )
        return self.paginator.get_paginated_response(DataDiffSerializer(changes, many=True).data)
