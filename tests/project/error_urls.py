"""A URLconf for error-path tests: the real routes plus views that fail on purpose under each prefix."""

import oss2.exceptions
import requests.exceptions
from azure.core.exceptions import HttpResponseError, IncompleteReadError, ServiceRequestError
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.exceptions import IncompleteReadError as BotoIncompleteReadError
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import path
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.request import Request
from rest_framework.response import Response

from project.api.aidmp import AidmpView
from project.api.graviti import GravitiView
from project.api.institution import InstitutionView
from project.api.tensorbay import TensorBayView
from project.api.whalerun import WhaleRunView
from project.urls import urlpatterns as real_urlpatterns


def raised_from(error: Exception, cause: Exception) -> Exception:
    """``error`` as a library raises it ``from cause``."""
    error.__cause__ = cause
    return error


# What the libraries raise when a part of the service does not answer, or stops answering in the middle of an
# object's bytes (``-cut``), each quoting a detail never to be shown.
UNREACHABLE: dict[str, tuple[str, Exception]] = {
    "mysql-lost": ("database", OperationalError(2013, "Lost connection to MySQL server secret-internal-detail")),
    "db-closed": ("database", InterfaceError("secret-internal-detail connection already closed")),
    "redis": ("cache", RedisConnectionError("secret-internal-detail refused")),
    "socket": ("service", ConnectionRefusedError("secret-internal-detail")),
    "s3": ("storage", EndpointConnectionError(endpoint_url="http://secret-internal-detail:9000")),
    "s3-timeout": ("storage", ReadTimeoutError(endpoint_url="http://secret-internal-detail:9000")),
    "azure": ("storage", ServiceRequestError("secret-internal-detail refused")),
    "oss": ("storage", oss2.exceptions.RequestError(ConnectionRefusedError("secret-internal-detail"))),
    "s3-cut": ("storage", BotoIncompleteReadError(actual_bytes=64, expected_bytes=1024)),
    # Azure's downloader retries, then gives up with an HttpResponseError raised from the last lost read.
    "azure-cut": (
        "storage",
        raised_from(HttpResponseError("secret-internal-detail"), IncompleteReadError("secret-internal-detail")),
    ),
    # The hub's own disk, full or failing.
    "disk-full": ("storage", OSError(28, "No space left on device", "/secret-internal-detail/objects")),
    "disk-io": ("storage", OSError(5, "Input/output error", "/secret-internal-detail/objects")),
    # oss2 reads an object's body through requests.
    "oss-cut": ("storage", requests.exceptions.ChunkedEncodingError("secret-internal-detail broken")),
}


def crash(request: HttpRequest) -> HttpResponse:
    """A plain Django view that fails with a secret in its message."""
    raise RuntimeError("secret-internal-detail")


def unreachable(request: HttpRequest) -> HttpResponse:
    """A plain Django view that fails as ``?part=`` names (see ``UNREACHABLE``)."""
    raise UNREACHABLE[request.GET["part"]][1]


def echo_view(base: type) -> type:
    """A DRF view of the given dialect that echoes a JSON body, fails on ``?crash``, or as ``?unreachable=``
    names (see ``UNREACHABLE``)."""

    class Echo(base):  # type: ignore[valid-type, misc]
        permission_classes: list = []

        def get(self, request: Request) -> Response:
            if "crash" in request.query_params:
                raise RuntimeError("secret-internal-detail")
            if "unreachable" in request.query_params:
                raise UNREACHABLE[request.query_params["unreachable"]][1]
            return Response({"ok": True})

        def post(self, request: Request) -> Response:
            return Response(request.data)

        def delete(self, request: Request) -> Response:
            return Response(request.data)

    return Echo


urlpatterns = [
    path("api/v1/test-echo", echo_view(InstitutionView).as_view()),
    path("api/v1/test-crash", crash),
    path("aids/aidmp/data/v1/test-echo", echo_view(AidmpView).as_view()),
    path("aids/aidmp/data/v1/test-crash", crash),
    path("v1/test-echo", echo_view(TensorBayView).as_view()),
    path("v1/test-crash", crash),
    path("gatewayv2/tensorbay-open-api/v1/test-crash", crash),
    path("v2/test-echo", echo_view(GravitiView).as_view()),
    path("v2/test-crash", crash),
    path("api/test-echo/", echo_view(WhaleRunView).as_view()),
    path("api/test-crash/", crash),
    path("api/v1/test-unreachable", unreachable),
    path("aids/aidmp/data/v1/test-unreachable", unreachable),
    path("v1/test-unreachable", unreachable),
    path("v2/test-unreachable", unreachable),
    path("api/test-unreachable/", unreachable),
    *real_urlpatterns,
]
