"""The official tensorbay SDK 1.24.2 against the live server over TLS: fusion datasets (sensors and frames).

A fusion segment with a camera, a fisheye camera, a lidar and a radar and more than twenty frames (the camera
and the lidar name their files alike, some files are labelled, the frames' times are out of order) is
uploaded with several jobs, committed and read back equal, in time order; a resumed upload adds nothing;
frames and sensors are deleted; the segment is copied to another dataset and moved; on the hub's storage and
on S3 (moto).
"""

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip(
    "tensorbay", reason="the tensorbay SDK is not installed: pip install --no-deps -r requirements/tensorbay.txt"
)

from tensorbay import GAS
from tensorbay.client import config as sdk_config
from tensorbay.dataset import Data, Frame, FusionDataset
from tensorbay.exception import ResourceNotExistError, ResponseError
from tensorbay.label import Box2DSubcatalog, LabeledBox2D
from tensorbay.sensor import Camera, FisheyeCamera, Lidar, Radar
from ulid import from_timestamp

from tests.acceptance.conftest import HubServer
from tests.acceptance.test_tensorbay_sdk import Caller, caller, config_for
from tests.storage_configs.conftest import (  # noqa: F401  (session fixtures of the storage servers)
    azurite_endpoint,
    moto_endpoint,
)

pytestmark = pytest.mark.django_db(transaction=True)

sdk_config.timeout = 90
sdk_config.max_retries = 5

FRAMES = 24
# Frame times out of order: the server must list frames by id, which for ULIDs is time order.
TIMES = [1_000 + (index * 7) % FRAMES for index in range(FRAMES)]


@dataclass(frozen=True)
class Expected:
    """What a frame holds, by sensor: remote path, bytes, box categories."""

    frames: dict[float, dict[str, tuple[str, bytes, list[str]]]]


def sensors() -> list:
    camera = Camera("CAM_FRONT")
    camera.description = "front camera"
    camera.set_extrinsics(translation=(1, 2, 3), rotation=(1, 0, 0, 0))
    camera.set_camera_matrix(fx=1000, fy=1000, cx=640, cy=360)
    camera.set_distortion_coefficients(k1=0.1, k2=0.01, p1=0.001, p2=0.002)
    fisheye = FisheyeCamera("FISHEYE_LEFT")
    fisheye.set_camera_matrix(fx=300, fy=300, cx=320, cy=240, skew=0.5)
    fisheye.set_distortion_coefficients(k1=0.2, k2=0.3, k3=0.4, k4=0.5)
    lidar = Lidar("LIDAR_TOP")
    lidar.set_extrinsics(translation=(0, 0, 1.8), rotation=(0.5, 0.5, 0.5, 0.5))
    radar = Radar("RADAR_FRONT")
    radar.set_extrinsics(translation=(2.5, 0, 0.5), rotation=(1, 0, 0, 0))
    return [camera, fisheye, lidar, radar]


def write(path: Path, salt: str) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    content = salt.encode() + os.urandom(64)
    path.write_bytes(content)
    return content


def fusion_dataset(name: str, directory: Path) -> tuple[FusionDataset, Expected]:
    """The local fusion dataset and what every frame must read back as."""
    dataset = FusionDataset(name)
    dataset.catalog.box2d = Box2DSubcatalog()
    dataset.catalog.box2d.add_category("car")
    segment = dataset.create_segment("seq1")
    for sensor in sensors():
        segment.sensors.add(sensor)
    expected: dict[float, dict[str, tuple[str, bytes, list[str]]]] = {}
    for index, time in enumerate(TIMES):
        frame = Frame(from_timestamp(time))
        held = {}
        files = {
            "CAM_FRONT": directory / "camera" / f"{index:03d}.bin",  # the lidar's files have the same names
            "LIDAR_TOP": directory / "lidar" / f"{index:03d}.bin",
            "FISHEYE_LEFT": directory / "fisheye" / f"fish{index:03d}.jpg",
        }
        if index % 3 == 0:
            files["RADAR_FRONT"] = directory / "radar" / f"radar{index:03d}.bin"
        for sensor_name, path in files.items():
            data = Data(str(path), timestamp=time + 0.25)
            boxes = []
            if sensor_name == "CAM_FRONT" and index % 2 == 0:
                data.label.box2d = [LabeledBox2D(1, 2, 30, 40, category="car")]
                boxes = ["car"]
            frame[sensor_name] = data
            held[sensor_name] = (path.name, write(path, f"{sensor_name}-{index}-"), boxes)
        segment.append(frame)
        expected[time] = held
    return dataset, Expected(expected)


def read_frames(gas: GAS, name: str, revision: str | None = None) -> list[tuple[float, dict]]:
    """(frame time, {sensor: (remote path, bytes, box categories)}) of every frame of ``seq1``, as listed."""
    remote = FusionDataset(name, gas, revision=revision)
    segment = remote["seq1"]
    frames = []
    for frame in segment:
        held = {
            sensor: (data.path, data.open().read(), [box.category for box in getattr(data.label, "box2d", None) or []])
            for sensor, data in frame.items()
        }
        frames.append((frame.frame_id.timestamp().timestamp, held))
    return frames


