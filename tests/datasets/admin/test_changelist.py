"""The dataset changelist: columns, file counts, filters, search and a constant number of queries."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.timezone import now
from pytest_django import DjangoAssertNumQueries

from datasets import services
from datasets.admin import DatasetAdmin
from datasets.models import Dataset, User
from tests.datasets.admin.conftest import make_entries
from versioning import services as versioning_services
from versioning.models import DatasetGarbage

CHANGELIST = reverse("admin:datasets_dataset_changelist")


def listed_names(client: Client, query: dict[str, str] | None = None) -> set[str]:
    answer = client.get(CHANGELIST, query or {})
    assert answer.status_code == 200
    return {dataset.name for dataset in answer.context["cl"].result_list}


def test_it_shows_workspace_owner_visibility_flags_counters_and_time(admin_client: Client, dataset: Dataset) -> None:
    services.dataset_counter_add(dataset_id=dataset.pk, counter="total_votes", delta=7)
    page = admin_client.get(CHANGELIST).content.decode().lower()

    for text in ("street-cats", "street cats", "vision-team", "alice", "public", "files", "updated at", ">7<"):
        assert text in page


def test_file_count_is_the_entries_at_the_default_branch_head(admin_client: Client, dataset: Dataset) -> None:
    versioning_services.commit_import(dataset=dataset, entries=make_entries(4, segment="more"), title="More")
    rows = admin_client.get(CHANGELIST).context["cl"].result_list

    assert [row.file_count for row in rows] == [7]


def test_a_dataset_without_commits_counts_no_files(admin_client: Client, other_dataset: Dataset) -> None:
    rows = admin_client.get(CHANGELIST).context["cl"].result_list

    assert [row.file_count for row in rows] == [0]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"is_public__exact": "1"}, {"street-cats"}),
        ({"is_public__exact": "0"}, {"poems"}),
        ({"data_type__exact": "2"}, {"poems"}),
        ({"hidden__exact": "0"}, {"street-cats", "poems"}),
        ({"featured__exact": "1"}, set()),
    ],
)
def test_it_filters_by_flags_and_type(
    admin_client: Client, dataset: Dataset, other_dataset: Dataset, query: dict[str, str], expected: set[str]
) -> None:
    assert listed_names(admin_client, query) == expected


def test_it_filters_hidden_and_featured(admin_client: Client, dataset: Dataset, other_dataset: Dataset) -> None:
    services.dataset_moderate(dataset=dataset, actor=None, flag="hidden", value=True)
    services.dataset_moderate(dataset=other_dataset, actor=None, flag="featured", value=True)

    assert listed_names(admin_client, {"hidden__exact": "1"}) == {"street-cats"}
    assert listed_names(admin_client, {"featured__exact": "1"}) == {"poems"}


def test_it_filters_by_workspace_licence_and_tag(
    admin_client: Client, dataset: Dataset, other_dataset: Dataset
) -> None:
    tag = dataset.tags.get()
    page = admin_client.get(CHANGELIST).content.decode()

    assert "vision-team" in page and "CC-BY-4.0" in page and "数据类型: 图片" in page
    assert listed_names(admin_client, {"workspace__id__exact": str(dataset.workspace_id)}) == {"street-cats"}
    assert listed_names(admin_client, {"licence__id__exact": str(dataset.licence_id)}) == {"street-cats"}
    assert listed_names(admin_client, {"tags__id__exact": str(tag.pk)}) == {"street-cats"}


@pytest.mark.parametrize("term", ["street", "Street cats", "photographed", "alice"])
def test_it_searches_name_title_description_and_owner(
    admin_client: Client, dataset: Dataset, other_dataset: Dataset, term: str
) -> None:
    assert listed_names(admin_client, {"q": term}) == {"street-cats"}


def test_each_row_has_one_click_toggles(admin_client: Client, dataset: Dataset) -> None:
    page = admin_client.get(CHANGELIST).content.decode()

    assert f'formaction="{reverse("admin:datasets_dataset_moderate", args=[dataset.pk, "hide"])}"' in page
    assert f'formaction="{reverse("admin:datasets_dataset_moderate", args=[dataset.pk, "feature"])}"' in page
    assert 'name="next" value="/admin/datasets/dataset/"' in page


def many_datasets(owner: User, count: int) -> None:
    """Datasets with a licence, tags and a commit each, so every column and filter has rows to read."""
    workspace = services.personal_workspace(user=owner)
    for n in range(count):
        dataset = services.dataset_create(
            workspace=workspace,
            creator=owner,
            name=f"set-{n}",
            licence=f"licence-{n % 3}",
            tags={"kind": [f"k{n % 4}"], "scene": ["street"]},
            is_public=n % 2 == 0,
        )
        versioning_services.commit_import(dataset=dataset, entries=make_entries(2), title="files")


def test_a_page_costs_the_same_number_of_queries_whatever_its_size(
    admin_client: Client,
    user: User,
    django_assert_max_num_queries: DjangoAssertNumQueries,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    many_datasets(user, 30)
    for per_page in (5, 30):
        monkeypatch.setattr(DatasetAdmin, "list_per_page", per_page)
        with django_assert_max_num_queries(12):
            answer = admin_client.get(CHANGELIST)
        assert len(answer.context["cl"].result_list) == per_page


def test_the_filters_count_their_choices_on_request(admin_client: Client, dataset: Dataset) -> None:
    page = admin_client.get(CHANGELIST, {"_facets": "True"})

    assert page.status_code == 200
    assert "数据类型: 图片 (1)" in page.content.decode()


def test_it_shows_the_space_the_last_collection_found_reclaimable(
    admin_client: Client, dataset: Dataset, other_dataset: Dataset
) -> None:
    DatasetGarbage.objects.create(dataset=dataset, object_count=3, reclaimable_bytes=5 * 1024**2, measured_at=now())

    page = admin_client.get(CHANGELIST).content.decode()

    assert "5.0\xa0MB in 3 objects" in page
    change = admin_client.get(reverse("admin:datasets_dataset_change", args=[dataset.pk])).content.decode()
    assert "5.0\xa0MB in 3 objects" in change
