"""The hub's own signed download and ``fps`` upload endpoints for filesystem storage."""

import errno
import hashlib
import io
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from datasets.models import Workspace
from storage_configs import tokens
from storage_configs.backends import StorageBackend, backend_for, backend_for_storage
from storage_configs.models import StorageConfig
from storage_configs.services import storage_config_create

pytestmark = pytest.mark.django_db

DATA = b"\x00\x01 the hub keeps these bytes \xfe\xff"
SHA1 = hashlib.sha1(DATA).hexdigest()


@pytest.fixture
def local_config(storage_settings: object, workspace: Workspace) -> StorageConfig:
    return storage_config_create(workspace=workspace, name="local", kind="local", file_path="team/data")


@pytest.fixture
def local_backend(local_config: StorageConfig) -> StorageBackend:
    return backend_for(local_config)


def upload_form(backend: StorageBackend, *, key: str | None = None, data: bytes = DATA, **policy: int) -> dict:
    """The form the TensorBay SDK posts for ``fps``: the policy fields, the key, the file named by its sha1."""
    upload_policy = backend.upload_policy(
        object_prefix="seg/", expires_in=policy.get("expires_in", 240), max_size=policy.get("max_size", 1024)
    )
    fields = {name: value for name, value in upload_policy.fields.items() if name != "multipleUploadLimit"}
    sha1 = hashlib.sha1(data).hexdigest()
    return {**fields, "key": key or upload_policy.object_prefix + sha1, "file": SimpleUploadedFile(sha1, data)}


def test_upload_stores_the_file_under_its_sha1(client: Client, local_backend: StorageBackend) -> None:
    answer = client.post(reverse("storage_configs:upload"), upload_form(local_backend))

    assert answer.status_code == 201
    assert answer.json() == {}
    assert b"".join(local_backend.iter_chunks(f"seg/{SHA1}")) == DATA


def test_upload_of_an_existing_object_succeeds_again(client: Client, local_backend: StorageBackend) -> None:
    client.post(reverse("storage_configs:upload"), upload_form(local_backend))

    answer = client.post(reverse("storage_configs:upload"), upload_form(local_backend))

    assert answer.status_code == 201


def test_upload_policy_names_fps_and_an_absolute_hub_url(local_backend: StorageBackend) -> None:
    policy = local_backend.upload_policy(object_prefix="seg/", expires_in=240, max_size=1024)

    assert policy.backend_type == "fps"
    assert policy.host == "http://testserver" + reverse("storage_configs:upload")


def test_upload_whose_content_does_not_match_the_sha1_is_refused(client: Client, local_backend: StorageBackend) -> None:
    form = upload_form(local_backend, key="seg/" + hashlib.sha1(b"other").hexdigest())

    answer = client.post(reverse("storage_configs:upload"), form)

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid"
    assert local_backend.list("seg/").keys == []


def test_upload_with_a_tampered_token_is_refused(client: Client, local_backend: StorageBackend) -> None:
    form = upload_form(local_backend)
    form["token"] = form["token"][:-2] + ("AA" if not form["token"].endswith("AA") else "BB")

    answer = client.post(reverse("storage_configs:upload"), form)

    assert answer.status_code == 403
    assert answer.json()["code"] == "forbidden"


def test_upload_with_an_expired_token_is_refused(
    client: Client, local_backend: StorageBackend, local_config: StorageConfig
) -> None:
    grant = tokens.UploadGrant(storage=str(local_config.pk), prefix="seg/", max_size=1024, expires_at=1)
    form = {**upload_form(local_backend), "token": tokens.upload_token(grant)}

    answer = client.post(reverse("storage_configs:upload"), form)

    assert answer.status_code == 403


def test_upload_outside_the_signed_prefix_is_refused(client: Client, local_backend: StorageBackend) -> None:
    answer = client.post(reverse("storage_configs:upload"), upload_form(local_backend, key=f"elsewhere/{SHA1}"))

    assert answer.status_code == 403


@pytest.mark.parametrize("key", [f"seg/../../../{SHA1}", f"seg/../{SHA1}", f"seg/..\\{SHA1}"])
def test_upload_whose_key_climbs_out_is_refused(
    client: Client, local_backend: StorageBackend, settings: object, key: str
) -> None:
    answer = client.post(reverse("storage_configs:upload"), upload_form(local_backend, key=key))

    assert answer.status_code in (400, 403)
    assert not any(settings.STORAGE_LOCAL_ROOT.parent.glob(f"**/{SHA1}"))


