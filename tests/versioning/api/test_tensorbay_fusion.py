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
from storage_configs.services import storage_config_create
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


CAMERA = {
    "name": "CAM_FRONT",
    "type": "CAMERA",
    "description": "front camera",
    "extrinsics": {"translation": {"x": 1, "y": 2, "z": 3}, "rotation": {"w": 1.0, "x": 0.0, "y": 0.0, "z": 0.0}},
    "intrinsics": {
        "cameraMatrix": {"fx": 1.1, "fy": 1.1, "cx": 1.1, "cy": 1.1, "skew": 0},
        "distortionCoefficients": {"k1": 1.2, "k2": 1.2, "p1": 1.2, "p2": 1.2},
    },
}
LIDAR = {"name": "LIDAR_TOP", "type": "LIDAR"}


def post_sensor(client: APIClient, ds: str, number: int, sensor: dict, segment: str = "seq1") -> object:
    return client.post(f"{ds}/sensors", {**sensor, "segmentName": segment, "draftNumber": number}, "json")


def draft(client: APIClient, ds: str, sensors: tuple[dict, ...] = (CAMERA, LIDAR)) -> int:
    """Open a draft; with sensors, give it segment ``seq1`` with those sensors."""
    number = ok(client.post(f"{ds}/drafts", {"title": "t", "branchName": "main"}, "json"))["draftNumber"]
    if sensors:
        ok(client.post(f"{ds}/segments", {"name": "seq1", "draftNumber": number}, "json"))
        for sensor in sensors:
            ok(post_sensor(client, ds, number, sensor))
    return number


def get_sensors(client: APIClient, ds: str, **status: object) -> list[dict]:
    return ok(client.get(f"{ds}/sensors", {"segmentName": "seq1", **status}))["sensors"]


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


FRAMES = ["01GZ6T7Y3C0000000000000000", "01GZ6T7Y3D0000000000000000", "01GZ6T7Y3E0000000000000000"]


def details(client: APIClient, ds: str, number: int, **query: object) -> dict:
    return ok(client.get(f"{ds}/data/details", {"segmentName": "seq1", "draftNumber": number, **query}))


def frame_paths(page: dict) -> list[list[tuple[str, str]]]:
    return [[(item["sensorName"], item["remotePath"]) for item in frame["frame"]] for frame in page["dataDetails"]]


