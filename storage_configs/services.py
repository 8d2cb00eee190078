"""Writes to storage configs and storage objects: one function per use case, keyword-only, transactional."""

import base64
import binascii
import hashlib
import logging
import re
import tempfile
from typing import IO, Protocol

from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from datasets.models import Workspace
from project import crypto, errors
from storage_configs import tokens
from storage_configs.backends import (
    StorageBackend,
    backend_for_reference,
    clean_key,
    clean_prefix,
    hub_served_backend,
)
from storage_configs.models import StorageConfig

logger = logging.getLogger(__name__)

SHA1_HEX = re.compile(r"[0-9a-f]{40}")

# What each kind cannot work without; the secret is checked separately because it is never stored in clear.
REQUIRED_FIELDS = {
    StorageConfig.Kind.S3: ("endpoint", "bucket", "access_key_id"),
    StorageConfig.Kind.OSS: ("endpoint", "bucket", "access_key_id"),
    StorageConfig.Kind.AZURE: ("bucket", "access_key_id", "account_type"),
    StorageConfig.Kind.LOCAL: (),
}
KINDS_WITH_SECRET = (StorageConfig.Kind.S3, StorageConfig.Kind.OSS, StorageConfig.Kind.AZURE)
AZURE_ACCOUNT_TYPES = {"china": "China", "global": "Global"}


def storage_config_validate(*, config: StorageConfig, secret_given: bool) -> None:
    """Check the rules every config obeys, whichever path wrote it (service or admin)."""
    if not config.name or "/" in config.name:
        raise errors.Invalid("name", "must be non-empty and contain no slash")
    if config.kind not in StorageConfig.Kind.values:
        raise errors.Invalid("kind", f"must be one of {', '.join(StorageConfig.Kind.values)}")
    config.file_path = clean_prefix(config.file_path.strip("/"), field="file_path")
    if config.is_hub_default:
        # The hub's own storage: its credentials come from the environment (STORAGE_BACKEND), not the config.
        return
    for field in REQUIRED_FIELDS[StorageConfig.Kind(config.kind)]:
        if not getattr(config, field):
            raise errors.Missing(field)
    if config.kind == StorageConfig.Kind.AZURE:
        # The SDK sends "China" or "Global"; the official docs' example writes "Azure_china".
        account_type = config.account_type.lower().removeprefix("azure_")
        if account_type not in AZURE_ACCOUNT_TYPES:
            raise errors.Invalid("account_type", "must be China or Global")
        config.account_type = AZURE_ACCOUNT_TYPES[account_type]
    if config.kind in KINDS_WITH_SECRET and not (secret_given or config.secret_ciphertext):
        raise errors.Missing("secret")


def storage_config_validate_secret(*, kind: str, secret: str) -> None:
    """Check the secret's shape where the kind fixes one; the message never repeats the secret."""
    if kind == StorageConfig.Kind.AZURE and secret:
        try:
            base64.b64decode(secret, validate=True)
        except binascii.Error:
            raise errors.Invalid("secret", "an Azure account key is base64") from None


def _save(config: StorageConfig) -> StorageConfig:
    """Save, turning a taken name into a conflict; the error never echoes field values."""
    try:
        with transaction.atomic():
            config.save()
    except IntegrityError:
        raise errors.Conflict(f"a storage config named {config.name!r} already exists in this workspace") from None
    return config


@transaction.atomic
def storage_config_create(
    *,
    workspace: Workspace,
    name: str,
    kind: str,
    file_path: str = "",
    endpoint: str = "",
    bucket: str = "",
    account_type: str = "",
    access_key_id: str = "",
    secret: str = "",
    is_hub_default: bool = False,
) -> StorageConfig:
    """Create a workspace's storage config, encrypting the secret."""
    config = StorageConfig(
        workspace=workspace,
        name=name,
        kind=kind,
        file_path=file_path,
        endpoint=endpoint,
        bucket=bucket,
        account_type=account_type,
        access_key_id=access_key_id,
        is_hub_default=is_hub_default,
    )
    storage_config_validate(config=config, secret_given=bool(secret))
    storage_config_validate_secret(kind=kind, secret=secret)
    config.set_secret(secret)
    return _save(config)


