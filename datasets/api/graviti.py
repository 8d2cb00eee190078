"""Graviti v2 views of the catalog: the current user and workspaces."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from datasets import selectors
from project.api.authentication import caller_key
from project.api.graviti import GravitiView


class WorkspaceSerializer(serializers.Serializer):
    """Workspace object (spec §3.7)."""

    id = serializers.CharField(source="uuid.hex")
    type = serializers.CharField(source="kind")
    name = serializers.CharField()
    alias = serializers.CharField()
    description = serializers.CharField()
    email = serializers.CharField()
    location = serializers.CharField()


class CurrentUserSerializer(serializers.Serializer):
    """User object (spec §3.8)."""

    id = serializers.CharField(source="user.uuid.hex")
    nickname = serializers.CharField(source="user.display_name")
    email = serializers.CharField(source="user.email")
    mobile = serializers.CharField(source="user.mobile", allow_null=True)
    description = serializers.CharField(source="user.description")
    workspace = serializers.CharField(source="workspace.name")
    team = serializers.SerializerMethodField()

    def get_team(self, key: object) -> str | None:
        """The team workspace's name, for a key of a team workspace."""
        workspace = key.workspace  # type: ignore[attr-defined]
        return workspace.name if workspace.kind == workspace.Kind.TEAM else None


@extend_schema(responses=CurrentUserSerializer)
class CurrentUserView(GravitiView):
    """``GET /v2/current-user``."""

    def get(self, request: Request) -> Response:
        """Describe the key's user."""
        return Response(CurrentUserSerializer(caller_key(request)).data)


@extend_schema(responses=WorkspaceSerializer)
class CurrentWorkspaceView(GravitiView):
    """``GET /v2/current-workspace``: the workspace the key belongs to."""

    def get(self, request: Request) -> Response:
        """Describe the key's workspace."""
        return Response(WorkspaceSerializer(caller_key(request).workspace).data)


@extend_schema(responses=WorkspaceSerializer)
class WorkspaceView(GravitiView):
    """``GET /v2/workspaces/{workspace}``: a workspace the caller is a member of."""

    def get(self, request: Request, workspace: str) -> Response:
        """Describe the workspace, or 404 when the caller may not see it."""
        found = selectors.workspace_get_for_member(name=workspace, user=caller_key(request).user)
        return Response(WorkspaceSerializer(found).data)
