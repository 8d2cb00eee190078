"""Receivers that keep versioning's invariants whichever path created the dataset."""

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from datasets import list_cache
from datasets.models import Dataset
from versioning import services
from versioning.models import Branch, Tag


@receiver(post_save, sender=Dataset, dispatch_uid="default_branch")
def give_every_dataset_its_default_branch(sender: type, instance: Dataset, created: bool, **kwargs: Any) -> None:
    """Create the default branch (at ROOT) of a new dataset."""
    if created and not kwargs.get("raw"):
        services.branch_ensure_default(dataset=instance)


@receiver(pre_delete, sender=Dataset, dispatch_uid="dataset_history")
def delete_history_before_the_dataset(sender: type, instance: Dataset, **kwargs: Any) -> None:
    """Remove the dataset's versioning rows first, so the cascade never meets a commit still pointed at, and
    remember its storage prefix for garbage collection."""
    services.history_delete(dataset=instance)
    services.deleted_dataset_record(dataset=instance)


@receiver(post_save, sender=Branch, dispatch_uid="branch_saved_lists")
@receiver(post_delete, sender=Branch, dispatch_uid="branch_deleted_lists")
@receiver(post_save, sender=Tag, dispatch_uid="tag_saved_lists")
@receiver(post_delete, sender=Tag, dispatch_uid="tag_deleted_lists")
def retire_cached_answers_when_a_name_moves(sender: type, **kwargs: Any) -> None:
    """A branch's head carries the commit, object and branch counts the lists show; branches and tags name
    the commits answers remembered per caller resolved (``project.api.base.CallerMemoView``)."""
    if not kwargs.get("raw"):
        list_cache.catalog_changed()
