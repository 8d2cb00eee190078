"""DRF authentication for the dialects: ``X-Token`` access keys, the whale.run service token, signatures."""

import hmac
from typing import Any
from urllib.parse import quote

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from datasets import services
from datasets.models import AccessKey, SigningKey
from project import errors


class AccessKeyAuthentication(BaseAuthentication):
    """``X-Token: ACCESSKEY-…``; ``request.auth`` is the AccessKey (its workspace is the caller's)."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        """Return (user, key); no header leaves the request anonymous, a bad one fails."""
        raw_key = request.headers.get("X-Token", "")
        if not raw_key:
            return None
        key = services.access_key_authenticate(raw_key=raw_key)
        return key.user, key

    def authenticate_header(self, request: Request) -> str:
        """Name the scheme so refusals stay 401."""
        return "X-Token"


def caller_key(request: Request) -> AccessKey:
    """The access key an authenticated ``X-Token`` request was made with."""
    key = request.auth
    if not isinstance(key, AccessKey):
        raise errors.Unauthorized()
    return key


def caller_signing_key(request: Request) -> SigningKey:
    """The signing key a signed request was made with."""
    key = request.auth
    if not isinstance(key, SigningKey):
        raise errors.Unauthorized(reason="missing")
    return key


class OptionalAccessKeyAuthentication(AccessKeyAuthentication):
    """The same key, for public endpoints where it only adds the caller's view."""


class ServiceTokenAuthentication(BaseAuthentication):
    """whale.run callers are trusted services; with WHALERUN_SERVICE_TOKEN set they must send it."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        """Check ``X-Service-Token``; the acting user comes from the request's ``user_id``."""
        expected = settings.WHALERUN_SERVICE_TOKEN
        if not expected:
            return None
        sent = request.headers.get("X-Service-Token", "")
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            raise errors.Unauthorized("missing or wrong service token")
        return None

    def authenticate_header(self, request: Request) -> str:
        """Name the scheme so refusals stay 401."""
        return "X-Service-Token"


SIGNATURE_PARAMETERS = ("SecretId", "Timestamp", "Signature")


def canonical_query(params: Any) -> str:
    """Every query parameter but ``Signature``, sorted, as ``name=value`` with the value RFC 3986-encoded."""
    pairs = sorted((name, value) for name in params for value in params.getlist(name) if name != "Signature")
    return "&".join(f"{name}={quote(value, safe='')}" for name, value in pairs)


class SignatureAuthentication(BaseAuthentication):
    """``SecretId``, ``Timestamp`` (ms) and ``Signature`` = hex HMAC-SHA256 of the canonical query."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        """Verify the signature; ``request.auth`` is the SigningKey."""
        params = request.query_params
        if not all(params.get(name) for name in SIGNATURE_PARAMETERS):
            raise errors.Unauthorized("SecretId, Timestamp and Signature are required", reason="missing")
        key = services.signing_key_authenticate(
            secret_id=params["SecretId"],
            timestamp_ms=params["Timestamp"],
            signature=params["Signature"],
            message=canonical_query(params),
        )
        return key.user, key

    def authenticate_header(self, request: Request) -> str:
        """Name the scheme so refusals stay 401."""
        return "Signature"
