"""Cached dataset lists: every change to what a list shows retires its cached pages; queries stay constant."""

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django_redis.exceptions import ConnectionInterrupted
from rest_framework.test import APIClient

from datasets import services
from datasets.models import Dataset, DatasetFile, Licence, User, Workspace
from storage_configs.models import StorageConfig
from versioning import services as versioning
from versioning.trees import Entry

pytestmark = pytest.mark.django_db

WHALERUN = "/api/datasets/"
AIDMP = "/aids/aidmp/data/v1/datasets"
GRAVITI = "/v2/datasets"


@pytest.fixture(autouse=True)
def list_cache_on(settings: Any) -> None:
    """The list cache as it runs with Redis; one process here, so the local-memory cache behaves the same."""
    settings.LIST_CACHE_SECONDS = 60


@pytest.fixture
def dataset(user: User, workspace: Workspace) -> Dataset:
    """A public dataset of alice's with a licence, a tag and one commit."""
    found = services.dataset_create(
        workspace=workspace, creator=user, name="mnist", title="MNIST", licence="MIT", is_public=True, tags={"k": ["v"]}
    )
    commit(found, "a.png")
    return found


def commit(dataset: Dataset, *paths: str) -> None:
    entries = [
        Entry.create(
            segment="s", remote_path=path, object_key=path, sha1=hashlib.sha1(path.encode()).hexdigest(), size=5
        )
        for path in paths
    ]
    versioning.commit_import(dataset=dataset, entries=entries, title="import")


def list_body(api_client: APIClient, url: str, access_key: str) -> Any:
    headers = {"HTTP_X_TOKEN": access_key} if url == GRAVITI else {}
    response = api_client.get(url, **headers)
    assert response.status_code == 200
    return response.json()


def attach_a_file(dataset: Dataset) -> None:
    user = dataset.creator
    assert user is not None
    file = DatasetFile.objects.create(user=user, name="f.csv", oss_object="f.csv", size=1, sha1="c" * 40)
    services.dataset_edit_with_files(
        dataset_id=dataset.pk, user=user, title="MNIST", description="", licence="MIT", file_ids=[file.pk]
    )


def rename_the_licence(dataset: Dataset) -> None:
    licence = Licence.objects.get()
    licence.name = "Apache-2.0"
    licence.save()


def rename_the_creator(dataset: Dataset) -> None:
    user = dataset.creator
    assert user is not None
    user.username, user.nickname = "alicia", "Alicia"
    user.save()


def add_a_storage_config(dataset: Dataset) -> None:
    dataset.storage_config = StorageConfig.objects.create(
        workspace=dataset.workspace, name="bucket", kind=StorageConfig.Kind.LOCAL, file_path="bucket"
    )
    dataset.save()


CHANGES: dict[str, Callable[[Dataset], object]] = {
    "create": lambda dataset: services.dataset_create(
        workspace=dataset.workspace, creator=dataset.creator, name="cifar", is_public=True
    ),
    "edit": lambda dataset: services.dataset_update(dataset=dataset, alias="digits"),
    "edit_metadata": lambda dataset: services.dataset_edit_metadata(
        dataset=dataset, title="Digits", description="d", licence=None, data_type=2, cover="", tags=[]
    ),
    "delete": lambda dataset: services.dataset_delete(dataset=dataset),
    "hide": lambda dataset: services.dataset_moderate(dataset=dataset, actor=None, flag="hidden", value=True),
    "feature": lambda dataset: services.dataset_moderate_many(
        dataset_ids=[dataset.pk], actor=None, flag="featured", value=True
    ),
    "counter": lambda dataset: services.dataset_counter_add(dataset_id=dataset.pk, counter="total_votes", delta=2),
    "tags": lambda dataset: services.dataset_set_tags(dataset=dataset, tags={"k": ["v", "w"]}),
    "files": attach_a_file,
    "commit": lambda dataset: commit(dataset, "b.png"),
    "branch": lambda dataset: versioning.branch_create(dataset=dataset, name="dev", revision="main"),
    "licence": rename_the_licence,
    "creator": rename_the_creator,
    "storage_config": add_a_storage_config,
}
# Changes each list shows, beyond a new ``updated_at`` (which Graviti shows to the second only).
SHOWN = {
    WHALERUN: {
        "create", "edit", "edit_metadata", "delete", "hide", "feature", "counter", "files", "licence", "storage_config",
    },
    AIDMP: {
        "create", "edit", "edit_metadata", "delete", "hide", "feature", "counter", "tags", "files", "commit", "branch",
        "creator", "storage_config",
    },
    GRAVITI: {"create", "edit", "delete", "files", "commit", "creator", "storage_config"},
}  # fmt: skip


