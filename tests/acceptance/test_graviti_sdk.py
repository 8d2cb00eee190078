"""The official graviti SDK 0.13.1 against the live server over TLS: every in-scope endpoint, then the manager."""

from collections.abc import Iterator
from dataclasses import dataclass

import graviti
import pytest
from graviti import openapi
from graviti.exception import (
    AccessDeniedError,
    ForbiddenError,
    NameConflictError,
    ResourceNotExistError,
    UnauthorizedError,
)

from datasets import services
from datasets.models import Membership
from storage_configs.models import StorageConfig
from tests.acceptance.conftest import HubServer
from tests.factories import DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass(frozen=True)
class Caller:
    """An access key, the server's base URL as the SDK wants it, and the key's workspace name."""

    key: str
    url: str
    workspace: str


@pytest.fixture
def caller(hub_server: HubServer) -> Iterator[Caller]:
    user = UserFactory(username="sdk")
    workspace = services.personal_workspace(user=user)
    workspace.default_storage_config = StorageConfig.objects.create(workspace=workspace, name="store", kind="s3")
    workspace.save()
    yield Caller(
        key=services.access_key_create(user=user, workspace=workspace)[1],
        url=hub_server.url.rstrip("/"),
        workspace=workspace.name,
    )


def test_openapi_user_and_workspace_functions(caller: Caller) -> None:
    assert openapi.get_current_user(caller.key, caller.url)["workspace"] == "sdk"
    assert openapi.get_current_workspace(caller.key, caller.url)["name"] == "sdk"
    assert openapi.get_workspace(caller.key, caller.url, "sdk")["name"] == "sdk"


def test_openapi_storage_config_functions(caller: Caller) -> None:
    listed = openapi.list_storage_configs(caller.key, caller.url, caller.workspace, offset=0, limit=128)
    assert (listed["default_storage_config"], listed["total_count"]) == ("store", 1)
    got = openapi.get_storage_config(caller.key, caller.url, caller.workspace, "store")
    assert (got["name"], got["config_type"], got["backend_type"]) == ("store", "AUTHORIZED", "S3")
    openapi.update_storage_configs(caller.key, caller.url, caller.workspace, default_storage_config="store")
    with pytest.raises(ResourceNotExistError):
        openapi.update_storage_configs(caller.key, caller.url, caller.workspace, default_storage_config="nope")


def test_openapi_dataset_functions(caller: Caller) -> None:
    created = openapi.create_dataset(caller.key, caller.url, "mnist", alias="MNIST", with_draft=False)
    assert (created["name"], created["commit_id"], created["storage_config"]) == ("mnist", None, "store")
    assert openapi.get_dataset(caller.key, caller.url, caller.workspace, "mnist") == created
    listed = openapi.list_datasets(caller.key, caller.url, offset=0, limit=128)
    assert ([d["name"] for d in listed["datasets"]], listed["total_count"]) == (["mnist"], 1)
    updated = openapi.update_dataset(caller.key, caller.url, caller.workspace, "mnist", name="mnist2", alias="M")
    assert (updated["name"], updated["alias"]) == ("mnist2", "M")
    openapi.delete_dataset(caller.key, caller.url, caller.workspace, "mnist2")
    with pytest.raises(ResourceNotExistError):
        openapi.get_dataset(caller.key, caller.url, caller.workspace, "mnist2")


def test_openapi_version_control_functions(caller: Caller) -> None:
    key, url, ws = caller.key, caller.url, caller.workspace
    openapi.create_dataset(key, url, "cats")
    draft = openapi.create_draft(key, url, ws, "cats", title="first", branch="main", description="d")
    assert (draft["number"], draft["state"], draft["parent_commit_id"]) == (1, "OPEN", None)
    assert openapi.update_draft(key, url, ws, "cats", draft_number=1, title="First")["title"] == "First"
    assert openapi.list_drafts(key, url, ws, "cats", state="OPEN")["total_count"] == 1
    commit = openapi.commit_draft(key, url, ws, "cats", draft_number=1, title="c1")
    assert openapi.get_draft(key, url, ws, "cats", draft_number=1)["state"] == "COMMITTED"
    assert openapi.get_commit(key, url, ws, "cats", commit_id=commit["commit_id"]) == commit
    history = openapi.list_commits(key, url, ws, "cats", revision="main", offset=0, limit=128)
    assert [c["commit_id"] for c in history["commits"]] == [commit["commit_id"]]
    assert openapi.get_revision(key, url, ws, "cats", revision="main")["type"] == "BRANCH"

    branch = openapi.create_branch(key, url, ws, "cats", name="dev", revision=commit["commit_id"])
    assert (branch["name"], branch["commit_id"]) == ("dev", commit["commit_id"])
    assert openapi.get_branch(key, url, ws, "cats", branch="dev") == branch
    assert [b["name"] for b in openapi.list_branches(key, url, ws, "cats")["branches"]] == ["dev", "main"]
    openapi.delete_branch(key, url, ws, "cats", branch="dev")

    tag = openapi.create_tag(key, url, ws, "cats", name="v1", revision="main")
    assert openapi.get_tag(key, url, ws, "cats", tag="v1") == tag
    assert openapi.list_tags(key, url, ws, "cats")["total_count"] == 1
    openapi.delete_tag(key, url, ws, "cats", tag="v1")

    openapi.create_draft(key, url, ws, "cats", title="second")
    closed = openapi.update_draft(key, url, ws, "cats", draft_number=2, state="CLOSED")
    assert closed["state"] == "CLOSED"


