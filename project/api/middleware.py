"""Middleware of the dialect prefixes: every error there speaks the dialect, and browser-only layers skip them."""

from collections.abc import Awaitable, Callable

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from project.api.dialects import DIALECTS, dialect_for_path
from project.api.errors import normalise, record_for_status

# What Django's middleware answers: a response, or an awaitable one when it runs under ASGI.
MiddlewareAnswer = HttpResponseBase | Awaitable[HttpResponseBase]
API_PREFIXES = tuple(prefix for dialect in DIALECTS for prefix in dialect.prefixes)


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


def under_api_prefix(request: HttpRequest) -> bool:
    """Whether the request goes to a dialect: token-authenticated DRF views that use no session, no Django
    login and no messages (and, being DRF views, are exempt from CSRF checks, so that middleware costs nothing)."""
    return request.path.startswith(API_PREFIXES)


class BrowserSessionMiddleware(SessionMiddleware):
    """Django's sessions, for the admin and the pages; dialect requests skip them."""

    def __call__(self, request: HttpRequest) -> MiddlewareAnswer:
        if under_api_prefix(request):
            return self.get_response(request)
        return super().__call__(request)


class BrowserAuthenticationMiddleware(AuthenticationMiddleware):
    """Django's login user, for the admin and the pages; dialects authenticate with their own keys."""

    def __call__(self, request: HttpRequest) -> MiddlewareAnswer:
        if under_api_prefix(request):
            return self.get_response(request)
        return super().__call__(request)


class BrowserMessageMiddleware(MessageMiddleware):
    """Django's messages, for the admin; dialect requests skip them."""

    def __call__(self, request: HttpRequest) -> MiddlewareAnswer:
        if under_api_prefix(request):
            return self.get_response(request)
        return super().__call__(request)
