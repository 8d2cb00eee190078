"""Graviti v2 catalog endpoints over HTTP: datasets, workspace storage configs, and the dialect's errors."""

import re

import pytest
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from datasets import services
from datasets.api.graviti import DatasetSerializer
from datasets.models import Dataset, Membership, User, Workspace
from datasets.selectors import dataset_list_with_head
from storage_configs.models import StorageConfig
from tests.factories import DatasetFactory
from versioning import selectors as versioning_selectors
from versioning import services as versioning_services

pytestmark = pytest.mark.django_db

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
DATASET_KEYS = {
    "id", "name", "alias", "workspace", "default_branch", "commit_id", "cover_url", "creator",
    "created_at", "updated_at", "is_public", "storage_config", "backend_type",
}  # fmt: skip


@pytest.fixture
def client(api_client: APIClient, access_key: str) -> APIClient:
    """Alice's client, authenticated with her key."""
    api_client.credentials(HTTP_X_TOKEN=access_key)
    return api_client


def key_for(user: User, workspace: Workspace, role: str | None = None) -> str:
    if role is not None:
        services.membership_set(workspace=workspace, user=user, role=role)
    return services.access_key_create(user=user, workspace=workspace)[1]


def client_with(key: str) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_X_TOKEN=key)
    return client


def create(client: APIClient, name: str = "mnist", **body: object) -> dict:
    response = client.post("/v2/datasets", {"name": name, "alias": "", **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def storage_config(workspace: Workspace, name: str, kind: str = "s3", **fields: object) -> StorageConfig:
    return StorageConfig.objects.create(workspace=workspace, name=name, kind=kind, **fields)


# Creating


def test_create_answers_a_new_dataset_on_an_empty_main_branch(client: APIClient) -> None:
    created = create(client, "mnist", alias="MNIST")
    assert set(created) == DATASET_KEYS
    assert (created["name"], created["alias"], created["workspace"]) == ("mnist", "MNIST", "alice")
    assert (created["default_branch"], created["commit_id"], created["is_public"]) == ("main", None, False)
    assert (created["creator"], created["storage_config"], created["backend_type"]) == ("alice", "", "AZURE")
    assert re.fullmatch(r"[0-9a-f]{32}", created["id"])


def test_create_writes_timestamps_to_the_second_with_z(client: APIClient) -> None:
    created = create(client)
    assert TIMESTAMP.fullmatch(created["created_at"])
    assert TIMESTAMP.fullmatch(created["updated_at"])


def test_create_uses_the_named_storage_config(client: APIClient, workspace: Workspace) -> None:
    storage_config(workspace, "bucket", kind="azure")
    created = create(client, storage_config="bucket")
    assert (created["storage_config"], created["backend_type"]) == ("bucket", "AZURE")


def test_create_uses_the_workspace_default_storage_config(client: APIClient, workspace: Workspace) -> None:
    workspace.default_storage_config = storage_config(workspace, "s3-default")
    workspace.save()
    created = create(client)
    # Every dataset's objects are read and written the Azure way (data-plane spec §5.5).
    assert (created["storage_config"], created["backend_type"]) == ("s3-default", "AZURE")


def test_create_with_an_unknown_storage_config_is_not_found(client: APIClient) -> None:
    response = client.post("/v2/datasets", {"name": "x", "alias": "", "storage_config": "nope"}, format="json")
    assert response.status_code == 404
    assert response.json() == {"code": "ResourceNotExist", "message": "storage config 'nope' does not exist"}


def test_create_with_draft_opens_draft_one(client: APIClient) -> None:
    create(client, "with-draft", with_draft=True)
    dataset = Dataset.objects.get(name="with-draft")
    drafts = versioning_selectors.draft_list(dataset=dataset)
    assert [(draft.number, draft.branch_name) for draft in drafts] == [(1, "main")]


def test_create_with_a_taken_name_is_a_name_conflict(client: APIClient) -> None:
    create(client, "mnist")
    response = client.post("/v2/datasets", {"name": "mnist", "alias": ""}, format="json")
    assert response.status_code == 409
    assert response.json() == {"code": "NameConflict", "message": "dataset 'mnist' already exists in workspace alice"}


def test_create_without_a_name_is_a_missing_parameter(client: APIClient) -> None:
    response = client.post("/v2/datasets", {"alias": ""}, format="json")
    assert response.status_code == 400
    assert response.json() == {"code": "RequestParamsMissing", "message": "name: This field is required."}


@pytest.mark.parametrize("body", [{"name": 5}, {"name": "a/b"}, {"name": "x", "with_draft": "yes"}, ["x"]])
def test_create_with_a_bad_value_is_an_invalid_parameter(client: APIClient, body: object) -> None:
    response = client.post("/v2/datasets", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParamsValue"


def test_create_with_a_non_json_body_is_an_invalid_parameter(client: APIClient) -> None:
    response = client.post("/v2/datasets", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParamsValue"


def test_a_reader_may_not_create(api_client: APIClient, other_user: User, workspace: Workspace) -> None:
    response = client_with(key_for(other_user, workspace, Membership.Role.READER)).post(
        "/v2/datasets", {"name": "x", "alias": ""}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {"code": "AccessDenied", "message": "bob may not change workspace alice"}


def test_a_writer_may_create(other_user: User, workspace: Workspace) -> None:
    created = create(client_with(key_for(other_user, workspace, Membership.Role.WRITER)), "by-bob")
    assert (created["workspace"], created["creator"]) == ("alice", "bob")


def test_a_retried_post_with_the_same_request_id_creates_once(client: APIClient) -> None:
    first = client.post("/v2/datasets", {"name": "once", "alias": ""}, format="json", HTTP_X_REQUEST_ID="a" * 32)
    again = client.post("/v2/datasets", {"name": "once", "alias": ""}, format="json", HTTP_X_REQUEST_ID="a" * 32)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["X-Request-Id"] == "a" * 32
    assert Dataset.objects.filter(name="once").count() == 1


def test_a_new_request_id_with_the_same_name_is_a_conflict(client: APIClient) -> None:
    client.post("/v2/datasets", {"name": "once", "alias": ""}, format="json", HTTP_X_REQUEST_ID="a" * 32)
    again = client.post("/v2/datasets", {"name": "once", "alias": ""}, format="json", HTTP_X_REQUEST_ID="b" * 32)
    assert again.status_code == 409


# Authentication


def test_a_request_without_a_token_is_unauthorized(api_client: APIClient) -> None:
    response = api_client.get("/v2/datasets")
    assert response.status_code == 401
    assert response.json() == {
        "code": "Unauthorized",
        "message": "Authentication credentials were not provided.",
    }


def test_a_request_with_an_unknown_token_is_unauthorized(api_client: APIClient) -> None:
    response = client_with("ACCESSKEY-" + "0" * 32).get("/v2/datasets")
    assert response.status_code == 401
    assert response.json() == {"code": "Unauthorized", "message": "unknown or revoked access key"}


# Listing


def test_list_answers_the_paging_envelope(client: APIClient) -> None:
    create(client, "a")
    response = client.get("/v2/datasets")
    assert response.status_code == 200
    body = response.json()
    assert (body["offset"], body["record_size"], body["total_count"]) == (0, 1, 1)
    assert set(body["datasets"][0]) == DATASET_KEYS


def test_list_pages_are_stable_and_hold_what_total_count_promises(client: APIClient) -> None:
    for name in ["c", "a", "b", "e", "d"]:
        create(client, name)
    pages = [client.get("/v2/datasets", {"offset": offset, "limit": 2}).json() for offset in (0, 2, 4)]
    assert [page["total_count"] for page in pages] == [5, 5, 5]
    assert [page["record_size"] for page in pages] == [2, 2, 1]
    assert [item["name"] for page in pages for item in page["datasets"]] == ["c", "a", "b", "e", "d"]


def test_list_past_the_end_is_empty(client: APIClient) -> None:
    create(client)
    body = client.get("/v2/datasets", {"offset": 5}).json()
    assert (body["datasets"], body["record_size"], body["total_count"]) == ([], 0, 1)


@pytest.mark.parametrize("params", [{"limit": 129}, {"limit": 0}, {"offset": -1}, {"limit": "x"}])
def test_list_with_a_bad_page_is_an_invalid_parameter(client: APIClient, params: dict) -> None:
    response = client.get("/v2/datasets", params)
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParamsValue"


def test_list_holds_only_the_callers_workspace(client: APIClient, other_user: User) -> None:
    DatasetFactory(creator=other_user, name="bobs", is_public=True)
    create(client, "mine")
    assert [item["name"] for item in client.get("/v2/datasets").json()["datasets"]] == ["mine"]


@pytest.mark.parametrize("size", [1, 20])
def test_list_queries_do_not_grow_with_the_page(
    client: APIClient, user: User, size: int, django_assert_max_num_queries: object
) -> None:
    for number in range(size):
        dataset = DatasetFactory(creator=user, name=f"d{number}")
        draft = versioning_services.draft_create(dataset=dataset, title="t")
        versioning_services.draft_commit(draft=draft, title="t", committer=user)
    with django_assert_max_num_queries(4):  # type: ignore[operator]
        body = client.get("/v2/datasets", {"limit": size}).json()
    assert body["record_size"] == size
    assert all(item["commit_id"] for item in body["datasets"])


# Reading one


def test_get_answers_the_dataset(client: APIClient) -> None:
    created = create(client)
    response = client.get("/v2/datasets/alice/mnist")
    assert (response.status_code, response.json()) == (200, created)


def test_get_shows_the_default_branch_head_as_commit_id(client: APIClient, user: User) -> None:
    create(client)
    dataset = Dataset.objects.get(name="mnist")
    commit = versioning_services.draft_commit(
        draft=versioning_services.draft_create(dataset=dataset, title="t"), title="t", committer=user
    )
    assert client.get("/v2/datasets/alice/mnist").json()["commit_id"] == commit.id


def test_get_of_an_unknown_dataset_is_not_found(client: APIClient) -> None:
    response = client.get("/v2/datasets/alice/nope")
    assert response.status_code == 404
    assert response.json() == {"code": "ResourceNotExist", "message": "dataset alice/nope does not exist"}


def test_another_workspaces_private_dataset_is_not_found(client: APIClient, other_user: User) -> None:
    DatasetFactory(creator=other_user, name="secret")
    response = client.get("/v2/datasets/bob/secret")
    assert response.status_code == 404
    assert response.json() == {"code": "ResourceNotExist", "message": "dataset bob/secret does not exist"}


def test_a_public_dataset_is_readable_by_any_key(client: APIClient, other_user: User) -> None:
    DatasetFactory(creator=other_user, name="open", is_public=True)
    response = client.get("/v2/datasets/bob/open")
    assert (response.status_code, response.json()["is_public"]) == (200, True)


def test_a_public_dataset_is_not_writable_by_outsiders(client: APIClient, other_user: User) -> None:
    DatasetFactory(creator=other_user, name="open", is_public=True)
    response = client.patch("/v2/datasets/bob/open", {"alias": "mine"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"code": "AccessDenied", "message": "alice may not change datasets of workspace bob"}


# Updating


def test_update_answers_the_dataset_after_the_change(client: APIClient) -> None:
    create(client)
    response = client.patch("/v2/datasets/alice/mnist", {"name": "mnist2", "alias": "M"}, format="json")
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["alias"]) == ("mnist2", "M")
    assert client.get("/v2/datasets/alice/mnist").status_code == 404
    assert client.get("/v2/datasets/alice/mnist2").status_code == 200


def test_update_with_nothing_changes_nothing(client: APIClient) -> None:
    created = create(client)
    response = client.patch("/v2/datasets/alice/mnist", {}, format="json")
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["alias"]) == (created["name"], created["alias"])


def test_update_to_another_branch_shows_its_head(client: APIClient, user: User) -> None:
    create(client)
    dataset = Dataset.objects.get(name="mnist")
    draft = versioning_services.draft_create(dataset=dataset, title="t")
    commit = versioning_services.draft_commit(draft=draft, title="t", committer=user)
    versioning_services.branch_create(dataset=dataset, name="dev", revision=commit.id)
    body = client.patch("/v2/datasets/alice/mnist", {"default_branch": "dev"}, format="json").json()
    assert (body["default_branch"], body["commit_id"]) == ("dev", commit.id)


def test_update_to_an_unknown_branch_is_not_found(client: APIClient) -> None:
    create(client)
    response = client.patch("/v2/datasets/alice/mnist", {"default_branch": "nope"}, format="json")
    assert response.status_code == 404
    assert response.json() == {"code": "ResourceNotExist", "message": "branch 'nope' does not exist"}


def test_rename_to_a_taken_name_is_a_name_conflict(client: APIClient) -> None:
    create(client, "a")
    create(client, "b")
    response = client.patch("/v2/datasets/alice/a", {"name": "b"}, format="json")
    assert response.status_code == 409
    assert response.json() == {"code": "NameConflict", "message": "dataset 'b' already exists in its workspace"}


def test_a_reader_may_read_but_not_update(client: APIClient, other_user: User, workspace: Workspace) -> None:
    create(client)
    reader = client_with(key_for(other_user, workspace, Membership.Role.READER))
    assert reader.get("/v2/datasets/alice/mnist").status_code == 200
    response = reader.patch("/v2/datasets/alice/mnist", {"alias": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "AccessDenied"


# Deleting


def test_delete_answers_200_and_the_dataset_is_gone(client: APIClient, user: User) -> None:
    create(client)
    dataset = Dataset.objects.get(name="mnist")
    commit = versioning_services.draft_commit(
        draft=versioning_services.draft_create(dataset=dataset, title="t"), title="t", committer=user
    )
    versioning_services.tag_create(dataset=dataset, name="v1", revision=commit.id)
    versioning_services.branch_create(dataset=dataset, name="dev", revision=commit.id)
    versioning_services.draft_create(dataset=dataset, title="open")
    response = client.delete("/v2/datasets/alice/mnist")
    assert (response.status_code, response.json()) == (200, {})
    assert client.get("/v2/datasets/alice/mnist").status_code == 404
    assert not Dataset.objects.filter(name="mnist").exists()


def test_delete_of_another_workspaces_dataset_is_not_found(client: APIClient, other_user: User) -> None:
    DatasetFactory(creator=other_user, name="secret")
    assert client.delete("/v2/datasets/bob/secret").status_code == 404
    assert Dataset.objects.filter(name="secret").exists()


# Storage configs


def test_storage_configs_list_names_the_default(client: APIClient, workspace: Workspace) -> None:
    storage_config(workspace, "b-oss", kind="oss", is_hub_default=True)
    workspace.default_storage_config = storage_config(workspace, "a-s3")
    workspace.save()
    body = client.get("/v2/workspaces/alice/storage-configs").json()
    assert body["default_storage_config"] == "a-s3"
    assert [(c["name"], c["config_type"], c["backend_type"]) for c in body["storage_configs"]] == [
        ("a-s3", "AUTHORIZED", "S3"),
        ("b-oss", "GRAVITI", "OSS"),
    ]
    assert (body["offset"], body["record_size"], body["total_count"]) == (0, 2, 2)


def test_storage_configs_list_sorts_by_the_given_key(client: APIClient, workspace: Workspace) -> None:
    storage_config(workspace, "a")
    storage_config(workspace, "b")
    body = client.get("/v2/workspaces/alice/storage-configs", {"sort": "-name"}).json()
    assert [c["name"] for c in body["storage_configs"]] == ["b", "a"]


def test_storage_configs_list_with_an_unknown_sort_is_an_invalid_parameter(client: APIClient) -> None:
    response = client.get("/v2/workspaces/alice/storage-configs", {"sort": "secret"})
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParamsValue"


def test_storage_config_get_describes_it(client: APIClient, workspace: Workspace) -> None:
    config = storage_config(workspace, "bucket", kind="oss")
    body = client.get("/v2/workspaces/alice/storage-configs/bucket").json()
    assert body == {"id": f"{config.pk:032x}", "name": "bucket", "config_type": "AUTHORIZED", "backend_type": "OSS"}


def test_storage_config_get_of_an_unknown_name_is_not_found(client: APIClient) -> None:
    response = client.get("/v2/workspaces/alice/storage-configs/nope")
    assert response.status_code == 404
    assert response.json() == {"code": "ResourceNotExist", "message": "storage config 'nope' does not exist"}


def test_storage_configs_of_another_workspace_are_not_found(client: APIClient, other_user: User) -> None:
    response = client.get("/v2/workspaces/bob/storage-configs")
    assert response.status_code == 404
    assert response.json() == {"code": "ResourceNotExist", "message": "workspace 'bob' does not exist"}


@pytest.mark.parametrize("key", ["deafault_storage_config", "default_storage_config"])
def test_set_default_storage_config_takes_the_sdks_spelling(client: APIClient, workspace: Workspace, key: str) -> None:
    storage_config(workspace, "bucket")
    response = client.patch("/v2/workspaces/alice/storage-configs", {key: "bucket"}, format="json")
    assert (response.status_code, response.json()) == (200, {})
    assert client.get("/v2/workspaces/alice/storage-configs").json()["default_storage_config"] == "bucket"


def test_set_default_storage_config_to_an_unknown_name_is_not_found(client: APIClient) -> None:
    response = client.patch("/v2/workspaces/alice/storage-configs", {"deafault_storage_config": "x"}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "ResourceNotExist"


def test_set_default_storage_config_without_a_name_is_a_missing_parameter(client: APIClient) -> None:
    response = client.patch("/v2/workspaces/alice/storage-configs", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"code": "RequestParamsMissing", "message": "default_storage_config is required"}


def test_a_reader_may_not_set_the_default_storage_config(other_user: User, workspace: Workspace) -> None:
    storage_config(workspace, "bucket")
    reader = client_with(key_for(other_user, workspace, Membership.Role.READER))
    body = {"deafault_storage_config": "bucket"}
    response = reader.patch("/v2/workspaces/alice/storage-configs", body, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "AccessDenied"


# Routes


# The SDK's managers never call actions (data-plane spec §1).
OUT_OF_SCOPE = [
    ("post", "/v2/datasets/alice/mnist/actions/a/runs/r/cancel"),
]


@pytest.mark.parametrize(("method", "path"), OUT_OF_SCOPE)
def test_out_of_scope_paths_answer_the_dialects_not_found(client: APIClient, method: str, path: str) -> None:
    create(client)
    response = getattr(client, method)(path, {}, format="json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "ResourceNotExist", "message": "no such route"}


def test_a_trailing_slash_is_not_found_rather_than_redirected(client: APIClient) -> None:
    response = client.post("/v2/datasets/", {"name": "x", "alias": ""}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "ResourceNotExist"


def test_a_wrong_method_answers_json(client: APIClient) -> None:
    response = client.put("/v2/datasets", {}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "ResourceNotExist"


def test_the_schema_documents_the_graviti_endpoints(api_client: APIClient) -> None:
    paths = api_client.get("/openapi/graviti.json").json()["paths"]
    assert {
        "/v2/datasets",
        "/v2/datasets/{workspace}/{dataset}",
        "/v2/datasets/{workspace}/{dataset}/branches",
        "/v2/datasets/{workspace}/{dataset}/branches/{branch}",
        "/v2/datasets/{workspace}/{dataset}/commits",
        "/v2/datasets/{workspace}/{dataset}/commits/{commit_id}",
        "/v2/datasets/{workspace}/{dataset}/revisions/{revision}",
        "/v2/datasets/{workspace}/{dataset}/drafts",
        "/v2/datasets/{workspace}/{dataset}/drafts/{draft_number}",
        "/v2/datasets/{workspace}/{dataset}/tags",
        "/v2/datasets/{workspace}/{dataset}/tags/{tag}",
        "/v2/workspaces/{workspace}/storage-configs",
        "/v2/workspaces/{workspace}/storage-configs/{storage_config}",
    } <= set(paths)


def test_the_schema_documents_no_204_answer(api_client: APIClient) -> None:
    paths = api_client.get("/openapi/graviti.json").json()["paths"]
    statuses = {status for operations in paths.values() for op in operations.values() for status in op["responses"]}
    assert {status for status in statuses if status.startswith("2")} == {"200", "201"}


# One model for every dialect


def test_a_whalerun_dataset_is_listed_here(client: APIClient, user: User) -> None:
    services.dataset_create_with_files(user=user, title="From whale", description="", licence="", file_ids=[])
    assert [item["name"] for item in client.get("/v2/datasets").json()["datasets"]] == ["From whale"]


def test_a_dataset_created_here_is_the_catalogs_row_with_its_branch(client: APIClient) -> None:
    created = create(client)
    dataset = Dataset.objects.get(uuid=created["id"])
    assert versioning_selectors.branch_get(dataset=dataset, name="main").head is None


def test_list_items_are_byte_for_byte_what_the_dataset_serializer_writes(
    client: APIClient, user: User, workspace: Workspace
) -> None:
    create(client, "plain")
    config = storage_config(workspace, "bucket-config")
    create(client, "stored", alias="数据\u2028集", storage_config="bucket-config")
    user.nickname = "Ada"
    user.save()
    Dataset.objects.filter(name="plain").update(cover="covers/plain.png", creator=None)

    response = client.get("/v2/datasets?limit=5")

    datasets = list(dataset_list_with_head(workspace=workspace))
    assert [dataset.storage_config for dataset in datasets] == [None, config]
    expected = {
        "datasets": DatasetSerializer(datasets, many=True).data,
        "offset": 0,
        "record_size": 2,
        "total_count": 2,
    }
    assert response.content == JSONRenderer().render(expected)
