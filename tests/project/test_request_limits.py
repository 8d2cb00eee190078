"""Requests per minute per key and per address, and body sizes, refused in each dialect's own error format."""

import json
import logging
import threading

import pytest
from django.conf import LazySettings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.test import RequestFactory
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.test import APIClient

from project.api import limits
from project.api.dialects import handler400

pytestmark = pytest.mark.django_db

# (dialect, a route under its prefix)
ROUTES = {
    "whalerun": "/api/datasets/",
    "institution": "/api/v1/datasets",
    "aidmp": "/aids/aidmp/data/v1/datasets",
    "tensorbay": "/v1/datasets",
    "graviti": "/v2/datasets",
}

THROTTLED = {
    "whalerun": (429, {"code": 1100, "message": "Bad Request", "data": {}}),
    "institution": (429, {"code": 210, "message": "请求过于频繁"}),
    "aidmp": (429, {"code": 8, "message": "too many requests", "details": []}),
    "tensorbay": (429, {"code": "AccessDenied", "message": "too many requests"}),
    "graviti": (429, {"code": "TooManyRequests", "message": "too many requests"}),
}

TOO_LARGE_MESSAGE = "request bodies are limited to 1000 bytes"
TOO_LARGE = {
    "whalerun": (413, {"code": 1100, "message": "Bad Request", "data": {}}),
    "institution": (413, {"code": 209, "message": "参数错误"}),
    "aidmp": (413, {"code": 8, "message": TOO_LARGE_MESSAGE, "details": []}),
    "tensorbay": (413, {"code": "InvalidParamsValue", "message": TOO_LARGE_MESSAGE}),
    "graviti": (400, {"code": "InvalidParamsValue", "message": TOO_LARGE_MESSAGE}),
}


@pytest.fixture(autouse=True)
def fresh_counters() -> None:
    """Counters of earlier tests in the same minute must not count here."""
    cache.clear()


def answer(response: object) -> tuple[int, dict]:
    return response.status_code, json.loads(response.content)  # type: ignore[attr-defined]


@pytest.mark.parametrize("dialect", ROUTES)
def test_requests_over_the_address_limit_answer_the_dialect_429(
    api_client: APIClient, settings: LazySettings, dialect: str
) -> None:
    settings.RATE_LIMIT_PER_ADDRESS = 2
    for _ in range(2):
        assert api_client.get(ROUTES[dialect]).status_code != 429

    response = api_client.get(ROUTES[dialect])

    assert answer(response) == THROTTLED[dialect]
    assert 1 <= int(response["Retry-After"]) <= limits.WINDOW_SECONDS


@pytest.mark.parametrize("dialect", ROUTES)
def test_requests_over_the_key_limit_answer_the_dialect_429(
    api_client: APIClient, settings: LazySettings, access_key: str, dialect: str
) -> None:
    settings.RATE_LIMIT_PER_KEY = 1
    credential = {"SecretId": "AKIDsomething"} if dialect == "institution" else {}
    headers = {} if dialect == "institution" else {"X-Token": access_key}
    api_client.get(ROUTES[dialect], credential, headers=headers)

    response = api_client.get(ROUTES[dialect], credential, headers=headers)

    assert answer(response) == THROTTLED[dialect]
    assert "Retry-After" in response


def test_a_throttled_key_does_not_hold_up_another_key(api_client: APIClient, settings: LazySettings) -> None:
    settings.RATE_LIMIT_PER_KEY = 1
    api_client.get("/v2/datasets", headers={"X-Token": "ACCESSKEY-" + "1" * 32})
    assert api_client.get("/v2/datasets", headers={"X-Token": "ACCESSKEY-" + "1" * 32}).status_code == 429

    response = api_client.get("/v2/datasets", headers={"X-Token": "ACCESSKEY-" + "2" * 32})

    assert response.status_code == 401


def test_a_limit_of_zero_is_no_limit(api_client: APIClient, settings: LazySettings) -> None:
    settings.RATE_LIMIT_PER_KEY = 0
    settings.RATE_LIMIT_PER_ADDRESS = 0

    statuses = {api_client.get("/aids/aidmp/data/v1/datasets").status_code for _ in range(30)}

    assert statuses == {200}


