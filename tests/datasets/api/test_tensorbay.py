"""TensorBay v1 catalog endpoints over HTTP: the user, storage configs, datasets, and the dialect's errors."""

import re

import pytest
from rest_framework.test import APIClient

from datasets import services
from datasets.models import Dataset, Membership, User, Workspace
from project.api import routes
from storage_configs.models import StorageConfig
from tests.factories import DatasetFactory, UserFactory
from versioning import services as versioning_services
from versioning.models import ROOT_COMMIT_ID

pytestmark = pytest.mark.django_db

P = "/gatewayv2/tensorbay-open-api/v1"
DATASET_KEYS = {
    "id", "name", "alias", "type", "defaultBranch", "commitId", "coverUrl", "updateTime", "owner", "isPublic",
    "configName",
}  # fmt: skip


@pytest.fixture
def client(api_client: APIClient, access_key: str) -> APIClient:
    """Alice's client, authenticated with her key."""
    api_client.credentials(HTTP_X_TOKEN=access_key)
    return api_client


def client_for(user: User, workspace: Workspace, role: str | None = None) -> APIClient:
    if role is not None:
        services.membership_set(workspace=workspace, user=user, role=role)
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_X_TOKEN=services.access_key_create(user=user, workspace=workspace)[1])
    return client


def create(client: APIClient, name: str = "mnist", **body: object) -> str:
    response = client.post(f"{P}/datasets", {"name": name, "type": 0, "alias": "", "isPublic": False, **body}, "json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


# Users and errors every endpoint shares


def test_users_describes_the_key_owner(client: APIClient, user: User) -> None:
    body = client.get(f"{P}/users").json()
    assert (body["nickname"], body["email"], body["team"]) == (user.display_name, user.email, None)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "Authentication credentials were not provided."),
        ("ACCESSKEY-" + "0" * 32, "unknown or revoked access key"),
    ],
)
def test_a_missing_or_unknown_key_is_unauthorized(api_client: APIClient, token: str | None, message: str) -> None:
    if token:
        api_client.credentials(HTTP_X_TOKEN=token)
    response = api_client.get(f"{P}/datasets")
    assert response.status_code == 401
    assert response.json() == {"code": "Unauthorized", "message": message}


def test_the_seed_prefix_serves_the_same_routes(client: APIClient) -> None:
    dataset_id = create(client)
    assert client.get(f"/v1/datasets/{dataset_id}").json()["id"] == dataset_id


@pytest.mark.parametrize(
    ("method", "section"),
    [
        # Sensors, frames, jobs and masks/urls are served now; a section the hub does not know stays this error.
        ("get", "noSuchSection"),
        ("post", "noSuchSection/abc"),
    ],
)
def test_out_of_scope_paths_answer_the_dialect_error(client: APIClient, method: str, section: str) -> None:
    dataset_id = create(client)
    response = getattr(client, method)(f"{P}/datasets/{dataset_id}/{section}", {}, "json")
    assert response.status_code == 404
    assert response.json() == {"code": "ResourceNotExist", "message": "no such route"}


def test_search_results_and_unknown_roots_answer_the_dialect_error(client: APIClient) -> None:
    for path in ("searchResult/abc/datasets", "apps-sextant/v1/x"):
        response = client.post(f"{P}/{path}", {}, "json")
        assert (response.status_code, response.json()["code"]) == (404, "ResourceNotExist")


def test_a_wrong_method_is_a_dialect_error(client: APIClient) -> None:
    response = client.put(f"{P}/datasets", {}, "json")
    assert (response.status_code, response.json()["code"]) == (405, "ResourceNotExist")


# Datasets


def test_create_answers_201_with_the_id_and_the_dataset_starts_at_root(client: APIClient) -> None:
    dataset_id = create(client, alias="MNIST", isPublic=True)
    body = client.get(f"{P}/datasets/{dataset_id}").json()
    assert set(body) == DATASET_KEYS
    assert (body["name"], body["alias"], body["type"], body["defaultBranch"]) == ("mnist", "MNIST", 0, "main")
    assert (body["commitId"], body["isPublic"], body["configName"]) == (ROOT_COMMIT_ID, True, "")


