"""One interface over every place bytes live, and the factory that builds it from a storage config.

Each backend wraps a maintained Django storage (django-storages ``S3Storage``, formerly ``S3Boto3Storage``,
and ``AzureStorage``; the ``oss2``-based ``OssStorage``; Django's ``FileSystemStorage``) and adds what the
Storage API lacks: paged listing, streamed reads, signed expiring GET URLs and upload policies for direct
client uploads. Keys are relative to the config's file path; a key that could escape it is refused before
any backend sees it.
"""

import base64
import builtins
import contextlib
import json
import os
import re
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import IO, Any, ClassVar, cast
from urllib.parse import urlencode, urlsplit

import oss2
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerSasPermissions, generate_container_sas
from botocore.exceptions import ClientError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.urls import get_script_prefix, reverse
from storages.backends.azure_storage import AzureStorage
from storages.backends.s3 import S3Storage

from project import errors
from storage_configs import tokens
from storage_configs.models import StorageConfig
from storage_configs.oss import OssStorage, endpoint_url

# TensorBay's policy answer must carry this key (the SDK removes it before posting); it caps callback batches.
MULTIPLE_UPLOAD_LIMIT = "50"
LIST_PAGE_SIZE = 1000
READ_CHUNK_SIZE = 1024 * 1024
HUB_STORAGE = "hub"
AZURE_ENDPOINT_SUFFIXES = {"china": "core.chinacloudapi.cn", "global": "core.windows.net"}
_AWS_REGION = re.compile(r"(?:^|\.)s3[.-]([a-z0-9-]+)\.amazonaws\.com")


def clean_key(key: str, *, field: str = "key", allow_empty: bool = False) -> str:
    """Return the key if it is a plain relative object path; anything that could escape its prefix is invalid."""
    if not isinstance(key, str) or (not key and not allow_empty):
        raise errors.Invalid(field, "must be a non-empty path")
    if key.startswith("/") or "\\" in key or "\x00" in key:
        raise errors.Invalid(field, "must be a relative path without backslashes or NUL")
    if any(part in (".", "..") for part in key.split("/")):
        raise errors.Invalid(field, "must not contain . or .. segments")
    return key


def clean_prefix(prefix: str, *, field: str = "prefix") -> str:
    """Return a listing or file-path prefix under the same rules as a key; it may be empty."""
    return clean_key(prefix, field=field, allow_empty=True)


def join_key(prefix: str, key: str) -> str:
    """Join a directory-like prefix and a key with exactly one slash."""
    return f"{prefix.rstrip('/')}/{key}" if prefix else key


@dataclass(frozen=True)
class ListPage:
    """One page of keys (relative to the backend's prefix) and the marker for the next page, if any."""

    keys: list[str]
    next_marker: str | None


@dataclass(frozen=True)
class UploadPolicy:
    """What a client needs to upload directly: TensorBay's ``result``, ``extra`` and ``expireAt``.

    ``fields`` are all strings and include ``multipleUploadLimit``; the client sends them as multipart fields
    (or, for ``azure``, appends ``token`` to the URL). An object's key is ``object_prefix + sha1``.
    """

    backend_type: str
    host: str
    object_prefix: str
    fields: dict[str, str]
    expires_at: int


@dataclass(frozen=True)
class ObjectAccess:
    """Where a client reads or writes objects by key, Azure style: ``{endpoint_prefix}/{key}?{sas_param}``."""

    endpoint_prefix: str
    sas_param: str
    account_name: str
    container_name: str
    expires_at: int


OBJECT_ACTIONS = ("GET", "PUT")


