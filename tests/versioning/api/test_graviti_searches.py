"""Graviti v2 sheet searches over HTTP (data-plane spec §2.4, §4 (f)), with criteria as the SDK sends them."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from datasets import services
from datasets.models import Dataset, User, Workspace
from tests.factories import DatasetFactory, UserFactory
from tests.versioning.api.test_graviti import client_for
from tests.versioning.api.test_graviti_sheets import DS, add_rows, call, commit, create_sheet, draft, row
from versioning import trees

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(user: User) -> Dataset:
    return DatasetFactory(creator=user, name="mnist")


@pytest.fixture
def client(api_client: APIClient, access_key: str, dataset: Dataset) -> APIClient:
    api_client.credentials(HTTP_X_TOKEN=access_key)
    return api_client


@pytest.fixture
def commit_id(client: APIClient) -> str:
    number = draft(client)
    create_sheet(client, number)
    add_rows(client, number, [row(i) for i in range(200)])
    return commit(client, number)


def search(client: APIClient, commit_id: str, criteria: dict, status: int = 201) -> dict:
    return call(
        client, "post", f"{DS}/searches", {"sheet": "train", "criteria": criteria, "commit_id": commit_id}, status
    )


def records(client: APIClient, search_id: str, offset: int = 0, limit: int = 128) -> dict:
    return call(client, "get", f"{DS}/searches/{search_id}/records?offset={offset}&limit={limit}")


def test_a_search_history_names_its_commit_and_counts_lazily(client: APIClient, commit_id: str) -> None:
    created = search(client, commit_id, {"where": {"$gt": ["$.id", 120]}})
    assert (created["commit_id"], created["sheet"], created["record_count"]) == (commit_id, "train", None)
    assert "draft_number" not in created
    assert call(client, "get", f"{DS}/searches/{created['id']}/record-count") == 79
    assert call(client, "get", f"{DS}/searches/{created['id']}")["record_count"] == 79


def test_records_page_through_the_matches_in_key_order(client: APIClient, commit_id: str) -> None:
    found = search(client, commit_id, {"where": {"$or": [{"$lt": ["$.id", 100]}, {"$eq": ["$.name", "n150"]}]}})
    first, last = records(client, found["id"]), records(client, found["id"], 128)
    assert (first["record_size"], last["record_size"], first["total_count"]) == (101, 0, 101)
    assert [item["id"] for item in first["records"]] == [*range(100), 150]
    assert first["records"][0]["__record_key"] == "100000000000000001"


@pytest.mark.parametrize(
    ("where", "ids"),
    [
        ({"$and": [{"$gte": ["$.box.x", 10]}, {"$lte": ["$.box.x", 12]}]}, [10, 11, 12]),
        ({"$eq": ["$.color", 2]}, [i for i in range(200) if i % 3 == 2]),
        ({"$eq": [{"$mod": ["$.id", 50]}, 0]}, [0, 50, 100, 150]),
        ({"$any_match": ["$.tags", {"$eq": ["$.", "a"]}]}, [i for i in range(200) if i % 3]),
        ({"$gt": [{"$size": ["$.tags"]}, 1]}, [i for i in range(200) if i % 3 == 2]),
        ({"$and": [{"$ne": ["$.ok", True]}, {"$lt": [{"$mult": ["$.id", 2]}, 10]}]}, [1, 3]),
        ({"$all_match": ["$.tags", {"$eq": ["$.", "b"]}]}, [i for i in range(200) if i % 3 == 0]),
    ],
)
def test_where_expressions_select_the_rows_they_say(client: APIClient, commit_id: str, where: dict, ids: list) -> None:
    found = search(client, commit_id, {"where": where})
    assert [item["id"] for item in records(client, found["id"], 0, 128)["records"]] == ids[:128]
    assert call(client, "get", f"{DS}/searches/{found['id']}/record-count") == len(ids)


def test_select_answers_each_result_as_an_array(client: APIClient, commit_id: str) -> None:
    found = search(
        client, commit_id, {"where": {"$lt": ["$.id", 3]}, "select": [{"apply_result": {"$add": ["$.id", 1]}}]}
    )
    assert [item["apply_result"] for item in records(client, found["id"])["records"]] == [[1], [2], [3]]


def test_bad_criteria_are_refused(client: APIClient, commit_id: str) -> None:
    for criteria in (
        {"where": {"$like": ["$.id", 1]}},
        {"where": {"$gt": ["$.nope", 1]}},
        {"where": {"$gt": ["$.id"]}},
        {"order": []},
        {"select": []},
        {"where": {"$any_match": ["$.id", {"$eq": ["$.", 1]}]}},
    ):
        answer = client.post(
            f"{DS}/searches", {"sheet": "train", "criteria": criteria, "commit_id": commit_id}, format="json"
        )
        assert (answer.status_code, answer.json()["code"]) == (400, "InvalidParamsValue"), criteria


def test_unknown_sheets_commits_and_searches_are_not_found(client: APIClient, commit_id: str) -> None:
    answer = client.post(f"{DS}/searches", {"sheet": "nope", "criteria": {}, "commit_id": commit_id}, format="json")
    assert (answer.status_code, answer.json()["code"]) == (404, "ResourceNotExist")
    answer = client.post(f"{DS}/searches", {"sheet": "train", "criteria": {}, "commit_id": "f" * 32}, format="json")
    assert answer.status_code == 404
    assert client.get(f"{DS}/searches/{'0' * 32}/records").status_code == 404
    answer = client.post(f"{DS}/searches", {"sheet": "train", "criteria": {}}, format="json")
    assert (answer.status_code, answer.json()["code"]) == (400, "RequestParamsMissing")


def test_a_draft_search_names_its_draft_and_no_commit(client: APIClient, commit_id: str) -> None:
    number = draft(client)
    add_rows(client, number, [row(500)])
    body = {"sheet": "train", "criteria": {"where": {"$gt": ["$.id", 198]}}, "draft_number": number}
    created = call(client, "post", f"{DS}/searches", body, 201)
    assert "commit_id" not in created and created["draft_number"] == number
    assert [item["id"] for item in records(client, created["id"])["records"]] == [199, 500]


def test_histories_list_newest_first_and_delete(client: APIClient, commit_id: str) -> None:
    ids = [search(client, commit_id, {"where": {"$gt": ["$.id", n]}})["id"] for n in range(3)]
    listed = call(client, "get", f"{DS}/searches?offset=0&limit=128")
    assert ([s["id"] for s in listed["searches"]], listed["total_count"]) == (ids[::-1], 3)
    call(client, "delete", f"{DS}/searches/{ids[0]}")
    assert call(client, "get", f"{DS}/searches?sheet=train")["total_count"] == 2


def test_readers_search_and_strangers_do_not(client: APIClient, commit_id: str, dataset: Dataset) -> None:
    workspace = Workspace.objects.get(name="ada")
    reader = client_for(UserFactory(username="rita"), workspace, role="reader")
    assert search(reader, commit_id, {"where": {"$eq": ["$.id", 1]}})["record_count"] is None
    stranger_user = UserFactory(username="eve")
    stranger = client_for(stranger_user, services.personal_workspace(user=stranger_user))
    answer = stranger.post(f"{DS}/searches", {"sheet": "train", "criteria": {}, "commit_id": commit_id}, format="json")
    assert answer.status_code == 404


def test_record_count_is_a_bare_integer(client: APIClient, commit_id: str, user: User) -> None:
    found = search(client, commit_id, {})
    answer: Any = client.get(f"{DS}/searches/{found['id']}/record-count")
    assert answer.content == b"200"


@pytest.fixture
def ranges_opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the stored ranges read, in order."""
    opened: list[str] = []
    read = trees._range_bytes

    def counting(range_id: str) -> bytes:
        opened.append(range_id)
        return read(range_id)

    monkeypatch.setattr(trees, "_range_bytes", counting)
    return opened