def test_upload_larger_than_the_setting_is_refused(
    client: Client, local_backend: StorageBackend, settings: object
) -> None:
    settings.STORAGE_UPLOAD_MAX_SIZE = 10

    answer = client.post(reverse("storage_configs:upload"), upload_form(local_backend))

    assert answer.status_code == 413
    assert answer.json()["code"] == "too_large"


def test_upload_larger_than_the_policy_allows_is_refused(client: Client, local_backend: StorageBackend) -> None:
    answer = client.post(reverse("storage_configs:upload"), upload_form(local_backend, max_size=10))

    assert answer.status_code == 413


def test_upload_without_a_file_part_is_refused(client: Client, local_backend: StorageBackend) -> None:
    form = upload_form(local_backend)
    del form["file"]

    answer = client.post(reverse("storage_configs:upload"), form)

    assert answer.status_code == 400
    assert answer.json()["code"] == "missing"


def test_upload_with_two_file_parts_is_refused(client: Client, local_backend: StorageBackend) -> None:
    form = upload_form(local_backend)
    form["file"] = [SimpleUploadedFile(SHA1, DATA), SimpleUploadedFile(SHA1, DATA)]

    answer = client.post(reverse("storage_configs:upload"), form)

    assert answer.status_code == 400


def test_upload_answers_json_to_a_get(client: Client) -> None:
    answer = client.get(reverse("storage_configs:upload"))

    assert answer.status_code == 405
    assert answer.json()["code"] == "method_not_allowed"
    assert answer["Allow"] == "POST"


def test_download_streams_the_object(client: Client, local_backend: StorageBackend) -> None:
    local_backend.save("seg/file.bin", io.BytesIO(DATA))

    answer = client.get(local_backend.url("seg/file.bin", expires_in=60))

    assert answer.status_code == 200
    assert answer.streaming
    assert b"".join(answer.streaming_content) == DATA


def test_download_with_a_tampered_token_is_refused(client: Client, local_backend: StorageBackend) -> None:
    local_backend.save("seg/file.bin", io.BytesIO(DATA))
    url = local_backend.url("seg/file.bin", expires_in=60)

    answer = client.get(url[:-3] + ("xyz" if not url.endswith("xyz") else "abc"))

    assert answer.status_code == 403
    assert answer.json()["code"] == "forbidden"


def test_download_with_an_expired_token_is_refused(
    client: Client, local_backend: StorageBackend, local_config: StorageConfig
) -> None:
    local_backend.save("seg/file.bin", io.BytesIO(DATA))
    token = tokens.download_token(
        tokens.DownloadGrant(storage=str(local_config.pk), key="seg/file.bin", expires_at=int(time.time()) - 1)
    )

    answer = client.get(reverse("storage_configs:download", kwargs={"token": token}))

    assert answer.status_code == 403


def test_download_of_a_signed_key_that_climbs_out_is_refused(client: Client, local_config: StorageConfig) -> None:
    token = tokens.download_token(
        tokens.DownloadGrant(storage=str(local_config.pk), key="../../../etc/passwd", expires_at=2**40)
    )

    answer = client.get(reverse("storage_configs:download", kwargs={"token": token}))

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid"


def test_download_of_a_missing_object_answers_json_404(client: Client, local_backend: StorageBackend) -> None:
    answer = client.get(local_backend.url("seg/absent.bin", expires_in=60))

    assert answer.status_code == 404
    assert answer.json()["code"] == "storage_object_missing"


def test_download_of_a_deleted_config_answers_404(
    client: Client, local_backend: StorageBackend, local_config: StorageConfig
) -> None:
    local_backend.save("seg/file.bin", io.BytesIO(DATA))
    url = local_backend.url("seg/file.bin", expires_in=60)
    local_config.delete()

    answer = client.get(url)

    assert answer.status_code == 404


def test_hub_storage_serves_its_own_signed_urls(client: Client, storage_settings: object) -> None:
    hub = backend_for(None)
    hub.save("covers/a.png", io.BytesIO(DATA))

    answer = client.get(hub.url("covers/a.png", expires_in=60))

    assert b"".join(answer.streaming_content) == DATA


