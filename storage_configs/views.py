"""The hub's own signed download and ``fps`` upload endpoints for filesystem storage.

No token header: the signed token in the URL (download) or in the form (upload) is the authorisation. Both
answer JSON errors, and success is 200 or 201 only, because the TensorBay SDK treats anything else as failure.
"""

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, TemporaryFileUploadHandler
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
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