@pytest.fixture
def big_commit_id(client: APIClient) -> str:
    number = draft(client)
    create_sheet(client, number)
    for start in range(0, 6000, 2000):
        add_rows(client, number, [row(i) for i in range(start, start + 2000)])
    return commit(client, number)


def test_a_later_page_opens_only_the_ranges_that_hold_it(
    client: APIClient, big_commit_id: str, ranges_opened: list[str]
) -> None:
    found = search(client, big_commit_id, {"where": {"$eq": [{"$mod": ["$.id", 2]}, 0]}})
    assert call(client, "get", f"{DS}/searches/{found['id']}/record-count") == 3000
    sheet_ranges = len(set(ranges_opened))
    assert sheet_ranges >= 4
    ids = []
    for offset in range(0, 3000, 128):
        ranges_opened.clear()
        ids.extend(item["id"] for item in records(client, found["id"], offset)["records"])
        assert len(ranges_opened) <= 2, offset
    assert ids == list(range(0, 6000, 2))


def test_a_later_page_costs_no_more_than_the_first(client: APIClient, big_commit_id: str, ranges_opened: list) -> None:
    found = search(client, big_commit_id, {"where": {"$lt": ["$.id", 5990]}})
    ranges_opened.clear()
    last = records(client, found["id"], 5888)
    assert [item["id"] for item in last["records"]] == list(range(5888, 5990))
    counting = len(ranges_opened)
    ranges_opened.clear()
    assert records(client, found["id"], 5760)["records"][0]["id"] == 5760
    assert len(ranges_opened) <= 2 < counting
