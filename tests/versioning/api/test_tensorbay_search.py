"""TensorBay v1 basic search jobs and search results over HTTP (spec part 2 §6, §8)."""

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings
from rest_framework.test import APIClient

from datasets import services
from datasets.models import Dataset, Membership, User
from tests.factories import UserFactory
from versioning import services as versioning
from versioning.models import Commit, Job
from versioning.trees import Entry, Part

pytestmark = pytest.mark.django_db

P = "/gatewayv2/tensorbay-open-api/v1"
FRAME = "01GZ6T7Y3C0000000000000000"
CATALOG = {
    "BOX2D": {
        "categories": [{"name": f"{n:02}"} for n in range(1, 16)],
        "attributes": [
            {"name": "attribute_1", "type": "boolean"},
            {"name": "attribute_2", "type": "integer", "minimum": 0, "maximum": 10},
        ],
    }
}
SENSORS = [{"name": "CAM_BACK_RIGHT", "type": "CAMERA"}, {"name": "CAM_BACK_LEFT", "type": "CAMERA"}]
# The filters of spec part 2 §8.1.
FILTERS: list[dict[str, Any]] = [
    {"key": "category", "operator": "in", "value": ["01", "02"], "extraInfo": {"labelType": "BOX2D"}},
    {"key": "size", "operator": ">", "value": 0},
    {"key": "withLabel", "operator": "=", "value": True},
    {
        "key": "attribute",
        "operator": "in",
        "value": {"attribute_1": [True, False], "attribute_2": [3]},
        "extraInfo": {"labelType": "BOX2D"},
    },
    {"key": "segment", "operator": "in", "value": ["test"]},
    {"key": "sensor", "operator": "in", "value": ["CAM_BACK_RIGHT"]},
]