def upload_and_check(gas: GAS, name: str, config_name: str | None, tmp_path: Path) -> None:
    gas.create_dataset(name, is_fusion=True, config_name=config_name)
    local, expected = fusion_dataset(name, tmp_path / name)
    client = gas.get_dataset(name, is_fusion=True)
    client.create_draft("frames")
    uploaded = gas.upload_dataset(local, jobs=4)
    uploaded.commit("frames")

    frames = read_frames(gas, name)
    assert [time for time, _ in frames] == sorted(TIMES)
    assert dict(frames) == expected.frames
    remote = FusionDataset(name, gas)
    assert list(remote["seq1"].sensors) == list(local["seq1"].sensors)
    assert remote.catalog == local.catalog
    statistics = uploaded.get_label_statistics().dumps()
    assert statistics["BOX2D"]["quantity"] == FRAMES // 2
    assert uploaded.get_total_size() == sum(
        len(content) for held in expected.frames.values() for _, content, _ in held.values()
    )


@pytest.mark.parametrize("storage", ["hub", "s3"])
def test_a_fusion_dataset_goes_up_and_comes_back_equal(
    storage: str, alice: Caller, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    config_name = config_for(storage, alice.workspace, request)
    upload_and_check(alice.gas, f"fusion-{storage}", config_name, tmp_path)


@pytest.fixture
def alice(hub_server: HubServer) -> Caller:
    return caller(hub_server, "tbf-alice")


@pytest.fixture
def committed(alice: Caller, tmp_path: Path) -> tuple[str, Expected]:
    """A committed fusion dataset ``drive``."""
    alice.gas.create_dataset("drive", is_fusion=True)
    local, expected = fusion_dataset("drive", tmp_path / "drive")
    alice.gas.get_dataset("drive", is_fusion=True).create_draft("frames")
    alice.gas.upload_dataset(local, jobs=4).commit("frames")
    return "drive", expected


def test_a_resumed_upload_adds_nothing(alice: Caller, committed: tuple[str, Expected], tmp_path: Path) -> None:
    name, _ = committed
    before = read_frames(alice.gas, name)
    client = alice.gas.get_dataset(name, is_fusion=True)
    client.create_draft("resume")
    local, _ = fusion_dataset(name, tmp_path / "again")  # same times and paths, other bytes

    resumed = alice.gas.upload_dataset(local, jobs=4, skip_uploaded_files=True)

    draft_frames = list(resumed.get_segment("seq1").list_frames())
    assert len(draft_frames) == FRAMES
    resumed.commit("resume")
    assert read_frames(alice.gas, name) == before


def test_frames_of_unknown_sensors_are_refused(alice: Caller, committed: tuple[str, Expected], tmp_path: Path) -> None:
    name, _ = committed
    client = alice.gas.get_dataset(name, is_fusion=True)
    client.create_draft("bad frames")
    segment = client.get_segment("seq1")
    path = tmp_path / "sonar.bin"
    write(path, "sonar")
    frame = Frame()
    frame["SONAR"] = Data(str(path))

    with pytest.raises(ResponseError):
        segment.upload_frame(frame, timestamp=5_000)

    empty = client.create_segment("no-sensors")
    frame = Frame()
    frame["CAM_FRONT"] = Data(str(path))
    with pytest.raises(ResponseError):
        empty.upload_frame(frame, timestamp=5_000)


def test_delete_frame_and_sensor(alice: Caller, committed: tuple[str, Expected]) -> None:
    name, _ = committed
    client = alice.gas.get_dataset(name, is_fusion=True)
    client.create_draft("edit")
    segment = client.get_segment("seq1")
    first = segment.list_frames()[0]

    segment.delete_frame(first.frame_id)
    segment.delete_sensor("RADAR_FRONT")

    frames = list(segment.list_frames())
    assert len(frames) == FRAMES - 1
    assert first.frame_id not in {frame.frame_id for frame in frames}
    assert all("RADAR_FRONT" not in frame for frame in frames)
    assert [sensor.name for sensor in segment.get_sensors()] == ["CAM_FRONT", "FISHEYE_LEFT", "LIDAR_TOP"]
    with pytest.raises(ResourceNotExistError):
        segment.delete_sensor("RADAR_FRONT")


def test_copy_to_another_dataset_and_move(alice: Caller, committed: tuple[str, Expected]) -> None:
    name, _ = committed
    source = alice.gas.get_dataset(name, is_fusion=True)
    alice.gas.create_dataset("copy-target", is_fusion=True)
    target = alice.gas.get_dataset("copy-target", is_fusion=True)
    target.create_draft("copy")

    target.copy_segment("seq1", "copied", source_client=source)
    target.move_segment("copied", "moved")
    target.commit("copied and moved")

    assert [segment.name for segment in FusionDataset("copy-target", alice.gas)] == ["moved"]
    copied = FusionDataset("copy-target", alice.gas)["moved"]
    original = FusionDataset(name, alice.gas)["seq1"]
    assert [frame.frame_id for frame in copied] == [frame.frame_id for frame in original]
    assert list(copied.sensors) == list(original.sensors)
    assert {sensor: data.open().read() for sensor, data in copied[0].items()} == {
        sensor: data.open().read() for sensor, data in original[0].items()
    }
