"""The TensorBay upload flow over HTTP on each storage: policies, uploads the SDK's way, callbacks, cloud files."""

import hashlib
import io
import time

import boto3
import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from datasets import selectors as catalog
from datasets import services
from datasets.models import Dataset, Membership, User, Workspace
from storage_configs.backends import backend_for
from storage_configs.models import StorageConfig
from tests.factories import UserFactory
from tests.storage_configs.conftest import S3_SECRET, make_config

pytestmark = pytest.mark.django_db

P = "/gatewayv2/tensorbay-open-api/v1"


@pytest.fixture
def owner(workspace: Workspace) -> User:
    services.membership_set(workspace=workspace, user=workspace.owner, role=Membership.Role.OWNER)
    return workspace.owner


@pytest.fixture
def client(owner: User, workspace: Workspace) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_X_TOKEN=services.access_key_create(user=owner, workspace=workspace)[1])
    return client


def dataset_on(workspace: Workspace, owner: User, config: StorageConfig | None) -> Dataset:
    return services.dataset_create(workspace=workspace, creator=owner, name="ds", storage_config=config)


def open_draft(client: APIClient, dataset: Dataset) -> int:
    response = client.post(f"{P}/datasets/{dataset.hex_id}/drafts", {"title": "t", "branchName": "main"}, "json")
    return response.json()["draftNumber"]


def policy(client: APIClient, dataset: Dataset, number: int) -> dict:
    response = client.get(
        f"{P}/datasets/{dataset.hex_id}/policies", {"expired": 240, "segmentName": "seg", "draftNumber": number}
    )
    assert response.status_code == 200, response.content
    return response.json()


def callback(client: APIClient, dataset: Dataset, number: int, content: bytes, path: str = "a.bin") -> object:
    obj = {"checksum": hashlib.sha1(content).hexdigest(), "fileSize": len(content), "remotePath": path}
    body = {"segmentName": "seg", "objects": [obj], "draftNumber": number}
    return client.put(f"{P}/datasets/{dataset.hex_id}/multi/callback", body, "json")


def read_back(client: APIClient, dataset: Dataset, number: int) -> bytes:
    details = client.get(
        f"{P}/datasets/{dataset.hex_id}/data/details", {"segmentName": "seg", "draftNumber": number}
    ).json()["dataDetails"]
    url = details[0]["url"]
    if url.startswith("http://testserver/"):
        response = APIClient().get(url)
        return b"".join(response.streaming_content)
    return requests.get(url, timeout=30).content


def sdk_upload(answer: dict, content: bytes) -> requests.Response:
    """Send the bytes the way the SDK does for the policy's backend type."""
    result = {name: value for name, value in answer["result"].items() if name != "multipleUploadLimit"}
    extra, sha1 = answer["extra"], hashlib.sha1(content).hexdigest()
    if extra["backendType"] == "azure":
        url = f"{extra['host']}{extra['objectPrefix']}{sha1}?{result['token']}"
        return requests.put(url, data=content, headers={"x-ms-blob-type": result["x-ms-blob-type"]}, timeout=30)
    fields = {**result, "key": extra["objectPrefix"] + sha1}
    if "x-amz-date" in result:
        fields["Content-Type"] = "application/octet-stream"
    filename = sha1 if extra["backendType"] == "fps" else ""
    return requests.post(extra["host"], data=fields, files={"file": (filename, content)}, timeout=30)


def test_policy_of_the_hub_storage_is_fps_with_string_fields(
    client: APIClient, workspace: Workspace, owner: User
) -> None:
    dataset = dataset_on(workspace, owner, None)
    answer = policy(client, dataset, open_draft(client, dataset))
    assert answer["result"]["multipleUploadLimit"] == "50"
    assert all(isinstance(value, str) for value in answer["result"].values())
    assert answer["extra"] == {
        "objectPrefix": f"{dataset.hex_id}/",
        "host": "http://testserver/storage/uploads",
        "backendType": "fps",
    }
    assert answer["expireAt"] > time.time()


def test_an_fps_upload_then_callback_registers_the_bytes(client: APIClient, workspace: Workspace, owner: User) -> None:
    dataset = dataset_on(workspace, owner, None)
    number = open_draft(client, dataset)
    answer = policy(client, dataset, number)
    content = bytes(range(256)) * 3
    sha1 = hashlib.sha1(content).hexdigest()
    upload = APIClient().post(
        "/storage/uploads",
        {
            "token": answer["result"]["token"],
            "key": answer["extra"]["objectPrefix"] + sha1,
            "file": SimpleUploadedFile(sha1, content),
        },
        format="multipart",
    )
    assert upload.status_code == 201
    assert callback(client, dataset, number, content).status_code == 200
    assert read_back(client, dataset, number) == content


