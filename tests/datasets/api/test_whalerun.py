"""whale.run dialect (seed 000): every endpoint, parameter and error code."""

import threading
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from datasets import selectors
from datasets.api.whalerun import DatasetSerializer, render
from datasets.models import Dataset, DatasetFile, Licence, ModerationEvent, User
from tests.factories import DatasetFactory
from versioning import selectors as versioning
from versioning.models import Commit

pytestmark = pytest.mark.django_db

MESSAGES = {1100: "Bad Request", 1103: "Forbidden", 1104: "Not Found", 1201: "GET方法url参数不完整",
            1202: "GET方法url参数值错误", 1401: "POST/PUT方法json数据不完整", 1402: "POST/PUT方法json数据值或类型错误",
            1430: "oss对象不存在", 1431: "数据集文件异常"}  # fmt: skip


def error(response: object, code: int) -> None:
    """Assert the golden error body for a code."""
    assert response.json() == {"code": code, "message": MESSAGES[code], "data": {}}  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def media(settings: object, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path  # type: ignore[attr-defined]
    return tmp_path


@pytest.fixture
def stored_object() -> str:
    return default_storage.save("uploads/cat.jpg", ContentFile(b"x" * 10))


def register(client: APIClient, user: User, name: str, oss_object: str, size: int = 10) -> dict:
    response = client.post(
        "/api/dataset_files/", {"user_id": user.pk, "name": name, "oss_object": oss_object, "size": size}, format="json"
    )
    assert response.status_code == 200, response.json()
    return response.json()["data"]["dataset_file"]


def test_dataset_file_is_registered_when_the_object_exists(
    api_client: APIClient, user: User, stored_object: str
) -> None:
    body = {"user_id": user.pk, "name": "cat.jpg", "oss_object": stored_object, "size": 10, "mime_type": "image/jpeg"}
    response = api_client.post("/api/dataset_files/", body, format="json")
    assert (response.status_code, response.json()["code"], response.json()["message"]) == (200, 0, "Success")
    created = response.json()["data"]["dataset_file"]
    assert set(created) == {"id", "user_id", "name", "oss_object", "size", "mime_type", "description", "dataset_id",
                            "parent_id", "created_at"}  # fmt: skip
    assert (created["user_id"], created["mime_type"], created["dataset_id"]) == (user.pk, "image/jpeg", None)


def test_dataset_file_of_a_missing_object_is_1430(api_client: APIClient, user: User) -> None:
    body = {"user_id": user.pk, "name": "x", "oss_object": "nowhere/x.bin", "size": 1}
    error(api_client.post("/api/dataset_files/", body, format="json"), 1430)
    assert not DatasetFile.objects.exists()


def test_dataset_file_with_the_wrong_size_is_1402(api_client: APIClient, user: User, stored_object: str) -> None:
    body = {"user_id": user.pk, "name": "x", "oss_object": stored_object, "size": 11}
    error(api_client.post("/api/dataset_files/", body, format="json"), 1402)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "x", "oss_object": "o", "size": 1}, 1401),
        ({"user_id": 1, "oss_object": "o", "size": 1}, 1401),
        ({"user_id": 999999, "name": "x", "oss_object": "o", "size": 1}, 1402),
        ({"user_id": "1", "name": "x", "oss_object": "o", "size": 1}, 1402),
        ({"user_id": 1, "name": "x", "oss_object": "o", "size": -1}, 1402),
        ({"user_id": 1, "name": 5, "oss_object": "o", "size": 1}, 1402),
        ([1, 2], 1402),
    ],
)
def test_dataset_file_body_errors(api_client: APIClient, user: User, body: object, code: int) -> None:
    error(api_client.post("/api/dataset_files/", body, format="json"), code)


def test_malformed_json_is_1100(api_client: APIClient) -> None:
    error(api_client.post("/api/datasets/", "{", content_type="application/json"), 1100)


def test_unknown_route_is_1104(api_client: APIClient) -> None:
    error(api_client.get("/api/datasets/abc/"), 1104)
    error(api_client.get("/api/datasets"), 1104)


def test_fields_trims_every_object(api_client: APIClient, user: User, stored_object: str) -> None:
    body = {"user_id": user.pk, "name": "cat", "oss_object": stored_object, "size": 10}
    response = api_client.post("/api/dataset_files/?fields=id,name", body, format="json")
    assert set(response.json()["data"]["dataset_file"]) == {"id", "name"}
    DatasetFactory(creator=user)
    listed = api_client.get("/api/datasets/?fields=id,title").json()["data"]["datasets"]
    assert [set(item) for item in listed] == [{"id", "title"}]


