"""Signed, expiring tokens that authorise the hub's own download and upload URLs without a token header."""

import hashlib
import hmac
import json
import time
import zlib
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from project import errors

DOWNLOAD_SALT = "storage_configs.download"
UPLOAD_SALT = "storage_configs.upload"


@dataclass(frozen=True)
class DownloadGrant:
    """Permission to read one object of one storage until ``expires_at`` (unix seconds)."""

    storage: str
    key: str
    expires_at: int


@dataclass(frozen=True)
class UploadGrant:
    """Permission to write objects under ``prefix`` of one storage, each at most ``max_size`` bytes."""

    storage: str
    prefix: str
    max_size: int
    expires_at: int


def download_token(grant: DownloadGrant) -> str:
    """Sign a download grant into a URL-safe token."""
    return signing.dumps([grant.storage, grant.key, grant.expires_at], salt=DOWNLOAD_SALT, compress=True)


class DownloadSigner:
    """Sign many download grants with one derived key: the very tokens ``download_token`` makes (and
    ``download_grant`` reads), without deriving the key again for each one. Meant for one page of URLs."""

    def __init__(self) -> None:
        # What ``signing.dumps`` does per call: TimestampSigner's salted HMAC-SHA256 key (``salted_hmac``).
        derived = hashlib.sha256(f"{DOWNLOAD_SALT}signer{settings.SECRET_KEY}".encode()).digest()
        self._mac = hmac.new(derived, digestmod=hashlib.sha256)
        self._timestamp = signing.b62_encode(int(time.time()))

    def token(self, grant: DownloadGrant) -> str:
        """Sign the grant, as ``download_token`` would within the same second."""
        data = json.dumps([grant.storage, grant.key, grant.expires_at], separators=(",", ":")).encode("latin-1")
        compressed = zlib.compress(data)
        if len(compressed) < len(data) - 1:
            value = "." + signing.b64_encode(compressed).decode()
        else:
            value = signing.b64_encode(data).decode()
        value = f"{value}:{self._timestamp}"
        mac = self._mac.copy()
        mac.update(value.encode())
        return f"{value}:{signing.b64_encode(mac.digest()).decode()}"


def upload_token(grant: UploadGrant) -> str:
    """Sign an upload grant into a URL-safe token."""
    payload = [grant.storage, grant.prefix, grant.max_size, grant.expires_at]
    return signing.dumps(payload, salt=UPLOAD_SALT, compress=True)


def _load(token: str, salt: str) -> list:
    """Return the signed payload; a token that was not signed here, or was altered, is forbidden."""
    try:
        payload = signing.loads(token, salt=salt)
    except signing.BadSignature:
        raise errors.Forbidden("the signature is not valid") from None
    if not isinstance(payload, list):
        raise errors.Forbidden("the signature is not valid")
    return payload


def _check_expiry(expires_at: int) -> None:
    """Refuse an expired grant; 403 lets the TensorBay SDK fetch a fresh URL once."""
    if time.time() >= expires_at:
        raise errors.Forbidden("the signed URL has expired")


def download_grant(token: str) -> DownloadGrant:
    """Verify a download token and return its grant."""
    storage, key, expires_at = _load(token, DOWNLOAD_SALT)
    _check_expiry(expires_at)
    return DownloadGrant(storage=storage, key=key, expires_at=expires_at)


def upload_grant(token: str) -> UploadGrant:
    """Verify an upload token and return its grant."""
    storage, prefix, max_size, expires_at = _load(token, UPLOAD_SALT)
    _check_expiry(expires_at)
    return UploadGrant(storage=storage, prefix=prefix, max_size=max_size, expires_at=expires_at)


OBJECT_SALT = "storage_configs.objects"


@dataclass(frozen=True)
class ObjectGrant:
    """Permission to read (``GET``) or write (``PUT``) objects under ``prefix`` of one storage until ``expires_at``;
    a written object is at most ``max_size`` bytes."""

    storage: str
    prefix: str
    action: str
    max_size: int
    expires_at: int


def object_token(grant: ObjectGrant) -> str:
    """Sign an object grant into a URL-safe token."""
    payload = [grant.storage, grant.prefix, grant.action, grant.max_size, grant.expires_at]
    return signing.dumps(payload, salt=OBJECT_SALT, compress=True)


def object_grant(token: str, *, action: str, key: str) -> ObjectGrant:
    """Verify an object token for one action on one key; a grant for another action or prefix is forbidden."""
    payload = _load(token, OBJECT_SALT)
    if len(payload) != 5:
        raise errors.Forbidden("the signature is not valid")
    storage, prefix, granted, max_size, expires_at = payload
    _check_expiry(expires_at)
    if granted != action:
        raise errors.Forbidden(f"the signature does not grant {action}")
    if not key.startswith(prefix):
        raise errors.Forbidden("the key is outside the signed prefix")
    return ObjectGrant(storage=storage, prefix=prefix, action=granted, max_size=max_size, expires_at=expires_at)
