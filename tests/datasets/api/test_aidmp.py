"""AIDMP public list (seed 001)."""

import json
import re

import pytest
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from datasets import selectors, services
from datasets.api.aidmp import PublicDatasetSerializer
from datasets.models import AccessKey, Dataset, User
from tests.factories import DatasetFactory
from tests.versioning.conftest import commit_frames
from versioning import services as versioning
from versioning.selectors import dataset_summaries
from versioning.trees import Entry

pytestmark = pytest.mark.django_db

RFC3339_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
REPO_FIELDS = {
    "id", "name", "display_name", "create_user_id", "desc", "tenant_id", "branch_num", "commit_num", "file_num",
    "is_empty", "prefix_uri", "create_username", "last_commit_time", "create_time", "update_time", "default_branch",
    "is_public", "is_allow_public", "repo_type", "oss_path", "is_async", "acl_list",
}  # fmt: skip
URL = "/aids/aidmp/data/v1/datasets"


def public(user: User, name: str, **fields: object) -> Dataset:
    return services.dataset_create(
        workspace=services.personal_workspace(user=user), creator=user, name=name, is_public=True, **fields
    )


def commit_files(dataset: Dataset, *paths: str, sha1: str = "a" * 40) -> None:
    entries = [Entry.create(segment="s", remote_path=path, object_key=path, sha1=sha1, size=5) for path in paths]
    versioning.commit_import(dataset=dataset, entries=entries, title="import")


def test_lists_public_visible_datasets_with_every_repo_field(api_client: APIClient, user: User) -> None:
    shown = public(user, "IMDB", alias="imdb-reviews", description="reviews", tags={"数据类型": ["文本"]})
    DatasetFactory(creator=user, is_public=False)
    public(user, "hidden-one").__class__.objects.filter(name="hidden-one").update(hidden=True)
    commit_files(shown, "a.txt", "b.txt")
    commit_files(shown, "c.txt", sha1="b" * 40)
    body = api_client.get(URL).json()
    assert body["total"] == 1
    item = body["datasets"][0]
    assert (item["tenant_code"], json.loads(item["tags"])) == (user.username, [{"数据类型": ["文本"]}])
    repo = item["repo"]
    assert set(repo) == REPO_FIELDS
    assert repo["id"] == str(shown.uuid) and repo["tenant_id"] == str(shown.workspace.uuid)
    assert (repo["name"], repo["display_name"], repo["desc"], repo["create_username"]) == (
        "IMDB", "imdb-reviews", "reviews", user.username,
    )  # fmt: skip
    assert (repo["branch_num"], repo["commit_num"], repo["file_num"], repo["is_empty"]) == (1, 2, "2", False)
    assert (repo["default_branch"], repo["is_public"], repo["repo_type"], repo["acl_list"]) == ("main", True, 0, [])
    assert all(RFC3339_MS.fullmatch(repo[key]) for key in ("last_commit_time", "create_time", "update_time"))


def test_empty_dataset_has_no_commits(api_client: APIClient, user: User) -> None:
    public(user, "empty")
    repo = api_client.get(URL).json()["datasets"][0]["repo"]
    assert (repo["branch_num"], repo["commit_num"], repo["file_num"], repo["is_empty"]) == (1, 0, "0", True)


def test_keyword_matches_name_display_name_or_description(api_client: APIClient, user: User) -> None:
    public(user, "Cats")
    public(user, "x", alias="DOGS")
    public(user, "y", description="about Birds")

    def names(keyword: str) -> list[str]:
        return [d["repo"]["name"] for d in api_client.get(URL, {"keyword": keyword}).json()["datasets"]]

    assert (names("cat"), names("dogs"), names("BIRD"), names("none")) == (["Cats"], ["x"], ["y"], [])


def test_paging_in_the_query_or_a_json_body(api_client: APIClient, user: User) -> None:
    for n in range(5):
        public(user, f"d{n}")
    assert [d["repo"]["name"] for d in api_client.get(URL, {"page": 2, "page_size": 2}).json()["datasets"]] == [
        "d2", "d1",
    ]  # fmt: skip
    body = api_client.generic("GET", URL, json.dumps({"page": 3, "page_size": 2, "keyword": ""}),
                              content_type="application/json").json()  # fmt: skip
    assert ([d["repo"]["name"] for d in body["datasets"]], body["total"]) == (["d0"], 5)
    assert api_client.get(URL, {"page_size": 0}).json() == {"datasets": [], "total": 5}


@pytest.mark.parametrize("params", [{"page": 0}, {"page": "x"}, {"page_size": 1001}, {"page_size": -1}])
def test_bad_parameters_are_400_code_3(api_client: APIClient, params: dict) -> None:
    response = api_client.get(URL, params)
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["details"]) == (3, [])


def test_acl_list_follows_the_callers_key(api_client: APIClient, user: User, other_user: User, access_key: str) -> None:
    public(user, "mine")
    public(other_user, "theirs")
    listed = {
        d["repo"]["name"]: d["repo"]["acl_list"]
        for d in api_client.get(URL, HTTP_X_TOKEN=access_key).json()["datasets"]
    }
    assert listed == {"mine": [1, 2], "theirs": [1]}


def test_a_revoked_key_is_401_code_16(api_client: APIClient, access_key: str) -> None:
    services.access_key_revoke(key=AccessKey.objects.get())
    response = api_client.get(URL, HTTP_X_TOKEN=access_key)
    assert (response.status_code, response.json()["code"]) == (401, 16)


def test_queries_do_not_grow_with_the_page(
    api_client: APIClient, user: User, access_key: str, django_assert_max_num_queries: object
) -> None:
    for n in range(12):
        dataset = public(user, f"d{n}", tags={"k": ["v"]})
        commit_files(dataset, "f.txt")
    with django_assert_max_num_queries(11):  # type: ignore[operator]
        assert len(api_client.get(URL, {"page_size": 2}, HTTP_X_TOKEN=access_key).json()["datasets"]) == 2
    with django_assert_max_num_queries(11):  # type: ignore[operator]
        assert len(api_client.get(URL, {"page_size": 12}, HTTP_X_TOKEN=access_key).json()["datasets"]) == 12


def test_a_fusion_dataset_counts_every_file_of_its_frames(api_client: APIClient, user: User) -> None:
    dataset = public(user, "drive", kind=Dataset.Kind.FUSION)
    commit_frames(dataset, "seq1", frames=3)

    repo = api_client.get(URL).json()["datasets"][0]["repo"]

    assert (repo["file_num"], repo["is_empty"]) == ("6", False)


@pytest.mark.parametrize("keyed", [False, True])
def test_list_items_are_byte_for_byte_what_the_serializer_writes(
    api_client: APIClient, user: User, other_user: User, access_key: str, keyed: bool
) -> None:
    shown = public(user, "IMDB", alias="影评\u2028", description="reviews", tags={"数据类型": ["文本", "图片"]})
    commit_files(shown, "a.txt", "b.txt")
    public(other_user, "theirs")
    headers = {"HTTP_X_TOKEN": access_key} if keyed else {}

    response = api_client.get(f"{URL}?page_size=5", **headers)

    page = list(selectors.dataset_list_public())
    key = AccessKey.objects.get(user=user) if keyed else None
    roles = {key.workspace_id: selectors.key_role(key=key)} if key else {}
    context = {"summaries": dataset_summaries(datasets=page), "roles": roles, "anonymous": not keyed}
    items = PublicDatasetSerializer(page, many=True, context=context).data
    assert response.content == JSONRenderer().render({"datasets": items, "total": 2})
