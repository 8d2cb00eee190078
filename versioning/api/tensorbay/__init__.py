"""TensorBay v1 views of versioned content, one module per resource; ``project.api.routes`` mounts them.

Reads take the client's status selector (``draftNumber`` or ``commit``) in the query string; writes take
``draftNumber`` in the JSON body and change only an open draft. A dataset without commits is at the ROOT id.
"""

from versioning.api.tensorbay.data import DataDetailsView, DataUrlsView, DataView
from versioning.api.tensorbay.diffs import DataDiffView, SegmentDiffView
from versioning.api.tensorbay.fusion import FrameView, SensorView
from versioning.api.tensorbay.history import (
    BranchCollectionView,
    CommitCollectionView,
    DraftCollectionView,
    DraftView,
    TagCollectionView,
)
from versioning.api.tensorbay.jobs import JobAbortView, JobCollectionView, JobRetryView, JobView
from versioning.api.tensorbay.labels import (
    CatalogView,
    LabelCollectionView,
    LabelStatisticsView,
    LabelsView,
    MaskUrlsView,
    NotesView,
    TotalSizeView,
)
from versioning.api.tensorbay.search_results import SearchResultDatasetView
from versioning.api.tensorbay.segments import SegmentCollectionView
from versioning.api.tensorbay.uploads import CallbackView, CloudCallbackView, PolicyView

__all__ = [
    "BranchCollectionView",
    "CallbackView",
    "CatalogView",
    "CloudCallbackView",
    "CommitCollectionView",
    "DataDetailsView",
    "DataDiffView",
    "DataUrlsView",
    "DataView",
    "DraftCollectionView",
    "DraftView",
    "FrameView",
    "JobAbortView",
    "JobCollectionView",
    "JobRetryView",
    "JobView",
    "LabelCollectionView",
    "LabelStatisticsView",
    "LabelsView",
    "MaskUrlsView",
    "NotesView",
    "PolicyView",
    "SearchResultDatasetView",
    "SegmentCollectionView",
    "SegmentDiffView",
    "SensorView",
    "TagCollectionView",
    "TotalSizeView",
]
