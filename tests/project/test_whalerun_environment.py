"""The whale.run service's environment variables configure the hub as a second spelling of its own."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Every variable that picks the database, cache, storage or log file, in either spelling.
SERVICE_VARIABLE_PREFIXES = ("DATABASE_URL", "DB_", "REDIS_URL", "FLASK_", "OSS_", "STORAGE_", "LOG_FILE")
SERVICE_VARIABLES_TOO = ("LIST_CACHE_SECONDS", "CACHE_KEY_PREFIX", "HTTPS_PROXY", "https_proxy")
# Starts the hub, runs ``manage.py check``'s checks and prints which services the settings chose.
REPORT = """
import json
from django.conf import settings
from django.core.management import call_command
call_command("check")
database = settings.DATABASES["default"]
storage = settings.STORAGES["default"]
options = dict(storage.get("OPTIONS", {}))
options["access_key_secret"] = bool(options.get("access_key_secret"))
options["security_token"] = bool(options.get("security_token"))
handlers = settings.LOGGING["handlers"]
print(json.dumps({
    "database": [database["ENGINE"].rsplit(".", 1)[1], database["HOST"], database["PORT"], database["USER"],
                 database["PASSWORD"], database["NAME"]],
    "cache": [settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[1], settings.CACHES["default"].get("LOCATION")],
    "sessions": settings.SESSION_ENGINE.rsplit(".", 1)[1],
    "list_cache_seconds": settings.LIST_CACHE_SECONDS,
    "storage": [settings.STORAGE_BACKEND, storage["BACKEND"].rsplit(".", 1)[1], options],
    "mount_point": str(settings.STORAGE_OSS_MOUNT_POINT) if settings.STORAGE_OSS_MOUNT_POINT else None,
    "log_file": [handlers["file"]["filename"], handlers["file"]["class"]] if "file" in handlers else None,
}))
"""


def service_free_environment() -> dict[str, str]:
    """This process's environment without any variable that configures a service."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(SERVICE_VARIABLE_PREFIXES) and key not in SERVICE_VARIABLES_TOO
    }


def start_with(**variables: str) -> subprocess.CompletedProcess:
    """Start the hub in a subprocess with exactly these service variables; run the checks and report."""
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", REPORT],
        cwd=ROOT,
        env={**service_free_environment(), **variables},
        capture_output=True,
        text=True,
        timeout=120,
    )


