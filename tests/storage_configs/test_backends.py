"""The behaviour every storage backend shares, run against each real server (see conftest.py)."""

import hashlib
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import oss2
import pytest
import requests
from django.conf import LazySettings

from project import errors
from project.settings import default_storage_from_environment
from storage_configs.backends import StorageBackend, backend_for, backend_for_storage
from storage_configs.models import StorageConfig
from storage_configs.oss import OssStorage
from storage_configs.selectors import storage_object_check

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

PAYLOAD = bytes(range(256)) * 64 + b"tail"


def sdk_upload(backend: StorageBackend, data: bytes, *, filename_type: str = "image/png") -> requests.Response:
    """Upload as the TensorBay SDK does for the policy's ``backendType`` (spec §4.10), with plain HTTP."""
    policy = backend.upload_policy(object_prefix="uploads/", expires_in=240, max_size=1024 * 1024)
    sha1 = hashlib.sha1(data).hexdigest()
    fields = {name: value for name, value in policy.fields.items() if name != "multipleUploadLimit"}
    if policy.backend_type == "azure":
        url = policy.host + policy.object_prefix + sha1 + "?" + fields["token"]
        headers = {"x-ms-blob-type": fields["x-ms-blob-type"], "x-ms-blob-content-type": filename_type}
        return requests.put(url, data=data, headers=headers, timeout=30)
    form = {**fields, "key": policy.object_prefix + sha1}
    if "x-amz-date" in fields:
        form["Content-Type"] = filename_type
    filename = sha1 if policy.backend_type == "fps" else ""
    return requests.post(policy.host, data=form, files={"file": (filename, data, filename_type)}, timeout=30)


def test_saved_object_exists_with_its_size(backend: StorageBackend) -> None:
    backend.save("objects/a.bin", io.BytesIO(PAYLOAD))

    assert backend.exists("objects/a.bin")
    assert backend.size("objects/a.bin") == len(PAYLOAD)


def test_missing_object_neither_exists_nor_has_a_size(backend: StorageBackend) -> None:
    assert not backend.exists("objects/absent.bin")
    with pytest.raises(errors.StorageObjectMissing):
        backend.size("objects/absent.bin")


def test_opening_a_missing_object_is_refused(backend: StorageBackend) -> None:
    with pytest.raises(errors.StorageObjectMissing):
        b"".join(backend.iter_chunks("objects/absent.bin"))


def test_object_reads_back_in_chunks(backend: StorageBackend) -> None:
    backend.save("objects/a.bin", io.BytesIO(PAYLOAD))

    chunks = list(backend.iter_chunks("objects/a.bin", chunk_size=4096))

    assert b"".join(chunks) == PAYLOAD
    assert max(len(chunk) for chunk in chunks) <= 4096


def test_saving_again_replaces_the_object_under_the_same_key(backend: StorageBackend) -> None:
    backend.save("objects/a.bin", io.BytesIO(b"first"))
    backend.save("objects/a.bin", io.BytesIO(b"second!"))

    assert b"".join(backend.iter_chunks("objects/a.bin")) == b"second!"


def test_deleted_object_is_gone(backend: StorageBackend) -> None:
    backend.save("objects/a.bin", io.BytesIO(PAYLOAD))

    backend.delete("objects/a.bin")

    assert not backend.exists("objects/a.bin")


def test_listing_pages_through_2500_keys_in_order(backend: StorageBackend) -> None:
    """2,500 keys in pages of 1,000; for OSS the pages come from moto via the namespace proxy (conftest)."""
    names = [f"many/{number:05d}.txt" for number in range(2500)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda name: backend.save(name, io.BytesIO(b"x")), names))
    backend.save("other/outside.txt", io.BytesIO(b"x"))

    pages = []
    marker = ""
    while True:
        page = backend.list("many/", marker=marker, limit=1000)
        pages.append(page.keys)
        if not page.next_marker:
            break
        marker = page.next_marker

    assert [len(keys) for keys in pages] == [1000, 1000, 500]
    assert [key for keys in pages for key in keys] == names


def test_iterating_keys_covers_every_page(backend: StorageBackend) -> None:
    names = [f"few/{number:02d}" for number in range(25)]
    for name in names:
        backend.save(name, io.BytesIO(b"x"))

    assert list(backend.iter_keys("few/", page_size=10)) == names


def test_listing_keeps_keys_relative_to_the_config_file_path(backend: StorageBackend) -> None:
    backend.save("dir/file.txt", io.BytesIO(b"x"))

    assert backend.list("dir/").keys == ["dir/file.txt"]
    assert backend.list("nothing-here/").keys == []


def test_signed_url_serves_the_bytes_over_plain_http(backend: StorageBackend) -> None:
    backend.save("objects/a.bin", io.BytesIO(PAYLOAD))

    answer = requests.get(backend.url("objects/a.bin", expires_in=300), timeout=30)

    assert answer.status_code == 200
    assert answer.content == PAYLOAD


