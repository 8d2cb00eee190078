"""Dataset summaries for catalog listings: counts, heads and per-segment entry counts."""

import pytest

from datasets import services as catalog
from datasets.models import Dataset, User
from versioning import selectors, services
from versioning.trees import Entry

pytestmark = pytest.mark.django_db


def entries(segment: str, count: int, sha1: str = "e" * 40) -> list[Entry]:
    return [
        Entry.create(segment=segment, remote_path=f"{n:06d}", object_key=f"{segment}/{n}", sha1=sha1, size=2)
        for n in range(count)
    ]


@pytest.fixture
def dataset(user: User) -> Dataset:
    return catalog.dataset_create(workspace=catalog.personal_workspace(user=user), creator=user, name="big")


def test_segment_counts_span_many_ranges(dataset: Dataset) -> None:
    sizes = {"a": 2500, "b": 7, "c": 3100, "d": 1}
    services.commit_import(
        dataset=dataset, entries=[e for name, n in sizes.items() for e in entries(name, n)], title="import"
    )
    summary = selectors.dataset_summaries(datasets=[dataset], with_segments=True)[dataset.pk]
    head = selectors.revision_resolve(dataset=dataset, revision="main")
    expected = tuple((name, selectors.segment_entry_count(revision=head, name=name)) for name in sizes)
    assert summary.segments == expected == tuple(sizes.items())
    assert (summary.entry_count, summary.total_size) == (sum(sizes.values()), 2 * sum(sizes.values()))


def test_file_count_is_distinct_objects_over_history(dataset: Dataset) -> None:
    services.commit_import(dataset=dataset, entries=entries("a", 3, "1" * 40), title="one")
    services.commit_import(dataset=dataset, entries=entries("b", 3, "2" * 40), title="two")
    draft = services.draft_create(dataset=dataset, title="three")
    services.draft_stage_upserts(draft=draft, entries=entries("c", 2, "3" * 40) + entries("d", 1, "1" * 40))
    services.draft_commit(draft=draft, title="three")
    summary = selectors.dataset_summaries(datasets=[dataset])[dataset.pk]
    assert (summary.object_count, summary.commit_count, summary.branch_count) == (3, 3, 1)


def test_a_dataset_without_commits_is_empty(dataset: Dataset) -> None:
    summary = selectors.dataset_summaries(datasets=[dataset], with_segments=True)[dataset.pk]
    assert (summary.head, summary.entry_count, summary.segments, summary.object_count) == (None, 0, (), 0)
