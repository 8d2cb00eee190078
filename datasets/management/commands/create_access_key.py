"""``manage.py create_access_key USERNAME [--workspace NAME]``: print a new key as the last line."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from datasets import services


class Command(BaseCommand):
    help = "Create an access key for a user (creating the user and workspace if missing); prints the key last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--workspace", help="workspace the key acts in (default: the user's personal one)")
        parser.add_argument("--name", default="", help="a label for the key")

    @transaction.atomic
    def handle(self, *args: Any, username: str, workspace: str | None, name: str, **options: Any) -> None:
        user = services.user_get_or_create(username=username)
        if workspace:
            target = services.workspace_get_or_create(name=workspace, owner=user)
            if not target.memberships.filter(user=user).exists():
                services.membership_set(workspace=target, user=user, role="writer")
        else:
            target = services.personal_workspace(user=user)
        _, raw_key = services.access_key_create(user=user, workspace=target, name=name)
        self.stderr.write(f"Access key for {username} in workspace {target.name}; it is shown only once:")
        self.stdout.write(raw_key)
