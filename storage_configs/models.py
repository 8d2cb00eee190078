"""Where a workspace's bytes live: object stores and directories, with their credentials encrypted."""

from django.db import models

from project import crypto


class StorageConfig(models.Model):
    """A named storage location of a workspace; the secret is write-only."""

    class Kind(models.TextChoices):
        OSS = "oss", "Alibaba OSS"
        S3 = "s3", "Amazon S3"
        AZURE = "azure", "Azure Blob Storage"
        LOCAL = "local", "local filesystem"

    workspace = models.ForeignKey("datasets.Workspace", on_delete=models.CASCADE, related_name="storage_configs")
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    file_path = models.CharField(max_length=1024, blank=True)
    endpoint = models.CharField(max_length=1024, blank=True)
    bucket = models.CharField(max_length=255, blank=True)
    account_type = models.CharField(max_length=64, blank=True)
    access_key_id = models.CharField(max_length=255, blank=True)
    secret_ciphertext = models.TextField(blank=True, editable=False)
    is_hub_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="one_storage_config_name_per_workspace"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["oss", "s3", "azure", "local"]), name="known_storage_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def set_secret(self, secret: str) -> None:
        """Store the secret encrypted; an empty secret clears it."""
        self.secret_ciphertext = crypto.encrypt(secret) if secret else ""

    @property
    def has_secret(self) -> bool:
        """Whether a secret is stored; the only thing about it that may be shown."""
        return bool(self.secret_ciphertext)

    def get_secret(self) -> str:
        """Return the decrypted secret, for the storage backend only."""
        return crypto.decrypt(self.secret_ciphertext) if self.secret_ciphertext else ""
