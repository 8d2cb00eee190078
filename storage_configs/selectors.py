"""Reads of storage configs and of the objects they hold."""

import hashlib
import time
from dataclasses import dataclass
from typing import IO

from django.db.models import QuerySet

from datasets.models import Workspace
from project import errors
from storage_configs import tokens
from storage_configs.backends import (
    FilesystemBackend,
    backend_for,
    backend_for_reference,
    clean_key,
    hub_read_backend,
    hub_served_backend,
)
from storage_configs.models import StorageConfig

STORAGE_CONFIG_ORDERS = ("name", "created_at", "updated_at")


def storage_config_list(
    *, workspace: Workspace, name: str = "", sort: list[str] | None = None
) -> QuerySet[StorageConfig]:
    """The workspace's configs by name (or by ``sort`` keys, ``-`` to descend), optionally only one name."""
    sort = sort or ["name"]
    for key in sort:
        if key.removeprefix("-") not in STORAGE_CONFIG_ORDERS:
            raise errors.Invalid("sort", f"must be one of {', '.join(STORAGE_CONFIG_ORDERS)}, '-' to descend")
    configs = StorageConfig.objects.filter(workspace=workspace).select_related("workspace").order_by(*sort, "pk")
    return configs.filter(name=name) if name else configs


def storage_config_get(*, workspace: Workspace, name: str) -> StorageConfig:
    """The workspace's config with this name."""
    config = storage_config_list(workspace=workspace, name=name).first()
    if config is None:
        raise errors.NotFound(f"storage config {name!r} does not exist")
    return config


def storage_object_check(*, storage_config: StorageConfig | None, key: str, size: int | None = None) -> int:
    """Return the size of the object under ``key``; a missing object, or one of another size, is refused.

    ``None`` means the hub's own storage (read through its mount, if any). Used by whale.run dataset files
    (error 1430) and by imports.
    """
    backend = hub_read_backend() if storage_config is None else backend_for(storage_config)
    if not backend.exists(key):
        raise errors.StorageObjectMissing(key=key)
    actual = backend.size(key)
    if size is not None and actual != size:
        raise errors.StorageObjectMissing(
            f"storage object has {actual} bytes, not {size}", key=key, size=size, actual_size=actual
        )
    return actual


def storage_config_check_connection(*, storage_config: StorageConfig) -> None:
    """Reach the config's storage with its credentials; ``ServiceUnavailable`` says only why, never the secret."""
    backend_for(storage_config).check_connection()


def storage_download_open(*, token: str) -> tuple[IO[bytes], int]:
    """Open the object a signed download token names, with its size, for streaming."""
    grant = tokens.download_grant(token)
    backend = hub_served_backend(grant.storage)
    size = backend.size(grant.key)
    return backend.open(grant.key), size


def storage_object_verify(*, storage_config: StorageConfig | None, key: str, sha1: str, size: int) -> None:
    """Refuse (``StorageObjectMissing``) an object that is missing or has another size or content.

    The hub checks the hash of what it stores itself, so only objects in other stores are read again.
    """
    backend = backend_for(storage_config)
    if not backend.exists(key) or backend.size(key) != size:
        raise errors.StorageObjectMissing(f"storage object {key} is missing or has another size", key=key)
    if isinstance(backend, FilesystemBackend):
        return
    digest = hashlib.sha1(usedforsecurity=False)
    for chunk in backend.iter_chunks(key):
        digest.update(chunk)
    if digest.hexdigest() != sha1:
        raise errors.StorageObjectMissing(f"storage object {key} has other content", key=key)


@dataclass(frozen=True)
class ObjectRead:
    """How to answer an object GET: stream ``stream`` (``size`` bytes), or redirect to a signed URL."""

    stream: IO[bytes] | None = None
    size: int = 0
    redirect: str | None = None


def storage_object_read(*, token: str, key: str) -> ObjectRead:
    """Open an object under a signed ``GET`` grant: the hub's disks stream it, object stores sign a URL for it."""
    key = clean_key(key)
    grant = tokens.object_grant(token, action="GET", key=key)
    backend = backend_for_reference(grant.storage)
    if isinstance(backend, FilesystemBackend):
        size = backend.size(key)
        return ObjectRead(stream=backend.open(key), size=size)
    if not backend.exists(key):
        raise errors.StorageObjectMissing(key=key)
    return ObjectRead(redirect=backend.url(key, expires_in=max(60, grant.expires_at - int(time.time()))))
