"""Graviti v2 views of versioned content, one module per resource; ``project.api.routes`` mounts them."""

from versioning.api.graviti.history import (
    BranchCollectionView,
    BranchView,
    CommitCollectionView,
    CommitView,
    DraftCollectionView,
    DraftView,
    RevisionView,
    TagCollectionView,
    TagView,
)
from versioning.api.graviti.searches import (
    SearchCollectionView,
    SearchRecordCountView,
    SearchRecordsView,
    SearchView,
)
from versioning.api.graviti.sheets import (
    DraftSheetCollectionView,
    DraftSheetDataView,
    DraftSheetRecordsView,
    DraftSheetView,
    SheetCollectionView,
    SheetDataView,
    SheetRecordsView,
    SheetSchemaView,
    SheetView,
)

__all__ = [
    "BranchCollectionView",
    "BranchView",
    "CommitCollectionView",
    "CommitView",
    "DraftCollectionView",
    "DraftSheetCollectionView",
    "DraftSheetDataView",
    "DraftSheetRecordsView",
    "DraftSheetView",
    "DraftView",
    "RevisionView",
    "SearchCollectionView",
    "SearchRecordCountView",
    "SearchRecordsView",
    "SearchView",
    "SheetCollectionView",
    "SheetDataView",
    "SheetRecordsView",
    "SheetSchemaView",
    "SheetView",
    "TagCollectionView",
    "TagView",
]