@pytest.mark.parametrize("url", [WHALERUN, AIDMP, GRAVITI])
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_the_list_after_a_change_is_the_list_built_afresh(
    api_client: APIClient, dataset: Dataset, access_key: str, url: str, change: str
) -> None:
    before = list_body(api_client, url, access_key)
    CHANGES[change](Dataset.objects.get(pk=dataset.pk))
    after = list_body(api_client, url, access_key)
    cache.clear()
    assert after == list_body(api_client, url, access_key)
    if change in SHOWN[url]:
        assert after != before


@pytest.mark.parametrize("url", [WHALERUN, AIDMP, GRAVITI])
def test_a_cached_page_is_answered_without_reading_the_catalog(
    api_client: APIClient, dataset: Dataset, access_key: str, url: str, django_assert_max_num_queries: Any
) -> None:
    first = list_body(api_client, url, access_key)
    # Graviti still authenticates the key (one query); the public lists need no query at all.
    with django_assert_max_num_queries(1 if url == GRAVITI else 0):
        assert list_body(api_client, url, access_key) == first


def test_lists_with_the_cache_off_answer_the_same(
    api_client: APIClient, dataset: Dataset, access_key: str, settings: Any
) -> None:
    cached = [list_body(api_client, url, access_key) for url in (WHALERUN, AIDMP, GRAVITI)]
    settings.LIST_CACHE_SECONDS = 0
    cache.clear()
    assert [list_body(api_client, url, access_key) for url in (WHALERUN, AIDMP, GRAVITI)] == cached


def test_pages_differ_by_query_and_by_the_keys_workspace(
    api_client: APIClient, dataset: Dataset, access_key: str, other_user: User
) -> None:
    services.dataset_create(workspace=dataset.workspace, creator=dataset.creator, name="cifar", is_public=True)
    assert len(api_client.get(WHALERUN, {"per_page": 1}).json()["data"]["datasets"]) == 1
    assert len(api_client.get(WHALERUN, {"per_page": 2}).json()["data"]["datasets"]) == 2
    others = services.access_key_create(user=other_user, workspace=services.personal_workspace(user=other_user))[1]
    assert len(list_body(api_client, GRAVITI, access_key)["datasets"]) == 2
    assert api_client.get(GRAVITI, HTTP_X_TOKEN=others).json()["datasets"] == []


def test_an_aidmp_caller_with_a_key_is_not_served_the_anonymous_page(
    api_client: APIClient, dataset: Dataset, access_key: str
) -> None:
    assert api_client.get(AIDMP).json()["datasets"][0]["repo"]["acl_list"] == []
    keyed = api_client.get(AIDMP, HTTP_X_TOKEN=access_key).json()
    assert keyed["datasets"][0]["repo"]["acl_list"] == [1, 2]


def test_errors_are_not_kept(api_client: APIClient, dataset: Dataset) -> None:
    assert api_client.get(WHALERUN, {"per_page": 0}).status_code == 400
    assert api_client.get(AIDMP, {"page_size": "x"}).status_code == 400
    assert api_client.get(WHALERUN, {"per_page": 1}).status_code == 200


def test_an_unreachable_cache_builds_the_page_from_the_database(
    api_client: APIClient, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(*args: object, **kwargs: object) -> None:
        raise ConnectionInterrupted(connection=None)

    for method in ("get", "set", "add"):
        monkeypatch.setattr(cache, method, unreachable)
    assert api_client.get(WHALERUN).json()["data"]["total"] == 1
    services.dataset_counter_add(dataset_id=dataset.pk, counter="total_votes", delta=1)
    assert api_client.get(WHALERUN).json()["data"]["datasets"][0]["total_votes"] == 1


@pytest.mark.parametrize(
    ("url", "size", "limit"),
    [(WHALERUN, "per_page", 4), (AIDMP, "page_size", 8), (GRAVITI, "limit", 4)],
)
def test_list_queries_do_not_grow_with_the_page_size(
    api_client: APIClient,
    user: User,
    workspace: Workspace,
    access_key: str,
    settings: Any,
    django_assert_max_num_queries: Any,
    url: str,
    size: str,
    limit: int,
) -> None:
    settings.LIST_CACHE_SECONDS = 0
    for number in range(12):
        created = services.dataset_create(
            workspace=workspace, creator=user, name=f"d{number}", licence="MIT", is_public=True, tags={"k": ["v"]}
        )
        commit(created, "a.png")
    headers = {"HTTP_X_TOKEN": access_key} if url == GRAVITI else {}
    for page_size in (1, 12):
        with django_assert_max_num_queries(limit):
            assert api_client.get(url, {size: page_size}, **headers).status_code == 200