def chosen(**variables: str) -> dict:
    """The services the hub chooses under these variables; it must start."""
    result = start_with(**variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_nothing_set_keeps_the_embedded_defaults() -> None:
    report = chosen()

    assert report["database"][0] == "sqlite3"
    assert report["cache"][0] == "LocMemCache"
    assert report["storage"][:2] == ["filesystem", "FileSystemStorage"]
    assert (report["mount_point"], report["log_file"]) == (None, None)


def test_one_flask_mysql_variable_selects_mysql_with_the_seed_defaults() -> None:
    report = chosen(FLASK_MYSQL_HOST="db.internal")

    assert report["database"] == ["mysql", "db.internal", 3306, "root", "", "whalerun_dataset"]


def test_every_flask_mysql_variable_is_used() -> None:
    report = chosen(
        FLASK_MYSQL_HOST="db.internal",
        FLASK_MYSQL_PORT="3307",
        FLASK_MYSQL_USER="whale",
        FLASK_MYSQL_PASSWORD="p@ss/word",
        FLASK_MYSQL_DB="catalog",
    )

    assert report["database"] == ["mysql", "db.internal", 3307, "whale", "p@ss/word", "catalog"]


def test_database_url_wins_over_flask_mysql() -> None:
    report = chosen(DATABASE_URL="mysql://hub:pw@hub-db:3308/hub", FLASK_MYSQL_HOST="seed-db", FLASK_MYSQL_DB="seed")

    assert report["database"] == ["mysql", "hub-db", 3308, "hub", "pw", "hub"]


def test_each_db_variable_wins_over_its_flask_spelling() -> None:
    report = chosen(DB_HOST="hub-db", DB_NAME="hub", FLASK_MYSQL_HOST="seed-db", FLASK_MYSQL_USER="whale")

    assert report["database"] == ["mysql", "hub-db", 3306, "whale", "", "hub"]


def test_one_flask_redis_variable_selects_redis_with_the_seed_defaults() -> None:
    report = chosen(FLASK_REDIS_DB="3")

    assert report["cache"] == ["RedisCache", "redis://localhost:6379/3"]
    assert (report["sessions"], report["list_cache_seconds"]) == ("cache", 60)


def test_flask_redis_host_and_port_are_used() -> None:
    report = chosen(FLASK_REDIS_HOST="cache.internal", FLASK_REDIS_PORT="6380")

    assert report["cache"] == ["RedisCache", "redis://cache.internal:6380/0"]


def test_redis_url_wins_over_flask_redis() -> None:
    report = chosen(REDIS_URL="redis://hub-cache:6379/1", FLASK_REDIS_HOST="seed-cache", FLASK_REDIS_DB="4")

    assert report["cache"] == ["RedisCache", "redis://hub-cache:6379/1"]


def test_oss_bucket_and_region_select_oss_with_oss2_environment_credentials() -> None:
    report = chosen(
        OSS_BUCKET_NAME="whale-data",
        OSS_REGION_ID="cn-hangzhou",
        OSS_ACCESS_KEY_ID="LTAIenv",
        OSS_ACCESS_KEY_SECRET="env-secret",
        OSS_SESSION_TOKEN="sts-token",
    )

    backend, storage_class, options = report["storage"]
    assert (backend, storage_class) == ("oss", "OssStorage")
    assert options == {
        "endpoint": "https://oss-cn-hangzhou.aliyuncs.com",
        "bucket_name": "whale-data",
        "access_key_id": "LTAIenv",
        "access_key_secret": True,
        "security_token": True,
    }


def test_hub_oss_credentials_win_over_oss2_environment_credentials() -> None:
    report = chosen(
        OSS_BUCKET_NAME="whale-data",
        OSS_REGION_ID="cn-beijing",
        STORAGE_OSS_ACCESS_KEY_ID="LTAIhub",
        STORAGE_OSS_ACCESS_KEY_SECRET="hub-secret",
        OSS_ACCESS_KEY_ID="LTAIenv",
        OSS_ACCESS_KEY_SECRET="env-secret",
        OSS_SESSION_TOKEN="sts-token",
    )

    options = report["storage"][2]
    assert (options["endpoint"], options["access_key_id"], options["security_token"]) == (
        "https://oss-cn-beijing.aliyuncs.com",
        "LTAIhub",
        False,
    )


def test_hub_oss_endpoint_and_bucket_win_over_region_and_bucket_name() -> None:
    report = chosen(
        STORAGE_BACKEND="oss",
        STORAGE_OSS_ENDPOINT="oss-internal.example.org",
        STORAGE_OSS_BUCKET="hub-data",
        STORAGE_OSS_ACCESS_KEY_ID="LTAIhub",
        STORAGE_OSS_ACCESS_KEY_SECRET="hub-secret",
        OSS_BUCKET_NAME="whale-data",
        OSS_REGION_ID="cn-beijing",
    )

    options = report["storage"][2]
    assert (options["endpoint"], options["bucket_name"]) == ("oss-internal.example.org", "hub-data")


def test_oss_mount_point_is_where_whalerun_reads(tmp_path: Path) -> None:
    report = chosen(
        OSS_BUCKET_NAME="whale-data",
        OSS_REGION_ID="cn-hangzhou",
        OSS_MOUNT_POINT=str(tmp_path),
        OSS_ACCESS_KEY_ID="LTAIenv",
        OSS_ACCESS_KEY_SECRET="env-secret",
    )

    assert report["storage"][0] == "oss"
    assert report["mount_point"] == str(tmp_path)


def test_flask_logfile_adds_a_rotated_log_file(tmp_path: Path) -> None:
    report = chosen(FLASK_LOGFILE=str(tmp_path / "whalerun_dataset.log"))

    assert report["log_file"] == [str(tmp_path / "whalerun_dataset.log"), "logging.handlers.RotatingFileHandler"]


def test_log_file_wins_over_flask_logfile(tmp_path: Path) -> None:
    report = chosen(LOG_FILE=str(tmp_path / "hub.log"), FLASK_LOGFILE=str(tmp_path / "whalerun_dataset.log"))

    assert report["log_file"][0] == str(tmp_path / "hub.log")


OSS_CREDENTIALS = {"OSS_ACCESS_KEY_ID": "LTAIenv", "OSS_ACCESS_KEY_SECRET": "env-secret"}


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"DATABASE_URL": "sqlite:///hub.db", "FLASK_MYSQL_HOST": "db"}, ["DATABASE_URL", "FLASK_MYSQL_HOST"]),
        ({"DB_ENGINE": "sqlite", "DB_NAME": "hub.db", "FLASK_MYSQL_DB": "x"}, ["DB_ENGINE=sqlite", "FLASK_MYSQL_DB"]),
        ({"FLASK_MYSQL_PORT": "mysql"}, ["FLASK_MYSQL_PORT must be an integer"]),
        ({"FLASK_REDIS_PORT": "70000"}, ["FLASK_REDIS_PORT must be a port number"]),
        ({"FLASK_REDIS_DB": "-1"}, ["FLASK_REDIS_DB must be a database number"]),
        (
            {"STORAGE_BACKEND": "s3", "OSS_BUCKET_NAME": "b", "OSS_REGION_ID": "cn-hangzhou"},
            ["STORAGE_BACKEND=s3", "OSS_BUCKET_NAME", "OSS_REGION_ID"],
        ),
        ({"OSS_REGION_ID": "cn-hangzhou", **OSS_CREDENTIALS}, ["OSS_BUCKET_NAME", "OSS_REGION_ID is set"]),
        ({"OSS_BUCKET_NAME": "b", **OSS_CREDENTIALS}, ["OSS_REGION_ID is required", "STORAGE_OSS_ENDPOINT"]),
        ({"OSS_BUCKET_NAME": "b", "OSS_REGION_ID": "cn/../x", **OSS_CREDENTIALS}, ["OSS_REGION_ID must be"]),
        (
            {"OSS_BUCKET_NAME": "b", "OSS_REGION_ID": "cn-hangzhou"},
            ["STORAGE_OSS_ACCESS_KEY_ID is required", "OSS_ACCESS_KEY_ID"],
        ),
        (
            {"OSS_BUCKET_NAME": "b", "OSS_REGION_ID": "cn-hangzhou", "OSS_ACCESS_KEY_ID": "LTAIenv"},
            ["OSS_ACCESS_KEY_SECRET is required"],
        ),
        (
            {"OSS_BUCKET_NAME": "b", "OSS_REGION_ID": "cn-hangzhou", "STORAGE_OSS_ACCESS_KEY_ID": "LTAIhub"},
            ["STORAGE_OSS_ACCESS_KEY_SECRET is required"],
        ),
        ({"OSS_MOUNT_POINT": "/mnt/oss"}, ["OSS_BUCKET_NAME", "OSS_MOUNT_POINT is set"]),
        (
            {"OSS_BUCKET_NAME": "b", "OSS_REGION_ID": "cn-hangzhou", "OSS_MOUNT_POINT": "/no/mount", **OSS_CREDENTIALS},
            ["OSS_MOUNT_POINT must be the absolute path of a directory"],
        ),
        ({"STORAGE_OSS_MOUNT_POINT": "/tmp"}, ["STORAGE_OSS_MOUNT_POINT", "STORAGE_BACKEND=filesystem"]),
        ({"FLASK_LOGFILE": "/no/such/directory/whalerun.log"}, ["FLASK_LOGFILE must be a file"]),
    ],
)
def test_contradictory_or_incomplete_variables_stop_start_up_naming_them(variables: dict, named: list[str]) -> None:
    result = start_with(**variables)

    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("django.core.exceptions.ImproperlyConfigured")
    for text in named:
        assert text in message


# README's "Production" section, with a throwaway secret key and service token.
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
    """``manage.py check --deploy --fail-level WARNING`` with production security and these service variables."""
    env = {key: value for key, value in service_free_environment().items() if not key.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**env, **PRODUCTION, **variables},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "variables",
    [
        {"REDIS_URL": "redis://cache.internal:6379/0", "DATABASE_URL": "mysql://root@db.internal:3306/hub"},
        {"FLASK_REDIS_HOST": "cache.internal", "FLASK_MYSQL_HOST": "db.internal"},
        {
            "FLASK_REDIS_HOST": "cache.internal",
            "OSS_BUCKET_NAME": "b",
            "OSS_REGION_ID": "cn-hangzhou",
            **OSS_CREDENTIALS,
        },
    ],
    ids=["hub-variables", "whalerun-variables", "whalerun-oss"],
)
def test_deploy_check_treats_whalerun_variables_as_the_hub_own(variables: dict[str, str]) -> None:
    result = deploy_check(LIST_CACHE_SECONDS="60", **variables)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_still_warns_on_a_per_process_cache_without_either_spelling() -> None:
    result = deploy_check(LIST_CACHE_SECONDS="60")

    assert result.returncode != 0
    assert "datasethub.W002" in result.stderr
