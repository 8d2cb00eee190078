"""Graviti v2 ``…/records`` routes (the ``…/data`` routes under their other names) and ordered row lists
(data-plane spec §3.5)."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from datasets.models import Dataset, User
from tests.factories import DatasetFactory
from tests.versioning.api.test_graviti_sheets import (
    DS,
    add_rows,
    call,
    commit,
    create_sheet,
    draft,
    row,
    rows_at,
    stored,
)
from versioning import sheet_order

pytestmark = pytest.mark.django_db

FIRST, SECOND = "100000000000000001", "100000000000000002"


def records_at(client: APIClient, revision: str, query: str = "", status: int = 200) -> Any:
    return call(client, "get", f"{DS}/{revision}/sheets/train/records?{query}", status=status)


def ids(page: dict, key: str = "data") -> list[int]:
    return [item["id"] for item in page[key]]


def error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


@pytest.fixture
def dataset(user: User) -> Dataset:
    return DatasetFactory(creator=user, name="mnist")


@pytest.fixture
def client(api_client: APIClient, access_key: str, dataset: Dataset) -> APIClient:
    api_client.credentials(HTTP_X_TOKEN=access_key)
    return api_client


@pytest.fixture
def sheet_draft(client: APIClient) -> int:
    number = draft(client)
    create_sheet(client, number)
    return number


def test_records_list_the_rows_of_a_draft_and_a_commit_under_records(client: APIClient, sheet_draft: int) -> None:
    add_rows(client, sheet_draft, [row(0), row(1)])
    expected = [stored(0, FIRST), stored(1, SECOND)]
    assert records_at(client, f"drafts/{sheet_draft}") == {
        "records": expected,
        "offset": 0,
        "record_size": 2,
        "total_count": 2,
    }
    commit_id = commit(client, sheet_draft)
    assert records_at(client, f"commits/{commit_id}", "offset=1&limit=1")["records"] == expected[1:]


def test_records_are_added_under_new_keys(client: APIClient, sheet_draft: int) -> None:
    call(client, "post", f"{DS}/drafts/{sheet_draft}/sheets/train/records", {"records": [row(4)]}, 201)
    assert rows_at(client, f"drafts/{sheet_draft}")["data"] == [stored(4, FIRST)]


def test_records_are_updated_by_key_as_data_is(client: APIClient, sheet_draft: int) -> None:
    add_rows(client, sheet_draft, [row(0)])
    body = {"records": [{"name": "x", "X": 1, "__record_key": FIRST}]}
    call(client, "patch", f"{DS}/drafts/{sheet_draft}/sheets/train/records", body)
    assert rows_at(client, f"drafts/{sheet_draft}")["data"] == [{**stored(0, FIRST), "name": "x"}]


def test_records_are_deleted_by_key(client: APIClient, sheet_draft: int) -> None:
    add_rows(client, sheet_draft, [row(0), row(1)])
    call(client, "delete", f"{DS}/drafts/{sheet_draft}/sheets/train/records", {"record_keys": [FIRST]})
    assert ids(rows_at(client, f"drafts/{sheet_draft}")) == [1]


def test_records_need_the_records_key_not_data(client: APIClient, sheet_draft: int) -> None:
    response = client.post(f"{DS}/drafts/{sheet_draft}/sheets/train/records", {"data": [row(0)]}, format="json")
    assert error(response) == (400, "RequestParamsMissing")
    assert rows_at(client, f"drafts/{sheet_draft}")["total_count"] == 0


def test_records_columns_are_separated_by_commas(client: APIClient, sheet_draft: int) -> None:
    add_rows(client, sheet_draft, [row(3)])
    page = records_at(client, f"drafts/{sheet_draft}", "columns=id,Box.X")
    assert page["records"] == [{"id": 3, "box": {"x": 3}, "__record_key": FIRST}]


def test_records_of_a_commit_cannot_be_written(client: APIClient, sheet_draft: int) -> None:
    commit_id = commit(client, sheet_draft)
    response = client.post(f"{DS}/commits/{commit_id}/sheets/train/records", {"records": [row(0)]}, format="json")
    assert response.status_code == 405


def scored(number: int, score: float | None, name: str) -> dict[str, Any]:
    return {**row(number), "score": score, "name": name}


@pytest.fixture
def unordered(client: APIClient, sheet_draft: int) -> int:
    add_rows(client, sheet_draft, [scored(0, 2.0, "b"), scored(1, None, "a"), scored(2, 1.0, "b"), scored(3, 1.0, "a")])
    return sheet_draft


def test_order_by_orders_rows_by_its_columns_and_then_by_key(client: APIClient, unordered: int) -> None:
    for revision in (f"drafts/{unordered}", f"commits/{commit(client, unordered)}"):
        assert ids(rows_at(client, revision)) == [0, 1, 2, 3]
        page = call(client, "get", f"{DS}/{revision}/sheets/train/data?order_by=score")
        assert ids(page) == [1, 2, 3, 0]
        page = call(client, "get", f"{DS}/{revision}/sheets/train/data?order_by=name|score")
        assert ids(page) == [1, 3, 2, 0]


def test_a_minus_orders_a_column_descending_with_null_last(client: APIClient, unordered: int) -> None:
    page = call(client, "get", f"{DS}/drafts/{unordered}/sheets/train/data?order_by=-score|name")
    assert ids(page) == [0, 3, 2, 1]


def test_ordered_pages_are_exact_and_cover_every_row_once(client: APIClient, sheet_draft: int) -> None:
    add_rows(client, sheet_draft, [scored(i, float(i % 7), f"n{i}") for i in range(130)])
    first = call(client, "get", f"{DS}/drafts/{sheet_draft}/sheets/train/data?order_by=-score&offset=0&limit=128")
    last = call(client, "get", f"{DS}/drafts/{sheet_draft}/sheets/train/data?order_by=-score&offset=128&limit=128")
    assert (first["record_size"], last["record_size"], last["total_count"]) == (128, 2, 130)
    expected = sorted(range(130), key=lambda i: (-(i % 7), i))
    assert ids(first) + ids(last) == expected


def test_order_by_a_nested_column(client: APIClient, sheet_draft: int) -> None:
    add_rows(client, sheet_draft, [{**row(0), "Box": {"X": 5}}, {**row(1), "Box": {"X": -5}}])
    assert ids(call(client, "get", f"{DS}/drafts/{sheet_draft}/sheets/train/data?order_by=box.x")) == [1, 0]


def test_records_sort_takes_repeated_columns(client: APIClient, unordered: int) -> None:
    page = records_at(client, f"drafts/{unordered}", "sort=name&sort=-score")
    assert ids(page, "records") == [3, 1, 0, 2]


@pytest.mark.parametrize(
    "query",
    ["order_by=nope", "order_by=tags", "order_by=box", "order_by=-", "order_by=box..x", "order_by=id.x"],
)
def test_order_by_an_unknown_or_unorderable_column_is_refused(client: APIClient, unordered: int, query: str) -> None:
    response = client.get(f"{DS}/drafts/{unordered}/sheets/train/data?{query}")
    assert error(response) == (400, "InvalidParamsValue")


def test_empty_names_between_bars_are_skipped(client: APIClient, unordered: int) -> None:
    assert ids(call(client, "get", f"{DS}/drafts/{unordered}/sheets/train/data?order_by=|score|")) == [1, 2, 3, 0]


def test_sort_by_an_unknown_column_is_refused(client: APIClient, unordered: int) -> None:
    response = client.get(f"{DS}/drafts/{unordered}/sheets/train/records?sort=nope")
    assert error(response) == (400, "InvalidParamsValue")
    assert "sort" in response.json()["message"]


def test_a_sheet_over_the_order_limit_is_listed_in_key_order_only(
    client: APIClient,
    unordered: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sheet_order, "SHEET_ORDER_MAX_ROWS", 3)
    response = client.get(f"{DS}/drafts/{unordered}/sheets/train/data?order_by=score")
    assert error(response) == (400, "InvalidParamsValue")
    assert ids(rows_at(client, f"drafts/{unordered}")) == [0, 1, 2, 3]


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """How many items each ordered page kept, and from which end of the sheet."""
    kept: list[tuple[str, int]] = []
    for name in ("nsmallest", "nlargest"):
        real = getattr(sheet_order.heapq, name)

        def counting(count: int, items: Any, real: Any = real, name: str = name) -> list:
            kept.append((name, count))
            return real(count, items)

        monkeypatch.setattr(sheet_order.heapq, name, counting)
    return kept


def numbered(count: int) -> Any:
    return ((f"{index:03}", {"v": index % 5}) for index in range(count))


def test_an_early_page_keeps_the_rows_up_to_its_end(windows: list) -> None:
    column = sheet_order.OrderColumn(names=("v",))
    page = sheet_order.ordered_page(numbered(500), [column], offset=10, limit=3, total=500)
    assert page == [("050", {"v": 0}), ("055", {"v": 0}), ("060", {"v": 0})]
    assert windows == [("nsmallest", 13)]


def test_a_late_page_keeps_the_rows_from_the_end(windows: list) -> None:
    column = sheet_order.OrderColumn(names=("v",), descending=True)
    page = sheet_order.ordered_page(numbered(500), [column], offset=496, limit=128, total=500)
    assert page == [("480", {"v": 0}), ("485", {"v": 0}), ("490", {"v": 0}), ("495", {"v": 0})]
    assert windows == [("nlargest", 4)]


def test_a_wide_window_keeps_keys_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheet_order, "KEEP_ROWS", 2)
    column = sheet_order.OrderColumn(names=("v",))
    assert sheet_order.ordered_page(numbered(500), [column], offset=1, limit=2, total=500) == [
        ("005", None),
        ("010", None),
    ]


def test_pages_of_a_wide_window_read_their_rows_by_key(
    client: APIClient, sheet_draft: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sheet_order, "KEEP_ROWS", 2)
    add_rows(client, sheet_draft, [scored(i, float(i % 3), f"n{i}") for i in range(9)])
    for revision in (f"drafts/{sheet_draft}", f"commits/{commit(client, sheet_draft)}"):
        by_id = {item["id"]: item for item in rows_at(client, revision)["data"]}
        page = call(client, "get", f"{DS}/{revision}/sheets/train/data?order_by=score&offset=2&limit=3")
        assert page["data"] == [by_id[6], by_id[1], by_id[4]]


def test_ordered_lists_cost_a_constant_number_of_queries_in_the_page_size(
    client: APIClient,
    sheet_draft: int,
    django_assert_max_num_queries: Any,
) -> None:
    add_rows(client, sheet_draft, [scored(i, float(-i), "n") for i in range(128)])
    commit_id = commit(client, sheet_draft)
    with django_assert_max_num_queries(14):
        page = call(client, "get", f"{DS}/commits/{commit_id}/sheets/train/data?order_by=score&limit=128")
    assert ids(page) == list(reversed(range(128)))
    with django_assert_max_num_queries(16):
        page = call(client, "get", f"{DS}/drafts/{sheet_draft}/sheets/train/data?order_by=score&limit=128")
    assert page["record_size"] == 128
