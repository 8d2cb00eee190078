"""Re-encrypt stored storage secrets under the first key of SECRETS_ENCRYPTION_KEYS."""

from typing import Any

from django.core.management.base import BaseCommand

from storage_configs.services import storage_config_rotate_secrets


class Command(BaseCommand):
    help = "Re-encrypt every storage config secret under the newest key of SECRETS_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        rotated = storage_config_rotate_secrets()
        self.stdout.write(f"re-encrypted {rotated} storage config secrets")