def test_create_a_fusion_dataset_keeps_type_1(client: APIClient) -> None:
    dataset_id = create(client, type=1)
    assert client.get(f"{P}/datasets/{dataset_id}").json()["type"] == 1


def test_create_on_a_storage_config(client: APIClient, workspace: Workspace) -> None:
    StorageConfig.objects.create(workspace=workspace, name="mine", kind="local")
    dataset_id = create(client, configName="mine")
    assert client.get(f"{P}/datasets/{dataset_id}").json()["configName"] == "mine"


def test_create_with_an_unknown_config_is_not_found(client: APIClient) -> None:
    response = client.post(f"{P}/datasets", {"name": "x", "configName": "nope"}, "json")
    assert response.status_code == 404
    assert response.json() == {"code": "ResourceNotExist", "message": "storage config 'nope' does not exist"}


def test_create_twice_is_a_name_conflict(client: APIClient) -> None:
    create(client)
    response = client.post(f"{P}/datasets", {"name": "mnist"}, "json")
    assert response.status_code == 409
    assert response.json() == {"code": "NameConflict", "message": "dataset 'mnist' already exists in workspace alice"}


def test_create_without_a_name_is_params_missing(client: APIClient) -> None:
    response = client.post(f"{P}/datasets", {"type": 0}, "json")
    assert response.status_code == 400
    assert response.json() == {"code": "RequestParamsMissing", "message": "name: This field is required."}


@pytest.mark.parametrize("body", [{"name": "x", "type": "0"}, {"name": "x", "isPublic": "yes"}, {"name": 5}])
def test_create_with_wrong_types_is_invalid(client: APIClient, body: dict) -> None:
    response = client.post(f"{P}/datasets", body, "json")
    assert (response.status_code, response.json()["code"]) == (400, "InvalidParamsValue")


def test_a_retried_create_gets_the_first_answer(client: APIClient) -> None:
    first = client.post(f"{P}/datasets", {"name": "x"}, "json", HTTP_X_REQUEST_ID="a" * 32)
    again = client.post(f"{P}/datasets", {"name": "x"}, "json", HTTP_X_REQUEST_ID="a" * 32)
    assert (again.status_code, again.json()) == (201, first.json())
    assert Dataset.objects.filter(name="x").count() == 1


def test_a_reader_cannot_create(user: User, other_user: User, workspace: Workspace) -> None:
    response = client_for(other_user, workspace, Membership.Role.READER).post(f"{P}/datasets", {"name": "x"}, "json")
    assert response.status_code == 403
    assert response.json() == {"code": "AccessDenied", "message": "bob may not change workspace alice"}


def test_list_filters_by_exact_name(client: APIClient) -> None:
    create(client, "mnist")
    create(client, "mnist-new")
    body = client.get(f"{P}/datasets", {"name": "mnist"}).json()
    assert ([d["name"] for d in body["datasets"]], body["totalCount"], body["recordSize"]) == (["mnist"], 1, 1)


def test_list_fuzzy_matches_part_of_the_name(client: APIClient) -> None:
    create(client, "mnist")
    create(client, "cats")
    body = client.get(f"{P}/datasets", {"name": "nis", "needFuzzyQuery": "true"}).json()
    assert [d["name"] for d in body["datasets"]] == ["mnist"]


def test_list_sorts_by_creation_both_ways(client: APIClient) -> None:
    for name in ("a", "b", "c"):
        create(client, name)
    asc = client.get(f"{P}/datasets", {"sortBy": "created_at", "orderBy": "asc"}).json()["datasets"]
    desc = client.get(f"{P}/datasets", {"sortBy": "created_at", "orderBy": "desc"}).json()["datasets"]
    assert [d["name"] for d in asc] == ["a", "b", "c"]
    assert [d["name"] for d in desc] == ["c", "b", "a"]


