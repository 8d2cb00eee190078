"""A Django storage on Alibaba OSS through ``oss2``, so OSS can be the hub's default storage like S3 or Azure."""

import base64
import hashlib
import hmac
from typing import IO
from urllib.parse import urlsplit

import oss2
from django.core.files.base import File
from django.core.files.storage import Storage
from django.utils.deconstruct import deconstructible


def endpoint_url(endpoint: str) -> str:
    """Return the endpoint with a scheme; OSS configs usually hold a bare host such as ``oss-cn-hangzhou…``."""
    return endpoint if "://" in endpoint else f"https://{endpoint}"


@deconstructible
class OssStorage(Storage):
    """Objects in one OSS bucket; names are object keys and writes overwrite."""

    def __init__(
        self, *, endpoint: str, bucket_name: str, access_key_id: str, access_key_secret: str, security_token: str = ""
    ) -> None:
        self.endpoint = endpoint_url(endpoint)
        self.bucket_name = bucket_name
        self.access_key_id = access_key_id
        self._access_key_secret = access_key_secret
        # An STS session token (OSS_SESSION_TOKEN): requests and upload policies then carry it.
        self.security_token = security_token
        self._bucket: oss2.Bucket | None = None

    @property
    def bucket(self) -> oss2.Bucket:
        """The ``oss2`` bucket client, built on first use."""
        if self._bucket is None:
            auth: oss2.Auth | oss2.StsAuth = (
                oss2.StsAuth(self.access_key_id, self._access_key_secret, self.security_token)
                if self.security_token
                else oss2.Auth(self.access_key_id, self._access_key_secret)
            )
            self._bucket = oss2.Bucket(auth, self.endpoint, self.bucket_name)
        return self._bucket

    @property
    def bucket_url(self) -> str:
        """The bucket's base URL: virtual-hosted on a domain, path-style on an IP address as ``oss2`` does."""
        parts = urlsplit(self.endpoint)
        host = parts.hostname or ""
        if host.replace(".", "").isdigit() or host == "localhost":
            return f"{parts.scheme}://{parts.netloc}/{self.bucket_name}/"
        return f"{parts.scheme}://{self.bucket_name}.{parts.netloc}/"

    def policy_signature(self, policy: str) -> str:
        """Sign a base64 PostObject policy with the bucket's secret (HMAC-SHA1, as OSS requires)."""
        digest = hmac.new(self._access_key_secret.encode(), policy.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()

    def _open(self, name: str, mode: str = "rb") -> File:
        return File(self.bucket.get_object(name), name=name)

    def _save(self, name: str, content: IO[bytes]) -> str:
        content.seek(0)
        self.bucket.put_object(name, content)
        return name

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        """Keep the name: objects are content-addressed, so writing the same name again is an overwrite."""
        return name

    def exists(self, name: str) -> bool:
        return self.bucket.object_exists(name)

    def size(self, name: str) -> int:
        return self.bucket.head_object(name).content_length

    def delete(self, name: str) -> None:
        self.bucket.delete_object(name)

    def url(self, name: str | None, expire: int = 3600) -> str:  # type: ignore[override]  # expiry is OSS's own
        return self.bucket.sign_url("GET", name, expire, slash_safe=True)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        prefix = path.rstrip("/") + "/" if path else ""
        directories, files = [], []
        for info in oss2.ObjectIterator(self.bucket, prefix=prefix, delimiter="/"):
            if info.is_prefix():
                directories.append(info.key[len(prefix) :].rstrip("/"))
            else:
                files.append(info.key[len(prefix) :])
        return directories, files