@pytest.mark.parametrize("method", ["get", "post"])
def test_unknown_field_name_is_1202_on_every_endpoint(api_client: APIClient, user: User, method: str) -> None:
    response = getattr(api_client, method)("/api/datasets/?fields=id,bogus", {}, format="json")
    error(response, 1202)


def create_dataset(client: APIClient, user: User, file_ids: list[int], title: str = "Cats") -> dict:
    body = {"user_id": user.pk, "title": title, "description": "d", "license": "MIT", "file_ids": file_ids}
    response = client.post("/api/datasets/", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()["data"]["dataset"]


def test_creating_a_dataset_attaches_its_files(api_client: APIClient, user: User, stored_object: str) -> None:
    files = [register(api_client, user, f"f{n}", stored_object)["id"] for n in range(2)]
    dataset = create_dataset(api_client, user, files)
    assert dataset["file_ids"] == files
    assert (dataset["user_id"], dataset["license"], dataset["hidden"], dataset["total_votes"]) == (
        user.pk,
        "MIT",
        False,
        0,
    )
    assert set(DatasetFile.objects.values_list("dataset_id", flat=True)) == {dataset["id"]}
    assert Dataset.objects.get(pk=dataset["id"]).workspace.name == user.username


@pytest.mark.parametrize("case", ["unknown", "foreign", "repeated", "taken"])
def test_bad_file_ids_are_1431(
    api_client: APIClient, user: User, other_user: User, stored_object: str, case: str
) -> None:
    mine = register(api_client, user, "mine", stored_object)["id"]
    theirs = register(api_client, other_user, "theirs", stored_object)["id"]
    if case == "taken":
        create_dataset(api_client, user, [mine])
    file_ids = {"unknown": [mine + theirs + 100], "foreign": [theirs], "repeated": [mine, mine], "taken": [mine]}[case]
    body = {"user_id": user.pk, "title": "T", "description": "", "license": "", "file_ids": file_ids}
    error(api_client.post("/api/datasets/", body, format="json"), 1431)
    assert Dataset.objects.filter(title="T").count() == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"title": "t", "description": "", "license": "", "file_ids": []}, 1401),
        ({"user_id": 0, "description": "", "license": "", "file_ids": []}, 1401),
        ({"user_id": 0, "title": "t", "description": "", "license": "", "file_ids": "1,2"}, 1402),
        ({"user_id": 0, "title": "t", "description": "", "license": "", "file_ids": [True]}, 1402),
    ],
)
def test_dataset_body_errors(api_client: APIClient, user: User, body: dict, code: int) -> None:
    error(api_client.post("/api/datasets/", body, format="json"), code)


@pytest.mark.parametrize(
    "body",
    [
        {"title": "t", "description": "", "license": "", "file_ids": [2**70]},
        {"title": "t", "description": "", "license": "", "file_ids": [], "user_id": -(2**64)},
    ],
)
def test_integers_wider_than_a_column_are_1402(api_client: APIClient, user: User, body: dict) -> None:
    error(api_client.post("/api/datasets/", {"user_id": user.pk, **body}, format="json"), 1402)


@pytest.mark.parametrize("parameter", ["ids", "user_ids"])
def test_listed_ids_wider_than_a_column_are_1202(api_client: APIClient, parameter: str) -> None:
    error(api_client.get("/api/datasets/", {parameter: f"1,{2**70}"}), 1202)


def test_owner_edits_metadata_and_replaces_files(api_client: APIClient, user: User, stored_object: str) -> None:
    first, second = (register(api_client, user, name, stored_object)["id"] for name in ("a", "b"))
    dataset = create_dataset(api_client, user, [first])
    body = {"user_id": user.pk, "title": "New", "description": "nd", "license": "CC0", "file_ids": [second]}
    edited = api_client.put(f"/api/datasets/{dataset['id']}/", body, format="json").json()["data"]["dataset"]
    assert (edited["title"], edited["license"], edited["file_ids"]) == ("New", "CC0", [second])
    assert DatasetFile.objects.get(pk=first).dataset_id is None


def test_only_the_owner_edits_1103(api_client: APIClient, user: User, other_user: User) -> None:
    dataset = DatasetFactory(creator=user)
    body = {"user_id": other_user.pk, "title": "X", "description": "", "license": "", "file_ids": []}
    error(api_client.put(f"/api/datasets/{dataset.pk}/", body, format="json"), 1103)
    error(
        api_client.put(
            f"/api/datasets/{dataset.pk}/hidden/", {"user_id": other_user.pk, "hidden": True}, format="json"
        ),
        1103,
    )