@pytest.fixture(autouse=True)
def hub_storage(settings: LazySettings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGE_PUBLIC_URL = "http://testserver"


def box(category: str, first: bool, second: int) -> dict[str, Any]:
    return {
        "BOX2D": [
            {
                "box2d": {"xmin": 1, "ymin": 1, "xmax": 2, "ymax": 2},
                "category": category,
                "attributes": {"attribute_1": first, "attribute_2": second},
            }
        ]
    }


def sha1(content: str) -> str:
    return hashlib.sha1(content.encode(), usedforsecurity=False).hexdigest()


def part(dataset: Dataset, sensor: str, remote_path: str, label: dict | None) -> Part:
    digest = sha1(remote_path)
    return Part(sensor, remote_path, f"{dataset.hex_id}/{digest}", digest, len(remote_path), label)


@pytest.fixture
def fusion(user: User) -> Dataset:
    """Spec part 2 §8.5: segments ``test`` and ``train``, one frame each with two cameras."""
    dataset = services.dataset_create(
        workspace=services.personal_workspace(user=user), creator=user, name="drive", kind=Dataset.Kind.FUSION
    )
    draft = versioning.draft_create(dataset=dataset, title="d", creator=user)
    versioning.draft_metadata_set(draft=draft, catalog=CATALOG)
    for segment in ("test", "train"):
        versioning.draft_segment_put(draft=draft, name=segment, description=f"{segment} set")
        for sensor in SENSORS:
            versioning.draft_sensor_put(draft=draft, segment=segment, sensor=sensor)
        right = part(dataset, "CAM_BACK_RIGHT", f"{segment}_CAM_BACK_RIGHT.txt", box("01", True, 3))
        left = part(dataset, "CAM_BACK_LEFT", f"{segment}_CAM_BACK_LEFT.txt", box("02", False, 1))
        versioning.draft_frame_parts_put(draft=draft, segment=segment, parts=[(FRAME, right), (FRAME, left)])
    versioning.draft_commit(draft=draft, title="c")
    return dataset


@pytest.fixture
def normal(user: User) -> Dataset:
    """Segments ``a`` (one labelled file of 5 bytes, one unlabelled of 1) and ``b`` (one labelled file)."""
    dataset = services.dataset_create(workspace=services.personal_workspace(user=user), creator=user, name="cats")
    draft = versioning.draft_create(dataset=dataset, title="d", creator=user)
    versioning.draft_metadata_set(draft=draft, catalog=CATALOG)
    entries = [
        ("a", "big.jpg", 5, box("01", True, 3)),
        ("a", "small.jpg", 1, None),
        ("b", "other.jpg", 5, box("03", False, 3)),
    ]
    for segment, remote_path, size, label in entries:
        versioning.draft_segment_ensure(draft=draft, name=segment)
        digest = sha1(remote_path)
        entry = Entry.create(
            segment=segment,
            remote_path=remote_path,
            object_key=f"{dataset.hex_id}/{digest}",
            sha1=digest,
            size=size,
            label=label,
        )
        versioning.draft_stage_upserts(draft=draft, entries=[entry])
    versioning.draft_commit(draft=draft, title="c")
    return dataset


@pytest.fixture
def client(api_client: APIClient, access_key: str) -> APIClient:
    api_client.credentials(HTTP_X_TOKEN=access_key)
    return api_client


@pytest.fixture(params=["/gatewayv2/tensorbay-open-api/v1", "/v1"])
def prefix(request: pytest.FixtureRequest) -> str:
    return request.param


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


def error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


def head(dataset: Dataset) -> str:
    return Commit.objects.filter(dataset=dataset).latest("committed_at").id


def search_body(dataset: Dataset, filters: list[dict], conjunction: str = "and", unit: str = "file") -> dict:
    return {
        "title": "search",
        "jobType": "basicSearch",
        "arguments": {"commit": head(dataset), "conjunction": conjunction, "filters": filters, "unit": unit},
    }


def run_search(client: APIClient, dataset: Dataset, *args: Any, prefix: str = P, **kwargs: Any) -> dict[str, Any]:
    ds = f"{prefix}/datasets/{dataset.hex_id}"
    job_id = ok(client.post(f"{ds}/jobs", search_body(dataset, *args, **kwargs), "json"), 201)["jobId"]
    job = ok(client.get(f"{ds}/jobs/{job_id}", {"jobType": "basicSearch"}))
    assert job["status"] == "SUCCESS", job
    return job


def result_files(client: APIClient, job: dict[str, Any]) -> dict[str, list[str]]:
    """Per result segment, its files (``frame/sensor:path`` for fusion frames)."""
    rid, commit = job["result"]["searchResultId"], job["result"]["searchResultCommitId"]
    segments = ok(client.get(f"{P}/datasets/{rid}/segments", {"commit": commit}))["segments"]
    found = {}
    for segment in segments:
        details = ok(
            client.get(f"{P}/datasets/{rid}/data/details", {"segmentName": segment["name"], "commit": commit})
        )["dataDetails"]
        found[segment["name"]] = [
            item["remotePath"] if "remotePath" in item else ",".join(f["sensorName"] for f in item["frame"])
            for item in details
        ]
    return found


def test_the_spec_search_keeps_one_camera_of_one_frame(client: APIClient, fusion: Dataset, prefix: str) -> None:
    job = run_search(client, fusion, FILTERS, prefix=prefix)
    assert set(job["result"]) == {"searchResultId", "searchResultCommitId"}
    assert len(job["result"]["searchResultId"]) == 32
    assert result_files(client, job) == {"test": ["CAM_BACK_RIGHT"]}


def test_a_fusion_result_has_the_source_sensors_and_labels(client: APIClient, fusion: Dataset) -> None:
    job = run_search(client, fusion, FILTERS)
    rid, commit = job["result"]["searchResultId"], job["result"]["searchResultCommitId"]
    sensors = ok(client.get(f"{P}/datasets/{rid}/sensors", {"segmentName": "test", "commit": commit}))["sensors"]
    source = ok(client.get(f"{P}/datasets/{fusion.hex_id}/sensors", {"segmentName": "test", "commit": head(fusion)}))
    assert sensors == source["sensors"]
    frame = ok(client.get(f"{P}/datasets/{rid}/data/details", {"segmentName": "test", "commit": commit}))
    [item] = frame["dataDetails"][0]["frame"]
    assert (item["remotePath"], item["label"]) == ("test_CAM_BACK_RIGHT.txt", box("01", True, 3))
    assert item["url"]


def test_a_fusion_result_has_the_spec_statistics(client: APIClient, fusion: Dataset) -> None:
    job = run_search(client, fusion, FILTERS)
    rid, commit = job["result"]["searchResultId"], job["result"]["searchResultCommitId"]
    statistics = ok(client.get(f"{P}/datasets/{rid}/labels/statistics", {"commit": commit}))["labelStatistics"]
    enum = [{"name": "attribute_1", "enum": [True], "quantities": [1]}]
    assert statistics == {
        "BOX2D": {"quantity": 1, "categories": [{"name": "01", "quantity": 1, "attributes": enum}], "attributes": enum}
    }


def test_unit_frame_keeps_whole_frames(client: APIClient, fusion: Dataset) -> None:
    job = run_search(client, fusion, FILTERS, unit="FRAME")
    assert result_files(client, job) == {"test": ["CAM_BACK_LEFT,CAM_BACK_RIGHT"]}


def test_or_keeps_a_file_any_filter_accepts(client: APIClient, fusion: Dataset) -> None:
    filters = [
        {"key": "segment", "operator": "in", "value": ["test"]},
        {"key": "sensor", "operator": "in", "value": ["CAM_BACK_LEFT"]},
    ]
    job = run_search(client, fusion, filters, conjunction="or")
    assert result_files(client, job) == {"test": ["CAM_BACK_LEFT,CAM_BACK_RIGHT"], "train": ["CAM_BACK_LEFT"]}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"key": "segment", "operator": "in", "value": ["b"]}, {"b": ["other.jpg"]}),
        ({"key": "segment", "operator": "=", "value": "a"}, {"a": ["big.jpg", "small.jpg"]}),
        ({"key": "withLabel", "operator": "=", "value": False}, {"a": ["small.jpg"]}),
        ({"key": "withLabel", "operator": "=", "value": True}, {"a": ["big.jpg"], "b": ["other.jpg"]}),
        ({"key": "size", "operator": ">", "value": 1}, {"a": ["big.jpg"], "b": ["other.jpg"]}),
        ({"key": "size", "operator": "=", "value": 1}, {"a": ["small.jpg"]}),
        ({"key": "category", "operator": "in", "value": ["03"]}, {"b": ["other.jpg"]}),
        ({"key": "category", "operator": "in", "value": ["03"], "extraInfo": {"labelType": "CLASSIFICATION"}}, {}),
        ({"key": "attribute", "operator": "in", "value": {"attribute_1": [True]}}, {"a": ["big.jpg"]}),
        ({"key": "attribute", "operator": "in", "value": {"attribute_1": [1]}}, {}),
        ({"key": "attribute", "operator": "in", "value": {"attribute_2": [3]}}, {"a": ["big.jpg"], "b": ["other.jpg"]}),
        ({"key": "sensor", "operator": "in", "value": ["CAM_BACK_RIGHT"]}, {}),
        ({"key": "keyword", "operator": "=", "value": "SMALL"}, {"a": ["small.jpg"]}),
    ],
)
def test_each_filter_over_a_normal_dataset(client: APIClient, normal: Dataset, rule: dict, expected: dict) -> None:
    assert result_files(client, run_search(client, normal, [rule])) == expected


