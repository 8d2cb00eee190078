"""``manage.py create_signing_key USERNAME``: print ``SECRET_ID SECRET_KEY`` as the last line."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from datasets import services


class Command(BaseCommand):
    help = "Create a signing key pair for the institution API; prints 'SECRET_ID SECRET_KEY' last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--workspace", help="institution workspace (default: the user's personal one)")

    @transaction.atomic
    def handle(self, *args: Any, username: str, workspace: str | None, **options: Any) -> None:
        user = services.user_get_or_create(username=username)
        if workspace:
            target = services.workspace_get_or_create(name=workspace, owner=user)
        else:
            target = services.personal_workspace(user=user)
        key, secret = services.signing_key_create(user=user, workspace=target)
        self.stderr.write(f"Signing key for {username} in workspace {target.name}; the secret is shown only once:")
        self.stdout.write(f"{key.secret_id} {secret}")
