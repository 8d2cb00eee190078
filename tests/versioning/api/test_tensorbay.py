"""TensorBay v1 versioning endpoints over HTTP: drafts, commits, branches, tags, segments, data, metadata, diffs."""

import hashlib
import io
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from datasets import selectors as catalog
from datasets import services
from datasets.models import Dataset, Membership, User
from storage_configs.backends import hub_backend
from tests.factories import UserFactory
from versioning import selectors as versioning_selectors
from versioning import services as versioning_services
from versioning.models import ROOT_COMMIT_ID, Draft

pytestmark = pytest.mark.django_db

P = "/gatewayv2/tensorbay-open-api/v1"
COMMIT_KEYS = {"commitId", "parentCommitId", "title", "description", "committer"}
DRAFT_KEYS = {"number", "title", "description", "branchName", "status", "parentCommitId", "author", "updatedAt"}


@pytest.fixture(autouse=True)
def list_cache_on(settings: LazySettings) -> None:
    """The list cache as it runs with Redis; one process here, so the local-memory cache behaves the same."""
    settings.LIST_CACHE_SECONDS = 60


@pytest.fixture(autouse=True)
def hub_storage(settings: LazySettings, tmp_path: Path) -> None:
    """The hub's own storage under a temporary directory, its URLs on the test server."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGE_PUBLIC_URL = "http://testserver"


@pytest.fixture
def dataset(user: User) -> Dataset:
    return services.dataset_create(workspace=services.personal_workspace(user=user), creator=user, name="cats")


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


def draft(client: APIClient, ds: str, title: str = "t", branch: str = "main") -> int:
    return ok(client.post(f"{ds}/drafts", {"title": title, "branchName": branch}, "json"))["draftNumber"]


def put_object(dataset: Dataset, content: bytes) -> tuple[str, int]:
    """Store an object as an upload would; return its sha1 and size."""
    sha1 = hashlib.sha1(content).hexdigest()
    hub_backend().save(catalog.dataset_object_key(dataset=dataset, sha1=sha1), io.BytesIO(content))
    return sha1, len(content)


def register(
    client: APIClient, ds: str, dataset: Dataset, number: int, files: dict[str, bytes], segment: str = "seg"
) -> None:
    objects = []
    for path, content in files.items():
        sha1, size = put_object(dataset, content)
        objects.append({"checksum": sha1, "fileSize": size, "remotePath": path})
    body = {"segmentName": segment, "objects": objects, "draftNumber": number}
    ok(client.put(f"{ds}/multi/callback", body, "json"))


def commit(
    client: APIClient, ds: str, dataset: Dataset, files: dict[str, bytes], branch: str = "main", **extra: str
) -> str:
    number = draft(client, ds, branch=branch)
    register(client, ds, dataset, number, files)
    return ok(client.post(f"{ds}/commits", {"title": "c", "draftNumber": number, **extra}, "json"))["commitId"]


def callback(client: APIClient, ds: str, number: int, objects: list[dict]) -> object:
    return client.put(f"{ds}/multi/callback", {"segmentName": "s", "objects": objects, "draftNumber": number}, "json")


# Drafts


def test_draft_create_numbers_across_branches(client: APIClient, ds: str, dataset: Dataset) -> None:
    assert draft(client, ds) == 1
    c1 = commit(client, ds, dataset, {"a": b"a"})
    ok(client.post(f"{ds}/branches", {"name": "dev", "commit": c1}, "json"), 201)
    assert draft(client, ds, branch="dev") == 3


def test_draft_on_an_unknown_branch_is_not_found(client: APIClient, ds: str) -> None:
    response = client.post(f"{ds}/drafts", {"title": "t", "branchName": "nope"}, "json")
    assert response.status_code == 404
    assert response.json() == {"code": "ResourceNotExist", "message": "branch 'nope' does not exist"}


def test_draft_without_a_title_is_params_missing(client: APIClient, ds: str) -> None:
    response = client.post(f"{ds}/drafts", {"branchName": "main"}, "json")
    assert response.json() == {"code": "RequestParamsMissing", "message": "title: This field is required."}


def test_draft_list_filters_by_status_and_branch(client: APIClient, ds: str) -> None:
    first, second = draft(client, ds, "a"), draft(client, ds, "b")
    ok(client.patch(f"{ds}/drafts/{first}", {"status": "CLOSED"}, "json"))
    open_drafts = ok(client.get(f"{ds}/drafts"))
    assert [d["number"] for d in open_drafts["drafts"]] == [second]
    item = open_drafts["drafts"][0]
    assert set(item) == DRAFT_KEYS
    assert (item["status"], item["branchName"], item["parentCommitId"], item["title"]) == (
        "OPEN", "main", ROOT_COMMIT_ID, "b",
    )  # fmt: skip
    assert [d["number"] for d in ok(client.get(f"{ds}/drafts", {"status": "ALL"}))["drafts"]] == [first, second]
    assert ok(client.get(f"{ds}/drafts", {"status": "CLOSED", "branchName": "dev"}))["totalCount"] == 0
    assert error(client.get(f"{ds}/drafts", {"status": "WEIRD"})) == (400, "InvalidParamsValue")


def test_draft_update_title_and_description(client: APIClient, ds: str) -> None:
    number = draft(client, ds)
    assert ok(client.patch(f"{ds}/drafts/{number}", {"title": "new", "description": "d"}, "json")) == {}
    item = ok(client.get(f"{ds}/drafts"))["drafts"][0]
    assert (item["title"], item["description"]) == ("new", "d")


def test_a_closed_draft_cannot_change(client: APIClient, ds: str) -> None:
    number = draft(client, ds)
    client.patch(f"{ds}/drafts/{number}", {"status": "CLOSED"}, "json")
    response = client.patch(f"{ds}/drafts/{number}", {"title": "x"}, "json")
    assert response.status_code == 403
    assert response.json() == {"code": "Forbidden", "message": "draft 1 is CLOSED"}


def test_update_an_unknown_draft_is_not_found(client: APIClient, ds: str) -> None:
    response = client.patch(f"{ds}/drafts/9", {"title": "x"}, "json")
    assert response.json() == {"code": "ResourceNotExist", "message": "draft 9 does not exist"}


def test_drafts_list_costs_a_fixed_number_of_queries(
    client: APIClient, ds: str, django_assert_max_num_queries: object
) -> None:
    for _ in range(5):
        draft(client, ds)
    with django_assert_max_num_queries(8):  # type: ignore[operator]
        assert ok(client.get(f"{ds}/drafts"))["totalCount"] == 5


# Commits


def test_commit_with_a_tag_moves_the_branch(client: APIClient, ds: str, dataset: Dataset) -> None:
    c1 = commit(client, ds, dataset, {"a": b"a"}, tag="v1")
    assert ok(client.get(ds))["commitId"] == c1
    assert [t["name"] for t in ok(client.get(f"{ds}/tags"))["tags"]] == ["v1"]
    assert ok(client.get(f"{ds}/drafts", {"status": "COMMITTED"}))["drafts"][0]["number"] == 1


def test_commit_list_resolves_branches_tags_and_ids(client: APIClient, ds: str, dataset: Dataset) -> None:
    c1 = commit(client, ds, dataset, {"a": b"a"}, tag="v1")
    c2 = commit(client, ds, dataset, {"b": b"b"})
    at_branch = ok(client.get(f"{ds}/commits", {"commit": "main"}))
    assert [c["commitId"] for c in at_branch["commits"]] == [c2, c1]
    assert set(at_branch["commits"][0]) == COMMIT_KEYS
    assert at_branch["commits"][1]["parentCommitId"] == ROOT_COMMIT_ID
    assert at_branch["commits"][0]["committer"]["name"] == "ada"
    assert [c["commitId"] for c in ok(client.get(f"{ds}/commits", {"commit": "v1"}))["commits"]] == [c1]
    assert [c["commitId"] for c in ok(client.get(f"{ds}/commits", {"commit": c2, "offset": 1}))["commits"]] == [c1]
    assert ok(client.get(f"{ds}/commits", {"commit": ROOT_COMMIT_ID}))["totalCount"] == 0
    assert error(client.get(f"{ds}/commits", {"commit": "nope"})) == (404, "ResourceNotExist")


def test_commit_with_a_taken_tag_is_a_conflict_and_the_draft_stays_open(
    client: APIClient, ds: str, dataset: Dataset
) -> None:
    commit(client, ds, dataset, {"a": b"a"}, tag="v1")
    number = draft(client, ds)
    response = client.post(f"{ds}/commits", {"title": "c", "draftNumber": number, "tag": "v1"}, "json")
    assert response.status_code == 409
    assert response.json() == {"code": "NameConflict", "message": "'v1' already names a branch or tag"}
    assert ok(client.get(f"{ds}/drafts"))["drafts"][0]["number"] == number


def test_commit_a_closed_draft_is_forbidden(client: APIClient, ds: str) -> None:
    number = draft(client, ds)
    client.patch(f"{ds}/drafts/{number}", {"status": "CLOSED"}, "json")
    response = client.post(f"{ds}/commits", {"title": "c", "draftNumber": number}, "json")
    assert error(response) == (403, "Forbidden")


def test_commit_without_draft_number_is_params_missing(client: APIClient, ds: str) -> None:
    response = client.post(f"{ds}/commits", {"title": "c"}, "json")
    assert response.json() == {"code": "RequestParamsMissing", "message": "draftNumber: This field is required."}


def test_a_retried_commit_gets_the_first_answer(client: APIClient, ds: str) -> None:
    number = draft(client, ds)
    body = {"title": "c", "draftNumber": number}
    first = ok(client.post(f"{ds}/commits", body, "json", HTTP_X_REQUEST_ID="r" * 32))
    assert ok(client.post(f"{ds}/commits", body, "json", HTTP_X_REQUEST_ID="r" * 32)) == first


# Branches


def test_branch_create_list_and_delete(client: APIClient, ds: str, dataset: Dataset) -> None:
    c1 = commit(client, ds, dataset, {"a": b"a"})
    assert ok(client.post(f"{ds}/branches", {"name": "dev", "commit": c1}, "json"), 201) == {}
    listed = ok(client.get(f"{ds}/branches"))
    assert [b["name"] for b in listed["branches"]] == ["dev", "main"]
    dev = ok(client.get(f"{ds}/branches", {"name": "dev"}))["branches"]
    assert dev[0]["commitId"] == c1 and set(dev[0]) == COMMIT_KEYS | {"name"}
    assert ok(client.delete(f"{ds}/branches", {"name": "dev"}, "json")) == {}
    assert ok(client.get(f"{ds}/branches", {"name": "dev"}))["totalCount"] == 0
    assert [c["commitId"] for c in ok(client.get(f"{ds}/commits", {"commit": c1}))["commits"]] == [c1]


def test_a_branch_at_root_is_its_name_and_the_root_id(client: APIClient, ds: str) -> None:
    assert ok(client.get(f"{ds}/branches"))["branches"] == [{"name": "main", "commitId": ROOT_COMMIT_ID}]


def test_branch_from_root_is_forbidden(client: APIClient, ds: str) -> None:
    response = client.post(f"{ds}/branches", {"name": "dev", "commit": ROOT_COMMIT_ID}, "json")
    assert response.status_code == 403
    assert response.json() == {"code": "Forbidden", "message": "the revision has no commits"}


def test_branch_with_a_taken_name_is_a_conflict(client: APIClient, ds: str, dataset: Dataset) -> None:
    c1 = commit(client, ds, dataset, {"a": b"a"})
    response = client.post(f"{ds}/branches", {"name": "main", "commit": c1}, "json")
    assert error(response) == (409, "NameConflict")


def test_deleting_the_default_or_an_unknown_branch_fails(client: APIClient, ds: str) -> None:
    assert client.delete(f"{ds}/branches", {"name": "main"}, "json").json() == {
        "code": "Forbidden",
        "message": "the default branch cannot be deleted",
    }
    assert error(client.delete(f"{ds}/branches", {"name": "nope"}, "json")) == (404, "ResourceNotExist")
    assert error(client.delete(f"{ds}/branches", {}, "json")) == (400, "RequestParamsMissing")


# Tags


def test_tag_create_by_branch_name_list_and_delete(client: APIClient, ds: str, dataset: Dataset) -> None:
    c1 = commit(client, ds, dataset, {"a": b"a"})
    ok(client.post(f"{ds}/tags", {"name": "b", "commit": "main"}, "json"), 201)
    ok(client.post(f"{ds}/tags", {"name": "a", "commit": c1}, "json"), 201)
    tags = ok(client.get(f"{ds}/tags"))["tags"]
    assert [(t["name"], t["commitId"]) for t in tags] == [("a", c1), ("b", c1)]
    assert set(tags[0]) == COMMIT_KEYS | {"name"}
    assert ok(client.get(f"{ds}/tags", {"name": "a"}))["totalCount"] == 1
    assert ok(client.delete(f"{ds}/tags", {"name": "a"}, "json")) == {}
    assert error(client.delete(f"{ds}/tags", {"name": "a"}, "json")) == (404, "ResourceNotExist")
    assert error(client.post(f"{ds}/tags", {"name": "b", "commit": c1}, "json")) == (409, "NameConflict")


def test_tags_and_branches_list_in_a_fixed_number_of_queries(
    client: APIClient, ds: str, dataset: Dataset, django_assert_max_num_queries: object
) -> None:
    c1 = commit(client, ds, dataset, {"a": b"a"})
    for index in range(5):
        client.post(f"{ds}/tags", {"name": f"t{index}", "commit": c1}, "json")
        client.post(f"{ds}/branches", {"name": f"b{index}", "commit": c1}, "json")
    with django_assert_max_num_queries(8):  # type: ignore[operator]
        assert ok(client.get(f"{ds}/tags"))["totalCount"] == 5
    with django_assert_max_num_queries(8):  # type: ignore[operator]
        assert ok(client.get(f"{ds}/branches"))["totalCount"] == 6


# Segments


def test_segments_at_a_draft_a_commit_and_root(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    ok(client.post(f"{ds}/segments", {"name": "b", "draftNumber": number, "description": "d"}, "json"))
    ok(client.post(f"{ds}/segments", {"name": "a", "draftNumber": number}, "json"))
    ok(client.post(f"{ds}/segments", {"name": "b", "draftNumber": number}, "json"))  # existing: kept as it is
    at_draft = ok(client.get(f"{ds}/segments", {"draftNumber": number}))
    assert at_draft["segments"] == [{"name": "a", "description": ""}, {"name": "b", "description": "d"}]
    c1 = ok(client.post(f"{ds}/commits", {"title": "c", "draftNumber": number}, "json"))["commitId"]
    assert ok(client.get(f"{ds}/segments", {"commit": c1}))["totalCount"] == 2
    assert ok(client.get(f"{ds}/segments", {"commit": ROOT_COMMIT_ID}))["segments"] == []


def test_segments_without_a_status_selector_is_params_missing(client: APIClient, ds: str) -> None:
    response = client.get(f"{ds}/segments")
    assert response.json() == {"code": "RequestParamsMissing", "message": "a draftNumber or a commit is required"}


def test_segment_delete(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    register(client, ds, dataset, number, {"a": b"a"})
    ok(client.delete(f"{ds}/segments", {"segmentName": "seg", "draftNumber": number}, "json"))
    assert ok(client.get(f"{ds}/segments", {"draftNumber": number}))["totalCount"] == 0
    response = client.delete(f"{ds}/segments", {"segmentName": "seg", "draftNumber": number}, "json")
    assert response.json() == {"code": "ResourceNotExist", "message": "segment 'seg' does not exist"}


def test_segment_copy_and_move_with_strategies(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    register(client, ds, dataset, number, {"a": b"a", "b": b"b"})
    body = {"strategy": "abort", "source": {"segmentName": "seg"}, "segmentName": "copy", "draftNumber": number}
    ok(client.post(f"{ds}/segments?copy", body, "json"))
    assert error(client.post(f"{ds}/segments?copy", body, "json")) == (409, "NameConflict")
    ok(client.post(f"{ds}/segments?copy", {**body, "strategy": "skip"}, "json"))
    ok(client.post(f"{ds}/segments?copy", {**body, "strategy": "override"}, "json"))
    ok(client.post(f"{ds}/segments?move", {**body, "source": {"segmentName": "copy"}, "segmentName": "moved"}, "json"))
    names = [s["name"] for s in ok(client.get(f"{ds}/segments", {"draftNumber": number}))["segments"]]
    assert names == ["moved", "seg"]
    paths = ok(client.get(f"{ds}/data", {"segmentName": "moved", "draftNumber": number}))["data"]
    assert paths == [{"remotePath": "a"}, {"remotePath": "b"}]
    assert error(client.post(f"{ds}/segments?copy", {**body, "strategy": "bad"}, "json")) == (400, "InvalidParamsValue")


def test_segment_copy_from_another_version(client: APIClient, ds: str, dataset: Dataset) -> None:
    c1 = commit(client, ds, dataset, {"a": b"a"})
    number = draft(client, ds)
    ok(client.delete(f"{ds}/segments", {"segmentName": "seg", "draftNumber": number}, "json"))
    body = {
        "source": {"segmentName": "seg", "id": dataset.hex_id, "commit": c1},
        "segmentName": "back",
        "draftNumber": number,
    }
    ok(client.post(f"{ds}/segments?copy", body, "json"))
    assert ok(client.get(f"{ds}/data", {"segmentName": "back", "draftNumber": number}))["totalCount"] == 1


# Data


def test_data_paths_details_and_urls(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    sha1, size = put_object(dataset, b"\x00\xffbytes")
    label = {"CLASSIFICATION": {"category": "cat"}, "BOX2D": [{"xmin": 1, "category": "dog"}]}
    objects = [
        {"checksum": sha1, "fileSize": size, "remotePath": "a.bin", "label": label, "timestamp": 1.5},
        {"checksum": sha1, "fileSize": size, "remotePath": "b.bin"},
    ]
    ok(client.put(f"{ds}/multi/callback", {"segmentName": "seg", "objects": objects, "draftNumber": number}, "json"))
    query = {"segmentName": "seg", "draftNumber": number}
    assert ok(client.get(f"{ds}/data", query))["data"] == [{"remotePath": "a.bin"}, {"remotePath": "b.bin"}]
    details = ok(client.get(f"{ds}/data/details", query))["dataDetails"]
    assert [(d["remotePath"], d["label"], d.get("timestamp")) for d in details] == [
        ("a.bin", label, 1.5),
        ("b.bin", {}, None),
    ]
    assert details[0]["url"].startswith("http://testserver/storage/files/")
    download = APIClient().get(details[0]["url"])
    assert (download.status_code, b"".join(download.streaming_content)) == (200, b"\x00\xffbytes")
    one = ok(client.get(f"{ds}/data/details", {**query, "remotePath": "b.bin"}))
    assert (one["totalCount"], one["dataDetails"][0]["remotePath"]) == (1, "b.bin")
    urls = ok(client.get(f"{ds}/data/urls", {**query, "offset": 1, "limit": 1}))
    assert (urls["totalCount"], urls["urls"][0]["remotePath"]) == (2, "b.bin")
    assert error(client.get(f"{ds}/data/details", {**query, "remotePath": "nope"})) == (404, "ResourceNotExist")
    assert error(client.get(f"{ds}/data", {"draftNumber": number})) == (400, "RequestParamsMissing")


def test_data_details_cost_a_fixed_number_of_queries(
    client: APIClient, ds: str, dataset: Dataset, django_assert_max_num_queries: object
) -> None:
    c1 = commit(client, ds, dataset, {f"f{index}": f"{index}".encode() for index in range(30)})
    with django_assert_max_num_queries(10):  # type: ignore[operator]
        body = ok(client.get(f"{ds}/data/details", {"segmentName": "seg", "commit": c1}))
    assert body["totalCount"] == 30


def unsigned(details: list[dict]) -> list[dict]:
    """Data details without their signed URLs, which carry the second they were signed in."""
    return [{**detail, "url": None} for detail in details]


def test_details_at_a_commit_are_served_from_the_cache(
    client: APIClient, ds: str, dataset: Dataset, django_assert_max_num_queries: object
) -> None:
    c1 = commit(client, ds, dataset, {"a": b"one", "b": b"two"})
    query = {"segmentName": "seg", "commit": "main"}
    first = ok(client.get(f"{ds}/data/details", query))
    with django_assert_max_num_queries(4):  # type: ignore[operator]
        again = ok(client.get(f"{ds}/data/details", query))
    assert again == first
    download = APIClient().get(again["dataDetails"][1]["url"])
    assert (download.status_code, b"".join(download.streaming_content)) == (200, b"two")
    # Another URL is another cache entry, signed when it is first built: its URLs may carry a later second.
    one = ok(client.get(f"{ds}/data/details", {**query, "limit": 1}))
    assert unsigned(one["dataDetails"]) == unsigned(first["dataDetails"][:1])
    by_id = ok(client.get(f"{ds}/data/details", {"segmentName": "seg", "commit": c1}))
    assert {**by_id, "dataDetails": unsigned(by_id["dataDetails"])} == {
        **first,
        "dataDetails": unsigned(first["dataDetails"]),
    }


def test_details_at_a_branch_show_its_new_head_at_once(client: APIClient, ds: str, dataset: Dataset) -> None:
    commit(client, ds, dataset, {"a": b"one"})
    query = {"segmentName": "seg", "commit": "main"}
    assert ok(client.get(f"{ds}/data/details", query))["totalCount"] == 1
    commit(client, ds, dataset, {"b": b"two"})
    assert [d["remotePath"] for d in ok(client.get(f"{ds}/data/details", query))["dataDetails"]] == ["a", "b"]


def test_details_of_a_draft_show_staged_entries_at_once(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    register(client, ds, dataset, number, {"a": b"one"})
    query = {"segmentName": "seg", "draftNumber": number}
    assert ok(client.get(f"{ds}/data/details", query))["totalCount"] == 1
    register(client, ds, dataset, number, {"b": b"two"})
    assert ok(client.get(f"{ds}/data/details", query))["totalCount"] == 2


def test_cached_details_are_not_served_to_a_caller_who_may_not_read(
    client: APIClient, ds: str, dataset: Dataset, other_user: User
) -> None:
    commit(client, ds, dataset, {"a": b"one"})
    query = {"segmentName": "seg", "commit": "main"}
    ok(client.get(f"{ds}/data/details", query))
    stranger = APIClient(raise_request_exception=False)
    stranger.credentials(
        HTTP_X_TOKEN=services.access_key_create(
            user=other_user, workspace=services.personal_workspace(user=other_user)
        )[1]
    )
    assert error(stranger.get(f"{ds}/data/details", query)) == (404, "ResourceNotExist")


@pytest.mark.parametrize(("seconds", "builds"), [(60, 1), (0, 2)])
def test_details_are_built_once_unless_the_cache_is_off(
    client: APIClient,
    ds: str,
    dataset: Dataset,
    settings: LazySettings,
    monkeypatch: pytest.MonkeyPatch,
    seconds: int,
    builds: int,
) -> None:
    commit(client, ds, dataset, {"a": b"one"})
    settings.LIST_CACHE_SECONDS = seconds
    pages = []
    entry_list = versioning_selectors.entry_list
    monkeypatch.setattr(versioning_selectors, "entry_list", lambda **kwargs: pages.append(1) or entry_list(**kwargs))
    for _ in range(2):
        ok(client.get(f"{ds}/data/details", {"segmentName": "seg", "commit": "main"}))
    assert len(pages) == builds


def test_a_caller_asking_again_is_answered_without_a_query(
    client: APIClient, ds: str, dataset: Dataset, django_assert_num_queries: object
) -> None:
    commit(client, ds, dataset, {"a": b"one", "b": b"two"})
    query = {"segmentName": "seg", "commit": "main"}
    first = client.get(f"{ds}/data/details", query)
    with django_assert_num_queries(0):  # type: ignore[operator]
        again = client.get(f"{ds}/data/details", query, HTTP_X_REQUEST_ID="r-2")
    assert (again.status_code, again.content) == (200, first.content)
    assert again["X-Request-Id"] == "r-2"
    del again["X-Request-Id"]
    assert dict(again.items()) == dict(first.items())
    another_page = ok(client.get(f"{ds}/data/details", {**query, "limit": 1}))
    assert (another_page["totalCount"], len(another_page["dataDetails"])) == (2, 1)


def leave(dataset: Dataset, reader: User) -> None:
    Membership.objects.filter(workspace=dataset.workspace, user=reader).delete()


def deactivate(dataset: Dataset, reader: User) -> None:
    reader.is_active = False
    reader.save()


def make_private(dataset: Dataset, reader: User) -> None:
    services.dataset_update(dataset=dataset, is_public=False)


def hide(dataset: Dataset, reader: User) -> None:
    dataset.hidden = True
    dataset.save()


def delete(dataset: Dataset, reader: User) -> None:
    services.dataset_delete(dataset=dataset)


@pytest.mark.parametrize(
    ("change", "status"),
    [(leave, 401), (deactivate, 401), (make_private, 404), (hide, 404), (delete, 404)],
)
def test_a_remembered_answer_stops_at_the_first_change_of_access(
    client: APIClient, ds: str, dataset: Dataset, other_user: User, change: object, status: int
) -> None:
    """A reader's key that was answered once is refused at once when its access ends, whatever ended it."""
    commit(client, ds, dataset, {"a": b"one"})
    services.dataset_update(dataset=dataset, is_public=True)
    services.membership_set(workspace=dataset.workspace, user=other_user, role=Membership.Role.READER)
    reader = APIClient(raise_request_exception=False)
    reader.credentials(HTTP_X_TOKEN=services.access_key_create(user=other_user, workspace=dataset.workspace)[1])
    if change in (make_private, hide, delete):
        # A key of the reader's own workspace: the dataset is public, so it reads until the change.
        reader.credentials(
            HTTP_X_TOKEN=services.access_key_create(
                user=other_user, workspace=services.personal_workspace(user=other_user)
            )[1]
        )
    query = {"segmentName": "seg", "commit": "main"}
    ok(reader.get(f"{ds}/data/details", query))
    ok(reader.get(f"{ds}/data/details", query))
    change(Dataset.objects.get(pk=dataset.pk), User.objects.get(pk=other_user.pk))  # type: ignore[operator]
    assert reader.get(f"{ds}/data/details", query).status_code == status