def test_an_fps_upload_under_another_hash_is_refused(client: APIClient, workspace: Workspace, owner: User) -> None:
    dataset = dataset_on(workspace, owner, None)
    number = open_draft(client, dataset)
    answer = policy(client, dataset, number)
    upload = APIClient().post(
        "/storage/uploads",
        {
            "token": answer["result"]["token"],
            "key": answer["extra"]["objectPrefix"] + "a" * 40,
            "file": SimpleUploadedFile("a", b"x"),
        },
        format="multipart",
    )
    assert upload.status_code == 400
    response = client.put(
        f"{P}/datasets/{dataset.hex_id}/multi/callback",
        {
            "segmentName": "seg",
            "objects": [{"checksum": "a" * 40, "fileSize": 1, "remotePath": "x"}],
            "draftNumber": number,
        },
        "json",
    )
    assert response.json() == {"code": "InvalidParamsValue", "message": "storage object does not exist"}


@pytest.mark.parametrize("kind", ["s3", "azure", "local"])
def test_upload_the_sdk_way_on_each_storage_config(
    kind: str, client: APIClient, workspace: Workspace, owner: User, request: pytest.FixtureRequest, live_server: object
) -> None:
    config = make_config(kind, request, workspace)
    dataset = dataset_on(workspace, owner, config)
    number = open_draft(client, dataset)
    answer = policy(client, dataset, number)
    assert answer["extra"]["backendType"] == {"s3": "s3", "azure": "azure", "local": "fps"}[kind]
    assert all(isinstance(value, str) for value in answer["result"].values())
    content = b"\x00\x01payload" + bytes(range(200))
    # The hub signs URLs for STORAGE_PUBLIC_URL; the SDK reaches the live server.
    answer["extra"]["host"] = answer["extra"]["host"].replace("http://testserver", live_server.url)  # type: ignore[attr-defined]
    assert sdk_upload(answer, content).status_code in (200, 201)
    response = callback(client, dataset, number, content)
    assert response.status_code == 200, response.content
    assert read_back(client, dataset, number) == content


def test_a_callback_for_an_object_with_other_content_is_refused(
    client: APIClient, workspace: Workspace, owner: User, request: pytest.FixtureRequest
) -> None:
    config = make_config("s3", request, workspace)
    dataset = dataset_on(workspace, owner, config)
    number = open_draft(client, dataset)
    claimed = b"the real content"
    key = catalog.dataset_object_key(dataset=dataset, sha1=hashlib.sha1(claimed).hexdigest())
    backend_for(config).save(key, io.BytesIO(b"other content 1!"))  # same size, other bytes
    response = callback(client, dataset, number, claimed)
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParamsValue"


def test_cloud_files_list_sign_and_import(
    client: APIClient, workspace: Workspace, owner: User, request: pytest.FixtureRequest
) -> None:
    config = make_config("s3", request, workspace)
    s3 = boto3.client("s3", endpoint_url=config.endpoint, aws_access_key_id="AKIATEST", aws_secret_access_key=S3_SECRET)
    for name in ("cloud/a.jpg", "cloud/b.jpg"):
        s3.put_object(Bucket=config.bucket, Key=f"datasets/{name}", Body=name.encode())
    first = client.get(f"{P}/cloud/s3-config/files", {"prefix": "cloud/", "limit": 1}).json()
    assert (first["cloudFiles"], first["truncated"]) == (["cloud/a.jpg"], True)
    rest = client.get(f"{P}/cloud/s3-config/files", {"prefix": "cloud/", "limit": 1, "marker": first["nextMarker"]})
    assert (rest.json()["cloudFiles"], rest.json()["truncated"]) == (["cloud/b.jpg"], False)
    url = client.get(f"{P}/cloud/s3-config/files/urls", {"filePath": "cloud/a.jpg"}).json()["url"]
    assert requests.get(url, timeout=30).content == b"cloud/a.jpg"
    dataset = dataset_on(workspace, owner, config)
    number = open_draft(client, dataset)
    catalog = {"catalog": {"CLASSIFICATION": {}}, "draftNumber": number}
    assert client.put(f"{P}/datasets/{dataset.hex_id}/labels/catalogs", catalog, "json").json() == {}
    body = {
        "segmentName": "seg",
        "objects": [{"cloudPath": "cloud/a.jpg", "remotePath": "a.jpg", "label": {"CLASSIFICATION": {}}}],
        "deleteSource": False,
        "draftNumber": number,
    }
    assert client.put(f"{P}/datasets/{dataset.hex_id}/multi/cloud-callback", body, "json").json() == {}
    assert read_back(client, dataset, number) == b"cloud/a.jpg"


