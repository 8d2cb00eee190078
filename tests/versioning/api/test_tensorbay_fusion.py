"""TensorBay v1 fusion datasets over HTTP: sensors, frames through the callbacks, frame-ordered listing."""

import hashlib
import io
from pathlib import Path

import pytest
from django.conf import LazySettings
from rest_framework.test import APIClient

from datasets import selectors as catalog
from datasets import services
from datasets.models import Dataset, User
from project import errors
from storage_configs.backends import hub_backend
from versioning import selectors as versioning_selectors

pytestmark = pytest.mark.django_db

P = "/gatewayv2/tensorbay-open-api/v1"
FRAME = "01GZ6T7Y3C0000000000000000"


@pytest.fixture(autouse=True)
def hub_storage(settings: LazySettings, tmp_path: Path) -> None:
    """The hub's own storage under a temporary directory, its URLs on the test server."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGE_PUBLIC_URL = "http://testserver"


@pytest.fixture
def dataset(user: User) -> Dataset:
    return services.dataset_create(
        workspace=services.personal_workspace(user=user), creator=user, name="drive", kind=Dataset.Kind.FUSION
    )


@pytest.fixture
def client(api_client: APIClient, access_key: str) -> APIClient:
    """Ada's client."""
    api_client.credentials(HTTP_X_TOKEN=access_key)
    return api_client


@pytest.fixture
def ds(dataset: Dataset) -> str:
    """The dataset's path."""
    return f"{P}/datasets/{dataset.hex_id}"


def ok(response: object, status: int = 200) -> dict:
    assert response.status_code == status, response.content  # type: ignore[attr-defined]
    return response.json()  # type: ignore[attr-defined]


def error(response: object) -> tuple[int, str]:
    return response.status_code, response.json()["code"]  # type: ignore[attr-defined]


def draft(client: APIClient, ds: str) -> int:
    return ok(client.post(f"{ds}/drafts", {"title": "t", "branchName": "main"}, "json"))["draftNumber"]


def put_object(dataset: Dataset, content: bytes) -> tuple[str, int]:
    """Store an object as an upload would; return its sha1 and size."""
    sha1 = hashlib.sha1(content).hexdigest()
    hub_backend().save(catalog.dataset_object_key(dataset=dataset, sha1=sha1), io.BytesIO(content))
    return sha1, len(content)


def frame_object(dataset: Dataset, content: bytes, remote_path: str, sensor: str, frame_id: str = FRAME) -> dict:
    sha1, size = put_object(dataset, content)
    return {"checksum": sha1, "fileSize": size, "remotePath": remote_path, "frameId": frame_id, "sensorName": sensor}


def callback(client: APIClient, ds: str, number: int, objects: list[dict], segment: str = "seq1") -> object:
    body = {"segmentName": segment, "objects": objects, "draftNumber": number}
    return client.put(f"{ds}/multi/callback", body, "json")


def staged_entries(dataset: Dataset, number: int, segment: str = "seq1") -> list:
    revision = versioning_selectors.revision_resolve(dataset=dataset, revision=number)
    try:
        return list(versioning_selectors.entry_list(revision=revision, segment=segment).items)
    except errors.NotFound:
        return []


def test_frame_data_is_refused_rather_than_stored_flat(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    objects = [
        frame_object(dataset, b"camera", "000.bin", "CAM_FRONT"),
        frame_object(dataset, b"lidar", "000.bin", "LIDAR_TOP"),
    ]

    response = callback(client, ds, number, objects)

    assert error(response) == (403, "Forbidden")
    assert response.json()["message"] == "fusion datasets are not supported yet"  # type: ignore[attr-defined]
    assert staged_entries(dataset, number) == []


def test_cloud_frame_data_is_refused(client: APIClient, ds: str) -> None:
    number = draft(client, ds)
    item = {"cloudPath": "a/000.bin", "remotePath": "000.bin", "frameId": FRAME, "sensorName": "LIDAR_TOP"}
    body = {"segmentName": "seq1", "objects": [item], "deleteSource": False, "draftNumber": number}

    assert error(client.put(f"{ds}/multi/cloud-callback", body, "json")) == (403, "Forbidden")


def test_frame_keys_on_a_normal_dataset_change_nothing(client: APIClient, user: User) -> None:
    normal = services.dataset_create(workspace=services.personal_workspace(user=user), creator=user, name="plain")
    path = f"{P}/datasets/{normal.hex_id}"
    number = draft(client, path)

    ok(callback(client, path, number, [frame_object(normal, b"camera", "000.bin", "CAM_FRONT")]))

    assert [entry.remote_path for entry in staged_entries(normal, number)] == ["000.bin"]