def test_a_remembered_answer_stops_when_its_key_is_revoked(
    client: APIClient, ds: str, dataset: Dataset, user: User
) -> None:
    commit(client, ds, dataset, {"a": b"one"})
    key, raw = services.access_key_create(user=user, workspace=dataset.workspace)
    caller = APIClient(raise_request_exception=False)
    caller.credentials(HTTP_X_TOKEN=raw)
    query = {"segmentName": "seg", "commit": "main"}
    ok(caller.get(f"{ds}/data/details", query))
    services.access_key_revoke(key=key)
    assert error(caller.get(f"{ds}/data/details", query)) == (401, "Unauthorized")


def test_a_remembered_answer_follows_a_tag_that_moves(client: APIClient, ds: str, dataset: Dataset) -> None:
    c1 = commit(client, ds, dataset, {"a": b"one"})
    ok(client.post(f"{ds}/tags", {"name": "v1", "commit": c1}, "json"), 201)
    query = {"segmentName": "seg", "commit": "v1"}
    c2 = commit(client, ds, dataset, {"b": b"two"})
    assert ok(client.get(f"{ds}/data/details", query))["totalCount"] == 1
    versioning_services.tag_delete(dataset=dataset, name="v1")
    versioning_services.tag_create(dataset=dataset, name="v1", revision=c2)
    assert ok(client.get(f"{ds}/data/details", query))["totalCount"] == 2


