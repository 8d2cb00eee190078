"""Basic search jobs through the unchanged tensorbay SDK over TLS, on the embedded default (no broker) and with a
real Celery worker on RabbitMQ (the hubs of ``test_merge_jobs``).

The fusion flow follows the SDK project's own integration test (spec part 2 §8.5): a BOX2D catalog, segments
``test`` and ``train`` with one frame of two cameras each, searched with the filters of §8.1.
"""

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "tensorbay", reason="the tensorbay SDK is not installed: pip install --no-deps -r requirements/tensorbay.txt"
)

from tensorbay import GAS
from tensorbay.dataset import Data, Dataset, Frame, FusionDataset
from tensorbay.label import Box2DSubcatalog, LabeledBox2D
from tensorbay.sensor import Camera

from tests.acceptance.test_merge_jobs import Hub, hub, new_gas, quick_polling  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)

JOB_SECONDS = 120
# The filters of spec part 2 §8.1, as the SDK takes them.
FILTERS = [
    ("category", "in", ["01", "02"], "BOX2D"),
    ("size", ">", 0),
    ("withLabel", "=", True),
    ("attribute", "in", {"attribute_1": [True, False], "attribute_2": [3]}, "BOX2D"),
    ("segment", "in", ["test"]),
    ("sensor", "in", ["CAM_BACK_RIGHT"]),
]
STATISTICS = {
    "BOX2D": {
        "quantity": 1,
        "categories": [
            {"name": "01", "quantity": 1, "attributes": [{"name": "attribute_1", "enum": [True], "quantities": [1]}]}
        ],
        "attributes": [{"name": "attribute_1", "enum": [True], "quantities": [1]}],
    }
}


def catalog() -> Box2DSubcatalog:
    subcatalog = Box2DSubcatalog(is_tracking=False)
    for index in range(1, 16):
        subcatalog.add_category(f"{index:02}")
    subcatalog.add_attribute("attribute_1", type_="boolean")
    subcatalog.add_attribute("attribute_2", type_="integer", minimum=0, maximum=10)
    return subcatalog


def labelled(path: Path, category: str, first: bool, second: int) -> Data:
    path.write_bytes(f"{path.name}\n".encode())
    data = Data(str(path))
    data.label.box2d = [
        LabeledBox2D(1, 1, 2, 2, category=category, attributes={"attribute_1": first, "attribute_2": second})
    ]
    return data


def fusion_dataset(name: str, directory: Path) -> FusionDataset:
    dataset = FusionDataset(name)
    dataset.catalog.box2d = catalog()
    for segment_name in ("test", "train"):
        segment = dataset.create_segment(segment_name)
        for sensor_name in ("CAM_BACK_RIGHT", "CAM_BACK_LEFT"):
            segment.sensors.add(Camera(sensor_name))
        frame = Frame()
        frame["CAM_BACK_RIGHT"] = labelled(directory / f"{segment_name}_CAM_BACK_RIGHT.txt", "01", True, 3)
        frame["CAM_BACK_LEFT"] = labelled(directory / f"{segment_name}_CAM_BACK_LEFT.txt", "02", False, 1)
        segment.append(frame)
    return dataset


def normal_dataset(name: str, directory: Path) -> Dataset:
    dataset = Dataset(name)
    dataset.catalog.box2d = catalog()
    segment = dataset.create_segment("Segment1")
    for index in range(4):
        segment.append(labelled(directory / f"hello{index}.txt", f"{index + 1:02}", index % 2 == 0, index))
    return dataset


def finished(job: Any) -> Any:
    job.update(until_complete=True)
    assert (job.status, job.error_message) == ("SUCCESS", "")
    return job.result


def sensor_names(sensors: Any) -> list[str]:
    return sorted(sensor.name for sensor in sensors)


def test_basic_search_over_a_fusion_dataset(hub: Hub, tmp_path: Path) -> None:  # noqa: F811 (the fixture)
    gas: GAS = new_gas(hub, "sam")
    gas.create_dataset("fusion", is_fusion=True)
    gas.upload_dataset(fusion_dataset("fusion", tmp_path)).commit("frames")
    client = gas.get_dataset("fusion", is_fusion=True)
    aborted = client.basic_search.create_job(conjunction="and", filters=FILTERS, unit="file")
    aborted.abort()
    aborted.update()
    assert aborted.status == "ABORTED"
    job = client.basic_search.create_job(conjunction="and", filters=FILTERS, unit="file")
    result = finished(job)
    assert list(result.list_segment_names()) == ["test"]
    [frame] = list(result.list_frames("test"))
    assert list(frame) == ["CAM_BACK_RIGHT"]
    data = frame["CAM_BACK_RIGHT"]
    assert (data.path, data.label.box2d[0].category) == ("test_CAM_BACK_RIGHT.txt", "01")
    assert data.open().read() == b"test_CAM_BACK_RIGHT.txt\n"
    assert sensor_names(result.get_sensors("test")) == ["CAM_BACK_LEFT", "CAM_BACK_RIGHT"]
    assert result.get_label_statistics().dumps() == STATISTICS

    job.create_dataset("search_dataset")
    made = gas.get_dataset("search_dataset", is_fusion=True)
    assert sensor_names(made.get_segment("test").get_sensors()) == ["CAM_BACK_LEFT", "CAM_BACK_RIGHT"]
    [copied] = list(FusionDataset("search_dataset", gas)["test"])
    assert list(copied) == ["CAM_BACK_RIGHT"]
    assert sorted(gas.list_dataset_names()) == ["fusion", "search_dataset"]

    assert {listed.job_id for listed in client.basic_search.list_jobs()} == {aborted.job_id, job.job_id}
    for listed in (aborted, job):
        client.basic_search.delete_job(listed.job_id)
    assert list(client.basic_search.list_jobs()) == []
    assert list(FusionDataset("search_dataset", gas)["test"])


def test_basic_search_over_a_normal_dataset(hub: Hub, tmp_path: Path) -> None:  # noqa: F811 (the fixture)
    gas: GAS = new_gas(hub, "nora")
    gas.create_dataset("plain")
    gas.upload_dataset(normal_dataset("plain", tmp_path)).commit("files")
    client = gas.get_dataset("plain")
    job = client.basic_search.create_job(
        conjunction="or", filters=[("category", "in", ["01"], "BOX2D"), ("attribute", "in", {"attribute_2": [3]})]
    )
    result = finished(job)
    assert list(result.list_segment_names()) == ["Segment1"]
    found = {data.path: data.label.box2d[0].category for data in result.list_data("Segment1")}
    assert found == {"hello0.txt": "01", "hello3.txt": "04"}
    assert [job.job_id] == [listed.job_id for listed in client.basic_search.list_jobs()]
    client.basic_search.delete_job(job.job_id)
    assert list(client.basic_search.list_jobs()) == []