def test_pages_outside_the_dialects_are_not_counted(api_client: APIClient, settings: LazySettings) -> None:
    settings.RATE_LIMIT_PER_ADDRESS = 1

    statuses = {api_client.get("/healthz").status_code for _ in range(3)}

    assert 429 not in statuses


def test_forwarded_addresses_are_ignored_without_trusted_proxies(api_client: APIClient, settings: LazySettings) -> None:
    settings.RATE_LIMIT_PER_ADDRESS = 1
    api_client.get("/aids/aidmp/data/v1/datasets", headers={"X-Forwarded-For": "203.0.113.1"})

    response = api_client.get("/aids/aidmp/data/v1/datasets", headers={"X-Forwarded-For": "203.0.113.2"})

    assert response.status_code == 429


def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_alone(
    api_client: APIClient, settings: LazySettings
) -> None:
    settings.RATE_LIMIT_PER_ADDRESS = 1
    settings.TRUSTED_PROXY_COUNT = 1
    api_client.get("/aids/aidmp/data/v1/datasets", headers={"X-Forwarded-For": "203.0.113.1"})

    other = api_client.get("/aids/aidmp/data/v1/datasets", headers={"X-Forwarded-For": "203.0.113.2"})
    again = api_client.get("/aids/aidmp/data/v1/datasets", headers={"X-Forwarded-For": "203.0.113.1"})

    assert (other.status_code, again.status_code) == (200, 429)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "address"),
    [
        (0, "198.51.100.7", "127.0.0.1"),
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "10.9.9.9, 198.51.100.7", "198.51.100.7"),
        (2, "10.9.9.9, 198.51.100.7, 192.0.2.1", "198.51.100.7"),
        (3, "198.51.100.7", "198.51.100.7"),
        (1, "", "127.0.0.1"),
    ],
)
def test_client_address_trusts_only_the_configured_proxies(
    settings: LazySettings, proxies: int, forwarded: str, address: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/v2/datasets", headers={"X-Forwarded-For": forwarded})

    assert limits.client_address(request) == address


def test_rate_limiting_lets_requests_through_when_the_cache_is_down(
    api_client: APIClient, settings: LazySettings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings.RATE_LIMIT_PER_ADDRESS = 1

    def unreachable(*args: object, **kwargs: object) -> None:
        raise RedisConnectionError("redis://:hunter2@cache.internal:6379/0 refused")

    monkeypatch.setattr(limits.cache, "add", unreachable)
    with caplog.at_level(logging.WARNING, logger="project.api.limits"):
        statuses = {api_client.get("/aids/aidmp/data/v1/datasets").status_code for _ in range(3)}

    assert statuses == {200}
    assert "rate limiting skipped, the cache is unavailable (ConnectionError)" in caplog.messages
    assert "hunter2" not in caplog.text


def test_counters_lose_no_request_when_threads_race() -> None:
    refused: list[int | None] = []

    def hit() -> None:
        for _ in range(5):
            refused.append(limits.window_hit(scope="race", identity="one caller", limit=30, now=1_000_000.0))

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert refused.count(None) == 30
    assert len(refused) == 40


@pytest.mark.parametrize("dialect", ROUTES)
def test_bodies_over_the_limit_answer_the_dialect_too_large(
    api_client: APIClient, settings: LazySettings, dialect: str
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = api_client.post(ROUTES[dialect], {"name": "x" * 1000}, format="json")

    assert answer(response) == TOO_LARGE[dialect]


@pytest.mark.urls("tests.project.error_urls")
def test_bodies_within_the_limit_reach_the_view(api_client: APIClient, settings: LazySettings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"name": "x" * 900}

    response = api_client.post("/v1/test-echo", body, format="json")

    assert answer(response) == (200, body)


@pytest.mark.parametrize("dialect", ROUTES)
def test_djangos_own_body_refusal_answers_the_dialect_too_large(dialect: str) -> None:
    request = RequestFactory().post(ROUTES[dialect])

    response = handler400(request, RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE."))

    status, body = answer(response)
    assert (status, body["code"]) == (TOO_LARGE[dialect][0], TOO_LARGE[dialect][1]["code"])
