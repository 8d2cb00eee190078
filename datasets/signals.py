"""Receivers that keep the catalog's invariants whichever path created the row."""

from typing import Any

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from datasets import services


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="personal_workspace")
def give_every_user_a_personal_workspace(sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
    """Create the personal workspace of a new user, named after the username."""
    if created and not kwargs.get("raw"):
        services.workspace_create_personal(user=instance)