def test_openapi_errors_raise_the_sdks_exceptions(caller: Caller) -> None:
    key, url, ws = caller.key, caller.url, caller.workspace
    openapi.create_dataset(key, url, "dogs")
    with pytest.raises(NameConflictError):
        openapi.create_dataset(key, url, "dogs")
    with pytest.raises(ResourceNotExistError):
        openapi.get_branch(key, url, ws, "dogs", branch="nope")
    with pytest.raises(ForbiddenError):
        openapi.delete_branch(key, url, ws, "dogs", branch="main")
    with pytest.raises(UnauthorizedError):
        openapi.list_datasets("ACCESSKEY-" + "0" * 32, url)
    with pytest.raises(ResourceNotExistError):
        openapi.list_draft_sheets(key, url, ws, "dogs", draft_number=1)


def test_openapi_readers_are_refused_writes(caller: Caller) -> None:
    openapi.create_dataset(caller.key, caller.url, "shared")
    reader = UserFactory(username="reader")
    workspace = services.personal_workspace(user=UserFactory(username="sdk"))
    services.membership_set(workspace=workspace, user=reader, role=Membership.Role.READER)
    reader_key = services.access_key_create(user=reader, workspace=workspace)[1]
    assert openapi.get_dataset(reader_key, caller.url, caller.workspace, "shared")["name"] == "shared"
    with pytest.raises(AccessDeniedError):
        openapi.create_draft(reader_key, caller.url, caller.workspace, "shared", title="t")


def test_workspace_manager_creates_gets_lists_edits_and_deletes_datasets(caller: Caller) -> None:
    ws = graviti.Workspace(caller.key, caller.url + "/")
    created = ws.datasets.create("birds", alias="Birds")
    assert (created.name, created.alias, created.HEAD.name, created.HEAD.commit_id) == ("birds", "Birds", "main", None)
    assert ws.datasets.get("birds").alias == "Birds"
    ws.datasets.create("fish")
    assert [dataset.name for dataset in ws.datasets.list()] == ["birds", "fish"]
    dataset = ws.datasets.get("birds")
    dataset.edit(name="parrots", alias="Parrots")
    assert (dataset.name, ws.datasets.get("parrots").alias) == ("parrots", "Parrots")
    assert dataset.storage_config.backend_type == "S3"
    ws.datasets.delete("parrots")
    assert [dataset.name for dataset in ws.datasets.list()] == ["fish"]


def test_workspace_manager_drafts_commits_branches_tags_and_checkout(caller: Caller) -> None:
    ws = graviti.Workspace(caller.key, caller.url)
    dataset = ws.datasets.create("frogs")
    assert dataset.commits.list() == []
    assert dataset.branches.get("main").commit_id is None

    draft = dataset.drafts.create("first", description="one")
    assert (draft.number, draft.state, draft.branch) == (1, "OPEN", "main")
    draft.edit(title="First")
    assert dataset.drafts.get(1).title == "First"
    branch = draft.commit("c1", description="initial")
    assert (draft.state, branch.name, dataset.HEAD.commit_id) == ("COMMITTED", "main", branch.commit_id)

    second = dataset.drafts.create("second")
    second.commit("c2")
    assert [c.title for c in dataset.commits.list()] == ["c2", "c1"]
    assert dataset.commits.get().title == "c2"

    dev = dataset.branches.create("dev", revision=branch.commit_id)
    assert (dev.name, dev.commit_id) == ("dev", branch.commit_id)
    assert [b.name for b in dataset.branches.list()] == ["dev", "main"]
    tag = dataset.tags.create("v1")
    assert tag.commit_id == dataset.HEAD.commit_id
    assert [t.name for t in dataset.tags.list()] == ["v1"]

    dataset.checkout("dev")
    assert (type(dataset.HEAD).__name__, dataset.HEAD.commit_id) == ("Branch", branch.commit_id)
    dataset.checkout("v1")
    assert (type(dataset.HEAD).__name__, dataset.HEAD.name) == ("Tag", "v1")
    dataset.checkout(branch.commit_id)
    assert (type(dataset.HEAD).__name__, dataset.HEAD.title) == ("Commit", "c1")

    third = dataset.drafts.create("third", branch="dev")
    third.close()
    assert [d.number for d in dataset.drafts.list(state="CLOSED")] == [3]
    dataset.tags.delete("v1")
    dataset.branches.delete("dev")
    assert [b.name for b in dataset.branches.list()] == ["main"]


def test_workspace_manager_pages_through_more_datasets_than_one_page(caller: Caller) -> None:
    owner = UserFactory(username="sdk")
    for number in range(130):
        DatasetFactory(creator=owner, name=f"d{number:03}")
    names = [dataset.name for dataset in graviti.Workspace(caller.key, caller.url).datasets.list()]
    assert names == [f"d{number:03}" for number in range(130)]