@transaction.atomic
def storage_config_update(
    *,
    storage_config: StorageConfig,
    name: str | None = None,
    file_path: str | None = None,
    endpoint: str | None = None,
    bucket: str | None = None,
    account_type: str | None = None,
    access_key_id: str | None = None,
    secret: str | None = None,
    is_hub_default: bool | None = None,
) -> StorageConfig:
    """Change the given fields; ``None`` keeps a field, and the secret is replaced only when given."""
    changes = {
        "name": name,
        "file_path": file_path,
        "endpoint": endpoint,
        "bucket": bucket,
        "account_type": account_type,
        "access_key_id": access_key_id,
        "is_hub_default": is_hub_default,
    }
    config = StorageConfig.objects.select_for_update().get(pk=storage_config.pk)
    for field, value in changes.items():
        if value is not None:
            setattr(config, field, value)
    storage_config_validate(config=config, secret_given=bool(secret))
    if secret:
        storage_config_validate_secret(kind=config.kind, secret=secret)
        config.set_secret(secret)
    return _save(config)


@transaction.atomic
def storage_config_delete(*, storage_config: StorageConfig) -> None:
    """Delete a config that no dataset or dataset file uses."""
    try:
        storage_config.delete()
    except ProtectedError:
        raise errors.Conflict(f"storage config {storage_config.name!r} is used by datasets or files") from None


def storage_config_rotate_secrets(*, batch_size: int = 500) -> int:
    """Re-encrypt every storage secret under the newest key; return how many were rewritten."""
    return crypto.rotate_stored(StorageConfig, "secret_ciphertext", batch_size=batch_size)


def storage_object_put(*, backend: StorageBackend, key: str, content: IO[bytes]) -> None:
    """Store a content-addressed object; one already there with the same size is kept, so retries are cheap."""
    content.seek(0, 2)
    size = content.tell()
    content.seek(0)
    if backend.exists(key) and backend.size(key) == size:
        # Stamped as if written now: garbage collection keeps objects written since its mark or grace.
        backend.touch(key)
        return
    backend.save(key, content)
    logger.info("stored object %s (%d bytes) in %s storage", key, size, backend.kind)


def storage_upload_accept(*, token: str, key: str, content: IO[bytes], size: int, content_sha1: str) -> str:
    """Store one ``fps`` upload if the token is valid and the key is its prefix plus the content's sha1.

    ``content_sha1`` is computed by the caller while the bytes stream in; the object is accepted only when it
    matches the key, so the hub never stores bytes under another content's address. Returns the key.
    """
    grant = tokens.upload_grant(token)
    key = clean_key(key)
    if not key.startswith(grant.prefix):
        raise errors.Forbidden("the key is outside the signed prefix")
    if not SHA1_HEX.fullmatch(key[len(grant.prefix) :]):
        raise errors.Invalid("key", "must be the signed prefix followed by the file's sha1 in lowercase hex")
    if size > grant.max_size:
        raise errors.TooLarge(f"objects are limited to {grant.max_size} bytes")
    if content_sha1 != key[len(grant.prefix) :]:
        raise errors.Invalid("file", "content does not match the sha1 in the key")
    storage_object_put(backend=hub_served_backend(grant.storage), key=key, content=content)
    return key


OBJECT_CHUNK_SIZE = 1024 * 1024


class Readable(Protocol):
    """A stream of bytes read a chunk at a time (an upload's body)."""

    def read(self, size: int = -1, /) -> bytes: ...


def storage_object_accept(*, token: str, key: str, body: Readable, size: int | None) -> None:
    """Store one raw object PUT under a signed ``PUT`` grant, if its key is the grant's prefix plus the body's sha1.

    The body is streamed to a temporary file and hashed on the way; a body over the grant's size or whose
    hash is not the key's stores nothing.
    """
    key = clean_key(key)
    grant = tokens.object_grant(token, action="PUT", key=key)
    if not SHA1_HEX.fullmatch(key[len(grant.prefix) :]):
        raise errors.Invalid("key", "must be the signed prefix followed by the file's sha1 in lowercase hex")
    if size is not None and size > grant.max_size:
        raise errors.TooLarge(f"objects are limited to {grant.max_size} bytes")
    digest = hashlib.sha1(usedforsecurity=False)
    received = 0
    with tempfile.TemporaryFile() as spool:
        while chunk := body.read(OBJECT_CHUNK_SIZE):
            received += len(chunk)
            if received > grant.max_size:
                raise errors.TooLarge(f"objects are limited to {grant.max_size} bytes")
            digest.update(chunk)
            spool.write(chunk)
        if digest.hexdigest() != key[len(grant.prefix) :]:
            raise errors.Invalid("body", "content does not match the sha1 in the key")
        spool.seek(0)
        storage_object_put(backend=backend_for_reference(grant.storage), key=key, content=File(spool))