def test_cloud_callback_needs_an_authorised_storage_config(
    client: APIClient, workspace: Workspace, owner: User
) -> None:
    dataset = dataset_on(workspace, owner, None)
    number = open_draft(client, dataset)
    body = {"segmentName": "s", "objects": [{"cloudPath": "a", "remotePath": "a"}], "draftNumber": number}
    response = client.put(f"{P}/datasets/{dataset.hex_id}/multi/cloud-callback", body, "json")
    assert response.status_code == 403
    assert response.json() == {
        "code": "Forbidden",
        "message": "only datasets on an authorised storage config import cloud files",
    }


def test_policy_errors(client: APIClient, workspace: Workspace, owner: User) -> None:
    dataset = dataset_on(workspace, owner, None)
    number = open_draft(client, dataset)
    path = f"{P}/datasets/{dataset.hex_id}/policies"
    assert client.get(path, {"segmentName": "s"}).json() == {
        "code": "RequestParamsMissing",
        "message": "draftNumber is required",
    }
    assert client.get(path, {"draftNumber": number, "expired": 0}).json()["code"] == "InvalidParamsValue"
    assert client.get(path, {"draftNumber": 99}).json()["code"] == "ResourceNotExist"
    client.patch(f"{P}/datasets/{dataset.hex_id}/drafts/{number}", {"status": "CLOSED"}, "json")
    assert client.get(path, {"draftNumber": number}).json() == {"code": "Forbidden", "message": "draft 1 is not open"}


def test_a_reader_gets_no_upload_policy(client: APIClient, workspace: Workspace, owner: User) -> None:
    dataset = dataset_on(workspace, owner, None)
    number = open_draft(client, dataset)
    reader = UserFactory(username="reader")
    services.membership_set(workspace=workspace, user=reader, role=Membership.Role.READER)
    reader_client = APIClient(raise_request_exception=False)
    reader_client.credentials(HTTP_X_TOKEN=services.access_key_create(user=reader, workspace=workspace)[1])
    response = reader_client.get(f"{P}/datasets/{dataset.hex_id}/policies", {"draftNumber": number})
    assert (response.status_code, response.json()["code"]) == (403, "AccessDenied")


FRAME = "01GZ6T7Y3C0000000000000000"


@pytest.mark.services
@pytest.mark.parametrize("kind", ["s3", "azure", "oss"])
def test_cloud_files_are_imported_into_a_fusion_datasets_frames(
    kind: str, client: APIClient, workspace: Workspace, owner: User, request: pytest.FixtureRequest
) -> None:
    config = make_config(kind, request, workspace)
    backend = backend_for(config)
    files = {"CAM": ("cam/000.bin", b"camera bytes"), "LIDAR": ("lidar/000.bin", b"lidar bytes")}
    for cloud_path, content in files.values():
        backend.save(cloud_path, io.BytesIO(content))
    dataset = services.dataset_create(
        workspace=workspace, creator=owner, name="drive", storage_config=config, kind=Dataset.Kind.FUSION
    )
    path = f"{P}/datasets/{dataset.hex_id}"
    number = open_draft(client, dataset)
    assert client.post(f"{path}/segments", {"name": "seq", "draftNumber": number}, "json").status_code == 200
    for sensor in files:
        body = {"name": sensor, "type": "LIDAR", "segmentName": "seq", "draftNumber": number}
        assert client.post(f"{path}/sensors", body, "json").status_code == 200

    for sensor, (cloud_path, _) in files.items():
        item = {"cloudPath": cloud_path, "remotePath": "000.bin", "frameId": FRAME, "sensorName": sensor}
        body = {"segmentName": "seq", "objects": [item], "deleteSource": False, "draftNumber": number}
        response = client.put(f"{path}/multi/cloud-callback", body, "json")
        assert response.status_code == 200, response.content

    query = {"segmentName": "seq", "draftNumber": number}
    [frame] = client.get(f"{path}/data/details", query).json()["dataDetails"]
    assert frame["frameId"] == FRAME
    assert [(item["sensorName"], item["remotePath"]) for item in frame["frame"]] == [
        ("CAM", "000.bin"),
        ("LIDAR", "000.bin"),
    ]
    assert [requests.get(item["url"], timeout=30).content for item in frame["frame"]] == [
        content for _, content in files.values()
    ]