def test_upload_policy_fields_are_strings_and_carry_the_upload_limit(backend: StorageBackend) -> None:
    policy = backend.upload_policy(object_prefix="uploads/", expires_in=240, max_size=1024)

    assert "multipleUploadLimit" in policy.fields
    assert all(isinstance(value, str) for value in policy.fields.values())
    assert policy.host.startswith("http")
    assert policy.backend_type in ("s3", "oss", "azure", "fps")


def test_direct_upload_with_the_policy_stores_the_object(backend: StorageBackend) -> None:
    data = b"\x00\xff\x10 binary payload \x80"
    sha1 = hashlib.sha1(data).hexdigest()

    answer = sdk_upload(backend, data)

    assert answer.status_code in (200, 201), answer.text
    assert b"".join(backend.iter_chunks(f"uploads/{sha1}")) == data


def test_existence_check_returns_the_size_of_a_stored_object(
    backend: StorageBackend, storage_config: StorageConfig
) -> None:
    backend.save("objects/a.bin", io.BytesIO(PAYLOAD))

    assert storage_object_check(storage_config=storage_config, key="objects/a.bin", size=len(PAYLOAD)) == len(PAYLOAD)


def test_existence_check_refuses_a_missing_object(storage_config: StorageConfig) -> None:
    with pytest.raises(errors.StorageObjectMissing):
        storage_object_check(storage_config=storage_config, key="objects/absent.bin")


def test_existence_check_refuses_an_object_of_another_size(
    backend: StorageBackend, storage_config: StorageConfig
) -> None:
    backend.save("objects/a.bin", io.BytesIO(PAYLOAD))

    with pytest.raises(errors.StorageObjectMissing):
        storage_object_check(storage_config=storage_config, key="objects/a.bin", size=len(PAYLOAD) + 1)


@pytest.mark.parametrize("key", ["../escape", "objects/../../escape", "/absolute", "back\\slash", "objects/./a"])
def test_key_that_could_leave_the_file_path_is_refused(backend: StorageBackend, key: str) -> None:
    with pytest.raises(errors.Invalid):
        backend.exists(key)


def test_connection_check_passes_with_valid_credentials(backend: StorageBackend) -> None:
    backend.check_connection()


@pytest.mark.parametrize("kind", ["s3", "azure", "oss"])
def test_hub_storage_chosen_by_environment_stores_in_that_backend(
    kind: str,
    make_storage_config: Callable[[str], StorageConfig],
    monkeypatch: pytest.MonkeyPatch,
    settings: LazySettings,
) -> None:
    config = make_storage_config(kind)
    environment = {
        "s3": {
            "STORAGE_S3_BUCKET": config.bucket,
            "STORAGE_S3_ACCESS_KEY_ID": config.access_key_id,
            "STORAGE_S3_SECRET_ACCESS_KEY": config.get_secret(),
            "STORAGE_S3_ENDPOINT_URL": config.endpoint,
        },
        "azure": {
            "STORAGE_AZURE_CONTAINER": config.bucket,
            "STORAGE_AZURE_ACCOUNT_NAME": config.access_key_id,
            "STORAGE_AZURE_ACCOUNT_KEY": config.get_secret(),
            "STORAGE_AZURE_ENDPOINT": config.endpoint,
        },
        "oss": {
            "STORAGE_OSS_BUCKET": config.bucket,
            "STORAGE_OSS_ACCESS_KEY_ID": config.access_key_id,
            "STORAGE_OSS_ACCESS_KEY_SECRET": config.get_secret(),
            "STORAGE_OSS_ENDPOINT": config.endpoint,
        },
    }[kind]
    monkeypatch.setenv("STORAGE_BACKEND", kind)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings.STORAGE_BACKEND, default = default_storage_from_environment()
    settings.STORAGES = {**settings.STORAGES, "default": default}

    backend_for(None).save("hub/object.bin", io.BytesIO(PAYLOAD))

    assert backend_for(config).storage.exists("hub/object.bin")
    assert requests.get(backend_for(None).url("hub/object.bin", expires_in=60), timeout=30).content == PAYLOAD


def test_sts_session_token_signs_requests_and_rides_in_upload_policies() -> None:
    storage = OssStorage(
        endpoint="oss-cn-hangzhou.aliyuncs.com",
        bucket_name="whale-data",
        access_key_id="STS.id",
        access_key_secret="sts-secret",
        security_token="sts-token",
    )

    policy = backend_for_storage(storage).upload_policy(object_prefix="uploads/", expires_in=60)

    assert isinstance(storage.bucket.auth, oss2.StsAuth)
    assert "security-token=sts-token" in storage.url("uploads/cat.jpg")
    assert policy.fields["x-oss-security-token"] == "sts-token"
