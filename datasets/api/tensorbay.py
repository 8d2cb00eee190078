"""TensorBay v1 views of the catalog."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from project.api.authentication import caller_key
from project.api.tensorbay import TensorBayView


class UserSerializer(serializers.Serializer):
    """UserInfo as ``GAS.get_user()`` reads it."""

    id = serializers.CharField(source="user.uuid.hex")
    nickname = serializers.CharField(source="user.display_name")
    email = serializers.CharField(source="user.email", allow_null=True)
    mobile = serializers.CharField(source="user.mobile", allow_null=True)
    description = serializers.CharField(source="user.description")
    team = serializers.SerializerMethodField()

    def get_team(self, key: object) -> dict | None:
        """The key's workspace when it is a team workspace."""
        workspace = key.workspace  # type: ignore[attr-defined]
        if workspace.kind != workspace.Kind.TEAM:
            return None
        return {"name": workspace.name, "email": workspace.email, "description": workspace.description}


@extend_schema(responses=UserSerializer)
class UserView(TensorBayView):
    """``GET users``: the caller."""

    def get(self, request: Request) -> Response:
        """Describe the key's user and team."""
        return Response(UserSerializer(caller_key(request)).data)