@pytest.mark.parametrize("params", [{"sortBy": "name"}, {"orderBy": "up"}, {"needFuzzyQuery": "maybe"}])
def test_list_with_a_bad_sort_or_flag_is_invalid(client: APIClient, params: dict) -> None:
    response = client.get(f"{P}/datasets", params)
    assert (response.status_code, response.json()["code"]) == (400, "InvalidParamsValue")


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 129}, {"offset": -1}, {"limit": "x"}])
def test_list_with_bad_paging_is_invalid(client: APIClient, params: dict) -> None:
    response = client.get(f"{P}/datasets", params)
    assert (response.status_code, response.json()["code"]) == (400, "InvalidParamsValue")


def test_list_pages_hold_exactly_the_rest(client: APIClient, user: User, workspace: Workspace) -> None:
    for index in range(5):
        DatasetFactory(creator=user, workspace=workspace, name=f"d{index}")
    body = client.get(f"{P}/datasets", {"offset": 3, "limit": 128}).json()
    assert (len(body["datasets"]), body["offset"], body["recordSize"], body["totalCount"]) == (2, 3, 2, 5)


def test_list_costs_a_fixed_number_of_queries(
    client: APIClient, user: User, workspace: Workspace, django_assert_max_num_queries: object
) -> None:
    for index in range(3):
        DatasetFactory(creator=user, workspace=workspace, name=f"d{index}")
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        few = client.get(f"{P}/datasets").json()
    for index in range(3, 20):
        DatasetFactory(creator=user, workspace=workspace, name=f"d{index}")
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        many = client.get(f"{P}/datasets").json()
    assert (few["totalCount"], many["totalCount"]) == (3, 20)


def test_list_shows_data_count_and_size_of_the_head(client: APIClient) -> None:
    dataset_id = create(client)
    dataset = Dataset.objects.get(uuid=dataset_id)
    versioning_services.commit_import(
        dataset=dataset,
        entries=[
            versioning_services.Entry.create(
                segment="s", remote_path="a", object_key="k", sha1="a" * 40, size=7, label=None
            )
        ],
        title="c",
    )
    item = client.get(f"{P}/datasets").json()["datasets"][0]
    assert (item["dataCount"], item["dataSize"]) == (1, 7)
    assert item["commitId"] != ROOT_COMMIT_ID


def test_update_changes_alias_visibility_name_and_default_branch(client: APIClient) -> None:
    dataset_id = create(client)
    assert client.patch(f"{P}/datasets/{dataset_id}", {"alias": "A", "isPublic": True}, "json").json() == {}
    assert client.patch(f"{P}/datasets/{dataset_id}", {"name": "renamed"}, "json").status_code == 200
    body = client.get(f"{P}/datasets/{dataset_id}").json()
    assert (body["name"], body["alias"], body["isPublic"]) == ("renamed", "A", True)
    response = client.patch(f"{P}/datasets/{dataset_id}", {"defaultBranch": "nope"}, "json")
    assert response.json() == {"code": "ResourceNotExist", "message": "branch 'nope' does not exist"}


def test_rename_onto_a_taken_name_is_a_conflict(client: APIClient) -> None:
    create(client, "a")
    dataset_id = create(client, "b")
    response = client.patch(f"{P}/datasets/{dataset_id}", {"name": "a"}, "json")
    assert (response.status_code, response.json()["code"]) == (409, "NameConflict")


def test_delete_answers_200_and_the_dataset_is_gone(client: APIClient) -> None:
    dataset_id = create(client)
    response = client.delete(f"{P}/datasets/{dataset_id}")
    assert (response.status_code, response.json()) == (200, {})
    response = client.get(f"{P}/datasets/{dataset_id}")
    assert response.status_code == 404
    assert response.json() == {"code": "ResourceNotExist", "message": f"dataset {dataset_id!r} does not exist"}


@pytest.mark.parametrize("dataset_id", ["nothex", "0" * 32, "g" * 32])
def test_an_unknown_dataset_id_is_not_found(client: APIClient, dataset_id: str) -> None:
    response = client.get(f"{P}/datasets/{dataset_id}")
    assert (response.status_code, response.json()["code"]) == (404, "ResourceNotExist")


# Visibility