def test_editing_an_unknown_dataset_is_1104(api_client: APIClient, user: User) -> None:
    body = {"user_id": user.pk, "title": "X", "description": "", "license": "", "file_ids": []}
    error(api_client.put("/api/datasets/424242/", body, format="json"), 1104)
    error(api_client.put("/api/datasets/424242/total_votes/", {"delta": 1}, format="json"), 1104)


def test_owner_hides_and_the_step_is_logged(api_client: APIClient, user: User) -> None:
    dataset = DatasetFactory(creator=user)
    response = api_client.put(
        f"/api/datasets/{dataset.pk}/hidden/", {"user_id": user.pk, "hidden": True}, format="json"
    )
    assert response.json()["data"]["dataset"]["hidden"] is True
    event = ModerationEvent.objects.get()
    assert (event.dataset, event.actor, event.action, event.via) == (dataset, user, "hide", "api")


def test_hidden_must_be_a_boolean_1402(api_client: APIClient, user: User) -> None:
    dataset = DatasetFactory(creator=user)
    error(api_client.put(f"/api/datasets/{dataset.pk}/hidden/", {"user_id": user.pk, "hidden": 1}, format="json"), 1402)


@pytest.mark.parametrize("counter", ["total_notebooks", "total_topics", "total_comments", "total_votes"])
def test_counters_add_deltas_and_refuse_going_below_zero(api_client: APIClient, user: User, counter: str) -> None:
    dataset = DatasetFactory(creator=user)
    url = f"/api/datasets/{dataset.pk}/{counter}/"
    assert api_client.put(url, {"delta": 3}, format="json").json()["data"]["dataset"][counter] == 3
    assert api_client.put(url, {"delta": -2}, format="json").json()["data"]["dataset"][counter] == 1
    error(api_client.put(url, {"delta": -2}, format="json"), 1402)
    error(api_client.put(url, {}, format="json"), 1401)
    error(api_client.put(url, {"delta": "1"}, format="json"), 1402)
    assert getattr(Dataset.objects.get(pk=dataset.pk), counter) == 1


@pytest.mark.parametrize("delta", ["column maximum", 2**63 - 1, 2**70])
def test_counters_refuse_to_grow_past_their_column(api_client: APIClient, user: User, delta: object) -> None:
    if delta == "column maximum":
        delta = connection.ops.integer_field_range("PositiveIntegerField")[1]
    dataset = DatasetFactory(creator=user, total_votes=1)
    error(api_client.put(f"/api/datasets/{dataset.pk}/total_votes/", {"delta": delta}, format="json"), 1402)
    assert Dataset.objects.get(pk=dataset.pk).total_votes == 1


def test_list_filters_and_totals(api_client: APIClient, user: User, other_user: User) -> None:
    mine = [DatasetFactory(creator=user) for _ in range(3)]
    theirs = DatasetFactory(creator=other_user, hidden=True, featured=True)
    listed = api_client.get("/api/datasets/").json()["data"]
    assert listed["total"] == 4
    assert [item["id"] for item in listed["datasets"]] == [theirs.pk, *[d.pk for d in reversed(mine)]]

    def ids(query: str) -> list[int]:
        return [item["id"] for item in api_client.get(f"/api/datasets/?{query}").json()["data"]["datasets"]]

    assert ids(f"ids={mine[0].pk},{theirs.pk}") == [theirs.pk, mine[0].pk]
    assert ids(f"uuids={mine[1].uuid.hex},{mine[2].uuid}") == [mine[2].pk, mine[1].pk]
    assert ids(f"user_ids={other_user.pk}") == [theirs.pk]
    assert ids("hidden=1") == ids("featured=1") == [theirs.pk]
    assert ids("hidden=0") == [d.pk for d in reversed(mine)]
    assert ids("order_by=id") == [*[d.pk for d in mine], theirs.pk]
    assert ids("order_by=id&page=2&per_page=3") == [theirs.pk]


@pytest.mark.parametrize(
    "query",
    ["ids=a", "uuids=nope", "user_ids=1,x", "hidden=2", "featured=yes", "order_by=name", "order_by=-bogus",
     "page=0", "page=x", "per_page=101", "per_page=0"],
)  # fmt: skip
def test_bad_list_parameters_are_1202(api_client: APIClient, query: str) -> None:
    error(api_client.get(f"/api/datasets/?{query}"), 1202)


