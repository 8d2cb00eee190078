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
from versioning.api.graviti.sheets import (
    DraftSheetCollectionView,
    DraftSheetDataView,
    DraftSheetView,
    SheetCollectionView,
    SheetDataView,
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
    "DraftSheetView",
    "DraftView",
    "RevisionView",
    "SheetCollectionView",
    "SheetDataView",
    "SheetSchemaView",
    "SheetView",
    "TagCollectionView",
    "TagView",
]