class StorageBackend(ABC):
    """Object operations on one storage, scoped to a prefix."""

    kind: ClassVar[str]

    def __init__(self, *, storage: Storage, prefix: str = "", reference: str = "") -> None:
        self.storage = storage
        self.prefix = clean_prefix(prefix, field="file_path").strip("/")
        # Names the storage inside the hub's signed tokens: a config id, or ``hub`` for the default storage.
        self.reference = reference

    def name(self, key: str) -> str:
        """The full object name of a key."""
        return join_key(self.prefix, clean_key(key))

    def relative(self, name: str) -> str:
        """The key of a full object name."""
        return name[len(self.prefix) + 1 :] if self.prefix else name

    def exists(self, key: str) -> bool:
        """Whether an object is stored under the key."""
        return self.storage.exists(self.name(key))

    def size(self, key: str) -> int:
        """The object's size in bytes; a missing object raises ``StorageObjectMissing``."""
        try:
            return self.storage.size(self.name(key))
        except self.missing_errors:
            raise errors.StorageObjectMissing(key=key) from None

    def save(self, key: str, content: IO[bytes]) -> None:
        """Store the content under exactly this key, replacing what was there."""
        # An uploaded temporary file stays a Django File, so the filesystem can move it instead of copying.
        self.storage.save(self.name(key), content if isinstance(content, File) else File(content))

    def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""
        self.storage.delete(self.name(key))

    def modified_at(self, key: str) -> datetime:
        """When the object was last written; a missing object raises ``StorageObjectMissing``."""
        try:
            return self.storage.get_modified_time(self.name(key))
        except self.missing_errors:
            raise errors.StorageObjectMissing(key=key) from None

    def touch(self, key: str) -> None:
        """Stamp an existing object as written now (a write skipped because the content is there already)."""
        self.save(key, self.open(key))

    def iter_chunks(self, key: str, chunk_size: int = READ_CHUNK_SIZE) -> Iterator[bytes]:
        """Yield the object's bytes chunk by chunk, never holding the whole object."""
        stream = self.open(key)
        try:
            while chunk := stream.read(chunk_size):
                yield chunk
        finally:
            stream.close()

    def iter_keys(self, prefix: str = "", *, page_size: int = LIST_PAGE_SIZE) -> Iterator[str]:
        """Yield every key under the prefix, one page in memory at a time."""
        marker = ""
        while True:
            page = self.list(prefix, marker=marker, limit=page_size)
            yield from page.keys
            if not page.next_marker:
                return
            marker = page.next_marker

    @property
    @abstractmethod
    def missing_errors(self) -> tuple[type[Exception], ...]:
        """Exceptions the library raises for a missing object."""

    @abstractmethod
    def open(self, key: str) -> IO[bytes]:
        """Open the object for streamed reading (``read(n)`` fetches as it goes)."""

    @abstractmethod
    def list(self, prefix: str = "", *, marker: str = "", limit: int = LIST_PAGE_SIZE) -> ListPage:
        """Return up to ``limit`` keys that start with the prefix, after the opaque ``marker``."""

    def url(self, key: str, *, expires_in: int | None = None, base_url: str = "") -> str:
        """Return an absolute URL that reads the object without credentials until it expires.

        ``expires_in`` defaults to ``STORAGE_URL_EXPIRES``; ``base_url`` is the hub's address for URLs the hub
        serves itself (filesystem storage), defaulting to ``STORAGE_PUBLIC_URL``.
        """
        return self.signed_url(key, expires_in=expires_in or settings.STORAGE_URL_EXPIRES, base_url=base_url)

    def urls(self, keys: Sequence[str], *, expires_in: int | None = None, base_url: str = "") -> builtins.list[str]:
        """``url`` of each key, for a page of them at once."""
        expires_in = expires_in or settings.STORAGE_URL_EXPIRES
        return [self.signed_url(key, expires_in=expires_in, base_url=base_url) for key in keys]

    @abstractmethod
    def signed_url(self, key: str, *, expires_in: int, base_url: str) -> str:
        """Sign a GET URL for the object in this backend's own way."""

    def upload_policy(
        self, *, object_prefix: str, expires_in: int, max_size: int | None = None, base_url: str = ""
    ) -> UploadPolicy:
        """Return a policy that lets a client upload objects under ``object_prefix`` directly.

        ``max_size`` defaults to ``STORAGE_UPLOAD_MAX_SIZE``; ``base_url`` is as for ``url``.
        """
        return self.direct_upload_policy(
            object_prefix=object_prefix,
            expires_in=expires_in,
            max_size=max_size or settings.STORAGE_UPLOAD_MAX_SIZE,
            base_url=base_url,
        )

    @abstractmethod
    def direct_upload_policy(
        self, *, object_prefix: str, expires_in: int, max_size: int, base_url: str
    ) -> UploadPolicy:
        """Build the policy in this backend's own way."""

    def object_access(self, *, action: str, object_prefix: str, expires_in: int, base_url: str) -> ObjectAccess:
        """Let a client ``GET`` or ``PUT`` objects under ``object_prefix`` by key until the grant expires.

        By default through the hub's own object route (``storage/graviti/<key>``) with a signed grant in the
        query: it takes raw PUTs and streams reads (or redirects them to a signed URL of an object store).
        """
        if action not in OBJECT_ACTIONS:
            raise errors.Invalid("actions", "must be GET or PUT")
        expires_at = _expires_at(expires_in)
        grant = tokens.ObjectGrant(
            storage=self.reference,
            prefix=clean_prefix(object_prefix, field="object_prefix"),
            action=action,
            max_size=settings.STORAGE_UPLOAD_MAX_SIZE,
            expires_at=expires_at,
        )
        return ObjectAccess(
            endpoint_prefix=_absolute(base_url, _object_root(get_script_prefix())),
            sas_param=urlencode({"sig": tokens.object_token(grant)}),
            account_name="hub",
            container_name=self.reference,
            expires_at=expires_at,
        )

    def probe(self) -> None:
        """Make one cheap authenticated request to the storage."""
        self.list("", limit=1)

    def check_connection(self) -> None:
        """Reach the storage with the configured credentials, raising ``ServiceUnavailable`` when it fails."""
        try:
            self.probe()
        except errors.DomainError:
            raise
        except Exception as error:
            # The library's message may quote request details, so only its type is shown.
            raise errors.ServiceUnavailable(f"storage cannot be reached ({type(error).__name__})") from None


