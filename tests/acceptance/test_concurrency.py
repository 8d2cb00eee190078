"""Racing requests against a multi-worker gunicorn on MariaDB: no lost update, no duplicate, no 500.

Every race releases its requests together from a barrier, so they overlap across the workers' threads.
"""

import hashlib
import io
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.test import override_settings

from datasets import selectors as catalog
from datasets import services
from datasets.models import Dataset, User, Workspace
from storage_configs.backends import hub_backend
from tests.acceptance.conftest import HubServer, running_hub
from versioning import selectors as versioning_selectors
from versioning import services as versioning_services
from versioning.models import Commit, Draft, StagedEntry
from versioning.trees import Entry

pytestmark = [pytest.mark.mysql_only, pytest.mark.django_db(transaction=True)]

TENSORBAY = "v1"
# Loopback floods must not meet the rate limits.
UNLIMITED = {"RATE_LIMIT_PER_KEY": "0", "RATE_LIMIT_PER_ADDRESS": "0"}


@pytest.fixture(scope="module")
def hub(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    """Three workers of eight threads, over plain HTTP."""
    with running_hub(tmp_path_factory.mktemp("racing-hub"), tls=False, workers=3, threads=8, env=UNLIMITED) as server:
        yield server


@pytest.fixture
def owner(db: None) -> tuple[User, Workspace, str]:
    """A user, their workspace and an access key in it."""
    user = User.objects.create(username="racer")
    workspace = services.personal_workspace(user=user)
    return user, workspace, services.access_key_create(user=user, workspace=workspace)[1]


def race(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Run every call at once from its own thread; return the answers in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], requests.Response]) -> requests.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def assert_no_traceback(hub: HubServer) -> None:
    assert "Traceback" not in hub.log()


def statuses(answers: list[requests.Response]) -> list[int]:
    return sorted(answer.status_code for answer in answers)


def test_racing_counter_deltas_all_count(hub: HubServer, owner: tuple[User, Workspace, str]) -> None:
    user, workspace, _ = owner
    dataset = services.dataset_create(workspace=workspace, creator=user, name="counted")
    Dataset.objects.filter(pk=dataset.pk).update(total_votes=10, total_comments=10)
    deltas = [1] * 24 + [-1] * 8
    calls = [
        (lambda counter=counter, delta=delta: requests.put(
            f"{hub.url}api/datasets/{dataset.pk}/{counter}/", json={"delta": delta}, timeout=60
        ))
        for counter in ("total_votes", "total_comments")
        for delta in deltas
    ]  # fmt: skip
    answers = race(calls)
    assert statuses(answers) == [200] * len(calls)
    dataset.refresh_from_db()
    assert (dataset.total_votes, dataset.total_comments) == (26, 26)
    assert_no_traceback(hub)


def stage(dataset: Dataset, draft: Draft, path: str, content: bytes) -> None:
    sha1 = hashlib.sha1(content).hexdigest()
    entry = Entry.create(
        segment="seg",
        remote_path=path,
        object_key=catalog.dataset_object_key(dataset=dataset, sha1=sha1),
        sha1=sha1,
        size=len(content),
    )
    versioning_services.draft_stage_upserts(draft=draft, entries=[entry])


COMMIT_ROUTES = {
    "tensorbay": lambda hub, dataset, number: (
        f"{hub.url}{TENSORBAY}/datasets/{dataset.hex_id}/commits",
        {"title": f"draft {number}", "draftNumber": number},
    ),
    "graviti": lambda hub, dataset, number: (
        f"{hub.url}v2/datasets/{dataset.workspace.name}/{dataset.name}/commits",
        {"title": f"draft {number}", "draft_number": number},
    ),
}


