"""Settings come from the environment; a service's missing value stops start-up naming it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from project import settings as hub_settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_VARIABLES = ("DATABASE_URL", "DB_ENGINE", "DB_NAME", "DB_USER", "DB_HOST", "REDIS_URL", "DJANGO_DEBUG")


def start_with(**variables: str) -> subprocess.CompletedProcess:
    """Run ``manage.py check`` with exactly these settings variables."""
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARIABLES}
    env.update(variables)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_it_starts_with_nothing_set() -> None:
    result = start_with()
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"DB_ENGINE": "mysql", "DB_USER": "hub", "DB_HOST": "db"}, "DB_NAME is required when DB_ENGINE=mysql"),
        ({"DB_ENGINE": "mysql", "DB_NAME": "hub", "DB_HOST": "db"}, "DB_USER is required when DB_ENGINE=mysql"),
        ({"DB_ENGINE": "mysql", "DB_NAME": "hub", "DB_USER": "hub"}, "DB_HOST is required when DB_ENGINE=mysql"),
        ({"DATABASE_URL": "mysql://root@127.0.0.1:3306/"}, "DATABASE_URL must name a database"),
        ({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL must be a redis://"),
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG must be one of"),
    ],
)
def test_start_up_fails_naming_the_missing_or_wrong_variable(variables: dict, named: str) -> None:
    result = start_with(**variables)
    assert result.returncode != 0
    assert named in result.stderr


def test_mysql_url_selects_mysqlclient_with_utf8mb4(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://hub:pw@db.internal:3307/catalog")
    config = hub_settings.database_from_environment()
    assert config["ENGINE"] == "django.db.backends.mysql"
    assert (config["NAME"], config["USER"], config["HOST"], config["PORT"]) == ("catalog", "hub", "db.internal", 3307)
    assert config["OPTIONS"]["charset"] == "utf8mb4"


def test_db_engine_variables_build_the_same_database(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"DB_ENGINE": "mysql", "DB_NAME": "catalog", "DB_USER": "hub", "DB_HOST": "db"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = hub_settings.database_from_environment()
    assert (config["ENGINE"], config["NAME"], config["PORT"]) == ("django.db.backends.mysql", "catalog", 3306)


def test_default_database_is_a_sqlite_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DB_ENGINE", raising=False)
    config = hub_settings.database_from_environment()
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"].endswith("db.sqlite3")


def test_database_url_and_db_engine_together_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("DB_ENGINE", "sqlite")
    with pytest.raises(ImproperlyConfigured, match="not both"):
        hub_settings.database_from_environment()