def test_another_workspace_does_not_see_a_private_dataset(client: APIClient, other_user: User) -> None:
    dataset_id = create(client)
    bob = client_for(other_user, services.personal_workspace(user=other_user))
    for method, body in (("get", None), ("patch", {"alias": "x"}), ("delete", None)):
        response = getattr(bob, method)(f"{P}/datasets/{dataset_id}", body, "json")
        assert response.status_code == 404
        assert response.json() == {"code": "ResourceNotExist", "message": f"dataset {dataset_id!r} does not exist"}
    assert bob.get(f"{P}/datasets", {"name": "mnist"}).json()["totalCount"] == 0


def test_any_key_reads_a_public_dataset_but_only_writers_change_it(client: APIClient, other_user: User) -> None:
    dataset_id = create(client, isPublic=True)
    bob = client_for(other_user, services.personal_workspace(user=other_user))
    assert bob.get(f"{P}/datasets/{dataset_id}").json()["isPublic"] is True
    response = bob.patch(f"{P}/datasets/{dataset_id}", {"alias": "x"}, "json")
    assert response.status_code == 403
    assert response.json() == {"code": "AccessDenied", "message": "bob may not change datasets of workspace alice"}


def test_a_reader_member_reads_but_cannot_change(client: APIClient, other_user: User, workspace: Workspace) -> None:
    dataset_id = create(client)
    reader = client_for(other_user, workspace, Membership.Role.READER)
    assert reader.get(f"{P}/datasets/{dataset_id}").status_code == 200
    assert reader.delete(f"{P}/datasets/{dataset_id}").status_code == 403


def test_a_writer_member_changes_a_team_dataset(client: APIClient, other_user: User, workspace: Workspace) -> None:
    dataset_id = create(client)
    writer = client_for(other_user, workspace, Membership.Role.WRITER)
    assert writer.patch(f"{P}/datasets/{dataset_id}", {"alias": "w"}, "json").status_code == 200


def test_a_dataset_created_here_is_visible_through_graviti(client: APIClient) -> None:
    dataset_id = create(client, alias="M")
    body = client.get("/v2/datasets/alice/mnist").json()
    assert (body["id"], body["alias"], body["commit_id"]) == (dataset_id, "M", None)


def test_a_dataset_created_through_graviti_is_visible_here(client: APIClient) -> None:
    created = client.post("/v2/datasets", {"name": "from-graviti"}, "json").json()
    body = client.get(f"{P}/datasets/{created['id']}").json()
    assert (body["name"], body["commitId"]) == ("from-graviti", ROOT_COMMIT_ID)
    assert client.get(f"{P}/datasets", {"name": "from-graviti"}).json()["totalCount"] == 1


# Storage configs


def test_storage_configs_list_by_exact_name(client: APIClient, workspace: Workspace) -> None:
    StorageConfig.objects.create(workspace=workspace, name="a", kind="local", file_path="p")
    StorageConfig.objects.create(workspace=workspace, name="ab", kind="local")
    body = client.get(f"{P}/storage-configs", {"name": "a"}).json()
    assert body == {
        "configs": [{"name": "a", "filePath": "p", "type": "local", "isGravitiStorage": False}],
        "offset": 0,
        "recordSize": 1,
        "totalCount": 1,
    }
    assert client.get(f"{P}/storage-configs").json()["totalCount"] == 2


def test_auth_storage_configs_show_endpoint_and_key_id_never_the_secret(client: APIClient) -> None:
    body = {
        "name": "aws", "filePath": "car", "accesskeyId": "AKIA1", "accesskeySecret": "top-secret",
        "endpoint": "s3.example.com", "bucketName": "b",
    }  # fmt: skip
    assert client.post(f"{P}/storage-configs/s3", body, "json").json() == {}
    listed = client.get("/v1/auth-storage-configs", {"name": "aws"})
    assert listed.json()["configs"] == [
        {"name": "aws", "type": "s3", "endpoint": "s3.example.com", "accesskeyId": "AKIA1", "bucketName": "b"}
    ]
    assert b"top-secret" not in listed.content


