"""Commits and drafts racing from threads on one branch: row locks decide, and no entry is ever lost."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from datasets.models import Dataset, User
from project import errors
from tests.versioning.conftest import make_entry
from versioning import selectors, services
from versioning.models import Commit, Draft
from versioning.trees import Part

# mysql_only: the shared conftest leaves these out (rather than skipping them) on other databases.
pytestmark = [
    pytest.mark.mysql_only,
    pytest.mark.django_db(transaction=True),
]

ROUNDS = 5


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; each result is the return value or the exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def worker(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def staged_draft(dataset: Dataset, files: list[tuple[str, str]]) -> Draft:
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_stage_upserts(draft=draft, entries=[make_entry("s", name, content) for name, content in files])
    return draft


def main_paths(dataset: Dataset) -> dict[str, str]:
    revision = selectors.revision_resolve(dataset=dataset, revision="main")
    return {e.path: e.sha1 for e in selectors.entry_list(revision=revision, limit=1000).items}


def test_racing_commits_on_other_paths_both_land(dataset: Dataset, user: User) -> None:
    for round_number in range(ROUNDS):
        left = staged_draft(dataset, [(f"left{round_number}", "l")])
        right = staged_draft(dataset, [(f"right{round_number}", "r")])
        results = race(
            lambda left=left: services.draft_commit(draft=left, title="left"),
            lambda right=right: services.draft_commit(draft=right, title="right"),
        )
        assert all(isinstance(result, Commit) for result in results), results
        first, second = sorted(results, key=lambda commit: commit.depth)
        assert second.parent_id == first.id
    paths = main_paths(dataset)
    assert {f"s/left{n}" for n in range(ROUNDS)} | {f"s/right{n}" for n in range(ROUNDS)} == set(paths)


def test_racing_commits_on_the_same_path_give_one_commit_and_one_conflict(dataset: Dataset) -> None:
    for round_number in range(ROUNDS):
        path = f"same{round_number}"
        left = staged_draft(dataset, [(path, "left")])
        right = staged_draft(dataset, [(path, "right")])
        results = race(
            lambda left=left: services.draft_commit(draft=left, title="left"),
            lambda right=right: services.draft_commit(draft=right, title="right"),
        )
        commits = [r for r in results if isinstance(r, Commit)]
        conflicts = [r for r in results if isinstance(r, errors.Conflict)]
        assert (len(commits), len(conflicts)) == (1, 1)
        assert conflicts[0].context["paths"] == [f"s/{path}"]
        winner = "left" if results[0] is commits[0] else "right"
        assert main_paths(dataset)[f"s/{path}"] == make_entry("s", path, winner).sha1


def test_racing_commits_of_one_draft_commit_it_once(dataset: Dataset) -> None:
    draft = staged_draft(dataset, [("a", "x")])
    results = race(*(lambda: services.draft_commit(draft=draft, title="c") for _ in range(3)))
    assert sum(isinstance(r, Commit) for r in results) == 1
    assert sum(isinstance(r, errors.NotAllowed) for r in results) == 2
    assert selectors.commit_list(revision=selectors.revision_resolve(dataset=dataset, revision="main")).total == 1


def test_racing_drafts_get_distinct_numbers(dataset: Dataset) -> None:
    results = race(*(lambda: services.draft_create(dataset=dataset, title="t").number for _ in range(4)))
    assert sorted(results) == [1, 2, 3, 4]


def test_racing_callbacks_for_one_path_leave_one_entry(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    race(
        *(
            lambda content=content: services.draft_stage_upserts(draft=draft, entries=[make_entry("s", "a", content)])
            for content in ("1", "2", "3")
        )
    )
    revision = selectors.revision_resolve(dataset=dataset, revision=draft.number)
    assert selectors.entry_list(revision=revision, segment="s").total == 1


def test_staging_racing_a_commit_is_either_committed_or_refused(dataset: Dataset) -> None:
    for round_number in range(ROUNDS):
        draft = staged_draft(dataset, [(f"base{round_number}", "x")])
        late = make_entry("s", f"late{round_number}")
        results = race(
            lambda draft=draft: services.draft_commit(draft=draft, title="c"),
            lambda draft=draft, late=late: services.draft_stage_upserts(draft=draft, entries=[late]),
        )
        committed = late.path in main_paths(dataset)
        assert committed or isinstance(results[1], errors.NotAllowed)


FRAME_ID = "01GZ6T7Y3C0000000000000000"
CONCURRENT_CALLBACKS = 20


def test_concurrent_callbacks_into_one_frame_lose_no_file(user: User) -> None:
    fusion = Dataset.objects.create(
        workspace=user.owned_workspaces.get(), name="drive", creator=user, kind=Dataset.Kind.FUSION
    )
    draft = services.draft_create(dataset=fusion, title="t")
    services.draft_segment_put(draft=draft, name="seq1")
    for index in range(CONCURRENT_CALLBACKS):
        services.draft_sensor_put(draft=draft, segment="seq1", sensor={"name": f"SENSOR_{index:02}", "type": "LIDAR"})

    def put(index: int) -> None:
        entry = make_entry("seq1", f"{index:03}.bin", f"sensor {index}")
        part = Part(f"SENSOR_{index:02}", "000.bin", entry.object_key, entry.sha1, entry.size)
        services.draft_frame_parts_put(draft=draft, segment="seq1", parts=[(FRAME_ID, part)])

    results = race(*(lambda index=index: put(index) for index in range(CONCURRENT_CALLBACKS)))

    assert results == [None] * CONCURRENT_CALLBACKS
    revision = selectors.revision_resolve(dataset=fusion, revision=draft.number)
    frames = selectors.entry_list(revision=revision, segment="seq1").items
    assert [frame.remote_path for frame in frames] == [FRAME_ID]
    assert [part.name for part in frames[0].part_list()] == [f"SENSOR_{i:02}" for i in range(CONCURRENT_CALLBACKS)]
