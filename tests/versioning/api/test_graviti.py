"""Graviti v2 versioning endpoints over HTTP: branches, commits, revisions, drafts and tags."""

import re

import pytest
from rest_framework.test import APIClient

from datasets import services
from datasets.models import Dataset, Membership, User, Workspace
from tests.factories import DatasetFactory
from versioning.models import Draft

pytestmark = pytest.mark.django_db

DS = "/v2/datasets/ada/mnist"  # tests/versioning/conftest.py names the user ada
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
COMMIT_KEYS = {"commit_id", "parent_commit_id", "title", "description", "committer", "committed_at"}
DRAFT_KEYS = {
    "number", "title", "description", "branch", "state", "parent_commit_id", "creator", "created_at", "updated_at",
}  # fmt: skip


@pytest.fixture
def dataset(user: User) -> Dataset:
    return DatasetFactory(creator=user, name="mnist")


@pytest.fixture
def client(api_client: APIClient, access_key: str, dataset: Dataset) -> APIClient:
    """Ada's client, with her dataset ``mnist``."""
    api_client.credentials(HTTP_X_TOKEN=access_key)
    return api_client


def client_for(user: User, workspace: Workspace, role: str | None = None) -> APIClient:
    if role is not None:
        services.membership_set(workspace=workspace, user=user, role=role)
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_X_TOKEN=services.access_key_create(user=user, workspace=workspace)[1])
    return client


def post(client: APIClient, path: str, body: dict, status: int = 201) -> dict:
    response = client.post(path, body, format="json")
    assert response.status_code == status, response.content
    return response.json()


def commit(client: APIClient, title: str = "c", branch: str | None = None) -> dict:
    """Open a draft (on ``branch``) and commit it; return the commit."""
    draft = post(client, f"{DS}/drafts", {"title": title, **({"branch": branch} if branch else {})})
    return post(client, f"{DS}/commits", {"draft_number": draft["number"], "title": title})


# Drafts


def test_draft_create_opens_a_draft_on_the_default_branch(client: APIClient) -> None:
    draft = post(client, f"{DS}/drafts", {"title": "first"})
    assert set(draft) == DRAFT_KEYS
    assert (draft["number"], draft["title"], draft["description"]) == (1, "first", "")
    assert (draft["branch"], draft["state"], draft["parent_commit_id"]) == ("main", "OPEN", None)
    assert draft["creator"] == "ada"
    assert TIMESTAMP.fullmatch(draft["created_at"]) and TIMESTAMP.fullmatch(draft["updated_at"])


def test_draft_numbers_increase_by_one(client: APIClient) -> None:
    numbers = [post(client, f"{DS}/drafts", {"title": "t"})["number"] for _ in range(3)]
    assert numbers == [1, 2, 3]


def test_draft_on_a_branch_starts_from_its_head(client: APIClient) -> None:
    first = commit(client)
    post(client, f"{DS}/branches", {"name": "dev", "revision": first["commit_id"]})
    draft = post(client, f"{DS}/drafts", {"title": "t", "branch": "dev", "description": "d"})
    assert (draft["branch"], draft["parent_commit_id"], draft["description"]) == ("dev", first["commit_id"], "d")


def test_draft_create_without_a_title_is_a_missing_parameter(client: APIClient) -> None:
    response = client.post(f"{DS}/drafts", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"code": "RequestParamsMissing", "message": "title: This field is required."}


def test_draft_create_on_an_unknown_branch_is_not_found(client: APIClient) -> None:
    response = client.post(f"{DS}/drafts", {"title": "t", "branch": "nope"}, format="json")
    assert response.status_code == 404
    assert response.json() == {"code": "ResourceNotExist", "message": "branch 'nope' does not exist"}


def test_draft_get_answers_the_draft(client: APIClient) -> None:
    created = post(client, f"{DS}/drafts", {"title": "t"})
    response = client.get(f"{DS}/drafts/1")
    assert (response.status_code, response.json()) == (200, created)


def test_draft_get_of_an_unknown_number_is_not_found(client: APIClient) -> None:
    response = client.get(f"{DS}/drafts/9")
    assert response.status_code == 404
    assert response.json() == {"code": "ResourceNotExist", "message": "draft 9 does not exist"}


def test_draft_list_holds_open_drafts_by_default(client: APIClient) -> None:
    post(client, f"{DS}/drafts", {"title": "a"})
    post(client, f"{DS}/drafts", {"title": "b"})
    client.patch(f"{DS}/drafts/1", {"state": "CLOSED"}, format="json")
    body = client.get(f"{DS}/drafts").json()
    assert ([d["number"] for d in body["drafts"]], body["total_count"], body["record_size"]) == ([2], 1, 1)