def test_list_queries_do_not_grow_with_the_page(
    api_client: APIClient, user: User, django_assert_max_num_queries: object, stored_object: str
) -> None:
    for n in range(30):
        dataset = DatasetFactory(creator=user, licence=None)
        DatasetFile.objects.create(user=user, name=f"f{n}", oss_object=stored_object, size=10, dataset=dataset)
    with django_assert_max_num_queries(4):  # type: ignore[operator]
        assert len(api_client.get("/api/datasets/?per_page=2").json()["data"]["datasets"]) == 2
    with django_assert_max_num_queries(4):  # type: ignore[operator]
        assert len(api_client.get("/api/datasets/?per_page=30").json()["data"]["datasets"]) == 30


@pytest.mark.mysql_only
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_increments_give_fifty(user: User) -> None:
    dataset = DatasetFactory(creator=user)
    failures: list[int] = []

    def increment() -> None:
        try:
            response = APIClient().put(f"/api/datasets/{dataset.pk}/total_votes/", {"delta": 1}, format="json")
            if response.status_code != 200:
                failures.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=increment) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert Dataset.objects.get(pk=dataset.pk).total_votes == 50


def test_file_ids_are_committed_on_the_default_branch(api_client: APIClient, user: User, stored_object: str) -> None:
    first, second = (register(api_client, user, name, stored_object)["id"] for name in ("a.jpg", "b.jpg"))
    created = create_dataset(api_client, user, [first, second])
    dataset = Dataset.objects.get(pk=created["id"])
    head = versioning.revision_resolve(dataset=dataset, revision="main")
    assert [entry.remote_path for entry in versioning.entry_list(revision=head, segment="").items] == ["a.jpg", "b.jpg"]
    assert head.commit is not None and head.commit.entry_count == 2
    body = {"user_id": user.pk, "title": "T", "description": "", "license": "", "file_ids": [second]}
    api_client.put(f"/api/datasets/{dataset.pk}/", body, format="json")
    edited = versioning.revision_resolve(dataset=dataset, revision="main")
    assert [entry.remote_path for entry in versioning.entry_list(revision=edited, segment="").items] == ["b.jpg"]
    assert edited.commit is not None and edited.commit.parent_id == head.commit.id
    history = versioning.commit_list(revision=edited)
    assert history.total == 2
    entry = versioning.entry_list(revision=edited, segment="").items[0]
    assert (entry.object_key, entry.size, len(entry.sha1)) == (stored_object, 10, 40)


def test_an_unchanged_file_set_makes_no_commit(api_client: APIClient, user: User, stored_object: str) -> None:
    file_id = register(api_client, user, "a.jpg", stored_object)["id"]
    created = create_dataset(api_client, user, [file_id])
    body = {"user_id": user.pk, "title": "Renamed", "description": "", "license": "", "file_ids": [file_id]}
    api_client.put(f"/api/datasets/{created['id']}/", body, format="json")
    assert Commit.objects.filter(dataset_id=created["id"]).count() == 1


def test_two_files_with_one_name_are_1431(api_client: APIClient, user: User, stored_object: str) -> None:
    files = [register(api_client, user, "same.jpg", stored_object)["id"] for _ in range(2)]
    body = {"user_id": user.pk, "title": "T", "description": "", "license": "", "file_ids": files}
    error(api_client.post("/api/datasets/", body, format="json"), 1431)


@pytest.mark.parametrize("fields", ["", "&fields=file_ids,license,created_at"])
def test_list_items_are_byte_for_byte_what_the_dataset_serializer_writes(
    api_client: APIClient, user: User, stored_object: str, fields: str
) -> None:
    licensed = DatasetFactory(creator=user, description="数据 \u2028 line", total_votes=3, featured=True)
    licensed.licence = Licence.objects.create(name="CC-BY-4.0")
    licensed.save()
    Dataset.objects.filter(pk=DatasetFactory(creator=user, hidden=True).pk).update(creator=None)
    for n in range(2):
        DatasetFile.objects.create(user=user, name=f"f{n}", oss_object=stored_object, size=10, dataset=licensed)

    response = api_client.get(f"/api/datasets/?per_page=5{fields}")

    names = fields.removeprefix("&fields=").split(",") if fields else None
    expected = render(DatasetSerializer, list(selectors.dataset_list()), names)
    body = {"code": 0, "message": "Success", "data": {"datasets": expected, "total": 2}}
    assert response.content == JSONRenderer().render(body)
