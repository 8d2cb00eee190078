"""Graviti v2 sheets, rows and schemas over HTTP, at drafts and commits (data-plane spec §1–§3, §6, §7)."""

import hashlib
import json
from typing import Any

import pytest
from django.core.files.base import ContentFile
from rest_framework.test import APIClient

from datasets.models import Dataset, User
from storage_configs.backends import backend_for
from tests.factories import DatasetFactory, UserFactory
from tests.versioning.api.test_graviti import client_for
from versioning import selectors
from versioning.models import DatasetObject

pytestmark = pytest.mark.django_db

DS = "/v2/datasets/ada/mnist"
PORTEX = "type: record\nfields:\n- name: id\n  type: int64\n- name: Box\n  type: record\n  fields:\n  - name: X\n"
FIELDS = [
    {"name": "id", "type": ["null", "long"]},
    {"name": "score", "type": ["null", "float"]},
    {"name": "name", "type": ["null", "string"]},
    {"name": "ok", "type": ["null", "boolean"]},
    {"name": "tags", "type": ["null", {"type": "array", "items": "string", "default": []}]},
    {"name": "color", "type": ["null", {"type": "int", "logicalType": "portex.enum", "values": ["r", "g", "b"]}]},
    {
        "name": "Box",
        "type": [
            "null",
            {
                "type": "record",
                "name": "Box",
                "fields": [{"name": "X", "type": ["null", "int"]}, {"name": "y", "type": ["null", "int"]}],
            },
        ],
    },
]


def avro(fields: list[dict[str, Any]]) -> str:
    return json.dumps({"type": "record", "name": "root", "namespace": "cn.graviti.portex", "fields": fields})


def row(number: int) -> dict[str, Any]:
    return {
        "id": number,
        "score": number / 2,
        "name": f"n{number}",
        "ok": number % 2 == 0,
        "tags": ["a"] * (number % 3),
        "color": number % 3,
        "Box": {"X": number, "y": -number},
    }


def stored(number: int, key: str) -> dict[str, Any]:
    """What the server answers for ``row(number)``: lower-case names and the key."""
    value = row(number)
    value["box"] = {"x": number, "y": -number}
    del value["Box"]
    return {**value, "__record_key": key}


@pytest.fixture
def dataset(user: User) -> Dataset:
    return DatasetFactory(creator=user, name="mnist")


@pytest.fixture
def client(api_client: APIClient, access_key: str, dataset: Dataset) -> APIClient:
    api_client.credentials(HTTP_X_TOKEN=access_key)
    return api_client