def test_unknown_storage_route_answers_json_404(client: Client) -> None:
    answer = client.get("/storage/nothing/here")

    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


def test_hub_default_config_keeps_its_objects_in_the_hub_storage_under_its_path(
    workspace: Workspace, storage_settings: object
) -> None:
    config = storage_config_create(
        workspace=workspace, name="hub", kind="oss", file_path="graviti/team", is_hub_default=True
    )

    backend_for(config).save("seg/a.bin", io.BytesIO(DATA))

    assert (storage_settings.MEDIA_ROOT / "graviti/team/seg/a.bin").read_bytes() == DATA


def test_download_url_lifetime_defaults_to_the_setting(
    client: Client, local_backend: StorageBackend, settings: object
) -> None:
    local_backend.save("seg/file.bin", io.BytesIO(DATA))
    settings.STORAGE_URL_EXPIRES = -1

    answer = client.get(local_backend.url("seg/file.bin"))

    assert answer.status_code == 403


def test_upload_larger_than_the_api_body_limit_keeps_its_own_limit(
    client: Client, local_backend: StorageBackend, settings: object
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    data = bytes(range(256)) * 256

    answer = client.post(reverse("storage_configs:upload"), upload_form(local_backend, data=data, max_size=1 << 20))

    assert answer.status_code == 201


class FailingStream(io.BytesIO):
    """Content whose source fails after its first bytes, as a disk or a client connection can."""

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() > 0:
            raise OSError(errno.EIO, "Input/output error")
        return super().read(1024)


def test_a_write_that_fails_half_way_leaves_the_object_as_it_was(
    local_backend: StorageBackend, local_config: StorageConfig
) -> None:
    local_backend.save("objects/a.bin", io.BytesIO(b"first"))

    with pytest.raises(OSError, match="Input/output error"):
        local_backend.save("objects/a.bin", FailingStream(bytes(4096)))

    assert b"".join(local_backend.iter_chunks("objects/a.bin")) == b"first"
    assert list(local_backend.iter_keys()) == ["objects/a.bin"]
    directory = Path(local_backend.storage.path(local_backend.name("objects")))
    assert [path.name for path in directory.iterdir()] == ["a.bin"]


@pytest.mark.parametrize("failure", [errno.ENOSPC, errno.EIO])
def test_upload_to_a_full_or_failing_disk_is_503_and_keeps_nothing(
    client: Client, local_backend: StorageBackend, monkeypatch: pytest.MonkeyPatch, failure: int
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(failure, os.strerror(failure), "/secret-disk-path")

    monkeypatch.setattr(FileSystemStorage, "_save", fail)
    answer = client.post(reverse("storage_configs:upload"), upload_form(local_backend))

    assert (answer.status_code, answer.json()) == (503, {"code": "unavailable", "message": "storage unavailable"})
    assert b"secret-disk-path" not in answer.content
    monkeypatch.undo()
    assert list(local_backend.iter_keys()) == []
    assert client.post(reverse("storage_configs:upload"), upload_form(local_backend)).status_code == 201


def same_within_a_second(make: Callable[[], object], expected: Callable[[], object]) -> bool:
    """Whether two ways of signing agree; signatures carry the second they were made, so retry across one."""
    return any(make() == expected() for _ in range(3))


@pytest.mark.parametrize("key", ["a.bin", "objects/" + "ab" * 20, "路径/数据 file.jpg"])
def test_a_page_signer_makes_the_tokens_download_token_makes(key: str) -> None:
    grant = tokens.DownloadGrant(storage="hub", key=key, expires_at=int(time.time()) + 3600)

    assert same_within_a_second(lambda: tokens.DownloadSigner().token(grant), lambda: tokens.download_token(grant))
    assert tokens.download_grant(tokens.DownloadSigner().token(grant)) == grant


def test_a_page_of_signed_urls_is_what_url_signs_one_by_one(tmp_path: Path) -> None:
    backend = backend_for_storage(FileSystemStorage(location=tmp_path))
    keys = ["a.bin", "b/c.bin", "数据.bin"]

    assert same_within_a_second(
        lambda: backend.urls(keys, base_url="https://hub.example.org"),
        lambda: [backend.url(key, base_url="https://hub.example.org") for key in keys],
    )
