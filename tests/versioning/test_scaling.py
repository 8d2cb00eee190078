"""The work a read or a commit does depends on the change or the page, not on the dataset: counted in ranges."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from datasets.models import Dataset
from tests.versioning.conftest import make_entry
from versioning import selectors, services, trees
from versioning.models import Commit, Range

pytestmark = pytest.mark.django_db

SIZE = 20_000


@pytest.fixture
def big(dataset: Dataset) -> Commit:
    entries = (make_entry("s", f"{n:06d}") for n in range(SIZE))
    return services.commit_import(dataset=dataset, entries=entries, presorted=True, title="big")


def range_reads(queries: CaptureQueriesContext) -> int:
    table = Range._meta.db_table
    return sum(1 for q in queries.captured_queries if table in q["sql"] and q["sql"].lstrip().startswith("SELECT"))


def commit_one_change(dataset: Dataset, name: str) -> Commit:
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_stage_upserts(draft=draft, entries=[make_entry("s", name, "changed")])
    return services.draft_commit(draft=draft, title="one")


def test_big_dataset_spans_many_ranges(big: Commit) -> None:
    assert len(list(trees.tree_load(big.tree_id).ranges())) >= 10


def test_a_page_reads_only_the_ranges_under_it(dataset: Dataset, big: Commit) -> None:
    revision = selectors.revision_resolve(dataset=dataset, revision=big.id)
    trees.tree_load(big.tree_id)
    with CaptureQueriesContext(connection) as queries:
        page = selectors.entry_list(revision=revision, segment="s", offset=12_345, limit=100)
    assert [e.remote_path for e in page.items] == [f"{n:06d}" for n in range(12_345, 12_445)]
    assert range_reads(queries) <= 2


def test_a_commit_writes_only_the_ranges_its_change_touches(dataset: Dataset, big: Commit) -> None:
    before = set(Range.objects.values_list("pk", flat=True))
    commit_one_change(dataset, "010000")
    assert len(set(Range.objects.values_list("pk", flat=True)) - before) <= 2


def test_a_diff_reads_only_the_ranges_that_differ(dataset: Dataset, big: Commit) -> None:
    changed = commit_one_change(dataset, "010000")
    base = selectors.revision_resolve(dataset=dataset, revision=big.id)
    head = selectors.revision_resolve(dataset=dataset, revision=changed.id)
    with CaptureQueriesContext(connection) as queries:
        diff = selectors.diff_entries(base=base, head=head)
    assert [(c.path, c.action) for c in diff.items] == [("s/010000", "modify")]
    assert range_reads(queries) <= 4


def test_a_draft_page_reads_only_the_ranges_under_it(dataset: Dataset, big: Commit) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_stage_upserts(draft=draft, entries=[make_entry("s", "000001a")])
    services.draft_stage_deletes(draft=draft, segment="s", remote_paths=["000003"])
    revision = selectors.revision_resolve(dataset=dataset, revision=draft.number)
    with CaptureQueriesContext(connection) as queries:
        page = selectors.entry_list(revision=revision, segment="s", offset=15_000, limit=3)
    assert [e.remote_path for e in page.items] == ["015000", "015001", "015002"]
    assert range_reads(queries) <= 2