def call(client: APIClient, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    response = getattr(client, method)(path, body, format="json") if body is not None else getattr(client, method)(path)
    assert response.status_code == status, response.content
    return response.json()


def draft(client: APIClient, branch: str | None = None) -> int:
    return call(client, "post", f"{DS}/drafts", {"title": "t", **({"branch": branch} if branch else {})}, 201)["number"]


def commit(client: APIClient, number: int) -> str:
    return call(client, "post", f"{DS}/commits", {"draft_number": number, "title": "c"}, 201)["commit_id"]


def create_sheet(client: APIClient, number: int, name: str = "train", fields: list | None = None) -> None:
    body = {"name": name, "schema": PORTEX, "_avro_schema": avro(fields or FIELDS), "_arrow_schema": "QUJD\n"}
    call(client, "post", f"{DS}/drafts/{number}/sheets", body, 201)


def add_rows(client: APIClient, number: int, rows: list, sheet: str = "train", status: int = 201) -> Any:
    return call(client, "post", f"{DS}/drafts/{number}/sheets/{sheet}/data", {"data": rows}, status)


def rows_at(client: APIClient, revision: str, offset: int = 0, limit: int = 128, sheet: str = "train") -> dict:
    return call(client, "get", f"{DS}/{revision}/sheets/{sheet}/data?offset={offset}&limit={limit}")


def keys_of(page: dict) -> list[str]:
    return [item["__record_key"] for item in page["data"]]


def test_sheet_keeps_its_schema_verbatim_and_counts_its_rows(client: APIClient) -> None:
    number = draft(client)
    create_sheet(client, number)
    add_rows(client, number, [row(0), row(1)])
    sheet = call(client, "get", f"{DS}/drafts/{number}/sheets/train?with_record_count=True")
    assert (sheet["name"], sheet["schema"], sheet["record_count"]) == ("train", PORTEX, 2)
    commit_id = commit(client, number)
    listed = call(client, "get", f"{DS}/commits/{commit_id}/sheets")
    assert ([s["name"] for s in listed["sheets"]], listed["total_count"]) == (["train"], 1)
    detail = call(client, "get", f"{DS}/commits/{commit_id}/sheets/train")
    assert detail["schema"] == PORTEX and "record_count" not in detail


def test_rows_answer_lower_case_names_and_string_keys(client: APIClient) -> None:
    number = draft(client)
    create_sheet(client, number)
    add_rows(client, number, [row(0), row(1)])
    page = rows_at(client, f"drafts/{number}")
    assert page["data"] == [stored(0, "100000000000000001"), stored(1, "100000000000000002")]
    assert (page["offset"], page["record_size"], page["total_count"]) == (0, 2, 2)


def test_data_pages_are_exact_at_drafts_and_commits(client: APIClient) -> None:
    number = draft(client)
    create_sheet(client, number)
    add_rows(client, number, [row(i) for i in range(130)])
    for revision in (f"drafts/{number}", f"commits/{commit(client, number)}"):
        first, last = rows_at(client, revision, 0), rows_at(client, revision, 128)
        assert (first["record_size"], last["record_size"], last["total_count"]) == (128, 2, 130)
        assert [item["id"] for item in first["data"] + last["data"]] == list(range(130))


def test_a_draft_inherits_keys_and_new_keys_sort_last(client: APIClient) -> None:
    first = draft(client)
    create_sheet(client, first)
    add_rows(client, first, [row(0), row(1)])
    base_keys = keys_of(rows_at(client, f"commits/{commit(client, first)}"))
    second = draft(client)
    add_rows(client, second, [row(2)])
    keys = keys_of(rows_at(client, f"drafts/{second}"))
    assert keys[:2] == base_keys and keys[2] > base_keys[1] and keys == sorted(keys)


def test_update_merges_fields_in_order_and_ignores_unknown_top_level_names(client: APIClient) -> None:
    number = draft(client)
    create_sheet(client, number)
    add_rows(client, number, [row(0)])
    key = "100000000000000001"
    patches = [{"name": "x", "__record_key": key}, {"X": 5, "__record_key": key}, {"name": "y", "__record_key": key}]
    call(client, "patch", f"{DS}/drafts/{number}/sheets/train/data", {"data": patches})
    assert rows_at(client, f"drafts/{number}")["data"] == [{**stored(0, key), "name": "y"}]
    call(client, "patch", f"{DS}/drafts/{number}/sheets/train/data", {"data": [{"box": {"x": 9}, "__record_key": key}]})
    assert rows_at(client, f"drafts/{number}")["data"][0]["box"] == {"x": 9}


def test_update_of_an_unknown_key_is_refused(client: APIClient) -> None:
    number = draft(client)
    create_sheet(client, number)
    response = client.patch(
        f"{DS}/drafts/{number}/sheets/train/data", {"data": [{"id": 1, "__record_key": "1"}]}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "InvalidParamsValue")


def test_delete_takes_a_json_body_and_leaves_the_commit_alone(client: APIClient) -> None:
    number = draft(client)
    create_sheet(client, number)
    add_rows(client, number, [row(0), row(1), row(2)])
    old = commit(client, number)
    second = draft(client)
    call(client, "delete", f"{DS}/drafts/{second}/sheets/train/data", {"record_keys": ["100000000000000002"]})
    assert [item["id"] for item in rows_at(client, f"drafts/{second}")["data"]] == [0, 2]
    new = commit(client, second)
    assert [item["id"] for item in rows_at(client, f"commits/{new}")["data"]] == [0, 2]
    assert [item["id"] for item in rows_at(client, f"commits/{old}")["data"]] == [0, 1, 2]


def test_schema_patch_adds_a_column_that_reads_null_until_set(client: APIClient) -> None:
    number = draft(client)
    create_sheet(client, number)
    add_rows(client, number, [row(0)])
    commit(client, number)
    second = draft(client)
    body = {
        "_schema": PORTEX + "- name: extra\n  type: int64\n",
        "_avro_schema": avro([*FIELDS, {"name": "extra", "type": ["null", "long"]}]),
    }
    call(client, "patch", f"{DS}/drafts/{second}/sheets/train/schema", body)
    assert "extra" not in rows_at(client, f"drafts/{second}")["data"][0]
    key = "100000000000000001"
    call(client, "patch", f"{DS}/drafts/{second}/sheets/train/data", {"data": [{"extra": 7, "__record_key": key}]})
    assert rows_at(client, f"drafts/{second}")["data"][0]["extra"] == 7
    assert call(client, "get", f"{DS}/drafts/{second}/sheets/train")["schema"].endswith("type: int64\n")


def test_deleting_a_sheet_drops_it_from_the_draft_only(client: APIClient) -> None:
    number = draft(client)
    create_sheet(client, number)
    add_rows(client, number, [row(0)])
    old = commit(client, number)
    second = draft(client)
    call(client, "delete", f"{DS}/drafts/{second}/sheets/train")
    assert call(client, "get", f"{DS}/drafts/{second}/sheets")["sheets"] == []
    assert [s["name"] for s in call(client, "get", f"{DS}/commits/{old}/sheets")["sheets"]] == ["train"]


def test_replacing_a_sheet_starts_it_empty(client: APIClient) -> None:
    number = draft(client)
    create_sheet(client, number)
    add_rows(client, number, [row(0)])
    commit(client, number)
    second = draft(client)
    call(client, "delete", f"{DS}/drafts/{second}/sheets/train")
    create_sheet(client, second)
    add_rows(client, second, [row(5)])
    assert [item["id"] for item in rows_at(client, f"drafts/{second}")["data"]] == [5]


@pytest.mark.parametrize(
    "bad",
    [
        {"id": "one"},
        {"id": True},
        {"id": 2**63},
        {"score": "x"},
        {"ok": 1},
        {"tags": "a"},
        {"tags": [1]},
        {"color": 3},
        {"color": "r"},
        {"box": {"x": "1"}},
        {"box": 5},
        {"unknown": 1},
    ],
)
def test_rows_that_do_not_fit_the_schema_are_refused_and_nothing_is_added(client: APIClient, bad: dict) -> None:
    number = draft(client)
    create_sheet(client, number)
    response = client.post(f"{DS}/drafts/{number}/sheets/train/data", {"data": [row(0), bad]}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "InvalidParamsValue")
    assert rows_at(client, f"drafts/{number}")["total_count"] == 0


def test_nulls_are_taken_for_any_field(client: APIClient) -> None:
    number = draft(client)
    create_sheet(client, number)
    add_rows(client, number, [{"id": None, "box": None, "tags": None}])
    assert rows_at(client, f"drafts/{number}")["data"][0]["id"] is None


def test_more_rows_than_a_batch_are_refused(client: APIClient) -> None:
    number = draft(client)
    create_sheet(client, number, fields=[{"name": "id", "type": ["null", "long"]}])
    response = client.post(f"{DS}/drafts/{number}/sheets/train/data", {"data": [{"id": 1}] * 2049}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "InvalidParamsValue")


def test_a_batch_of_2048_wide_rows_fits_the_request_limit(client: APIClient) -> None:
    number = draft(client)
    create_sheet(client, number)
    # About 4 KiB of JSON a row: the README says a batch of them fits the default request body limit.
    wide = [{**row(i), "name": "n" * 3900} for i in range(2048)]
    add_rows(client, number, wide)
    assert rows_at(client, f"drafts/{number}", 2000)["record_size"] == 48


def test_unknown_sheet_and_missing_fields_answer_the_dialects_errors(client: APIClient) -> None:
    number = draft(client)
    response = client.get(f"{DS}/drafts/{number}/sheets/nope/data")
    assert (response.status_code, response.json()["code"]) == (404, "ResourceNotExist")
    response = client.post(f"{DS}/drafts/{number}/sheets", {"name": "x", "schema": PORTEX}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "RequestParamsMissing")
    response = client.post(
        f"{DS}/drafts/{number}/sheets", {"name": "x", "schema": PORTEX, "_avro_schema": "{"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "InvalidParamsValue")
    create_sheet(client, number)
    response = client.post(
        f"{DS}/drafts/{number}/sheets", {"name": "train", "schema": PORTEX, "_avro_schema": avro(FIELDS)}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "NameConflict")


def test_writes_to_a_committed_draft_are_forbidden(client: APIClient) -> None:
    number = draft(client)
    create_sheet(client, number)
    commit(client, number)
    response = client.post(f"{DS}/drafts/{number}/sheets/train/data", {"data": [row(0)]}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "Forbidden")


def test_a_draft_on_a_branch_leaves_main_alone(client: APIClient) -> None:
    number = draft(client)
    create_sheet(client, number)
    add_rows(client, number, [row(0)])
    base = commit(client, number)
    call(client, "post", f"{DS}/branches", {"name": "dev", "revision": base}, 201)
    on_dev = draft(client, branch="dev")
    add_rows(client, on_dev, [row(1)])
    dev_head = commit(client, on_dev)
    main_head = call(client, "get", f"{DS}/branches/main")["commit_id"]
    assert [item["id"] for item in rows_at(client, f"commits/{main_head}")["data"]] == [0]
    assert [item["id"] for item in rows_at(client, f"commits/{dev_head}")["data"]] == [0, 1]


def test_another_workspace_reads_no_private_sheet(client: APIClient, dataset: Dataset) -> None:
    number = draft(client)
    create_sheet(client, number)
    commit_id = commit(client, number)
    outsider = UserFactory(username="eve")
    from datasets import services

    other = client_for(outsider, services.personal_workspace(user=outsider))
    for path in (f"{DS}/commits/{commit_id}/sheets", f"{DS}/commits/{commit_id}/sheets/train/data"):
        response = other.get(path)
        assert (response.status_code, response.json()["code"]) == (404, "ResourceNotExist")


def test_rows_count_as_entries_of_the_tree(client: APIClient, dataset: Dataset) -> None:
    number = draft(client)
    create_sheet(client, number)
    add_rows(client, number, [row(0), row(1)])
    commit(client, number)
    head = selectors.revision_resolve(dataset=dataset, revision="main")
    assert head.commit.entry_count == 2
    assert DatasetObject.objects.filter(dataset=dataset).count() == 0


def test_data_list_costs_a_constant_number_of_queries(client: APIClient, django_assert_max_num_queries: Any) -> None:
    number = draft(client)
    create_sheet(client, number)
    add_rows(client, number, [row(i) for i in range(128)])
    commit_id = commit(client, number)
    with django_assert_max_num_queries(12):
        assert rows_at(client, f"commits/{commit_id}", 0, 128)["record_size"] == 128
    with django_assert_max_num_queries(14):
        assert rows_at(client, f"drafts/{number}", 0, 128)["record_size"] == 128


def test_a_sheet_with_files_is_seen_through_tensorbay_and_the_catalog(
    client: APIClient, dataset: Dataset, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGE_PUBLIC_URL = "http://testserver"
    content = b"image bytes"
    sha1 = hashlib.sha1(content).hexdigest()
    key = f"{dataset.hex_id}/{sha1}"
    backend_for(dataset.storage_config).save(key, ContentFile(content))
    image = {"key": key, "extension": ".png", "size": len(content), "height": 1, "width": 2}
    image_fields = (("key", "string"), ("extension", "string"), ("size", "long"), ("height", "int"), ("width", "int"))
    file_field = {
        "name": "image",
        "type": [
            "null",
            {"type": "record", "name": "image", "fields": [{"name": n, "type": ["null", t]} for n, t in image_fields]},
        ],
    }
    number = draft(client)
    create_sheet(client, number, fields=[{"name": "id", "type": ["null", "long"]}, file_field])
    add_rows(client, number, [{"id": 1, "image": image}, {"id": 2, "image": None}])
    commit(client, number)
    tensorbay = f"/v1/datasets/{dataset.hex_id}/data/details"
    details = call(client, "get", f"{tensorbay}?commit=main&segmentName=train")["dataDetails"]
    assert [d["remotePath"] for d in details] == ["100000000000000001", "100000000000000002"]
    assert details[0]["url"].startswith("http://testserver/") and details[1]["url"] == ""
    assert details[0]["label"] == {"id": 1, "image": image}
    assert DatasetObject.objects.filter(dataset=dataset, sha1=sha1).count() == 1
    head = selectors.revision_resolve(dataset=dataset, revision="main")
    assert head.commit.total_size == len(content)


def test_rows_naming_a_missing_or_foreign_object_are_refused(client: APIClient, dataset: Dataset) -> None:
    fields = [{"name": "raw", "type": ["null", {"type": "record", "name": "raw", "fields": [
        {"name": "key", "type": "string"}, {"name": "extension", "type": "string"}, {"name": "size", "type": "long"},
    ]}]}]  # fmt: skip
    number = draft(client)
    create_sheet(client, number, fields=fields)
    for key in (f"{dataset.hex_id}/{'0' * 40}", f"{'1' * 32}/{'0' * 40}", "no-slash"):
        response = client.post(
            f"{DS}/drafts/{number}/sheets/train/data",
            {"data": [{"raw": {"key": key, "extension": ".txt", "size": 3}}]},
            format="json",
        )
        assert (response.status_code, response.json()["code"]) == (400, "InvalidParamsValue"), key


def test_columns_select_fields(client: APIClient) -> None:
    number = draft(client)
    create_sheet(client, number)
    add_rows(client, number, [row(3)])
    page = call(client, "get", f"{DS}/drafts/{number}/sheets/train/data?columns=id|Box.X")
    assert page["data"] == [{"id": 3, "box": {"x": 3}, "__record_key": "100000000000000001"}]


def test_a_commits_data_page_is_answered_from_the_cache(
    client: APIClient, settings: Any, django_assert_num_queries: Any
) -> None:
    settings.LIST_CACHE_SECONDS = 60
    number = draft(client)
    create_sheet(client, number)
    add_rows(client, number, [row(0), row(1)])
    commit_id = commit(client, number)
    first = rows_at(client, f"commits/{commit_id}")
    with django_assert_num_queries(0):
        assert rows_at(client, f"commits/{commit_id}") == first