@pytest.mark.parametrize(("state", "numbers"), [("CLOSED", [1]), ("COMMITTED", [3]), ("ALL", [1, 2, 3])])
def test_draft_list_filters_by_state(client: APIClient, state: str, numbers: list[int]) -> None:
    post(client, f"{DS}/drafts", {"title": "a"})
    post(client, f"{DS}/drafts", {"title": "b"})
    client.patch(f"{DS}/drafts/1", {"state": "CLOSED"}, format="json")
    post(client, f"{DS}/drafts", {"title": "c"})
    post(client, f"{DS}/commits", {"draft_number": 3, "title": "c"})
    body = client.get(f"{DS}/drafts", {"state": state}).json()
    assert [d["number"] for d in body["drafts"]] == numbers


def test_draft_list_filters_by_branch(client: APIClient) -> None:
    first = commit(client)
    post(client, f"{DS}/branches", {"name": "dev", "revision": first["commit_id"]})
    post(client, f"{DS}/drafts", {"title": "on main"})
    post(client, f"{DS}/drafts", {"title": "on dev", "branch": "dev"})
    body = client.get(f"{DS}/drafts", {"branch": "dev"}).json()
    assert [d["title"] for d in body["drafts"]] == ["on dev"]


def test_draft_list_with_a_bad_state_is_an_invalid_parameter(client: APIClient) -> None:
    response = client.get(f"{DS}/drafts", {"state": "DONE"})
    assert response.status_code == 400
    assert response.json() == {
        "code": "InvalidParamsValue",
        "message": "state: must be one of OPEN, CLOSED, COMMITTED, ALL",
    }


def test_draft_update_changes_title_and_description(client: APIClient) -> None:
    post(client, f"{DS}/drafts", {"title": "t"})
    response = client.patch(f"{DS}/drafts/1", {"title": "new", "description": "more"}, format="json")
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["description"]) == ("new", "more")


def test_draft_update_with_state_closed_closes_it(client: APIClient) -> None:
    post(client, f"{DS}/drafts", {"title": "t"})
    response = client.patch(f"{DS}/drafts/1", {"state": "CLOSED"}, format="json")
    assert (response.status_code, response.json()["state"]) == (200, "CLOSED")