def test_an_answer_built_while_access_changed_is_not_remembered(
    client: APIClient, ds: str, dataset: Dataset, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memo holds the generations read before the answer was built: a revocation that lands while it is
    being built retires it."""
    commit(client, ds, dataset, {"a": b"one"})
    key, raw = services.access_key_create(user=user, workspace=dataset.workspace)
    caller = APIClient(raise_request_exception=False)
    caller.credentials(HTTP_X_TOKEN=raw)
    entry_list = versioning_selectors.entry_list

    def revoke_while_building(**kwargs: object) -> object:
        services.access_key_revoke(key=key)
        return entry_list(**kwargs)

    monkeypatch.setattr(versioning_selectors, "entry_list", revoke_while_building)
    query = {"segmentName": "seg", "commit": "main"}
    ok(caller.get(f"{ds}/data/details", query))
    assert error(caller.get(f"{ds}/data/details", query)) == (401, "Unauthorized")


@pytest.mark.parametrize("query", [{"segmentName": "seg", "draftNumber": "1"}, {"segmentName": "seg"}])
def test_only_pages_at_a_commit_are_remembered(client: APIClient, ds: str, dataset: Dataset, query: dict) -> None:
    draft(client, ds)
    first = client.get(f"{ds}/data/details", query)
    with CaptureQueriesContext(connection) as queries:
        again = client.get(f"{ds}/data/details", query)
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert len(queries) > 0


def test_callback_refuses_an_object_not_in_storage(client: APIClient, ds: str) -> None:
    number = draft(client, ds)
    objects = [{"checksum": "a" * 40, "fileSize": 3, "remotePath": "a"}]
    response = client.put(
        f"{ds}/multi/callback", {"segmentName": "s", "objects": objects, "draftNumber": number}, "json"
    )
    assert response.status_code == 400
    assert response.json() == {"code": "InvalidParamsValue", "message": "storage object does not exist"}
    assert ok(client.get(f"{ds}/segments", {"draftNumber": number}))["totalCount"] == 0


def test_callback_refuses_an_object_of_another_size(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    sha1, size = put_object(dataset, b"abc")
    objects = [{"checksum": sha1, "fileSize": size + 1, "remotePath": "a"}]
    response = client.put(
        f"{ds}/multi/callback", {"segmentName": "s", "objects": objects, "draftNumber": number}, "json"
    )
    assert error(response) == (400, "InvalidParamsValue")


@pytest.mark.parametrize("checksum", ["A" * 40, "a" * 39, "../../etc/passwd"])
def test_callback_refuses_a_bad_checksum(client: APIClient, ds: str, checksum: str) -> None:
    number = draft(client, ds)
    objects = [{"checksum": checksum, "fileSize": 1, "remotePath": "a"}]
    response = client.put(
        f"{ds}/multi/callback", {"segmentName": "s", "objects": objects, "draftNumber": number}, "json"
    )
    assert error(response) == (400, "InvalidParamsValue")


def test_callback_again_replaces_the_entry(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    register(client, ds, dataset, number, {"a": b"one"})
    register(client, ds, dataset, number, {"a": b"two"})
    detail = ok(client.get(f"{ds}/data/details", {"segmentName": "seg", "draftNumber": number}))
    assert detail["totalCount"] == 1


def test_callback_on_a_closed_draft_is_forbidden(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    client.patch(f"{ds}/drafts/{number}", {"status": "CLOSED"}, "json")
    sha1, size = put_object(dataset, b"x")
    objects = [{"checksum": sha1, "fileSize": size, "remotePath": "a"}]
    response = client.put(
        f"{ds}/multi/callback", {"segmentName": "s", "objects": objects, "draftNumber": number}, "json"
    )
    assert error(response) == (403, "Forbidden")


def test_data_delete_copy_and_move(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    register(client, ds, dataset, number, {"a": b"a", "b": b"b", "c": b"c"})
    ok(client.delete(f"{ds}/data", {"segmentName": "seg", "remotePath": "c", "draftNumber": number}, "json"))
    source = {"segmentName": "seg", "remotePaths": ["a", "b"]}
    ok(client.post(f"{ds}/data?multipleCopy", {"source": source, "segmentName": "two", "draftNumber": number}, "json"))
    body = {"source": source, "segmentName": "two", "draftNumber": number}
    assert error(client.post(f"{ds}/data?multipleCopy", body, "json")) == (409, "NameConflict")
    moved = {"source": {"segmentName": "two", "remotePaths": ["a"]}, "segmentName": "two", "remotePaths": ["z"]}
    ok(client.post(f"{ds}/data?multipleMove", {**moved, "draftNumber": number}, "json"))
    listed = ok(client.get(f"{ds}/data", {"segmentName": "two", "draftNumber": number}))["data"]
    assert listed == [{"remotePath": "b"}, {"remotePath": "z"}]
    assert ok(client.get(f"{ds}/data", {"segmentName": "seg", "draftNumber": number}))["totalCount"] == 2
    assert error(client.post(f"{ds}/data", body, "json")) == (400, "RequestParamsMissing")
    gone = {"segmentName": "seg", "remotePath": "nope", "draftNumber": number}
    assert error(client.delete(f"{ds}/data", gone, "json")) == (404, "ResourceNotExist")


def test_labels_are_replaced_in_a_draft(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    register(client, ds, dataset, number, {"a": b"a", "b": b"b"})
    objects = [{"remotePath": "a", "label": {"CLASSIFICATION": {"category": "cat"}}}]
    ok(client.put(f"{ds}/multi/data/labels", {"segmentName": "seg", "objects": objects, "draftNumber": number}, "json"))
    ok(client.put(f"{ds}/multi/data/labels", {"segmentName": "seg", "objects": [], "draftNumber": number}, "json"))
    details = ok(client.get(f"{ds}/data/details", {"segmentName": "seg", "draftNumber": number}))["dataDetails"]
    assert [d["label"] for d in details] == [{"CLASSIFICATION": {"category": "cat"}}, {}]
    stats = ok(client.get(f"{ds}/labels/statistics", {"draftNumber": number}))
    assert stats == {
        "labelStatistics": {"CLASSIFICATION": {"quantity": 1, "categories": [{"name": "cat", "quantity": 1}]}}
    }


# Catalog, notes, total size


def test_catalog_and_notes_follow_drafts_and_commits(client: APIClient, ds: str, dataset: Dataset) -> None:
    number = draft(client, ds)
    catalog_body = {"CLASSIFICATION": {"categories": [{"name": "cat"}]}}
    ok(client.put(f"{ds}/labels/catalogs", {"catalog": catalog_body, "draftNumber": number}, "json"))
    ok(client.patch(f"{ds}/notes", {"isContinuous": True, "binPointCloudFields": None, "draftNumber": number}, "json"))
    assert ok(client.get(f"{ds}/labels/catalogs", {"draftNumber": number})) == {"catalog": catalog_body}
    c1 = ok(client.post(f"{ds}/commits", {"title": "c", "draftNumber": number}, "json"))["commitId"]
    assert ok(client.get(f"{ds}/labels/catalogs", {"commit": c1})) == {"catalog": catalog_body}
    assert ok(client.get(f"{ds}/notes", {"commit": c1})) == {"isContinuous": True, "binPointCloudFields": None}
    c2 = commit(client, ds, dataset, {"a": b"a"})
    assert ok(client.get(f"{ds}/labels/catalogs", {"commit": c2})) == {"catalog": catalog_body}
    assert ok(client.get(f"{ds}/labels/catalogs", {"commit": ROOT_COMMIT_ID})) == {"catalog": {}}
    assert ok(client.get(f"{ds}/notes", {"commit": ROOT_COMMIT_ID})) == {
        "isContinuous": False,
        "binPointCloudFields": None,
    }


def test_total_size_at_a_commit(client: APIClient, ds: str, dataset: Dataset) -> None:
    c1 = commit(client, ds, dataset, {"a": b"abc", "b": b"de"})
    assert ok(client.get(f"{ds}/total-size", {"commit": c1})) == {"totalSize": 5}
    assert ok(client.get(f"{ds}/total-size", {"commit": ROOT_COMMIT_ID})) == {"totalSize": 0}
    assert error(client.get(f"{ds}/total-size")) == (400, "RequestParamsMissing")


# Diffs


def test_diff_of_a_commit_and_of_a_draft(client: APIClient, ds: str, dataset: Dataset) -> None:
    c1 = commit(client, ds, dataset, {"a": b"a", "b": b"b"})
    segments = ok(client.get(f"{ds}/diffs/commit-{c1}/segments"))
    assert (segments["segments"], segments["totalCount"]) == ([{"name": "seg", "action": "add"}], 1)
    data = ok(client.get(f"{ds}/diffs/commit-{c1}/segments/seg/data"))["data"]
    assert data[0] == {"remotePath": "a", "action": "add", "file": {"action": "add"}, "label": {"action": "add"}}
    number = draft(client, ds)
    register(client, ds, dataset, number, {"a": b"changed"})
    objects = [{"remotePath": "b", "label": {"CLASSIFICATION": {"category": "x"}}}]
    client.put(f"{ds}/multi/data/labels", {"segmentName": "seg", "objects": objects, "draftNumber": number}, "json")
    assert ok(client.get(f"{ds}/diffs/draft-{number}/segments"))["segments"] == [{"name": "seg", "action": "modify"}]
    changes = ok(client.get(f"{ds}/diffs/draft-{number}/segments/seg/data"))["data"]
    assert [(c["remotePath"], c["file"]["action"], c["label"]["action"]) for c in changes] == [
        ("a", "modify", "unmodify"),
        ("b", "unmodify", "modify"),
    ]
    assert error(client.get(f"{ds}/diffs/main/segments")) == (400, "InvalidParamsValue")


# Visibility


def test_another_workspace_gets_not_found_on_every_versioning_route(ds: str, other_user: User) -> None:
    bob = APIClient(raise_request_exception=False)
    bob.credentials(
        HTTP_X_TOKEN=services.access_key_create(
            user=other_user, workspace=services.personal_workspace(user=other_user)
        )[1]
    )
    for section in ("drafts", "branches", "tags", "commits", "segments?commit=main", "policies?draftNumber=1"):
        assert error(bob.get(f"{ds}/{section}")) == (404, "ResourceNotExist")
    assert error(bob.post(f"{ds}/drafts", {"title": "t"}, "json")) == (404, "ResourceNotExist")


def test_a_reader_reads_but_cannot_open_drafts(ds: str, dataset: Dataset) -> None:
    reader = UserFactory(username="reader")
    services.membership_set(workspace=dataset.workspace, user=reader, role=Membership.Role.READER)
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_X_TOKEN=services.access_key_create(user=reader, workspace=dataset.workspace)[1])
    assert ok(client.get(f"{ds}/branches"))["totalCount"] == 1
    assert error(client.post(f"{ds}/drafts", {"title": "t"}, "json")) == (403, "AccessDenied")
    assert Draft.objects.count() == 0


def test_catalog_is_found_many_commits_back(
    client: APIClient, ds: str, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = draft(client, ds)
    ok(client.put(f"{ds}/labels/catalogs", {"catalog": {"BOX2D": {}}, "draftNumber": number}, "json"))
    ok(client.post(f"{ds}/commits", {"title": "c", "draftNumber": number}, "json"))
    for index in range(3):
        last = commit(client, ds, dataset, {f"f{index}": b"x"})
    monkeypatch.setattr(versioning_selectors, "ANCESTOR_BATCH", 2)
    assert ok(client.get(f"{ds}/labels/catalogs", {"commit": last})) == {"catalog": {"BOX2D": {}}}