def test_and_needs_every_filter(client: APIClient, normal: Dataset) -> None:
    filters = [
        {"key": "size", "operator": ">", "value": 1},
        {"key": "category", "operator": "in", "value": ["01"]},
    ]
    assert result_files(client, run_search(client, normal, filters)) == {"a": ["big.jpg"]}
    assert result_files(client, run_search(client, normal, filters, conjunction="OR")) == {
        "a": ["big.jpg"],
        "b": ["other.jpg"],
    }


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"conjunction": "xor"}, "arguments.conjunction"),
        ({"unit": "segment"}, "arguments.unit"),
        ({"unit": "frame"}, "arguments.unit"),
        ({"filters": []}, "arguments.filters"),
        ({"filters": [{"key": "name", "operator": "=", "value": "x"}]}, "arguments.filters[0].key"),
        ({"filters": [{"key": "frame", "operator": "=", "value": "x"}]}, "arguments.filters[0].key"),
        ({"filters": [{"key": "size", "operator": "<", "value": 3}]}, "arguments.filters[0].operator"),
        ({"filters": [{"key": "size", "operator": ">", "value": "3"}]}, "arguments.filters[0].value"),
        ({"filters": [{"key": "segment", "operator": "in", "value": "a"}]}, "arguments.filters[0].value"),
        ({"filters": [{"key": "withLabel", "operator": "=", "value": 1}]}, "arguments.filters[0].value"),
        ({"filters": [{"key": "attribute", "operator": "in", "value": {"x": 1}}]}, "arguments.filters[0].value"),
        ({"filters": ["size"]}, "arguments.filters[0]"),
    ],
)
def test_bad_arguments_are_invalid(client: APIClient, normal: Dataset, arguments: dict, field: str) -> None:
    body = search_body(normal, [{"key": "size", "operator": ">", "value": 0}])
    body["arguments"].update(arguments)
    response = client.post(f"{P}/datasets/{normal.hex_id}/jobs", body, "json")
    assert error(response) in ((400, "InvalidParamsValue"), (400, "RequestParamsMissing"))
    assert field in response.json()["message"]
    assert not Job.objects.exists()


