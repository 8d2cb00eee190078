"""A database, cache or storage that does not answer is the dialect's 503, never a 500, HTML or a detail."""

import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from django.conf import LazySettings
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from rest_framework.test import APIClient

from datasets import list_cache, services
from datasets.models import Dataset, User, Workspace
from project.api.dialects import handler500
from project.api.errors import normalise
from tests.project.error_urls import UNREACHABLE
from versioning import services as versioning
from versioning.trees import Entry


def expected(prefix: str, part: str) -> tuple[int, dict]:
    """The 503 body each dialect answers when ``part`` cannot be reached."""
    message = f"{part} unavailable"
    return {
        "/api/v1/": (503, {"code": 207, "message": "服务内部错误"}),
        "/api/": (503, {"code": 1000, "message": "Internal Server Error", "data": {}}),
        "/aids/aidmp/data/v1/": (503, {"code": 14, "message": message, "details": []}),
        "/v1/": (503, {"code": "InternalServerError", "message": message}),
        "/gatewayv2/tensorbay-open-api/v1/": (503, {"code": "InternalServerError", "message": message}),
        "/v2/": (503, {"message": message}),
    }[prefix]


def body(response: HttpResponse) -> dict:
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


PLAIN_VIEWS = [
    ("/api/v1/", "test-unreachable"),
    ("/api/", "test-unreachable/"),
    ("/aids/aidmp/data/v1/", "test-unreachable"),
    ("/v1/", "test-unreachable"),
    ("/v2/", "test-unreachable"),
]
DRF_VIEWS = [
    ("/api/", "test-echo/"),
    ("/aids/aidmp/data/v1/", "test-echo"),
    ("/v1/", "test-echo"),
    ("/v2/", "test-echo"),
]


@pytest.mark.django_db
@pytest.mark.urls("tests.project.error_urls")
@pytest.mark.parametrize("name", sorted(UNREACHABLE))
@pytest.mark.parametrize(("prefix", "route"), DRF_VIEWS)
def test_an_unreachable_part_in_a_dialect_view_is_the_dialect_503(
    api_client: APIClient, prefix: str, route: str, name: str
) -> None:
    part = UNREACHABLE[name][0]
    response = api_client.get(f"{prefix}{route}", {"unreachable": name})
    assert (response.status_code, body(response)) == expected(prefix, part)
    assert b"secret-internal-detail" not in response.content


@pytest.mark.django_db
@pytest.mark.urls("tests.project.error_urls")
@pytest.mark.parametrize("name", sorted(UNREACHABLE))
@pytest.mark.parametrize(("prefix", "route"), PLAIN_VIEWS)
def test_an_unreachable_part_in_a_plain_view_is_the_dialect_503(
    api_client: APIClient, prefix: str, route: str, name: str
) -> None:
    response = api_client.get(f"{prefix}{route}", {"part": name})
    assert (response.status_code, body(response)) == expected(prefix, UNREACHABLE[name][0])
    assert b"secret-internal-detail" not in response.content


@pytest.mark.parametrize(
    "prefix", ["/api/v1/", "/api/", "/aids/aidmp/data/v1/", "/v1/", "/gatewayv2/tensorbay-open-api/v1/", "/v2/"]
)
def test_a_middleware_losing_the_database_is_the_dialect_503(prefix: str) -> None:
    request = RequestFactory().get(f"{prefix}anything")
    try:
        raise UNREACHABLE["mysql-lost"][1]
    except Exception:
        response = handler500(request)
    assert (response.status_code, body(response)) == expected(prefix, "database")


@pytest.mark.parametrize("prefix", ["/api/v1/", "/api/", "/v2/"])
def test_other_failures_outside_views_stay_the_dialect_500(prefix: str) -> None:
    request = RequestFactory().get(f"{prefix}anything")
    try:
        raise RuntimeError("secret-internal-detail")
    except RuntimeError:
        response = handler500(request)
    assert response.status_code == 500
    assert b"secret-internal-detail" not in response.content


@pytest.fixture
def redis_away() -> Iterator[None]:
    """A Redis cache configured at a loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        unused_tcp_port = probe.getsockname()[1]
    unreachable = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{unused_tcp_port}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    with override_settings(CACHES=unreachable):
        yield


@pytest.mark.django_db
@pytest.mark.usefixtures("redis_away")
def test_posts_still_run_when_the_replay_cache_is_away(api_client: APIClient, access_key: str) -> None:
    response = api_client.post(
        "/v2/datasets", {"name": "while-redis-is-down"}, format="json", HTTP_X_TOKEN=access_key, HTTP_X_REQUEST_ID="r1"
    )
    assert response.status_code in (200, 201)
    assert response["X-Request-Id"] == "r1"
    assert Dataset.objects.filter(name="while-redis-is-down").count() == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("redis_away")
def test_signed_requests_answer_503_when_the_cache_that_enforces_single_use_is_away(
    api_client: APIClient, user: User, workspace: Workspace
) -> None:
    key, secret = services.signing_key_create(user=user, workspace=workspace)
    query = {"SecretId": key.secret_id, "Timestamp": str(int(time.time() * 1000))}
    canonical = "&".join(f"{name}={quote(value, safe='')}" for name, value in sorted(query.items()))
    query["Signature"] = services.signature_compute(secret=secret, message=canonical)
    response = api_client.get("/api/v1/datasets", query)
    assert (response.status_code, body(response)) == expected("/api/v1/", "cache")


@pytest.mark.django_db
@pytest.mark.usefixtures("redis_away")
def test_pages_kept_per_caller_are_built_from_the_database_when_the_cache_is_away(
    api_client: APIClient, user: User, workspace: Workspace, access_key: str, settings: LazySettings
) -> None:
    settings.LIST_CACHE_SECONDS = 60
    dataset = services.dataset_create(workspace=workspace, creator=user, name="while-redis-is-down")
    entry = Entry.create(segment="s", remote_path="a.jpg", object_key="objects/a", sha1="a" * 40, size=1)
    versioning.commit_import(dataset=dataset, entries=[entry], title="import", committer=user)
    path = f"/v1/datasets/{dataset.hex_id}/data/details?commit=main&segmentName=s"
    for _ in range(2):
        response = api_client.get(path, HTTP_X_TOKEN=access_key)
        assert (response.status_code, body(response)["totalCount"]) == (200, 1)


@pytest.mark.django_db
def test_losing_the_database_retires_every_cached_answer(settings: LazySettings) -> None:
    """A transaction whose COMMIT answer was lost may have landed without the renewals that follow a commit:
    the error that reports it renews the generations the cached lists and per-caller answers hold."""
    settings.LIST_CACHE_SECONDS = 60
    names = (list_cache.GENERATION_KEY, list_cache.ACCESS_GENERATION_KEY)
    before = list_cache.generations(*names)
    normalise(UNREACHABLE["mysql-lost"][1])
    after = list_cache.generations(*names)
    assert all(old != new for old, new in zip(before, after, strict=True))
    normalise(UNREACHABLE["s3"][1])
    assert list_cache.generations(*names) == after