def test_two_sensors_files_of_one_name_are_both_kept(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    objects = [
        frame_object(dataset, b"lidar", "000.bin", "LIDAR_TOP"),
        frame_object(dataset, b"camera", "000.bin", "CAM_FRONT"),
    ]

    ok(callback(client, ds, number, objects))

    page = details(client, ds, number)
    assert page["totalCount"] == 1
    assert page["dataDetails"][0]["frameId"] == FRAME
    assert frame_paths(page) == [[("CAM_FRONT", "000.bin"), ("LIDAR_TOP", "000.bin")]]
    contents = {item["sensorName"]: client.get(item["url"]).getvalue() for item in page["dataDetails"][0]["frame"]}
    assert contents == {"CAM_FRONT": b"camera", "LIDAR_TOP": b"lidar"}


def test_frames_are_paged_by_frame_in_frame_id_order(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    for frame_id in reversed(FRAMES):
        objects = [
            frame_object(dataset, f"{frame_id}c".encode(), f"{frame_id}.jpg", "CAM_FRONT", frame_id),
            frame_object(dataset, f"{frame_id}l".encode(), f"{frame_id}.bin", "LIDAR_TOP", frame_id),
        ]
        ok(callback(client, ds, number, objects))

    page = details(client, ds, number, offset=1, limit=1)
    urls = ok(client.get(f"{ds}/data/urls", {"segmentName": "seq1", "draftNumber": number, "offset": 1, "limit": 1}))

    assert (page["totalCount"], page["recordSize"], page["offset"]) == (3, 1, 1)
    assert [frame["frameId"] for frame in page["dataDetails"]] == [FRAMES[1]]
    assert [[u["sensorName"] for u in frame["urls"]] for frame in urls["urls"]] == [["CAM_FRONT", "LIDAR_TOP"]]
    assert urls["totalCount"] == 3
    listed = details(client, ds, number)
    assert [frame["frameId"] for frame in listed["dataDetails"]] == FRAMES


def test_frame_parts_keep_label_and_timestamp(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    label = {"BOX2D": [{"category": "car", "box2d": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}}]}
    item = {**frame_object(dataset, b"camera", "cam0.jpg", "CAM_FRONT"), "label": label, "timestamp": 100.5}
    ok(callback(client, ds, number, [item, frame_object(dataset, b"lidar", "lidar0.bin", "LIDAR_TOP")]))

    camera, lidar = details(client, ds, number)["dataDetails"][0]["frame"]

    assert (camera["label"], camera["timestamp"]) == (label, 100.5)
    assert lidar["label"] == {}
    assert "timestamp" not in lidar


def test_registering_a_slot_again_replaces_its_file(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    ok(callback(client, ds, number, [frame_object(dataset, b"old", "a.jpg", "CAM_FRONT")]))

    ok(callback(client, ds, number, [frame_object(dataset, b"new", "b.jpg", "CAM_FRONT")]))

    assert frame_paths(details(client, ds, number)) == [[("CAM_FRONT", "b.jpg")]]


def test_a_sensors_remote_path_registered_in_another_frame_moves_there(
    client: APIClient, ds: str, dataset: Dataset
) -> None:
    number = draft(client, ds)
    ok(callback(client, ds, number, [frame_object(dataset, b"cam", "a.jpg", "CAM_FRONT", FRAMES[0])]))

    ok(callback(client, ds, number, [frame_object(dataset, b"cam", "a.jpg", "CAM_FRONT", FRAMES[1])]))

    page = details(client, ds, number)
    assert [frame["frameId"] for frame in page["dataDetails"]] == [FRAMES[1]]


def test_frames_are_committed_and_read_back_at_the_commit(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    ok(callback(client, ds, number, [frame_object(dataset, b"cam", "a.jpg", "CAM_FRONT")]))
    commit_id = ok(client.post(f"{ds}/commits", {"title": "c", "draftNumber": number}, "json"))["commitId"]

    page = ok(client.get(f"{ds}/data/details", {"segmentName": "seq1", "commit": commit_id}))

    assert frame_paths(page) == [[("CAM_FRONT", "a.jpg")]]
    assert ok(client.get(f"{ds}/total-size", {"commit": commit_id}))["totalSize"] == 3


@pytest.mark.parametrize("missing", ["frameId", "sensorName"])
def test_a_fusion_file_without_its_frame_or_sensor_is_params_missing(
    client: APIClient, ds: str, dataset: Dataset, missing: str
) -> None:
    number = draft(client, ds)
    item = frame_object(dataset, b"cam", "a.jpg", "CAM_FRONT")
    del item[missing]

    assert error(callback(client, ds, number, [item])) == (400, "RequestParamsMissing")


@pytest.mark.parametrize("frame_id", ["not-a-ulid", "01gz6t7y3c0000000000000000", "81GZ6T7Y3C0000000000000000"])
def test_a_malformed_frame_id_is_invalid(client: APIClient, ds: str, dataset: Dataset, frame_id: str) -> None:
    number = draft(client, ds)
    item = frame_object(dataset, b"cam", "a.jpg", "CAM_FRONT", frame_id)

    assert error(callback(client, ds, number, [item])) == (400, "InvalidParamsValue")
    assert staged_entries(dataset, number) == []


def test_delete_frame_removes_all_its_files(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    objects = [frame_object(dataset, b"c", "c.jpg", "CAM_FRONT"), frame_object(dataset, b"l", "l.bin", "LIDAR_TOP")]
    ok(callback(client, ds, number, objects))

    ok(client.delete(f"{ds}/frames", {"segmentName": "seq1", "frameId": FRAME, "draftNumber": number}, "json"))

    assert details(client, ds, number)["totalCount"] == 0


def test_delete_an_unknown_frame_is_not_found(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    ok(callback(client, ds, number, [frame_object(dataset, b"c", "c.jpg", "CAM_FRONT")]))
    body = {"segmentName": "seq1", "frameId": FRAMES[2], "draftNumber": number}

    assert error(client.delete(f"{ds}/frames", body, "json")) == (404, "ResourceNotExist")


def test_frames_of_a_normal_dataset_are_forbidden(client: APIClient, user: User) -> None:
    normal = services.dataset_create(workspace=services.personal_workspace(user=user), creator=user, name="plain")
    path = f"{P}/datasets/{normal.hex_id}"
    number = draft(client, path, sensors=())
    body = {"segmentName": "seq1", "frameId": FRAME, "draftNumber": number}

    assert error(client.delete(f"{path}/frames", body, "json")) == (403, "Forbidden")


def test_frame_keys_on_a_normal_dataset_change_nothing(client: APIClient, user: User) -> None:
    normal = services.dataset_create(workspace=services.personal_workspace(user=user), creator=user, name="plain")
    path = f"{P}/datasets/{normal.hex_id}"
    number = draft(client, path, sensors=())

    ok(callback(client, path, number, [frame_object(normal, b"camera", "000.bin", "CAM_FRONT")]))

    assert [entry.remote_path for entry in staged_entries(normal, number)] == ["000.bin"]


def test_labels_are_set_by_remote_path(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    ok(callback(client, ds, number, [frame_object(dataset, b"c", "c.jpg", "CAM_FRONT")]))
    label = {"CLASSIFICATION": {"category": "day"}}
    body = {"segmentName": "seq1", "objects": [{"remotePath": "c.jpg", "label": label}], "draftNumber": number}

    ok(client.put(f"{ds}/multi/data/labels", body, "json"))

    assert details(client, ds, number)["dataDetails"][0]["frame"][0]["label"] == label


def test_a_label_for_a_path_two_sensors_share_is_a_conflict(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    objects = [frame_object(dataset, b"c", "0.bin", "CAM_FRONT"), frame_object(dataset, b"l", "0.bin", "LIDAR_TOP")]
    ok(callback(client, ds, number, objects))
    body = {"segmentName": "seq1", "objects": [{"remotePath": "0.bin", "label": {}}], "draftNumber": number}

    assert error(client.put(f"{ds}/multi/data/labels", body, "json")) == (409, "NameConflict")


def test_label_statistics_count_every_file_of_every_frame(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    label = {"BOX2D": [{"category": "car", "box2d": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}}]}
    objects = [
        {**frame_object(dataset, b"c", "c.jpg", "CAM_FRONT", FRAMES[0]), "label": label},
        {**frame_object(dataset, b"d", "d.jpg", "CAM_FRONT", FRAMES[1]), "label": label},
    ]
    ok(callback(client, ds, number, objects))

    statistics = ok(client.get(f"{ds}/labels/statistics", {"draftNumber": number}))["labelStatistics"]

    assert statistics["BOX2D"]["quantity"] == 2


@pytest.mark.parametrize(
    ("method", "query"),
    [("get", {"segmentName": "seq1"}), ("delete", {"remotePath": "c.jpg"}), ("post", {"multipleCopy": ""})],
)
def test_file_by_file_data_calls_on_a_fusion_dataset_are_forbidden(
    client: APIClient, ds: str, method: str, query: dict
) -> None:
    number = draft(client, ds)
    if method == "get":
        response = client.get(f"{ds}/data", {**query, "draftNumber": number})
    elif method == "delete":
        response = client.delete(f"{ds}/data", {**query, "segmentName": "seq1", "draftNumber": number}, "json")
    else:
        body = {"source": {"segmentName": "seq1", "remotePaths": ["c.jpg"]}, "segmentName": "x", "draftNumber": number}
        response = client.post(f"{ds}/data?multipleCopy", body, "json")

    assert error(response) == (403, "Forbidden")


# Sensors

RADAR = {
    "name": "RADAR_FRONT",
    "type": "RADAR",
    "extrinsics": {"translation": {"x": 0, "y": 0, "z": 0.5}, "rotation": {"w": 0.5, "x": 0.5, "y": 0.5, "z": 0.5}},
}
FISHEYE = {
    "name": "FISHEYE_LEFT",
    "type": "FISHEYE_CAMERA",
    "intrinsics": {
        "cameraMatrix": {"fx": 2, "fy": 2, "cx": 3, "cy": 3},
        "distortionCoefficients": {"k1": 0.1, "k2": 0.2, "k3": 0.3, "k4": 0.4},
    },
}


def test_sensors_of_every_type_are_kept_as_sent(client: APIClient, ds: str) -> None:
    number = draft(client, ds, sensors=(CAMERA, LIDAR, RADAR, FISHEYE))

    assert get_sensors(client, ds, draftNumber=number) == sorted(
        [CAMERA, LIDAR, RADAR, FISHEYE], key=lambda s: s["name"]
    )


def test_posting_a_sensor_again_replaces_it(client: APIClient, ds: str) -> None:
    number = draft(client, ds)

    ok(post_sensor(client, ds, number, {**LIDAR, "description": "roof"}))
    ok(post_sensor(client, ds, number, {**LIDAR, "description": "roof"}))

    assert get_sensors(client, ds, draftNumber=number) == [CAMERA, {**LIDAR, "description": "roof"}]


def test_sensors_are_frozen_by_a_commit_and_inherited_by_the_next_draft(client: APIClient, ds: str) -> None:
    number = draft(client, ds)
    commit_id = ok(client.post(f"{ds}/commits", {"title": "c", "draftNumber": number}, "json"))["commitId"]
    following = ok(client.post(f"{ds}/drafts", {"title": "t2", "branchName": "main"}, "json"))["draftNumber"]

    ok(post_sensor(client, ds, following, RADAR))

    assert get_sensors(client, ds, commit=commit_id) == [CAMERA, LIDAR]
    assert get_sensors(client, ds, draftNumber=following) == [CAMERA, LIDAR, RADAR]


def test_a_segment_without_sensors_lists_none(client: APIClient, ds: str) -> None:
    number = draft(client, ds, sensors=())
    ok(client.post(f"{ds}/segments", {"name": "seq1", "draftNumber": number}, "json"))

    assert get_sensors(client, ds, draftNumber=number) == []


def test_delete_sensor_removes_its_files_and_the_frames_left_empty(
    client: APIClient, ds: str, dataset: Dataset
) -> None:
    number = draft(client, ds)
    objects = [
        frame_object(dataset, b"c", "c.jpg", "CAM_FRONT", FRAMES[0]),
        frame_object(dataset, b"l", "l.bin", "LIDAR_TOP", FRAMES[0]),
        frame_object(dataset, b"m", "m.bin", "LIDAR_TOP", FRAMES[1]),
    ]
    ok(callback(client, ds, number, objects))

    body = {"segmentName": "seq1", "sensorName": "LIDAR_TOP", "draftNumber": number}
    ok(client.delete(f"{ds}/sensors", body, "json"))

    assert get_sensors(client, ds, draftNumber=number) == [CAMERA]
    assert frame_paths(details(client, ds, number)) == [[("CAM_FRONT", "c.jpg")]]


def test_delete_an_unknown_sensor_is_not_found(client: APIClient, ds: str) -> None:
    number = draft(client, ds)
    body = {"segmentName": "seq1", "sensorName": "NOPE", "draftNumber": number}

    assert error(client.delete(f"{ds}/sensors", body, "json")) == (404, "ResourceNotExist")


def test_a_sensor_of_an_unknown_segment_is_not_found(client: APIClient, ds: str) -> None:
    number = draft(client, ds)

    assert error(post_sensor(client, ds, number, LIDAR, segment="nope")) == (404, "ResourceNotExist")
    assert error(client.get(f"{ds}/sensors", {"segmentName": "nope", "draftNumber": number})) == (
        404,
        "ResourceNotExist",
    )


@pytest.mark.parametrize("missing", ["name", "type"])
def test_a_sensor_without_name_or_type_is_params_missing(client: APIClient, ds: str, missing: str) -> None:
    number = draft(client, ds)
    sensor = dict(LIDAR)
    del sensor[missing]

    assert error(post_sensor(client, ds, number, sensor)) == (400, "RequestParamsMissing")


def test_a_sensor_of_an_unknown_type_is_invalid(client: APIClient, ds: str) -> None:
    number = draft(client, ds)

    assert error(post_sensor(client, ds, number, {**LIDAR, "type": "SONAR"})) == (400, "InvalidParamsValue")


def test_a_sensor_in_a_closed_draft_is_forbidden(client: APIClient, ds: str) -> None:
    number = draft(client, ds)
    ok(client.patch(f"{ds}/drafts/{number}", {"status": "CLOSED"}, "json"))

    assert error(post_sensor(client, ds, number, RADAR)) == (403, "Forbidden")


def test_sensors_of_a_normal_dataset_are_forbidden(client: APIClient, user: User) -> None:
    normal = services.dataset_create(workspace=services.personal_workspace(user=user), creator=user, name="plain")
    path = f"{P}/datasets/{normal.hex_id}"
    number = draft(client, path, sensors=())
    ok(client.post(f"{path}/segments", {"name": "seq1", "draftNumber": number}, "json"))

    assert error(post_sensor(client, path, number, LIDAR)) == (403, "Forbidden")
    assert error(client.get(f"{path}/sensors", {"segmentName": "seq1", "draftNumber": number})) == (403, "Forbidden")


def test_a_file_of_an_unknown_sensor_is_not_found(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)

    response = callback(client, ds, number, [frame_object(dataset, b"r", "r.bin", "RADAR_FRONT")])

    assert error(response) == (404, "ResourceNotExist")
    assert "RADAR_FRONT" in response.json()["message"]  # type: ignore[attr-defined]


# Cloud import, copy and move


def test_cloud_files_are_imported_into_frames(
    client: APIClient, user: User, settings: LazySettings, tmp_path: Path
) -> None:
    settings.STORAGE_LOCAL_ROOT = tmp_path / "local"
    (tmp_path / "local" / "bucket" / "cam").mkdir(parents=True)
    (tmp_path / "local" / "bucket" / "cam" / "000.bin").write_bytes(b"camera")
    (tmp_path / "local" / "bucket" / "lidar").mkdir(parents=True)
    (tmp_path / "local" / "bucket" / "lidar" / "000.bin").write_bytes(b"lidar")
    workspace = services.personal_workspace(user=user)
    config = storage_config_create(workspace=workspace, name="cloud", kind="local", file_path="bucket")
    fusion = services.dataset_create(
        workspace=workspace, creator=user, name="imported", kind=Dataset.Kind.FUSION, storage_config=config
    )
    path = f"{P}/datasets/{fusion.hex_id}"
    number = draft(client, path)

    for sensor, cloud_path in (("CAM_FRONT", "cam/000.bin"), ("LIDAR_TOP", "lidar/000.bin")):
        item = {"cloudPath": cloud_path, "remotePath": "000.bin", "frameId": FRAME, "sensorName": sensor}
        body = {"segmentName": "seq1", "objects": [item], "deleteSource": False, "draftNumber": number}
        ok(client.put(f"{path}/multi/cloud-callback", body, "json"))

    [frame] = details(client, path, number)["dataDetails"]
    assert [(item["sensorName"], item["remotePath"]) for item in frame["frame"]] == [
        ("CAM_FRONT", "000.bin"),
        ("LIDAR_TOP", "000.bin"),
    ]
    assert [client.get(item["url"]).getvalue() for item in frame["frame"]] == [b"camera", b"lidar"]


def test_a_cloud_file_of_a_fusion_dataset_without_its_frame_is_params_missing(client: APIClient, ds: str) -> None:
    number = draft(client, ds)
    item = {"cloudPath": "a/000.bin", "remotePath": "000.bin", "sensorName": "LIDAR_TOP"}
    body = {"segmentName": "seq1", "objects": [item], "deleteSource": False, "draftNumber": number}

    assert error(client.put(f"{ds}/multi/cloud-callback", body, "json")) == (400, "RequestParamsMissing")


def copy_segment(
    client: APIClient, ds: str, number: int, strategy: str, move: bool = False, **source: object
) -> object:
    body = {
        "strategy": strategy,
        "source": {"segmentName": "seq1", **source},
        "segmentName": "seq2",
        "draftNumber": number,
    }
    return client.post(f"{ds}/segments?{'move' if move else 'copy'}", body, "json")


def test_copying_a_fusion_segment_carries_sensors_and_frames(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    ok(callback(client, ds, number, [frame_object(dataset, b"c", "c.jpg", "CAM_FRONT")]))

    ok(copy_segment(client, ds, number, "abort"))

    copied = ok(client.get(f"{ds}/data/details", {"segmentName": "seq2", "draftNumber": number}))
    assert [frame["frameId"] for frame in copied["dataDetails"]] == [FRAME]
    sensors = ok(client.get(f"{ds}/sensors", {"segmentName": "seq2", "draftNumber": number}))["sensors"]
    assert sensors == [CAMERA, LIDAR]


@pytest.mark.parametrize(("strategy", "kept"), [("skip", "d.jpg"), ("override", "c.jpg")])
def test_copying_onto_a_fusion_segment_follows_the_strategy(
    client: APIClient, ds: str, dataset: Dataset, strategy: str, kept: str
) -> None:
    number = draft(client, ds)
    ok(callback(client, ds, number, [frame_object(dataset, b"c", "c.jpg", "CAM_FRONT")]))
    ok(client.post(f"{ds}/segments", {"name": "seq2", "draftNumber": number}, "json"))
    ok(post_sensor(client, ds, number, CAMERA, segment="seq2"))
    ok(callback(client, ds, number, [frame_object(dataset, b"d", "d.jpg", "CAM_FRONT", FRAMES[1])], segment="seq2"))

    assert error(copy_segment(client, ds, number, "abort")) == (409, "NameConflict")
    ok(copy_segment(client, ds, number, strategy))

    target = ok(client.get(f"{ds}/data/details", {"segmentName": "seq2", "draftNumber": number}))
    assert [item["remotePath"] for frame in target["dataDetails"] for item in frame["frame"]] == [kept]


def test_moving_a_fusion_segment_keeps_its_frame_ids(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    ok(callback(client, ds, number, [frame_object(dataset, b"c", "c.jpg", "CAM_FRONT")]))

    ok(copy_segment(client, ds, number, "abort", move=True))

    segments = ok(client.get(f"{ds}/segments", {"draftNumber": number}))["segments"]
    assert [segment["name"] for segment in segments] == ["seq2"]
    moved = ok(client.get(f"{ds}/data/details", {"segmentName": "seq2", "draftNumber": number}))
    assert [frame["frameId"] for frame in moved["dataDetails"]] == [FRAME]
