"""Make every error under a dialect's prefix speak that dialect, whatever raised it."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from project.api.dialects import dialect_for_path
from project.api.errors import normalise, record_for_status


class DialectErrorMiddleware:
    """Render view exceptions and framework error pages (404, 405, CSRF 403, 500) as dialect JSON."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or response.get("Content-Type", "").startswith("application/json"):
            return response
        dialect = dialect_for_path(request.path)
        if dialect is None:
            return response
        return dialect.render_error(record_for_status(response.status_code), request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Exceptions from views that are not DRF views."""
        dialect = dialect_for_path(request.path)
        if dialect is None:
            return None
        return dialect.render_error(normalise(exception), request)
