"""A URLconf for error-path tests: the real routes plus views that fail on purpose under each prefix."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response

from project.api.aidmp import AidmpView
from project.api.graviti import GravitiView
from project.api.institution import InstitutionView
from project.api.tensorbay import TensorBayView
from project.api.whalerun import WhaleRunView
from project.urls import urlpatterns as real_urlpatterns


def crash(request: HttpRequest) -> HttpResponse:
    """A plain Django view that fails with a secret in its message."""
    raise RuntimeError("secret-internal-detail")


def echo_view(base: type) -> type:
    """A DRF view of the given dialect that echoes a JSON body or fails on ``?crash``."""

    class Echo(base):  # type: ignore[valid-type, misc]
        permission_classes: list = []

        def get(self, request: Request) -> Response:
            if "crash" in request.query_params:
                raise RuntimeError("secret-internal-detail")
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
    *real_urlpatterns,
]
