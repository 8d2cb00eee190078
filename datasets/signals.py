"""Receivers that keep the catalog's invariants, and its cached lists current, whichever path changed the row."""

from typing import Any

from django.conf import settings
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from datasets import list_cache, services
from datasets.models import AccessKey, Dataset, DatasetFile, Licence, Membership, Tag, TagCategory, Workspace
from storage_configs.models import StorageConfig


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="personal_workspace")
def give_every_user_a_personal_workspace(sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
    """Create the personal workspace of a new user, named after the username."""
    if created and not kwargs.get("raw"):
        services.workspace_create_personal(user=instance)


# Rows whose changes alter what a dataset list shows: the dataset itself, the names and values it shows of
# related rows, and (in ``versioning.signals``) its branches.
LISTED_MODELS = (Dataset, DatasetFile, Licence, Tag, TagCategory, Workspace, StorageConfig)


def retire_cached_lists(sender: type, **kwargs: Any) -> None:
    """Retire the cached list pages after a change to a row some list shows."""
    if not kwargs.get("raw"):
        list_cache.catalog_changed()


for model in (*LISTED_MODELS, settings.AUTH_USER_MODEL):
    post_save.connect(retire_cached_lists, sender=model, dispatch_uid=f"retire_cached_lists_saved_{model}")
    post_delete.connect(retire_cached_lists, sender=model, dispatch_uid=f"retire_cached_lists_deleted_{model}")
m2m_changed.connect(retire_cached_lists, sender=Dataset.tags.through, dispatch_uid="retire_cached_lists_tagged")


# Rows that decide whether a key works and where: answers remembered per caller hold the access generation.
ACCESS_MODELS = (AccessKey, Membership, Workspace)


def retire_caller_memos(sender: type, **kwargs: Any) -> None:
    """Retire every answer remembered per caller after a change to who may use which key."""
    if not kwargs.get("raw"):
        list_cache.access_changed()


for access_model in (*ACCESS_MODELS, settings.AUTH_USER_MODEL):
    post_save.connect(
        retire_caller_memos, sender=access_model, dispatch_uid=f"retire_caller_memos_saved_{access_model}"
    )
    post_delete.connect(
        retire_caller_memos, sender=access_model, dispatch_uid=f"retire_caller_memos_deleted_{access_model}"
    )
