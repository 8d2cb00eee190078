"""One normaliser: any exception (domain, DRF, Django) becomes a neutral ``ErrorRecord``."""

import errno
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, TypeVar

import oss2.exceptions
import requests.exceptions
from azure.core.exceptions import IncompleteReadError as AzureIncompleteReadError
from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError as BotoHTTPClientError
from botocore.exceptions import IncompleteReadError as BotoIncompleteReadError
from django.core.exceptions import BadRequest, PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404
from rest_framework import exceptions as drf

from datasets import list_cache
from project import errors
from project.cache import CACHE_UNREACHABLE

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ErrorRecord:
    """A failure in neutral terms: a domain ``kind``, a message and the context a dialect may show."""

    kind: str
    message: str
    field: str = ""
    retry_after: int | None = None
    context: dict = dataclass_field(default_factory=dict)


def _from_validation_error(error: drf.ValidationError) -> ErrorRecord:
    """Report the first failing field; a required field that is absent is ``missing``, else ``invalid``."""
    detail: Any = error.detail
    name = ""
    while isinstance(detail, (dict, list)) and detail:
        if isinstance(detail, dict):
            name, detail = next(iter(detail.items()))
        else:
            detail = detail[0]
    code = getattr(detail, "code", "invalid")
    field_name = "" if name == "non_field_errors" else str(name)
    kind = "missing" if code == "required" else "invalid"
    message = f"{field_name}: {detail}" if field_name else str(detail)
    return ErrorRecord(kind=kind, message=message, field=field_name)


_DRF_KINDS: list[tuple[type[Exception], str]] = [
    (drf.ParseError, "malformed"),
    (drf.UnsupportedMediaType, "malformed"),
    (drf.NotAuthenticated, "unauthorized"),
    (drf.AuthenticationFailed, "unauthorized"),
    (drf.PermissionDenied, "forbidden"),
    (drf.NotFound, "not_found"),
    (drf.MethodNotAllowed, "method_not_allowed"),
    (drf.NotAcceptable, "malformed"),
    (Http404, "not_found"),
    (PermissionDenied, "forbidden"),
    (RequestDataTooBig, "too_large"),
    (BadRequest, "malformed"),
    (SuspiciousOperation, "malformed"),
]


# A part of the service that cannot be reached: the request failed through no fault of its own and may be
# retried, so it is ``unavailable`` (503), never ``internal``. Only the part is named; the library's message
# may quote hosts or statements. Storage libraries: boto (S3), azure-core (Azure), oss2 (OSS; its
# ``RequestError`` is a request that never got an answer). An answer whose body stops short (the connection
# lost while an object is read) is as unavailable as one that never came: boto and azure-core call it an
# ``IncompleteReadError``, and oss2 reads bodies through requests, which names it in its own classes.
_UNAVAILABLE_PARTS: list[tuple[tuple[type[BaseException], ...], str]] = [
    ((DatabaseOperationalError, DatabaseInterfaceError), "database"),
    (CACHE_UNREACHABLE, "cache"),
    (
        (
            BotoConnectionError,
            BotoHTTPClientError,
            BotoIncompleteReadError,
            ServiceRequestError,
            ServiceResponseError,
            AzureIncompleteReadError,
            oss2.exceptions.RequestError,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ConnectionError,
        ),
        "storage",
    ),
    # Any other connection a library opened itself and lost.
    ((ConnectionError, TimeoutError), "service"),
]


# A disk the hub's own objects live on that fails: an I/O error, a full or read-only disk, a stale network
# mount. A missing file or a refused permission stays what it is.
_DISK_FAILURES = frozenset({errno.EIO, errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.ESTALE})


def unavailable_part(exc: BaseException) -> str | None:
    """The part of the service (database, cache, storage) whose failure to answer raised ``exc``, if any.

    An error raised *from* such a failure is that failure: Azure's downloader gives up after its retries with
    an ``HttpResponseError`` whose cause is the lost connection.
    """
    cause: BaseException | None = exc
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        part = next((part for exc_classes, part in _UNAVAILABLE_PARTS if isinstance(cause, exc_classes)), None)
        if part is not None:
            return part
        if isinstance(cause, OSError) and cause.errno in _DISK_FAILURES:
            return "storage"
        cause = cause.__cause__
    return None


def normalise(exc: BaseException) -> ErrorRecord:
    """Turn any exception into an ``ErrorRecord``; unexpected ones are logged and become ``internal``."""
    if isinstance(exc, errors.DomainError):
        return ErrorRecord(
            kind=exc.kind,
            message=exc.message,
            field=str(exc.context.get("field", "")),
            retry_after=exc.context.get("retry_after"),
            context=exc.context,
        )
    if isinstance(exc, drf.ValidationError):
        return _from_validation_error(exc)
    if isinstance(exc, drf.Throttled):
        wait = getattr(exc, "wait", None)
        return ErrorRecord(kind="throttled", message="too many requests", retry_after=int(wait) if wait else None)
    for exc_class, kind in _DRF_KINDS:
        if isinstance(exc, exc_class):
            return ErrorRecord(kind=kind, message=_public_message(exc, kind))
    part = unavailable_part(exc)
    if part is not None:
        logger.warning("%s unavailable (%s)", part, type(exc).__name__)
        if part == "database":
            list_cache.database_lost()
        return ErrorRecord(kind="unavailable", message=f"{part} unavailable", context={"part": part})
    logger.error("unhandled error", exc_info=exc)
    return _INTERNAL


def _public_message(exc: BaseException, kind: str) -> str:
    """Say what failed without echoing internals: DRF's messages are safe, Django's are replaced."""
    if isinstance(exc, drf.APIException):
        return str(exc.detail)
    return kind.replace("_", " ")


_STATUS_RECORDS = {
    400: ErrorRecord(kind="malformed", message="malformed request"),
    401: ErrorRecord(kind="unauthorized", message="missing, unknown or revoked credential"),
    403: ErrorRecord(kind="forbidden", message="not allowed"),
    404: ErrorRecord(kind="not_found", message="no such route"),
    405: ErrorRecord(kind="method_not_allowed", message="method not allowed"),
    413: ErrorRecord(kind="too_large", message="request too large"),
    429: ErrorRecord(kind="throttled", message="too many requests"),
}
_INTERNAL = ErrorRecord(kind="internal", message="internal server error")


def record_for_status(status: int) -> ErrorRecord:
    """The record for a framework error response that carries only a status code."""
    return _STATUS_RECORDS.get(status, _INTERNAL)


Code = TypeVar("Code", int, str)


def codes_by_status(pairs: Iterable[tuple[int, Code]]) -> dict[int, list[Code]]:
    """Group a dialect's (HTTP status, code) pairs: every code each status may carry, sorted."""
    grouped: dict[int, set[Code]] = {}
    for status, code in pairs:
        grouped.setdefault(status, set()).add(code)
    return {status: sorted(codes) for status, codes in sorted(grouped.items())}


def numbered_error_schemas(
    pairs: Iterable[tuple[int, int]], messages: Mapping[int, str], *, empty_data: bool = False
) -> dict[int, dict[str, Any]]:
    """The error body schema at each status of a dialect whose codes are numbers with fixed messages:
    ``{code, message}``, and an empty ``data`` object when ``empty_data``."""
    schemas = {}
    for status, codes in codes_by_status(pairs).items():
        properties: dict[str, Any] = {
            "code": {"type": "integer", "enum": codes},
            "message": {"type": "string", "enum": [messages[code] for code in codes]},
        }
        if empty_data:
            properties["data"] = {"type": "object", "maxProperties": 0}
        schemas[status] = {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        }
    return schemas
