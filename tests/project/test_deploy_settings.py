"""Production settings pass ``manage.py check --deploy``, and every schema the hub serves is generated cleanly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from project import settings as hub_settings
from project.urls import DIALECT_MOUNTS

ROOT = Path(__file__).resolve().parents[2]

# README's "Production" section, with a throwaway secret key.
PRODUCTION = {
    "DJANGO_SECRET_KEY": "kq3v8Zt1mWc0pR7yLx4nB6hJ2sD9fG5aE8uI1oP3lK7jH0gF4dS6aZ2xC5vB8nM1",
    "DJANGO_ALLOWED_HOSTS": "hub.example.org",
    "DJANGO_SECURE_SSL_REDIRECT": "1",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "DJANGO_SECURE_HSTS_PRELOAD": "1",
    "DJANGO_SESSION_COOKIE_SECURE": "1",
    "DJANGO_CSRF_COOKIE_SECURE": "1",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "WHALERUN_SERVICE_TOKEN": "7Hq2mZ9xLw4vB1nK8pR3tY6sD0fG5jCa",
}


def deploy_check(**variables: str) -> subprocess.CompletedProcess:
    """Run ``manage.py check --deploy --fail-level WARNING`` with the security variables set to exactly these."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DJANGO_") and key != "WHALERUN_SERVICE_TOKEN"
    }
    env.update(variables)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_is_clean_under_production_settings() -> None:
    result = deploy_check(**PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("token", [None, "short-token"])
def test_deploy_check_wants_a_whalerun_service_token(token: str | None) -> None:
    production = {key: value for key, value in PRODUCTION.items() if key != "WHALERUN_SERVICE_TOKEN"}
    result = deploy_check(**production, **({"WHALERUN_SERVICE_TOKEN": token} if token else {}))

    assert result.returncode != 0
    assert "datasethub.W001" in result.stderr


def test_deploy_check_fails_on_the_local_defaults() -> None:
    result = deploy_check()

    assert result.returncode != 0
    assert "security.W008" in result.stderr and "security.W009" in result.stderr


def test_proxy_ssl_header_is_trusted_only_when_named(monkeypatch: pytest.MonkeyPatch) -> None:
    assert hub_settings.proxy_ssl_header_from_environment() is None
    monkeypatch.setenv("DJANGO_SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto")

    assert hub_settings.proxy_ssl_header_from_environment() == ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.mark.parametrize("name", ["RATE_LIMIT_PER_KEY", "RATE_LIMIT_PER_ADDRESS", "REQUEST_BODY_MAX_SIZE"])
def test_negative_limits_stop_start_up(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "-1")

    with pytest.raises(ImproperlyConfigured, match=f"{name} must be 0"):
        hub_settings.env_limit(name, 10)


@pytest.mark.parametrize(("name", "mounts", "routes"), DIALECT_MOUNTS, ids=[mount[0] for mount in DIALECT_MOUNTS])
def test_each_served_schema_generates_without_warnings(name: str, mounts: list[str], routes: list) -> None:
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator(patterns=[path(mounts[-1], include(routes))]).get_schema(request=None, public=True)

    assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache


@pytest.mark.parametrize(("variables", "warned"), [({"LIST_CACHE_SECONDS": "60"}, True), ({}, False)])
def test_caching_lists_in_a_per_process_cache_is_a_warning(variables: dict[str, str], warned: bool) -> None:
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "LIST_CACHE_SECONDS")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**env, **variables},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert ("datasethub.W002" in result.stderr) is warned
