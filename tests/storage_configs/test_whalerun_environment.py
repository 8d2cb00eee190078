"""A hub configured only by the whale.run service's variables serves whale.run from their services.

Each test starts gunicorn in a subprocess with one group of the seed's variables (and the hub's own variable
of that group blanked out), sends it whale.run requests, and looks where the data went.
"""

import hashlib
import os
import uuid
from contextlib import AbstractContextManager
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
import redis
import requests
from django.db import connection

from datasets.models import DatasetFile, User
from tests.acceptance.conftest import HubServer, running_hub
from tests.storage_configs.conftest import OSS_SECRET, PublicOssEndpoint, unique

pytestmark = pytest.mark.django_db(transaction=True)

CONTENT = b"whale.run object bytes"
# The hub's own spelling of each group, blanked so only the seed's variables configure the service.
HUB_STORAGE_BLANK = {
    name: ""
    for name in (
        "STORAGE_BACKEND",
        "STORAGE_OSS_ENDPOINT",
        "STORAGE_OSS_BUCKET",
        "STORAGE_OSS_ACCESS_KEY_ID",
        "STORAGE_OSS_ACCESS_KEY_SECRET",
        "STORAGE_OSS_MOUNT_POINT",
    )
}


@pytest.fixture
def whale_user() -> User:
    return User.objects.create(username=f"whale-{uuid.uuid4().hex[:8]}")


def whalerun_hub(directory: Path, env: dict[str, str]) -> AbstractContextManager[HubServer]:
    """One small gunicorn over plain http with these variables on top of the test's environment."""
    return running_hub(directory, tls=False, workers=1, threads=2, env=env)


def register(hub: HubServer, user: User, oss_object: str, size: int = len(CONTENT)) -> dict:
    """``POST /api/dataset_files/`` and return the body."""
    body = {"user_id": user.pk, "name": "cat.jpg", "oss_object": oss_object, "size": size}
    return requests.post(f"{hub.url}api/dataset_files/", json=body, timeout=60).json()


def seed_oss_environment(endpoint: PublicOssEndpoint, bucket: str) -> dict[str, str]:
    """The seed's OSS variables and ``oss2``'s environment credentials, nothing of the hub's."""
    return {
        **HUB_STORAGE_BLANK,
        **endpoint.client_environment(),
        "OSS_BUCKET_NAME": bucket,
        "OSS_REGION_ID": endpoint.region,
        "OSS_ACCESS_KEY_ID": "LTAITEST",
        "OSS_ACCESS_KEY_SECRET": OSS_SECRET,
    }


@pytest.fixture
def bucket(moto_endpoint: str) -> str:
    """A fresh bucket on moto, reached by the hub as ``<bucket>.oss-cn-hangzhou.aliyuncs.com``."""
    name = unique("whale-oss")
    client = boto3.client("s3", endpoint_url=moto_endpoint, aws_access_key_id="LTAITEST", aws_secret_access_key="x")
    client.create_bucket(Bucket=name)
    return name


def put_object(moto_endpoint: str, bucket: str, key: str) -> None:
    """Store the content in the bucket directly."""
    client = boto3.client("s3", endpoint_url=moto_endpoint, aws_access_key_id="LTAITEST", aws_secret_access_key="x")
    client.put_object(Bucket=bucket, Key=key, Body=CONTENT)


def test_whalerun_file_is_checked_in_the_oss_bucket_the_seed_variables_name(
    oss_public: PublicOssEndpoint, moto_endpoint: str, bucket: str, whale_user: User, tmp_path: Path
) -> None:
    put_object(moto_endpoint, bucket, "uploads/cat.jpg")

    with whalerun_hub(tmp_path, seed_oss_environment(oss_public, bucket)) as hub:
        found = register(hub, whale_user, "uploads/cat.jpg")
        missing = register(hub, whale_user, "uploads/dog.jpg")

    assert found["code"] == 0, found
    assert found["data"]["dataset_file"]["size"] == len(CONTENT)
    assert DatasetFile.objects.get(user=whale_user).sha1 == hashlib.sha1(CONTENT).hexdigest()
    assert missing == {"code": 1430, "message": "oss对象不存在", "data": {}}


