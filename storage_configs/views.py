"""The hub's own signed download and ``fps`` upload endpoints for filesystem storage, and the graviti object route.

No token header: the signed token in the URL (download) or in the form (upload) is the authorisation. Both
answer JSON errors, and success is 200 or 201 only, because the TensorBay SDK treats anything else as failure.
"""

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, TemporaryFileUploadHandler
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from project import errors
from project.api.errors import normalise
from storage_configs import selectors, services

STATUS = {
    "malformed": 400,
    "missing": 400,
    "invalid": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "storage_object_missing": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "too_large": 413,
    "unavailable": 503,
}


def json_errors(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Render any exception the view raises as ``{"code", "message"}`` JSON with a matching status."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = view(request, *args, **kwargs)
        except Exception as error:
            record = normalise(error)
            return JsonResponse({"code": record.kind, "message": record.message}, status=STATUS.get(record.kind, 500))
        if response.status_code == 405:
            allowed = response["Allow"]
            response = JsonResponse({"code": "method_not_allowed", "message": "method not allowed"}, status=405)
            response["Allow"] = allowed
        return response

    return wrapper


class HashingUploadHandler(FileUploadHandler):
    """Hash the ``file`` part while it streams in, and stop the upload once it passes the size limit."""

    def __init__(self, request: HttpRequest | None = None, *, max_size: int) -> None:
        super().__init__(request)
        self.max_size = max_size
        self.sha1 = hashlib.sha1(usedforsecurity=False)
        self.file_parts = 0
        self.received = 0

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict,  # noqa: N803
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> None:
        # The body holds a few small fields besides the file; far beyond the limit it cannot be acceptable.
        if content_length > self.max_size + 1024 * 1024:
            raise errors.TooLarge(f"objects are limited to {self.max_size} bytes")

    def new_file(self, field_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, *args, **kwargs)
        if field_name == "file":
            self.file_parts += 1

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.max_size:
            raise errors.TooLarge(f"objects are limited to {self.max_size} bytes")
        # Only the part that is stored is hashed, so no other part can make a wrong key look right.
        if self.field_name == "file":
            self.sha1.update(raw_data)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


@json_errors
@csrf_exempt
@require_GET
def download(request: HttpRequest, token: str) -> FileResponse:
    """Stream the object a signed, unexpired token names."""
    stream, size = selectors.storage_download_open(token=token)
    response = FileResponse(stream, content_type="application/octet-stream")
    response["Content-Length"] = str(size)
    return response


@json_errors
@csrf_exempt
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    """Accept one ``fps`` multipart upload: ``token``, ``key`` = prefix + sha1 and the ``file`` part."""
    hashing = HashingUploadHandler(request, max_size=settings.STORAGE_UPLOAD_MAX_SIZE)
    request.upload_handlers = [hashing, TemporaryFileUploadHandler(request)]
    upload_file = request.FILES.get("file")
    if upload_file is None:
        raise errors.Missing("file")
    if hashing.file_parts != 1:
        raise errors.Invalid("file", "send exactly one file part")
    services.storage_upload_accept(
        token=request.POST.get("token", ""),
        key=request.POST.get("key", ""),
        content=upload_file,
        size=upload_file.size or 0,
        content_sha1=hashing.sha1.hexdigest(),
    )
    return HttpResponse(json.dumps({}), status=201, content_type="application/json")


@json_errors
@csrf_exempt
def unknown(request: HttpRequest, path: str) -> HttpResponse:
    """Answer unknown storage routes in JSON too, so a client never has to parse an HTML page."""
    raise errors.NotFound("no such route")


# The graviti SDK reads an object error as XML (``<Error><Code>``, Azure style) and, on AuthenticationFailed,
# asks for a fresh grant and tries once more.
XML_ERRORS = {
    "malformed": (400, "InvalidInput"),
    "missing": (400, "InvalidInput"),
    "invalid": (400, "InvalidInput"),
    "unauthorized": (403, "AuthenticationFailed"),
    "forbidden": (403, "AuthenticationFailed"),
    "not_found": (404, "BlobNotFound"),
    "storage_object_missing": (404, "BlobNotFound"),
    "method_not_allowed": (405, "UnsupportedHttpVerb"),
    "too_large": (413, "RequestBodyTooLarge"),
    "unavailable": (503, "ServerBusy"),
}


def xml_error(status: int, code: str, message: str) -> HttpResponse:
    """An Azure-style XML error body."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
    )
    return HttpResponse(body, status=status, content_type="application/xml")


def xml_errors(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Render any exception the view raises as an XML error with a matching status."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except Exception as error:
            record = normalise(error)
            status, code = XML_ERRORS.get(record.kind, (500, "InternalError"))
            return xml_error(status, code, record.message)

    return wrapper


@xml_errors
@csrf_exempt
def graviti_object(request: HttpRequest, key: str) -> HttpResponseBase:
    """``PUT`` (raw body, streamed) or ``GET`` one object under a signed grant's prefix (``sig`` in the query)."""
    token = request.GET.get("sig", "")
    if request.method == "PUT":
        services.storage_object_accept(token=token, key=key, body=request, size=_content_length(request))
        return HttpResponse(status=201)
    if request.method in ("GET", "HEAD"):
        found = selectors.storage_object_read(token=token, key=key)
        if found.redirect is not None:
            return HttpResponseRedirect(found.redirect)
        response = FileResponse(found.stream, content_type="application/octet-stream")
        response["Content-Length"] = str(found.size)
        return response
    raise errors.MethodNotAllowed()


def _content_length(request: HttpRequest) -> int | None:
    raw = request.META.get("CONTENT_LENGTH", "")
    return int(raw) if raw.isdigit() else None