@pytest.mark.parametrize(
    ("kind", "body", "stored"),
    [
        (
            "oss",
            {"endpoint": "oss.example.com", "bucketName": "b", "accesskeyId": "id", "accesskeySecret": "s"},
            ("oss.example.com", "b", ""),
        ),
        (
            "azure",
            {"containerName": "c", "accountType": "Global", "accesskeyId": "acct", "accesskeySecret": "c2VjcmV0"},
            ("", "c", "Global"),
        ),
        ("local", {"endpoint": "192.168.1.1:8888"}, ("192.168.1.1:8888", "", "")),
    ],
)
def test_create_each_kind_of_storage_config(
    client: APIClient, workspace: Workspace, kind: str, body: dict, stored: tuple
) -> None:
    response = client.post(f"{P}/storage-configs/{kind}", {"name": "cfg", "filePath": "car", **body}, "json")
    assert (response.status_code, response.json()) == (200, {})
    config = StorageConfig.objects.get(workspace=workspace, name="cfg")
    assert (config.kind, config.file_path, (config.endpoint, config.bucket, config.account_type)) == (
        kind,
        "car",
        stored,
    )


def test_create_storage_config_without_a_field_is_params_missing(client: APIClient) -> None:
    response = client.post(f"{P}/storage-configs/s3", {"name": "x", "filePath": ""}, "json")
    assert response.status_code == 400
    assert response.json()["code"] == "RequestParamsMissing"


def test_create_storage_config_twice_is_a_conflict(client: APIClient) -> None:
    body = {"name": "x", "filePath": "", "endpoint": "e"}
    client.post(f"{P}/storage-configs/local", body, "json")
    response = client.post(f"{P}/storage-configs/local", body, "json")
    assert response.status_code == 409
    assert response.json() == {
        "code": "NameConflict",
        "message": "a storage config named 'x' already exists in this workspace",
    }


def test_a_reader_cannot_create_or_delete_storage_configs(other_user: User, workspace: Workspace) -> None:
    StorageConfig.objects.create(workspace=workspace, name="x", kind="local")
    reader = client_for(other_user, workspace, Membership.Role.READER)
    body = {"name": "y", "filePath": "", "endpoint": "e"}
    assert reader.post(f"{P}/storage-configs/local", body, "json").json()["code"] == "AccessDenied"
    assert reader.delete(f"{P}/storage-configs/x").json()["code"] == "AccessDenied"


def test_delete_storage_config(client: APIClient, workspace: Workspace) -> None:
    StorageConfig.objects.create(workspace=workspace, name="x y", kind="local")
    assert client.delete(f"{P}/storage-configs/x%20y").json() == {}
    response = client.delete(f"{P}/storage-configs/x%20y")
    assert response.json() == {"code": "ResourceNotExist", "message": "storage config 'x y' does not exist"}


def test_delete_a_storage_config_in_use_is_a_conflict(client: APIClient, workspace: Workspace) -> None:
    StorageConfig.objects.create(workspace=workspace, name="x", kind="local")
    create(client, configName="x")
    response = client.delete(f"{P}/storage-configs/x")
    assert (response.status_code, response.json()["code"]) == (409, "NameConflict")


def test_cloud_files_of_an_unknown_config_are_not_found(client: APIClient) -> None:
    response = client.get(f"{P}/cloud/nope/files", {"prefix": "", "limit": 128})
    assert (response.status_code, response.json()["code"]) == (404, "ResourceNotExist")
    response = client.get(f"{P}/cloud/nope/files/urls")
    assert response.json() == {"code": "RequestParamsMissing", "message": "filePath is required"}


def test_a_team_key_reports_its_team(other_user: User) -> None:
    team = Workspace.objects.create(name="team", owner=other_user, email="t@example.com")
    member = UserFactory(username="carol")
    body = client_for(member, team, Membership.Role.WRITER).get(f"{P}/users").json()
    assert body["team"] == {"name": "team", "email": "t@example.com", "description": ""}


def test_the_openapi_document_covers_every_route(client: APIClient) -> None:
    documented = client.get("/openapi/tensorbay.json").json()["paths"]
    for route in routes.tensorbay:
        path = P + "/" + re.sub(r"<\w+:(\w+)>", r"{\1}", str(route.pattern))
        assert path in documented, path