@pytest.mark.parametrize("dialect", sorted(COMMIT_ROUTES))
def test_racing_commits_land_exactly_the_drafts_that_do_not_conflict(
    hub: HubServer, owner: tuple[User, Workspace, str], dialect: str
) -> None:
    user, workspace, key = owner
    dataset = services.dataset_create(workspace=workspace, creator=user, name=f"raced-{dialect}")
    first = versioning_services.draft_create(dataset=dataset, title="first")
    stage(dataset, first, "base.txt", b"base")
    base = versioning_services.draft_commit(draft=first, title="first")
    # Eight drafts touch a path of their own; four touch the same path, so only one of those can land.
    own = [versioning_services.draft_create(dataset=dataset, title=f"own {i}") for i in range(8)]
    shared = [versioning_services.draft_create(dataset=dataset, title=f"shared {i}") for i in range(4)]
    for index, draft in enumerate(own):
        stage(dataset, draft, f"own-{index}.txt", f"own {index}".encode())
    for index, draft in enumerate(shared):
        stage(dataset, draft, "shared.txt", f"shared {index}".encode())
    calls = []
    for draft in own + shared:
        url, body = COMMIT_ROUTES[dialect](hub, dataset, draft.number)
        calls.append(lambda url=url, body=body: requests.post(url, json=body, headers={"X-Token": key}, timeout=60))
    answers = race(calls)

    landed = [a for a in answers if a.status_code in (200, 201)]
    refused = [a for a in answers if a.status_code not in (200, 201)]
    own_answers = answers[: len(own)]
    assert all(answer.status_code in (200, 201) for answer in own_answers)
    assert len(landed) == len(own) + 1
    assert [(a.status_code, a.json().get("code")) for a in refused] == [(409, "NameConflict")] * (len(shared) - 1)
    # History is one line from the base through every landed commit, newest first.
    head = versioning_selectors.branch_get(dataset=dataset, name=dataset.default_branch).head
    line = []
    commit: Commit | None = head
    while commit is not None and commit.pk != base.pk:
        line.append(commit)
        commit = commit.parent
    assert commit == base and len(line) == len(landed)
    assert Commit.objects.filter(dataset=dataset).count() == len(landed) + 1
    revision = versioning_selectors.revision_resolve(dataset=dataset, revision=dataset.default_branch)
    paths = [entry.path for entry in versioning_selectors.entry_list(revision=revision, limit=128).items]
    assert sorted(paths) == sorted(["seg/base.txt", "seg/shared.txt", *(f"seg/own-{i}.txt" for i in range(8))])
    states = {draft.number: draft.state for draft in Draft.objects.filter(dataset=dataset)}
    assert sorted(states.values()).count("COMMITTED") == len(landed) + 1
    assert_no_traceback(hub)


def test_racing_callbacks_for_one_segment_register_every_file_once(
    hub: HubServer, owner: tuple[User, Workspace, str]
) -> None:
    user, workspace, key = owner
    dataset = services.dataset_create(workspace=workspace, creator=user, name="called-back")
    draft = versioning_services.draft_create(dataset=dataset, title="uploads")

    def upload(content: bytes) -> dict:
        sha1 = hashlib.sha1(content).hexdigest()
        hub_backend().save(catalog.dataset_object_key(dataset=dataset, sha1=sha1), io.BytesIO(content))
        return {"checksum": sha1, "fileSize": len(content)}

    with override_settings(MEDIA_ROOT=hub.media_root):
        common = upload(b"a file every batch registers") | {"remotePath": "common.txt"}
        batches = [
            [upload(f"file {batch}-{index}".encode()) | {"remotePath": f"{batch}/{index}.txt"} for index in range(7)]
            + [common]
            for batch in range(16)
        ]
    url = f"{hub.url}{TENSORBAY}/datasets/{dataset.hex_id}/multi/callback"
    calls = [
        (lambda objects=objects: requests.put(
            url, json={"segmentName": "seg", "draftNumber": draft.number, "objects": objects},
            headers={"X-Token": key}, timeout=60,
        ))
        for objects in batches
    ]  # fmt: skip
    answers = race(calls)
    assert statuses(answers) == [200] * len(calls)
    revision = versioning_selectors.revision_resolve(dataset=dataset, revision=draft.number)
    paths = [e.path for e in versioning_selectors.entry_list(revision=revision, segment="seg", limit=128).items]
    expected = sorted([f"seg/{b}/{i}.txt" for b in range(16) for i in range(7)] + ["seg/common.txt"])
    assert sorted(paths) == expected
    assert StagedEntry.objects.filter(draft=draft).count() == len(expected)
    assert_no_traceback(hub)


CREATE_ROUTES = {
    "tensorbay": (f"{TENSORBAY}/datasets", (409, "NameConflict")),
    "graviti": ("v2/datasets", (409, "NameConflict")),
}


@pytest.mark.parametrize("dialect", sorted(CREATE_ROUTES))
def test_racing_creations_of_one_name_make_one_dataset(
    hub: HubServer, owner: tuple[User, Workspace, str], dialect: str
) -> None:
    _, workspace, key = owner
    route, conflict = CREATE_ROUTES[dialect]
    name = f"only-one-{dialect}"
    calls = [lambda: requests.post(f"{hub.url}{route}", json={"name": name}, headers={"X-Token": key}, timeout=60)] * 16
    answers = race(calls)
    created = [a for a in answers if a.status_code in (200, 201)]
    assert len(created) == 1
    refused = [(a.status_code, a.json().get("code")) for a in answers if a not in created]
    assert refused == [conflict] * 15
    assert Dataset.objects.filter(workspace=workspace, name=name).count() == 1
    assert_no_traceback(hub)