def test_a_closed_draft_cannot_change(client: APIClient) -> None:
    post(client, f"{DS}/drafts", {"title": "t"})
    client.patch(f"{DS}/drafts/1", {"state": "CLOSED"}, format="json")
    response = client.patch(f"{DS}/drafts/1", {"title": "again"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"code": "Forbidden", "message": "draft 1 is CLOSED"}


def test_a_closed_draft_cannot_be_reopened(client: APIClient) -> None:
    post(client, f"{DS}/drafts", {"title": "t"})
    client.patch(f"{DS}/drafts/1", {"state": "CLOSED"}, format="json")
    response = client.patch(f"{DS}/drafts/1", {"state": "OPEN"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "Forbidden"


def test_a_draft_is_not_committed_by_setting_its_state(client: APIClient) -> None:
    post(client, f"{DS}/drafts", {"title": "t"})
    response = client.patch(f"{DS}/drafts/1", {"state": "COMMITTED"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "Forbidden"


def test_draft_update_with_a_bad_state_is_an_invalid_parameter(client: APIClient) -> None:
    post(client, f"{DS}/drafts", {"title": "t"})
    response = client.patch(f"{DS}/drafts/1", {"state": "DONE"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"code": "InvalidParamsValue", "message": "state: must be one of OPEN, CLOSED, COMMITTED"}


# Commits


def test_commit_answers_the_new_root_commit(client: APIClient) -> None:
    post(client, f"{DS}/drafts", {"title": "t"})
    created = post(client, f"{DS}/commits", {"draft_number": 1, "title": "first", "description": "why"})
    assert set(created) == COMMIT_KEYS
    assert re.fullmatch(r"[0-9a-f]{32}", created["commit_id"])
    assert (created["parent_commit_id"], created["title"], created["description"]) == (None, "first", "why")
    assert created["committer"] == "ada"
    assert TIMESTAMP.fullmatch(created["committed_at"])


def test_commit_marks_the_draft_committed_and_moves_the_dataset_head(client: APIClient) -> None:
    created = commit(client)
    assert client.get(f"{DS}/drafts/1").json()["state"] == "COMMITTED"
    assert client.get(DS).json()["commit_id"] == created["commit_id"]


def test_a_second_commit_has_the_first_as_parent(client: APIClient) -> None:
    first, second = commit(client), commit(client)
    assert second["parent_commit_id"] == first["commit_id"]


def test_a_committed_draft_cannot_be_committed_again(client: APIClient) -> None:
    commit(client)
    response = client.post(f"{DS}/commits", {"draft_number": 1, "title": "again"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"code": "Forbidden", "message": "draft 1 is COMMITTED"}


def test_commit_of_an_unknown_draft_is_not_found(client: APIClient) -> None:
    response = client.post(f"{DS}/commits", {"draft_number": 7, "title": "t"}, format="json")
    assert response.status_code == 404
    assert response.json() == {"code": "ResourceNotExist", "message": "draft 7 does not exist"}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"title": "t"}, "RequestParamsMissing"),
        ({"draft_number": 1}, "RequestParamsMissing"),
        ({"draft_number": "1", "title": "t"}, "InvalidParamsValue"),
        ({"draft_number": 1, "title": ""}, "InvalidParamsValue"),
    ],
)
def test_commit_with_a_bad_body_is_refused(client: APIClient, body: dict, code: str) -> None:
    post(client, f"{DS}/drafts", {"title": "t"})
    response = client.post(f"{DS}/commits", body, format="json")
    assert (response.status_code, response.json()["code"]) == (400, code)


def test_a_retried_commit_with_the_same_request_id_commits_once(client: APIClient) -> None:
    post(client, f"{DS}/drafts", {"title": "t"})
    first = client.post(f"{DS}/commits", {"draft_number": 1, "title": "t"}, format="json", HTTP_X_REQUEST_ID="c" * 32)
    again = client.post(f"{DS}/commits", {"draft_number": 1, "title": "t"}, format="json", HTTP_X_REQUEST_ID="c" * 32)
    assert (first.status_code, again.status_code, again.json()) == (201, 201, first.json())


def test_commit_get_answers_the_commit(client: APIClient) -> None:
    created = commit(client)
    response = client.get(f"{DS}/commits/{created['commit_id']}")
    assert (response.status_code, response.json()) == (200, created)


def test_commit_get_of_an_unknown_id_is_not_found(client: APIClient) -> None:
    response = client.get(f"{DS}/commits/{'f' * 32}")
    assert response.status_code == 404
    assert response.json() == {"code": "ResourceNotExist", "message": f"commit '{'f' * 32}' does not exist"}


def test_commit_list_is_the_ancestry_newest_first(client: APIClient) -> None:
    ids = [commit(client, title)["commit_id"] for title in ("a", "b", "c")]
    body = client.get(f"{DS}/commits").json()
    assert [c["commit_id"] for c in body["commits"]] == ids[::-1]
    assert (body["offset"], body["record_size"], body["total_count"]) == (0, 3, 3)


def test_commit_list_starts_at_the_given_revision(client: APIClient) -> None:
    ids = [commit(client, title)["commit_id"] for title in ("a", "b", "c")]
    body = client.get(f"{DS}/commits", {"revision": ids[1]}).json()
    assert ([c["commit_id"] for c in body["commits"]], body["total_count"]) == (ids[1::-1], 2)


def test_commit_list_pages_hold_what_total_count_promises(client: APIClient) -> None:
    ids = [commit(client, str(n))["commit_id"] for n in range(5)]
    pages = [client.get(f"{DS}/commits", {"offset": offset, "limit": 2}).json() for offset in (0, 2, 4)]
    assert [page["record_size"] for page in pages] == [2, 2, 1]
    assert {page["total_count"] for page in pages} == {5}
    assert [c["commit_id"] for page in pages for c in page["commits"]] == ids[::-1]


def test_commit_list_of_an_empty_dataset_is_empty(client: APIClient) -> None:
    body = client.get(f"{DS}/commits").json()
    assert (body["commits"], body["total_count"]) == ([], 0)


def test_commit_list_of_an_unknown_revision_is_not_found(client: APIClient) -> None:
    response = client.get(f"{DS}/commits", {"revision": "nope"})
    assert response.status_code == 404
    assert response.json() == {"code": "ResourceNotExist", "message": "revision 'nope' does not exist"}


@pytest.mark.parametrize("size", [1, 10])
def test_commit_list_queries_do_not_grow_with_the_page(
    client: APIClient, size: int, django_assert_max_num_queries: object
) -> None:
    for n in range(size):
        commit(client, str(n))
    with django_assert_max_num_queries(6):  # type: ignore[operator]
        body = client.get(f"{DS}/commits", {"limit": size}).json()
    assert body["record_size"] == size


# Revisions


def test_revision_of_a_branch_describes_its_head(client: APIClient) -> None:
    created = commit(client)
    body = client.get(f"{DS}/revisions/main").json()
    assert body == {"type": "BRANCH", **created}


def test_revision_of_a_tag_and_of_a_commit(client: APIClient) -> None:
    created = commit(client)
    post(client, f"{DS}/tags", {"name": "v1", "revision": created["commit_id"]})
    assert client.get(f"{DS}/revisions/v1").json() == {"type": "TAG", **created}
    assert client.get(f"{DS}/revisions/{created['commit_id']}").json() == {"type": "COMMIT", **created}


def test_revision_of_an_empty_branch_has_no_commit_but_a_time(client: APIClient) -> None:
    body = client.get(f"{DS}/revisions/main").json()
    assert (body["type"], body["commit_id"], body["parent_commit_id"]) == ("BRANCH", None, None)
    assert (body["title"], body["description"], body["committer"]) == ("", "", "")
    assert TIMESTAMP.fullmatch(body["committed_at"])


@pytest.mark.parametrize("revision", ["nope", "0" * 32])
def test_revision_unknown_is_not_found(client: APIClient, revision: str) -> None:
    response = client.get(f"{DS}/revisions/{revision}")
    assert response.status_code == 404
    assert response.json() == {"code": "ResourceNotExist", "message": f"revision '{revision}' does not exist"}


# Branches


def test_branch_create_answers_the_new_branch(client: APIClient) -> None:
    created = commit(client)
    body = post(client, f"{DS}/branches", {"name": "dev", "revision": created["commit_id"]})
    assert body == {"name": "dev", **created}


def test_branch_create_takes_a_branch_name_as_revision(client: APIClient) -> None:
    created = commit(client)
    assert post(client, f"{DS}/branches", {"name": "dev", "revision": "main"})["commit_id"] == created["commit_id"]


def test_branch_create_with_a_taken_name_is_a_name_conflict(client: APIClient) -> None:
    created = commit(client)
    response = client.post(f"{DS}/branches", {"name": "main", "revision": created["commit_id"]}, format="json")
    assert response.status_code == 409
    assert response.json() == {"code": "NameConflict", "message": "'main' already names a branch or tag"}


def test_branch_create_at_an_unknown_revision_is_not_found(client: APIClient) -> None:
    response = client.post(f"{DS}/branches", {"name": "dev", "revision": "nope"}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "ResourceNotExist"


def test_branch_create_at_an_empty_branch_is_forbidden(client: APIClient) -> None:
    response = client.post(f"{DS}/branches", {"name": "dev", "revision": "main"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"code": "Forbidden", "message": "the revision has no commits"}


def test_branch_create_without_a_revision_is_a_missing_parameter(client: APIClient) -> None:
    response = client.post(f"{DS}/branches", {"name": "dev"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"code": "RequestParamsMissing", "message": "revision: This field is required."}


def test_branch_get_of_the_empty_main_branch(client: APIClient) -> None:
    body = client.get(f"{DS}/branches/main").json()
    assert (body["name"], body["commit_id"], body["title"]) == ("main", None, "")
    assert TIMESTAMP.fullmatch(body["committed_at"])


def test_branch_get_of_an_unknown_branch_is_not_found(client: APIClient) -> None:
    response = client.get(f"{DS}/branches/nope")
    assert response.status_code == 404
    assert response.json() == {"code": "ResourceNotExist", "message": "branch 'nope' does not exist"}


def test_branch_list_by_name(client: APIClient) -> None:
    created = commit(client)
    for name in ("zeta", "alpha"):
        post(client, f"{DS}/branches", {"name": name, "revision": created["commit_id"]})
    body = client.get(f"{DS}/branches").json()
    assert [b["name"] for b in body["branches"]] == ["alpha", "main", "zeta"]
    assert (body["record_size"], body["total_count"]) == (3, 3)


@pytest.mark.parametrize("size", [1, 10])
def test_branch_list_queries_do_not_grow_with_the_page(
    client: APIClient, size: int, django_assert_max_num_queries: object
) -> None:
    created = commit(client)
    for n in range(size):
        post(client, f"{DS}/branches", {"name": f"b{n}", "revision": created["commit_id"]})
    with django_assert_max_num_queries(5):  # type: ignore[operator]
        body = client.get(f"{DS}/branches", {"limit": size}).json()
    assert body["record_size"] == size


def test_branch_delete_answers_200(client: APIClient) -> None:
    created = commit(client)
    post(client, f"{DS}/branches", {"name": "dev", "revision": created["commit_id"]})
    response = client.delete(f"{DS}/branches/dev")
    assert (response.status_code, response.json()) == (200, {})
    assert client.get(f"{DS}/branches/dev").status_code == 404


def test_the_default_branch_cannot_be_deleted(client: APIClient) -> None:
    response = client.delete(f"{DS}/branches/main")
    assert response.status_code == 403
    assert response.json() == {"code": "Forbidden", "message": "the default branch cannot be deleted"}


def test_branch_delete_of_an_unknown_branch_is_not_found(client: APIClient) -> None:
    response = client.delete(f"{DS}/branches/nope")
    assert response.status_code == 404
    assert response.json()["code"] == "ResourceNotExist"


# Tags


def test_tag_create_answers_the_tag(client: APIClient) -> None:
    created = commit(client)
    assert post(client, f"{DS}/tags", {"name": "v1", "revision": "main"}) == {"name": "v1", **created}


def test_tag_create_with_a_taken_name_is_a_name_conflict(client: APIClient) -> None:
    created = commit(client)
    post(client, f"{DS}/tags", {"name": "v1", "revision": created["commit_id"]})
    response = client.post(f"{DS}/tags", {"name": "v1", "revision": created["commit_id"]}, format="json")
    assert response.status_code == 409
    assert response.json() == {"code": "NameConflict", "message": "'v1' already names a branch or tag"}


def test_tag_create_at_an_unknown_revision_is_not_found(client: APIClient) -> None:
    response = client.post(f"{DS}/tags", {"name": "v1", "revision": "nope"}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "ResourceNotExist"


def test_tag_get_list_and_delete(client: APIClient) -> None:
    created = commit(client)
    post(client, f"{DS}/tags", {"name": "v1", "revision": created["commit_id"]})
    assert client.get(f"{DS}/tags/v1").json() == {"name": "v1", **created}
    body = client.get(f"{DS}/tags").json()
    assert ([t["name"] for t in body["tags"]], body["total_count"]) == (["v1"], 1)
    response = client.delete(f"{DS}/tags/v1")
    assert (response.status_code, response.json()) == (200, {})
    assert client.get(f"{DS}/tags/v1").status_code == 404


def test_tag_get_of_an_unknown_tag_is_not_found(client: APIClient) -> None:
    response = client.get(f"{DS}/tags/nope")
    assert response.status_code == 404
    assert response.json() == {"code": "ResourceNotExist", "message": "tag 'nope' does not exist"}


def test_tag_delete_of_an_unknown_tag_is_not_found(client: APIClient) -> None:
    assert client.delete(f"{DS}/tags/nope").status_code == 404


# Who may


def test_a_reader_reads_history_but_may_not_write(client: APIClient, other_user: User, workspace: Workspace) -> None:
    commit(client)
    reader = client_for(other_user, workspace, Membership.Role.READER)
    assert reader.get(f"{DS}/commits").json()["total_count"] == 1
    for path, body in [
        (f"{DS}/drafts", {"title": "t"}),
        (f"{DS}/branches", {"name": "dev", "revision": "main"}),
        (f"{DS}/tags", {"name": "v1", "revision": "main"}),
    ]:
        response = reader.post(path, body, format="json")
        assert (response.status_code, response.json()["code"]) == (403, "AccessDenied")
    assert Draft.objects.count() == 1


def test_another_workspaces_dataset_history_is_not_found(other_user: User, dataset: Dataset) -> None:
    stranger = client_for(other_user, other_user.owned_workspaces.get())
    for path in (f"{DS}/commits", f"{DS}/branches", f"{DS}/drafts", f"{DS}/tags", f"{DS}/revisions/main"):
        response = stranger.get(path)
        assert (response.status_code, response.json()["code"]) == (404, "ResourceNotExist")


def test_a_public_datasets_history_is_readable_but_not_writable_by_outsiders(
    client: APIClient, other_user: User, dataset: Dataset
) -> None:
    commit(client)
    Dataset.objects.filter(pk=dataset.pk).update(is_public=True)
    stranger = client_for(other_user, other_user.owned_workspaces.get())
    assert stranger.get(f"{DS}/commits").json()["total_count"] == 1
    response = stranger.post(f"{DS}/drafts", {"title": "t"}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "AccessDenied")