def test_an_unknown_commit_is_not_found(client: APIClient, normal: Dataset) -> None:
    body = search_body(normal, [{"key": "size", "operator": ">", "value": 0}])
    body["arguments"]["commit"] = "f" * 32
    assert error(client.post(f"{P}/datasets/{normal.hex_id}/jobs", body, "json")) == (404, "ResourceNotExist")


def test_a_search_job_is_not_retried(client: APIClient, normal: Dataset) -> None:
    ds = f"{P}/datasets/{normal.hex_id}"
    job_id = ok(client.post(f"{ds}/jobs", search_body(normal, FILTERS[1:2]), "json"), 201)["jobId"]
    ok(client.post(f"{ds}/jobs/{job_id}/abort?jobType=basicSearch"))
    assert error(client.post(f"{ds}/jobs/{job_id}/retry?jobType=basicSearch")) == (403, "Forbidden")
    job = ok(client.get(f"{ds}/jobs/{job_id}", {"jobType": "basicSearch"}))
    assert (job["status"], job["result"]) == ("ABORTED", None)
    assert not Dataset.all_objects.filter(search_source=normal).exists()


def test_a_retried_create_makes_one_job(client: APIClient, normal: Dataset) -> None:
    ds = f"{P}/datasets/{normal.hex_id}"
    body = search_body(normal, FILTERS[1:2])
    first = ok(client.post(f"{ds}/jobs", body, "json", HTTP_X_REQUEST_ID="r-1"), 201)
    assert ok(client.post(f"{ds}/jobs", body, "json", HTTP_X_REQUEST_ID="r-1"), 201) == first
    assert Job.objects.count() == 1


def test_a_result_is_read_only_and_listed_nowhere(client: APIClient, normal: Dataset) -> None:
    job = run_search(client, normal, FILTERS[1:2])
    rid, commit = job["result"]["searchResultId"], job["result"]["searchResultCommitId"]
    names = [d["name"] for d in ok(client.get(f"{P}/datasets"))["datasets"]]
    assert names == ["cats"]
    assert error(client.post(f"{P}/datasets/{rid}/drafts", {"branchName": "main", "title": "x"}, "json")) == (
        403,
        "AccessDenied",
    )
    assert error(client.delete(f"{P}/datasets/{rid}")) == (403, "AccessDenied")
    assert ok(client.get(f"{P}/datasets/{rid}/commits", {"commit": commit}))["commits"][0]["commitId"] == commit


def test_an_outsider_cannot_read_a_result(api_client: APIClient, client: APIClient, normal: Dataset) -> None:
    job = run_search(client, normal, FILTERS[1:2])
    outsider = UserFactory(username="olga")
    key = services.access_key_create(user=outsider, workspace=services.personal_workspace(user=outsider))[1]
    api_client.credentials(HTTP_X_TOKEN=key)
    rid, commit = job["result"]["searchResultId"], job["result"]["searchResultCommitId"]
    assert error(api_client.get(f"{P}/datasets/{rid}/segments", {"commit": commit})) == (404, "ResourceNotExist")
    body = {"datasetName": "mine", "alias": "", "isPublic": False}
    assert error(api_client.post(f"{P}/searchResults/{job['jobId']}/datasets", body, "json")) == (
        404,
        "ResourceNotExist",
    )