def test_whalerun_file_is_checked_and_read_through_the_oss_mount_point(
    oss_public: PublicOssEndpoint, moto_endpoint: str, bucket: str, whale_user: User, tmp_path: Path
) -> None:
    mount = tmp_path / "ossfs"
    (mount / "uploads").mkdir(parents=True)
    (mount / "uploads" / "cat.jpg").write_bytes(CONTENT)
    # In the bucket but not under the mount: whale.run checks the mount, so it does not find it.
    put_object(moto_endpoint, bucket, "uploads/only-in-bucket.jpg")
    env = {**seed_oss_environment(oss_public, bucket), "OSS_MOUNT_POINT": str(mount)}

    with whalerun_hub(tmp_path / "hub", env) as hub:
        found = register(hub, whale_user, "uploads/cat.jpg")
        not_mounted = register(hub, whale_user, "uploads/only-in-bucket.jpg")
        # The health check writes, reads and deletes an object: through the OSS API, not the mount.
        health = requests.get(f"{hub.url}healthz", timeout=60)

    assert found["code"] == 0, found
    assert DatasetFile.objects.get(user=whale_user).sha1 == hashlib.sha1(CONTENT).hexdigest()
    assert not_mounted["code"] == 1430
    assert health.status_code == 200, health.text
    assert sorted(path.name for path in mount.rglob("*")) == ["cat.jpg", "uploads"]


def test_flask_redis_and_logfile_give_the_cache_and_the_log_file(whale_user: User, tmp_path: Path) -> None:
    location = urlsplit(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14"))
    database = int(location.path.strip("/") or 0)
    cache = redis.Redis(host=location.hostname or "localhost", port=location.port or 6379, db=database)
    try:
        cache.ping()
    except redis.RedisError:
        pytest.skip(f"service unavailable: no Redis at {location.geturl()} (set TEST_REDIS_URL)")
    prefix = f"whale-{uuid.uuid4().hex}"
    log_file = tmp_path / "whalerun_dataset.log"
    env = {
        "REDIS_URL": "",
        "FLASK_REDIS_HOST": location.hostname or "localhost",
        "FLASK_REDIS_PORT": str(location.port or 6379),
        "FLASK_REDIS_DB": str(database),
        "CACHE_KEY_PREFIX": prefix,
        "LIST_CACHE_SECONDS": "60",
        "LOG_FILE": "",
        "FLASK_LOGFILE": str(log_file),
    }

    try:
        with whalerun_hub(tmp_path / "hub", env) as hub:
            listed = requests.get(f"{hub.url}api/datasets/", timeout=60)
            refused = register(hub, whale_user, "uploads/missing.jpg")
        cached = cache.keys(f"{prefix}:*")
    finally:
        for key in cache.scan_iter(f"{prefix}:*"):
            cache.delete(key)

    assert listed.json()["code"] == 0
    assert cached, "the list page was not cached in the Redis database FLASK_REDIS_* name"
    assert refused["code"] == 1430
    assert "WARNING django.request: Bad Request: /api/dataset_files/" in log_file.read_text()


@pytest.mark.mysql_only
def test_flask_mysql_variables_give_the_database(whale_user: User, tmp_path: Path) -> None:
    database = connection.settings_dict
    env = {
        "DATABASE_URL": "",
        "FLASK_MYSQL_HOST": database["HOST"] or "localhost",
        "FLASK_MYSQL_PORT": str(database["PORT"] or 3306),
        "FLASK_MYSQL_USER": database["USER"],
        "FLASK_MYSQL_PASSWORD": database["PASSWORD"] or "",
        "FLASK_MYSQL_DB": database["NAME"],
    }

    with whalerun_hub(tmp_path, env) as hub:
        (hub.media_root / "uploads").mkdir()
        (hub.media_root / "uploads" / "cat.jpg").write_bytes(CONTENT)
        found = register(hub, whale_user, "uploads/cat.jpg")

    assert found["code"] == 0, found
    assert DatasetFile.objects.get(pk=found["data"]["dataset_file"]["id"]).user == whale_user