def _expires_at(expires_in: int) -> int:
    return int(time.time()) + expires_in


class S3Backend(StorageBackend):
    """Amazon S3 or any S3-compatible service, through django-storages and boto3."""

    kind = "s3"
    storage: S3Storage

    @property
    def missing_errors(self) -> tuple[type[Exception], ...]:
        # django-storages turns S3's 404 into FileNotFoundError and lets every other error (denied, …) through.
        return (FileNotFoundError,)

    @property
    def client(self) -> Any:
        return self.storage.connection.meta.client

    def open(self, key: str) -> IO[bytes]:
        try:
            return self.client.get_object(Bucket=self.storage.bucket_name, Key=self.name(key))["Body"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise errors.StorageObjectMissing(key=key) from None
            raise

    def list(self, prefix: str = "", *, marker: str = "", limit: int = LIST_PAGE_SIZE) -> ListPage:
        full_prefix = join_key(self.prefix, clean_prefix(prefix))
        request = {"Bucket": self.storage.bucket_name, "Prefix": full_prefix, "MaxKeys": limit}
        if marker:
            request["ContinuationToken"] = marker
        answer = self.client.list_objects_v2(**request)
        keys = [self.relative(item["Key"]) for item in answer.get("Contents", [])]
        return ListPage(keys=keys, next_marker=answer.get("NextContinuationToken") if answer["IsTruncated"] else None)

    def signed_url(self, key: str, *, expires_in: int, base_url: str) -> str:
        return self.storage.url(self.name(key), expire=expires_in)

    def direct_upload_policy(
        self, *, object_prefix: str, expires_in: int, max_size: int, base_url: str
    ) -> UploadPolicy:
        full_prefix = join_key(self.prefix, clean_prefix(object_prefix, field="object_prefix"))
        # S3 answers a POST with 204 by default, which the TensorBay SDK counts as a failure.
        conditions = [
            ["starts-with", "$key", full_prefix],
            {"success_action_status": "201"},
            ["starts-with", "$Content-Type", ""],
            ["content-length-range", 0, max_size],
        ]
        post = self.client.generate_presigned_post(
            Bucket=self.storage.bucket_name,
            Key=full_prefix + "${filename}",
            Fields={"success_action_status": "201"},
            Conditions=conditions,
            ExpiresIn=expires_in,
        )
        fields = {name: str(value) for name, value in post["fields"].items() if name != "key"}
        fields["multipleUploadLimit"] = MULTIPLE_UPLOAD_LIMIT
        return UploadPolicy(
            backend_type="s3",
            host=post["url"],
            object_prefix=full_prefix,
            fields=fields,
            expires_at=_expires_at(expires_in),
        )


class AzureBackend(StorageBackend):
    """Azure Blob Storage (or Azurite), through django-storages and azure-storage-blob."""

    kind = "azure"
    storage: AzureStorage

    @property
    def missing_errors(self) -> tuple[type[Exception], ...]:
        return (ResourceNotFoundError, FileNotFoundError)

    def probe(self) -> None:
        """Read the container's properties once: the client's default ten retries would keep an admin waiting."""
        self.storage.client.get_container_properties(retry_total=0, timeout=10)

    def open(self, key: str) -> IO[bytes]:
        try:
            reader = AzureBlobReader(self.storage.client.get_blob_client(self.name(key)).download_blob())
            return cast(IO[bytes], reader)
        except ResourceNotFoundError:
            raise errors.StorageObjectMissing(key=key) from None

    def list(self, prefix: str = "", *, marker: str = "", limit: int = LIST_PAGE_SIZE) -> ListPage:
        full_prefix = join_key(self.prefix, clean_prefix(prefix))
        pages = self.storage.client.list_blobs(name_starts_with=full_prefix or None, results_per_page=limit).by_page(
            continuation_token=marker or None
        )
        keys = [self.relative(blob.name) for blob in next(pages, [])]
        return ListPage(keys=keys, next_marker=pages.continuation_token or None)

    def signed_url(self, key: str, *, expires_in: int, base_url: str) -> str:
        return self.storage.url(self.name(key), expire=expires_in)

    def direct_upload_policy(
        self, *, object_prefix: str, expires_in: int, max_size: int, base_url: str
    ) -> UploadPolicy:
        """A container SAS for create and write; Azure cannot scope it to a prefix or cap the size."""
        full_prefix = join_key(self.prefix, clean_prefix(object_prefix, field="object_prefix"))
        sas = generate_container_sas(
            self.storage.account_name,
            self.storage.azure_container,
            account_key=self.storage.account_key,
            permission=ContainerSasPermissions(create=True, write=True),
            expiry=datetime.now(UTC) + timedelta(seconds=expires_in),
        )
        fields = {"token": sas, "x-ms-blob-type": "BlockBlob", "multipleUploadLimit": MULTIPLE_UPLOAD_LIMIT}
        return UploadPolicy(
            backend_type="azure",
            # The SDK concatenates host + objectPrefix + sha1, so the host ends with a slash.
            host=self.storage.client.url.rstrip("/") + "/",
            object_prefix=full_prefix,
            fields=fields,
            expires_at=_expires_at(expires_in),
        )

    def object_access(self, *, action: str, object_prefix: str, expires_in: int, base_url: str) -> ObjectAccess:
        """A native container SAS (read for GET; create and write for PUT): bytes never pass through the hub.

        Azure cannot scope a container SAS to a key prefix, so the hub checks every key a client then names.
        """
        if action not in OBJECT_ACTIONS:
            raise errors.Invalid("actions", "must be GET or PUT")
        permission = (
            ContainerSasPermissions(read=True) if action == "GET" else ContainerSasPermissions(create=True, write=True)
        )
        sas = generate_container_sas(
            self.storage.account_name,
            self.storage.azure_container,
            account_key=self.storage.account_key,
            permission=permission,
            expiry=datetime.now(UTC) + timedelta(seconds=expires_in),
        )
        endpoint = self.storage.client.url.rstrip("/")
        return ObjectAccess(
            endpoint_prefix=f"{endpoint}/{self.prefix}" if self.prefix else endpoint,
            sas_param=sas,
            account_name=self.storage.account_name,
            container_name=self.storage.azure_container,
            expires_at=_expires_at(expires_in),
        )


class AzureBlobReader:
    """A file-like ``read(n)`` over a blob download, fetching chunk by chunk."""

    def __init__(self, downloader: Any) -> None:
        self._chunks = downloader.chunks()
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def close(self) -> None:
        self._buffer = b""


class OssBackend(StorageBackend):
    """Alibaba Cloud OSS, through ``oss2``."""

    kind = "oss"
    storage: OssStorage

    @property
    def missing_errors(self) -> tuple[type[Exception], ...]:
        return (oss2.exceptions.NotFound, FileNotFoundError)

    def open(self, key: str) -> IO[bytes]:
        try:
            return self.storage.bucket.get_object(self.name(key))
        except oss2.exceptions.NotFound:
            raise errors.StorageObjectMissing(key=key) from None

    def list(self, prefix: str = "", *, marker: str = "", limit: int = LIST_PAGE_SIZE) -> ListPage:
        full_prefix = join_key(self.prefix, clean_prefix(prefix))
        answer = self.storage.bucket.list_objects(prefix=full_prefix, marker=marker, max_keys=limit)
        keys = [self.relative(item.key) for item in answer.object_list]
        return ListPage(keys=keys, next_marker=answer.next_marker if answer.is_truncated else None)

    def signed_url(self, key: str, *, expires_in: int, base_url: str) -> str:
        return self.storage.url(self.name(key), expire=expires_in)

    def direct_upload_policy(
        self, *, object_prefix: str, expires_in: int, max_size: int, base_url: str
    ) -> UploadPolicy:
        full_prefix = join_key(self.prefix, clean_prefix(object_prefix, field="object_prefix"))
        expiry = datetime.now(UTC) + timedelta(seconds=expires_in)
        document = {
            "expiration": expiry.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "conditions": [
                {"bucket": self.storage.bucket_name},
                ["starts-with", "$key", full_prefix],
                {"success_action_status": "201"},
                ["content-length-range", 0, max_size],
            ],
        }
        policy = base64.b64encode(json.dumps(document).encode()).decode()
        fields = {
            "OSSAccessKeyId": self.storage.access_key_id,
            "policy": policy,
            "Signature": self.storage.policy_signature(policy),
            "success_action_status": "201",
            "multipleUploadLimit": MULTIPLE_UPLOAD_LIMIT,
        }
        if self.storage.security_token:
            fields["x-oss-security-token"] = self.storage.security_token
        return UploadPolicy(
            backend_type="oss",
            host=self.storage.bucket_url,
            object_prefix=full_prefix,
            fields=fields,
            expires_at=_expires_at(expires_in),
        )


# A write in progress beside the object it is about to replace (``FilesystemBackend.save``); listings skip it.
PARTIAL_NAME = re.compile(r"\.partial-[0-9a-f]{32}$")


class FilesystemBackend(StorageBackend):
    """A directory on the hub's disks; the hub itself serves signed downloads and ``fps`` uploads."""

    kind = "filesystem"
    storage: FileSystemStorage

    @property
    def missing_errors(self) -> tuple[type[Exception], ...]:
        return (FileNotFoundError,)

    def touch(self, key: str) -> None:
        try:
            os.utime(self.storage.path(self.name(key)))
        except FileNotFoundError:
            raise errors.StorageObjectMissing(key=key) from None

    def save(self, key: str, content: IO[bytes]) -> None:
        """Write beside the key, then rename into place: a write that fails half way (a full or failing disk)
        leaves what the key held before, never a part of the new object."""
        name = self.name(key)
        partial = f"{name}.partial-{uuid.uuid4().hex}"
        try:
            partial = self.storage.save(partial, content if isinstance(content, File) else File(content))
            os.replace(self.storage.path(partial), self.storage.path(name))
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(self.storage.path(partial))
            raise

    def open(self, key: str) -> IO[bytes]:
        try:
            return self.storage.open(self.name(key), "rb")
        except FileNotFoundError:
            raise errors.StorageObjectMissing(key=key) from None

    def list(self, prefix: str = "", *, marker: str = "", limit: int = LIST_PAGE_SIZE) -> ListPage:
        """Walk directories in key order, so the marker is simply the last key returned."""
        clean_prefix(prefix)
        keys: list[str] = []
        for key in self._walk(prefix, marker):
            if len(keys) == limit:
                return ListPage(keys=keys, next_marker=keys[-1])
            keys.append(key)
        return ListPage(keys=keys, next_marker=None)

    def _walk(self, prefix: str, marker: str, directory: str = "") -> Iterator[str]:
        """Yield keys after ``marker`` that start with ``prefix``, in byte order; memory is one directory."""
        full_directory = join_key(self.prefix, directory) if directory else self.prefix
        try:
            entries = list(os.scandir(self.storage.path(full_directory)))
        except FileNotFoundError:
            return
        # A directory sorts as "name/", which makes a depth-first walk produce keys in lexicographic order.
        named = sorted((entry.name + ("/" if entry.is_dir() else ""), entry) for entry in entries)
        for name, entry in named:
            key = directory + name
            if entry.is_dir():
                if not (key.startswith(prefix) or prefix.startswith(key)):
                    continue
                if key < marker and not marker.startswith(key):
                    continue
                yield from self._walk(prefix, marker, key)
            elif key.startswith(prefix) and key > marker and not PARTIAL_NAME.search(name):
                yield key

    def signed_url(self, key: str, *, expires_in: int, base_url: str) -> str:
        grant = tokens.DownloadGrant(storage=self.reference, key=clean_key(key), expires_at=_expires_at(expires_in))
        token = tokens.download_token(grant)
        return _absolute(base_url, _download_path(get_script_prefix()).replace(TOKEN_PLACEHOLDER, token))

    def urls(self, keys: Sequence[str], *, expires_in: int | None = None, base_url: str = "") -> builtins.list[str]:
        """The same URLs as ``url`` gives, signed with one derived key and the route reversed once."""
        expires_at = _expires_at(expires_in or settings.STORAGE_URL_EXPIRES)
        before, _, after = _absolute(base_url, _download_path(get_script_prefix())).partition(TOKEN_PLACEHOLDER)
        signer = tokens.DownloadSigner()
        return [
            before
            + signer.token(tokens.DownloadGrant(storage=self.reference, key=clean_key(key), expires_at=expires_at))
            + after
            for key in keys
        ]

    def direct_upload_policy(
        self, *, object_prefix: str, expires_in: int, max_size: int, base_url: str
    ) -> UploadPolicy:
        """Use ``fps``: the SDK then names the file part by its sha1, so Django keeps the bytes intact."""
        object_prefix = clean_prefix(object_prefix, field="object_prefix")
        expires_at = _expires_at(expires_in)
        grant = tokens.UploadGrant(
            storage=self.reference, prefix=object_prefix, max_size=max_size, expires_at=expires_at
        )
        fields = {"token": tokens.upload_token(grant), "multipleUploadLimit": MULTIPLE_UPLOAD_LIMIT}
        return UploadPolicy(
            backend_type="fps",
            host=_absolute(base_url, reverse("storage_configs:upload")),
            object_prefix=object_prefix,
            fields=fields,
            expires_at=expires_at,
        )


# Signed tokens are URL-safe base64 with ``.`` and ``:``, which ``reverse`` leaves as they are, so the route is
# reversed once (per script prefix) and each token put in its place: a page of 128 download URLs otherwise
# spends most of its time reversing the same route.
TOKEN_PLACEHOLDER = "0token0"


@lru_cache(maxsize=16)
def _download_path(script_prefix: str) -> str:
    """The download route with a placeholder token, under the given script prefix (``reverse`` reads it)."""
    return reverse("storage_configs:download", kwargs={"token": TOKEN_PLACEHOLDER})


OBJECT_KEY_PLACEHOLDER = "0key0"


@lru_cache(maxsize=16)
def _object_root(script_prefix: str) -> str:
    """The path of the hub's object route without the key (and without a trailing slash)."""
    path = reverse("storage_configs:object", kwargs={"key": OBJECT_KEY_PLACEHOLDER})
    return path[: -len(OBJECT_KEY_PLACEHOLDER) - 1]


def _absolute(base_url: str, path: str) -> str:
    """Join the hub's public address and a path; URLs handed to clients must be absolute."""
    base = base_url or settings.STORAGE_PUBLIC_URL
    if not base:
        raise ImproperlyConfigured("STORAGE_PUBLIC_URL is required to sign hub URLs outside a request")
    return base.rstrip("/") + path


BACKENDS: dict[type[Storage], type[StorageBackend]] = {
    S3Storage: S3Backend,
    AzureStorage: AzureBackend,
    OssStorage: OssBackend,
    FileSystemStorage: FilesystemBackend,
}


def backend_for_storage(storage: Storage, *, prefix: str = "", reference: str = HUB_STORAGE) -> StorageBackend:
    """Wrap a Django storage in the backend for its class."""
    for storage_class, backend_class in BACKENDS.items():
        if isinstance(storage, storage_class):
            return backend_class(storage=storage, prefix=prefix, reference=reference)
    raise ImproperlyConfigured(f"no storage backend for {type(storage).__name__}")


def hub_backend(*, prefix: str = "") -> StorageBackend:
    """The hub's own storage (``STORAGE_BACKEND``), optionally scoped to a prefix."""
    return backend_for_storage(storages["default"], prefix=prefix)


def hub_read_backend() -> StorageBackend:
    """The hub's own storage for checking and reading objects registered by key (whale.run files, imports).

    With ``STORAGE_OSS_MOUNT_POINT`` (whale.run's ``OSS_MOUNT_POINT``) these read the bucket's mount on this
    host; everything else, and every write, goes through the OSS API.
    """
    mount = settings.STORAGE_OSS_MOUNT_POINT
    if mount is None:
        return hub_backend()
    return FilesystemBackend(storage=FileSystemStorage(location=mount))


def storage_for_config(config: StorageConfig) -> Storage:
    """Build the Django storage a config describes, with its decrypted secret."""
    if config.kind == StorageConfig.Kind.S3:
        endpoint = endpoint_url(config.endpoint) if config.endpoint else None
        match = _AWS_REGION.search(urlsplit(endpoint).hostname or "") if endpoint else None
        return S3Storage(
            bucket_name=config.bucket,
            access_key=config.access_key_id,
            secret_key=config.get_secret(),
            endpoint_url=endpoint,
            region_name=match.group(1) if match else "us-east-1",
            file_overwrite=True,
            default_acl=None,
            querystring_auth=True,
        )
    if config.kind == StorageConfig.Kind.AZURE:
        options: dict[str, Any] = {
            "account_name": config.access_key_id,
            "account_key": config.get_secret(),
            "azure_container": config.bucket,
            "overwrite_files": True,
            "endpoint_suffix": AZURE_ENDPOINT_SUFFIXES.get(config.account_type.lower(), "core.windows.net"),
        }
        if config.endpoint:
            options["connection_string"] = (
                f"AccountName={config.access_key_id};AccountKey={options['account_key']};"
                f"BlobEndpoint={endpoint_url(config.endpoint).rstrip('/')};"
            )
        return AzureStorage(**options)
    if config.kind == StorageConfig.Kind.OSS:
        return OssStorage(
            endpoint=config.endpoint,
            bucket_name=config.bucket,
            access_key_id=config.access_key_id,
            access_key_secret=config.get_secret(),
        )
    return FileSystemStorage(location=settings.STORAGE_LOCAL_ROOT, allow_overwrite=True)


def backend_for(config: StorageConfig | None) -> StorageBackend:
    """The backend for a config; ``None`` or a hub-default config means the hub's own storage."""
    if config is None:
        return hub_backend()
    if config.is_hub_default:
        return backend_for_storage(storages["default"], prefix=config.file_path, reference=str(config.pk))
    return backend_for_storage(storage_for_config(config), prefix=config.file_path, reference=str(config.pk))


def backend_for_reference(reference: str) -> StorageBackend:
    """The backend a signed hub token names: ``hub`` or a storage config id."""
    if reference == HUB_STORAGE:
        return hub_backend()
    config = StorageConfig.objects.filter(pk=int(reference)).first() if reference.isdigit() else None
    if config is None:
        raise errors.NotFound("storage no longer exists")
    return backend_for(config)


def hub_served_backend(reference: str) -> FilesystemBackend:
    """The filesystem backend a hub token names; object stores serve their own URLs, never through the hub."""
    backend = backend_for_reference(reference)
    if not isinstance(backend, FilesystemBackend):
        raise errors.NotFound("storage is not served by the hub")
    return backend