def test_a_reader_reads_a_result_but_cannot_search(api_client: APIClient, client: APIClient, normal: Dataset) -> None:
    job = run_search(client, normal, FILTERS[1:2])
    reader = UserFactory(username="rita")
    services.membership_set(workspace=normal.workspace, user=reader, role=Membership.Role.READER)
    api_client.credentials(HTTP_X_TOKEN=services.access_key_create(user=reader, workspace=normal.workspace)[1])
    rid, commit = job["result"]["searchResultId"], job["result"]["searchResultCommitId"]
    assert ok(api_client.get(f"{P}/datasets/{rid}/segments", {"commit": commit}))["totalCount"] == 2
    ds = f"{P}/datasets/{normal.hex_id}"
    assert error(api_client.post(f"{ds}/jobs", search_body(normal, FILTERS[1:2]), "json")) == (403, "AccessDenied")


def test_delete_removes_the_job_and_its_result(client: APIClient, normal: Dataset) -> None:
    job = run_search(client, normal, FILTERS[1:2])
    ds = f"{P}/datasets/{normal.hex_id}"
    ok(client.delete(f"{ds}/jobs/{job['jobId']}?jobType=basicSearch"))
    assert ok(client.get(f"{ds}/jobs", {"jobType": "basicSearch"}))["totalCount"] == 0
    rid = job["result"]["searchResultId"]
    assert error(client.get(f"{P}/datasets/{rid}/segments", {"commit": job["result"]["searchResultCommitId"]})) == (
        404,
        "ResourceNotExist",
    )
    assert not Dataset.all_objects.filter(search_source=normal).exists()


def test_deleting_the_source_deletes_its_results(client: APIClient, normal: Dataset) -> None:
    run_search(client, normal, FILTERS[1:2])
    ok(client.delete(f"{P}/datasets/{normal.hex_id}"))
    assert not Dataset.all_objects.exists()


def test_a_result_becomes_a_dataset(client: APIClient, fusion: Dataset, prefix: str) -> None:
    job = run_search(client, fusion, FILTERS)
    body = {"datasetName": "search_dataset", "alias": "found", "isPublic": False}
    ok(client.post(f"{prefix}/searchResults/{job['jobId']}/datasets", body, "json"), 201)
    [made] = ok(client.get(f"{P}/datasets", {"name": "search_dataset"}))["datasets"]
    described = ok(client.get(f"{P}/datasets/{made['id']}"))
    assert (described["type"], described["alias"]) == (1, "found")
    commit = described["commitId"]
    assert job["result"]["searchResultCommitId"] != commit
    sensors = ok(client.get(f"{P}/datasets/{made['id']}/sensors", {"segmentName": "test", "commit": commit}))
    assert sorted(s["name"] for s in sensors["sensors"]) == ["CAM_BACK_LEFT", "CAM_BACK_RIGHT"]
    assert result_files(client, {"result": {"searchResultId": made["id"], "searchResultCommitId": commit}}) == {
        "test": ["CAM_BACK_RIGHT"]
    }
    catalog = ok(client.get(f"{P}/datasets/{made['id']}/labels/catalogs", {"commit": commit}))["catalog"]
    assert catalog == CATALOG
    draft = ok(client.post(f"{P}/datasets/{made['id']}/drafts", {"branchName": "main", "title": "more"}, "json"))
    assert draft["draftNumber"] == 2


def test_an_existing_name_is_a_conflict(client: APIClient, normal: Dataset) -> None:
    job = run_search(client, normal, FILTERS[1:2])
    body = {"datasetName": "cats", "alias": "", "isPublic": False}
    assert error(client.post(f"{P}/searchResults/{job['jobId']}/datasets", body, "json")) == (409, "NameConflict")


def test_an_unknown_or_unfinished_job_makes_no_dataset(client: APIClient, normal: Dataset) -> None:
    body = {"datasetName": "new", "alias": "", "isPublic": False}
    assert error(client.post(f"{P}/searchResults/{'0' * 32}/datasets", body, "json")) == (404, "ResourceNotExist")
    ds = f"{P}/datasets/{normal.hex_id}"
    job_id = ok(client.post(f"{ds}/jobs", search_body(normal, FILTERS[1:2]), "json"), 201)["jobId"]
    ok(client.post(f"{ds}/jobs/{job_id}/abort?jobType=basicSearch"))
    assert error(client.post(f"{P}/searchResults/{job_id}/datasets", body, "json")) == (403, "Forbidden")
    assert error(client.post(f"{P}/searchResults/{job_id}/datasets", {}, "json")) == (400, "RequestParamsMissing")
    assert not Dataset.objects.filter(name="new").exists()
