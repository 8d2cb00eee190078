"""The five dialects, chosen by path prefix, and the error handlers that speak them outside any view."""

import sys
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views import defaults
from rest_framework.views import exception_handler as drf_exception_handler

from project.api import aidmp, graviti, institution, tensorbay, whalerun
from project.api.base import Dialect
from project.api.errors import normalise, record_for_status, unavailable_part

# Longest prefixes first: /api/v1/ is the institution dialect, the rest of /api/ is whale.run.
DIALECTS: tuple[Dialect, ...] = (
    institution.DIALECT,
    aidmp.DIALECT,
    tensorbay.DIALECT,
    graviti.DIALECT,
    whalerun.DIALECT,
)
BY_NAME = {dialect.name: dialect for dialect in DIALECTS}


def dialect_for_path(path: str) -> Dialect | None:
    """Return the dialect that owns the path, if any."""
    return next((dialect for dialect in DIALECTS if dialect.owns(path)), None)


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    """DRF's fallback handler: the dialect of the request's path, else DRF's own behaviour."""
    dialect = dialect_for_path(context["request"].path)
    if dialect is None:
        return drf_exception_handler(exc, context)
    return dialect.render_error(normalise(exc), context["request"])


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Requests Django refuses before any view (a body over the size limit, too many fields) in the dialect."""
    dialect = dialect_for_path(request.path)
    if dialect is None:
        return defaults.bad_request(request, exception)
    return dialect.render_error(normalise(exception), request)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Unknown routes answer in the dialect of their prefix."""
    dialect = dialect_for_path(request.path)
    if dialect is None:
        return defaults.page_not_found(request, exception)
    return dialect.render_error(record_for_status(404), request)


def handler500(request: HttpRequest) -> HttpResponse:
    """Server errors answer in the dialect of their prefix, without details.

    Django calls this while handling the exception, so a failure outside any view (a middleware losing the
    database or the cache) is still told apart: an unreachable part answers 503, anything else 500.
    """
    dialect = dialect_for_path(request.path)
    if dialect is None:
        return defaults.server_error(request)
    exc = sys.exc_info()[1]
    if exc is not None and unavailable_part(exc) is not None:
        return dialect.render_error(normalise(exc), request)
    return dialect.render_error(record_for_status(500), request)
