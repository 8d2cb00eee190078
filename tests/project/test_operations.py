"""Operations: /healthz, the per-dialect OpenAPI schemas, Swagger UI from local files, the Redis cache."""

import os
import socket
from pathlib import Path

import pytest
from django.core.cache import caches
from django.db import OperationalError
from django.test import Client, override_settings

from project import health


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db
def test_healthz_reports_every_part_ok(client: Client, tmp_path: Path) -> None:
    with override_settings(MEDIA_ROOT=tmp_path):
        response = client.get("/healthz")
    assert (response.status_code, response.json()) == (
        200,
        {"status": "ok", "database": "ok", "cache": "ok", "storage": "ok"},
    )
    assert list(tmp_path.rglob("*.*")) == []


@pytest.mark.django_db
def test_healthz_reports_a_stopped_cache(client: Client, tmp_path: Path) -> None:
    dead_redis = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    with override_settings(CACHES=dead_redis, MEDIA_ROOT=tmp_path):
        caches.close_all()
        response = client.get("/healthz")
    caches.close_all()
    body = response.json()
    assert response.status_code == 503
    assert (body["status"], body["database"], body["storage"]) == ("unavailable", "ok", "ok")
    assert body["cache"].startswith("unavailable")


@pytest.mark.django_db
def test_healthz_reports_unwritable_storage(client: Client, tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("x")
    with override_settings(MEDIA_ROOT=not_a_directory):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["storage"].startswith("unavailable")


@pytest.mark.django_db
def test_healthz_reports_an_unreachable_database(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setitem(health.CHECKS, "database", refuse)
    response = client.get("/healthz")
    assert (response.status_code, response.json()["database"]) == (503, "unavailable (OperationalError)")


@pytest.mark.django_db
def test_healthz_names_an_unreachable_broker(client: Client) -> None:
    with override_settings(CELERY_BROKER_URL=f"amqp://guest:guest@127.0.0.1:{closed_port()}//"):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("unavailable")


@pytest.mark.django_db
def test_healthz_checks_no_broker_when_none_is_configured(client: Client) -> None:
    assert "broker" not in client.get("/healthz").json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("dialect", "prefix", "path"),
    [
        ("whalerun", "/api/", "/api/datasets/{dataset_id}/total_votes/"),
        ("aidmp", "/aids/aidmp/data/v1/", "/aids/aidmp/data/v1/datasets"),
        ("institution", "/api/v1/", "/api/v1/datasets"),
        ("tensorbay", "/gatewayv2/tensorbay-open-api/v1/", "/gatewayv2/tensorbay-open-api/v1/users"),
        ("graviti", "/v2/", "/v2/current-user"),
    ],
)
def test_each_dialect_has_its_own_openapi_schema(client: Client, dialect: str, prefix: str, path: str) -> None:
    response = client.get(f"/openapi/{dialect}.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert all(route.startswith(prefix) for route in schema["paths"])
    assert path in schema["paths"]
    scheme = {"whalerun": "ServiceToken", "institution": "Signature"}.get(dialect, "AccessKey")
    assert scheme in schema["components"]["securitySchemes"]


@pytest.mark.django_db
def test_swagger_ui_is_served_from_local_static_files(client: Client) -> None:
    page = client.get("/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200


def test_redis_cache_round_trips_through_django_redis() -> None:
    location = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
    host, port = location.split("//")[1].split("/")[0].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        pytest.skip(f"service unavailable: no Redis at {location} (set TEST_REDIS_URL)")
    redis_cache = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": location}}
    with override_settings(CACHES=redis_cache):
        caches.close_all()
        cache = caches["default"]
        cache.set("hub:probe", {"n": 1}, timeout=5)
        assert cache.get("hub:probe") == {"n": 1}
        assert cache.incr("hub:counter", 1) if cache.add("hub:counter", 0, timeout=5) else True
        cache.delete_many(["hub:probe", "hub:counter"])
    caches.close_all()
