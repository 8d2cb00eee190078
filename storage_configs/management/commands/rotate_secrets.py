"""Re-encrypt stored secrets under the first key of SECRETS_ENCRYPTION_KEYS."""

from typing import Any

from django.core.management.base import BaseCommand

from datasets.services import signing_key_rotate_secrets
from storage_configs.services import storage_config_rotate_secrets


class Command(BaseCommand):
    help = "Re-encrypt every storage and signing secret under the newest key of SECRETS_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        storage = storage_config_rotate_secrets()
        signing = signing_key_rotate_secrets()
        self.stdout.write(f"re-encrypted {storage} storage config secrets and {signing} signing secrets")
