"""The routes of each dialect, relative to its prefix; root urls mount them and the schemas read them."""

from django.urls import path

from datasets.api import aidmp as aidmp_catalog
from datasets.api import graviti as graviti_catalog
from datasets.api import institution as institution_catalog
from datasets.api import tensorbay as tensorbay_catalog
from datasets.api import whalerun as whalerun_catalog
from versioning.api import graviti as graviti_versioning
from versioning.api import tensorbay as tensorbay_versioning

# TensorBay and Graviti routes have no trailing slash, whale.run routes have one, as their clients send them.
whalerun = [
    path("dataset_files/", whalerun_catalog.DatasetFileCollectionView.as_view()),
    path("datasets/", whalerun_catalog.DatasetCollectionView.as_view()),
    path("datasets/<int:dataset_id>/", whalerun_catalog.DatasetView.as_view()),
    path("datasets/<int:dataset_id>/hidden/", whalerun_catalog.DatasetHiddenView.as_view()),
    *[
        path(
            f"datasets/<int:dataset_id>/{counter}/",
            whalerun_catalog.DatasetCounterView.as_view(counter=counter),
        )
        for counter in ("total_notebooks", "total_topics", "total_comments", "total_votes")
    ],
]
aidmp = [path("datasets", aidmp_catalog.PublicDatasetListView.as_view())]
institution = [path("datasets", institution_catalog.InstitutionDatasetListView.as_view())]
TENSORBAY_DATASET = "datasets/<str:dataset_id>"
tensorbay = [
    path("users", tensorbay_catalog.UserView.as_view()),
    path("storage-configs", tensorbay_catalog.StorageConfigCollectionView.as_view()),
    path("auth-storage-configs", tensorbay_catalog.AuthStorageConfigCollectionView.as_view()),
    *[
        path(f"storage-configs/{kind}", tensorbay_catalog.storage_config_create_view(kind))
        for kind in ("oss", "s3", "azure", "local")
    ],
    path("storage-configs/<str:name>", tensorbay_catalog.StorageConfigView.as_view()),
    path("cloud/<str:name>/files", tensorbay_catalog.CloudFileCollectionView.as_view()),
    path("cloud/<str:name>/files/urls", tensorbay_catalog.CloudFileUrlView.as_view()),
    path("datasets", tensorbay_catalog.DatasetCollectionView.as_view()),
    path(TENSORBAY_DATASET, tensorbay_catalog.DatasetView.as_view()),
    path(f"{TENSORBAY_DATASET}/drafts", tensorbay_versioning.DraftCollectionView.as_view()),
    path(f"{TENSORBAY_DATASET}/drafts/<int:draft_number>", tensorbay_versioning.DraftView.as_view()),
    path(f"{TENSORBAY_DATASET}/commits", tensorbay_versioning.CommitCollectionView.as_view()),
    path(f"{TENSORBAY_DATASET}/branches", tensorbay_versioning.BranchCollectionView.as_view()),
    path(f"{TENSORBAY_DATASET}/tags", tensorbay_versioning.TagCollectionView.as_view()),
    path(f"{TENSORBAY_DATASET}/segments", tensorbay_versioning.SegmentCollectionView.as_view()),
    path(f"{TENSORBAY_DATASET}/data", tensorbay_versioning.DataView.as_view()),
    path(f"{TENSORBAY_DATASET}/data/details", tensorbay_versioning.DataDetailsView.as_view()),
    path(f"{TENSORBAY_DATASET}/data/urls", tensorbay_versioning.DataUrlsView.as_view()),
    path(f"{TENSORBAY_DATASET}/frames", tensorbay_versioning.FrameView.as_view()),
    path(f"{TENSORBAY_DATASET}/sensors", tensorbay_versioning.SensorView.as_view()),
    path(f"{TENSORBAY_DATASET}/policies", tensorbay_versioning.PolicyView.as_view()),
    path(f"{TENSORBAY_DATASET}/multi/callback", tensorbay_versioning.CallbackView.as_view()),
    path(f"{TENSORBAY_DATASET}/multi/cloud-callback", tensorbay_versioning.CloudCallbackView.as_view()),
    path(f"{TENSORBAY_DATASET}/multi/data/labels", tensorbay_versioning.LabelsView.as_view()),
    path(f"{TENSORBAY_DATASET}/labels", tensorbay_versioning.LabelCollectionView.as_view()),
    path(f"{TENSORBAY_DATASET}/masks/urls", tensorbay_versioning.MaskUrlsView.as_view()),
    path(f"{TENSORBAY_DATASET}/labels/catalogs", tensorbay_versioning.CatalogView.as_view()),
    path(f"{TENSORBAY_DATASET}/labels/statistics", tensorbay_versioning.LabelStatisticsView.as_view()),
    path(f"{TENSORBAY_DATASET}/notes", tensorbay_versioning.NotesView.as_view()),
    path(f"{TENSORBAY_DATASET}/total-size", tensorbay_versioning.TotalSizeView.as_view()),
    path(f"{TENSORBAY_DATASET}/jobs", tensorbay_versioning.JobCollectionView.as_view()),
    path(f"{TENSORBAY_DATASET}/jobs/<str:job_id>", tensorbay_versioning.JobView.as_view()),
    path(f"{TENSORBAY_DATASET}/jobs/<str:job_id>/abort", tensorbay_versioning.JobAbortView.as_view()),
    path(f"{TENSORBAY_DATASET}/jobs/<str:job_id>/retry", tensorbay_versioning.JobRetryView.as_view()),
    path(f"{TENSORBAY_DATASET}/diffs/<str:basehead>/segments", tensorbay_versioning.SegmentDiffView.as_view()),
    path("searchResults/<str:job_id>/datasets", tensorbay_versioning.SearchResultDatasetView.as_view()),
    path(
        f"{TENSORBAY_DATASET}/diffs/<str:basehead>/segments/<path:segment>/data",
        tensorbay_versioning.DataDiffView.as_view(),
    ),
]
GRAVITI_DATASET = "datasets/<str:workspace>/<str:dataset>"
GRAVITI_DRAFT = f"{GRAVITI_DATASET}/drafts/<int:draft_number>"
GRAVITI_COMMIT = f"{GRAVITI_DATASET}/commits/<str:commit_id>"
graviti = [
    path("current-user", graviti_catalog.CurrentUserView.as_view()),
    path("current-workspace", graviti_catalog.CurrentWorkspaceView.as_view()),
    path("workspaces/<str:workspace>", graviti_catalog.WorkspaceView.as_view()),
    path("workspaces/<str:workspace>/storage-configs", graviti_catalog.StorageConfigCollectionView.as_view()),
    path(
        "workspaces/<str:workspace>/storage-configs/<str:storage_config>",
        graviti_catalog.StorageConfigView.as_view(),
    ),
    path("datasets", graviti_catalog.DatasetCollectionView.as_view()),
    path(GRAVITI_DATASET, graviti_catalog.DatasetView.as_view()),
    path(f"{GRAVITI_DATASET}/objects/permissions", graviti_catalog.ObjectPermissionView.as_view()),
    path(f"{GRAVITI_DATASET}/objects/copy", graviti_catalog.ObjectCopyView.as_view()),
    path(f"{GRAVITI_DATASET}/branches", graviti_versioning.BranchCollectionView.as_view()),
    path(f"{GRAVITI_DATASET}/branches/<str:branch>", graviti_versioning.BranchView.as_view()),
    path(f"{GRAVITI_DATASET}/commits", graviti_versioning.CommitCollectionView.as_view()),
    path(f"{GRAVITI_DATASET}/commits/<str:commit_id>", graviti_versioning.CommitView.as_view()),
    path(f"{GRAVITI_DATASET}/revisions/<str:revision>", graviti_versioning.RevisionView.as_view()),
    path(f"{GRAVITI_DATASET}/drafts", graviti_versioning.DraftCollectionView.as_view()),
    path(f"{GRAVITI_DATASET}/drafts/<int:draft_number>", graviti_versioning.DraftView.as_view()),
    path(f"{GRAVITI_DATASET}/tags", graviti_versioning.TagCollectionView.as_view()),
    path(f"{GRAVITI_DATASET}/tags/<str:tag>", graviti_versioning.TagView.as_view()),
    path(f"{GRAVITI_DRAFT}/sheets", graviti_versioning.DraftSheetCollectionView.as_view()),
    path(f"{GRAVITI_DRAFT}/sheets/<str:sheet>", graviti_versioning.DraftSheetView.as_view()),
    path(f"{GRAVITI_DRAFT}/sheets/<str:sheet>/data", graviti_versioning.DraftSheetDataView.as_view()),
    path(f"{GRAVITI_DRAFT}/sheets/<str:sheet>/records", graviti_versioning.DraftSheetRecordsView.as_view()),
    path(f"{GRAVITI_DRAFT}/sheets/<str:sheet>/schema", graviti_versioning.SheetSchemaView.as_view()),
    path(f"{GRAVITI_COMMIT}/sheets", graviti_versioning.SheetCollectionView.as_view()),
    path(f"{GRAVITI_COMMIT}/sheets/<str:sheet>", graviti_versioning.SheetView.as_view()),
    path(f"{GRAVITI_COMMIT}/sheets/<str:sheet>/data", graviti_versioning.SheetDataView.as_view()),
    path(f"{GRAVITI_COMMIT}/sheets/<str:sheet>/records", graviti_versioning.SheetRecordsView.as_view()),
    path(f"{GRAVITI_DATASET}/searches", graviti_versioning.SearchCollectionView.as_view()),
    path(f"{GRAVITI_DATASET}/searches/<str:search_id>", graviti_versioning.SearchView.as_view()),
    path(
        f"{GRAVITI_DATASET}/searches/<str:search_id>/record-count", graviti_versioning.SearchRecordCountView.as_view()
    ),
    path(f"{GRAVITI_DATASET}/searches/<str:search_id>/records", graviti_versioning.SearchRecordsView.as_view()),
]
