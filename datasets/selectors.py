"""Reads of the catalog that are more than a ``get``."""

from django.db.models import QuerySet

from datasets.models import AccessKey, Membership, User, Workspace
from project import errors


def workspace_get_for_member(*, name: str, user: User) -> Workspace:
    """Return the named workspace if the user is a member; otherwise it does not exist for them."""
    workspace = Workspace.objects.filter(name=name, memberships__user=user).first()
    if workspace is None:
        raise errors.NotFound(f"workspace {name!r} does not exist")
    return workspace


def membership_get(*, workspace: Workspace, user: User) -> Membership | None:
    """Return the user's membership of the workspace, if any."""
    return Membership.objects.filter(workspace=workspace, user=user).first()


def access_key_list(*, user: User) -> QuerySet[AccessKey]:
    """The user's access keys, newest first."""
    return AccessKey.objects.filter(user=user).select_related("workspace").order_by("-created_at", "-pk")
