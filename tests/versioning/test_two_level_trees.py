"""Two-level trees: a tree lists metaranges of range pointers, and a change, a page or a diff opens only the
metaranges and ranges on its path, however many the tree holds (counted here, with tiny ranges and metaranges
so a few thousand entries make a tree of hundreds of metaranges)."""

import importlib
import random
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasets.models import Dataset, User
from datasets.services import dataset_delete
from tests.versioning.conftest import make_entry, small_trees
from versioning import selectors, services, trees
from versioning.models import Commit, Metarange, Range, Tree

pytestmark = pytest.mark.django_db

SIZE = 3000
BIG = 10**6
migration = importlib.import_module("versioning.migrations.0013_two_level_trees")


@pytest.fixture(autouse=True)
def narrow() -> Iterator[None]:
    with small_trees(narrow_nodes=True):
        yield


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many metaranges and ranges the engine opens (cache hits included), by kind."""
    opened: Counter[str] = Counter()

    def counting(kind: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any) -> Any:
            opened[kind] += 1
            return real(*args)

        return wrapper

    monkeypatch.setattr(trees, "node_load", counting("metaranges", trees.node_load))
    monkeypatch.setattr(trees, "_range_bytes", counting("ranges", trees._range_bytes))
    return opened


def big_commit(dataset: Dataset, size: int = SIZE) -> Commit:
    entries = (make_entry("s", f"{n:06d}") for n in range(size))
    return services.commit_import(dataset=dataset, entries=entries, presorted=True, title="big")


def scattered(size: int, changes: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Half modified paths spread over the dataset, half new ones between them."""
    rng = random.Random(seed)
    modified = sorted(rng.sample(range(size), changes // 2))
    added = sorted(rng.sample(range(size), changes - changes // 2))
    return [f"{n:06d}" for n in modified], [f"{n:06d}a" for n in added]


def commit_changes(dataset: Dataset, modified: list[str], added: list[str]) -> Commit:
    draft = services.draft_create(dataset=dataset, title="t")
    entries = [make_entry("s", name, "changed") for name in modified] + [make_entry("s", name) for name in added]
    services.draft_stage_upserts(draft=draft, entries=entries)
    return services.draft_commit(draft=draft, title="scattered")


def stored_ids(model: type[Range] | type[Metarange]) -> set[str]:
    return set(model.objects.values_list("pk", flat=True))


def test_a_big_tree_lists_metaranges_and_a_small_one_its_ranges(dataset: Dataset, user: User) -> None:
    tree = trees.tree_load(big_commit(dataset).tree_id)
    assert len(tree.nodes) > 100
    assert tree.inline is None
    assert all(node.id for node in tree.nodes)
    assert sum(node.range_count for node in tree.nodes) == len(list(tree.ranges()))
    assert tree.entry_count == SIZE
    assert trees.TreeContent.decode(tree.encode()) == tree

    small = Dataset.objects.create(workspace=user.owned_workspaces.get(), name="small", creator=user)
    content = trees.tree_load(big_commit(small, size=6).tree_id)
    assert len(content.nodes) == 1
    assert content.nodes[0].id == ""
    assert content.inline is not None
    assert b"nodes" not in content.encode()  # the form every tree had before two levels


def measure_commit(dataset: Dataset, size: int, changes: int, counted: Counter[str]) -> dict[str, int]:
    """What staging and committing ``changes`` scattered changes to a ``size``-entry dataset opens and writes."""
    base = big_commit(dataset, size)
    metaranges, ranges = stored_ids(Metarange), stored_ids(Range)
    modified, added = scattered(size, changes)
    draft = services.draft_create(dataset=dataset, title="t")
    entries = [make_entry("s", name, "changed") for name in modified] + [make_entry("s", name) for name in added]
    counted.clear()
    services.draft_stage_upserts(draft=draft, entries=entries)
    staged = Counter(counted)
    counted.clear()
    head = services.draft_commit(draft=draft, title="scattered")
    old, new = trees.tree_load(base.tree_id), trees.tree_load(head.tree_id)
    assert len(old.nodes) > size // 20  # a tree of hundreds of metaranges
    return {
        "staging opens metaranges": staged["metaranges"],
        "staging opens ranges": staged["ranges"],
        "commit opens metaranges": counted["metaranges"],
        "commit opens ranges": counted["ranges"],
        "commit writes metaranges": len(stored_ids(Metarange) - metaranges),
        "commit writes ranges": len(stored_ids(Range) - ranges),
        "metaranges not shared": len({n.id for n in new.nodes} - {n.id for n in old.nodes}),
    }


def other_dataset(user: User, name: str) -> Dataset:
    return Dataset.objects.create(workspace=user.owned_workspaces.get(), name=name, creator=user)


@pytest.mark.parametrize("changes", [1, 10, 40])
def test_a_commit_opens_and_writes_only_the_nodes_on_its_changes_paths(
    dataset: Dataset, user: User, counted: Counter[str], changes: int
) -> None:
    small = measure_commit(dataset, SIZE, changes, counted)
    big = measure_commit(other_dataset(user, "big"), 4 * SIZE, changes, counted)
    for what, count in big.items():
        # Height two: staging looks up each path (its metarange, its range), and a commit opens and rewrites
        # each change's metarange and range, and at most a neighbour on each level before a rewrite meets a cut
        # point of the old tree again ...
        assert count <= 3 * changes + 4, what
        # ... so a tree four times the size, of four times the metaranges, costs the same (give or take where
        # the changes fall).
        assert count <= 1.5 * small[what] + 4, what


BOX = {"BOX2D": [{"box2d": {"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1}, "category": "cat"}]}


def test_a_commit_opens_each_range_once_and_reads_the_catalog_only_for_labels(
    dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    big_commit(dataset)
    opened: Counter[str] = Counter()
    real = trees._range_bytes

    def counting(range_id: str) -> bytes:
        opened[range_id] += 1
        return real(range_id)

    monkeypatch.setattr(trees, "_range_bytes", counting)

    def commit(seed: int, label: dict | None) -> tuple[bool, dict]:
        """Commit 40 scattered changes labelled ``label``: (whether it read a catalog, the label statistics)."""
        modified, added = scattered(SIZE, 40, seed)
        draft = services.draft_create(dataset=dataset, title="t")
        entries = [make_entry("s", name, f"changed {seed}", label) for name in modified + added]
        services.draft_stage_upserts(draft=draft, entries=entries)
        opened.clear()
        with CaptureQueriesContext(connection) as committed:
            head = services.draft_commit(draft=draft, title="changed")
        # The entry a change replaces is read beside it as its range is rewritten, never looked up again.
        assert opened
        assert max(opened.values()) == 1
        catalog_read = any("versioning_draftmetadata" in query["sql"] for query in committed.captured_queries)
        revision = selectors.revision_resolve(dataset=dataset, revision=head.id)
        return catalog_read, selectors.label_statistics(revision=revision)

    # No label anywhere: nothing to count, so the catalog is never read.
    assert commit(1, None) == (False, {})
    # Labels added, then taken off the same entries again: both times counted for the catalog's attributes.
    catalog_read, counted = commit(2, BOX)
    assert catalog_read
    assert counted["BOX2D"]["quantity"] == 40
    assert commit(2, None) == (True, {})


def measure_diff(dataset: Dataset, size: int, changes: int, counted: Counter[str]) -> dict[str, int]:
    base = big_commit(dataset, size)
    modified, added = scattered(size, changes)
    head = commit_changes(dataset, modified, added)
    counted.clear()
    diff = selectors.diff_entries(
        base=selectors.revision_resolve(dataset=dataset, revision=base.id),
        head=selectors.revision_resolve(dataset=dataset, revision=head.id),
        limit=BIG,
    )
    assert sorted(c.path for c in diff.items) == sorted(f"s/{name}" for name in modified + added)
    return dict(counted)


@pytest.mark.parametrize("changes", [1, 10, 40])
def test_a_diff_opens_only_the_nodes_that_differ(
    dataset: Dataset, user: User, counted: Counter[str], changes: int
) -> None:
    small = measure_diff(dataset, SIZE, changes, counted)
    big = measure_diff(other_dataset(user, "big"), 4 * SIZE, changes, counted)
    for what in ("metaranges", "ranges"):
        assert big.get(what, 0) <= 2 * (2 * changes + 2), what  # both sides of each differing node
        assert big.get(what, 0) <= 1.5 * small.get(what, 0) + 4, what


def test_a_page_at_an_old_commit_opens_one_path_down_the_tree(dataset: Dataset, counted: Counter[str]) -> None:
    base = big_commit(dataset)
    commit_changes(dataset, *scattered(SIZE, 40))
    revision = selectors.revision_resolve(dataset=dataset, revision=base.id)
    counted.clear()
    page = selectors.entry_list(revision=revision, segment="s", offset=1234, limit=3)
    assert [e.remote_path for e in page.items] == ["001234", "001235", "001236"]
    # Three entries, in ranges of at least two: at most two ranges, under at most two metaranges.
    assert counted["metaranges"] <= 2
    assert counted["ranges"] <= 2
    counted.clear()
    assert selectors.entry_get(revision=revision, segment="s", remote_path="002999").remote_path == "002999"
    assert counted["metaranges"] == 1
    assert counted["ranges"] == 1


def listings_and_diffs(dataset: Dataset) -> dict[str, Any]:
    """Every commit's full listing and the diff of every pair of commits."""
    commit_ids = sorted(Commit.objects.filter(dataset=dataset).values_list("pk", flat=True))
    revisions = {cid: selectors.revision_resolve(dataset=dataset, revision=cid) for cid in commit_ids}
    seen: dict[str, Any] = {cid: selectors.entry_list(revision=r, limit=BIG).items for cid, r in revisions.items()}
    for old in commit_ids:
        for new in commit_ids:
            diff = selectors.diff_entries(base=revisions[old], head=revisions[new], limit=BIG)
            seen[f"{old}..{new}"] = [(c.path, c.old, c.new) for c in diff.items]
    return seen


def build_history(dataset: Dataset) -> None:
    big_commit(dataset, size=600)
    rng = random.Random(7)
    for step in range(5):
        modified, added = scattered(600, 8, seed=step)
        draft = services.draft_create(dataset=dataset, title="t")
        entries = [make_entry("s", n, f"v{step}") for n in modified] + [make_entry("t", n) for n in added]
        services.draft_stage_upserts(draft=draft, entries=entries)
        services.draft_stage_deletes(draft=draft, segment="s", remote_paths=[f"{rng.randrange(600):06d}"])
        services.draft_commit(draft=draft, title=f"step {step}")


def tree_forms(dataset: Dataset) -> Counter[str]:
    forms: Counter[str] = Counter()
    for tree_id in Commit.objects.filter(dataset=dataset).values_list("tree_id", flat=True):
        forms["two levels" if trees.tree_load(tree_id).inline is None else "inline"] += 1
    return forms


def test_the_migration_gives_old_trees_two_levels_and_changes_nothing_else(dataset: Dataset) -> None:
    build_history(dataset)
    expected = listings_and_diffs(dataset)
    commits = dict(Commit.objects.filter(dataset=dataset).values_list("pk", "parent_id"))
    assert tree_forms(dataset) == {"two levels": len(commits)}

    # The history as the code before two levels wrote it: every tree lists its ranges inline.
    assert migration.convert_trees(migration.inline) == len(commits)
    trees._tree_cache.clear()
    assert tree_forms(dataset) == {"inline": len(commits)}
    assert listings_and_diffs(dataset) == expected

    assert migration.convert_trees(migration.two_levels) == len(commits)
    trees._tree_cache.clear()
    assert tree_forms(dataset) == {"two levels": len(commits)}
    assert listings_and_diffs(dataset) == expected
    assert dict(Commit.objects.filter(dataset=dataset).values_list("pk", "parent_id")) == commits
    assert Tree.objects.count() == len(set(Commit.objects.values_list("tree_id", flat=True)))
    # Run again, it finds nothing left to do.
    assert migration.convert_trees(migration.two_levels) == 0


def test_the_migration_resumes_after_it_was_stopped_halfway(dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    build_history(dataset)
    expected = listings_and_diffs(dataset)
    migration.convert_trees(migration.inline)
    monkeypatch.setattr(migration, "BATCH", 2)
    calls = 0

    def stopping(content: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise RuntimeError("stopped")
        return migration.two_levels(content)

    with pytest.raises(RuntimeError):
        migration.convert_trees(stopping)
    trees._tree_cache.clear()
    halfway = tree_forms(dataset)
    assert halfway["two levels"] == 2  # the first batch landed, the second rolled back whole
    assert listings_and_diffs(dataset) == expected

    migration.convert_trees(migration.two_levels)
    trees._tree_cache.clear()
    assert tree_forms(dataset) == {"two levels": sum(halfway.values())}
    assert listings_and_diffs(dataset) == expected


def test_collection_keeps_shared_metaranges_and_sweeps_unreachable_ones(dataset: Dataset, user: User) -> None:
    build_history(dataset)
    other = Dataset.objects.create(workspace=user.owned_workspaces.get(), name="other", creator=user)
    big_commit(other, size=900)
    expected = listings_and_diffs(dataset)
    live = {n.id for t in Commit.objects.filter(dataset=dataset) for n in trees.tree_load(t.tree_id).nodes}
    other_nodes = {n.id for t in Commit.objects.filter(dataset=other) for n in trees.tree_load(t.tree_id).nodes}
    dataset_delete(dataset=other)
    report = services.garbage_collect(grace=timedelta(0))
    trees._tree_cache.clear()
    trees._node_cache.clear()
    assert listings_and_diffs(dataset) == expected
    left = stored_ids(Metarange)
    assert live <= left
    assert not (other_nodes - live) & left
    assert report.tallies["metaranges"].deleted == len(other_nodes - live)


rows = st.lists(
    st.tuples(st.integers(0, 60), st.sampled_from(["", "x", "yy"]), st.one_of(st.none(), st.integers(0, 2))),
    max_size=40,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(old=rows, new=rows)
def test_two_ranges_over_the_same_paths_differ_by_their_changed_rows(old: list, new: list) -> None:
    def entries(picks: list) -> list[trees.Entry]:
        # The same first and last path on both sides, as the ranges the comparison by bytes is used for.
        chosen = {n: (content, label) for n, content, label in picks}
        chosen[-1], chosen[99] = ("", None), ("", None)
        return [
            make_entry("s", f"{n:03d}", content, None if label is None else {"n": label})
            for n, (content, label) in sorted(chosen.items())
        ]

    old_entries, new_entries = entries(old), entries(new)
    old_writer, new_writer = trees.RangeWriter(), trees.RangeWriter()
    for writer, stored in ((old_writer, old_entries), (new_writer, new_entries)):
        writer._pending = list(stored)  # one range each, whatever the cut points
        writer.finish()
    (old_ref,), (new_ref,) = old_writer.refs, new_writer.refs
    assert list(trees._range_pair_diff(old_ref.id, new_ref.id)) == list(trees.entries_diff(old_entries, new_entries))


names = st.lists(st.text(alphabet="abcd", min_size=1, max_size=5), max_size=90, unique=True).map(sorted)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paths=names, data=st.data())
def test_rows_written_in_slices_are_cut_where_rows_written_one_by_one_are(
    paths: list[str], data: st.DataObject
) -> None:
    rows = [list(trees._stored_row(make_entry("s", path))) for path in paths]
    one_by_one = trees.RangeWriter()
    for row in rows:
        one_by_one.add(row)
    one_by_one.finish()

    bounds = sorted(data.draw(st.sets(st.integers(0, len(rows)))))
    chunks = [rows[start:stop] for start, stop in zip([0, *bounds], [*bounds, len(rows)], strict=True)]
    # Some of the paths that are not cut points, told to the writer, which then leaves their hashes out.
    known = {row[0] for row in rows if not trees.is_cut_point(row[0]) and data.draw(st.booleans())}
    sliced = trees.RangeWriter()
    sliced.extend(chunks, known)
    sliced.finish()

    assert sliced.refs == one_by_one.refs


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paths=names, data=st.data())
def test_ranges_grouped_in_runs_make_the_metaranges_ranges_grouped_one_by_one_do(
    paths: list[str], data: st.DataObject
) -> None:
    refs = [trees.RangeRef(f"{n:064x}", path, path, 1, 1) for n, path in enumerate(paths)]
    one_by_one = trees.NodeWriter()
    for ref in refs:
        one_by_one.add(ref)

    known = {ref.last for ref in refs if not trees.is_node_cut(ref.last) and data.draw(st.booleans())}
    in_runs = trees.NodeWriter()
    start = 0
    for stop in [*sorted(data.draw(st.sets(st.integers(0, len(refs))))), len(refs)]:
        in_runs.extend(refs[start:stop], known)
        start = max(start, stop)

    assert in_runs.finish() == one_by_one.finish()


def test_a_rewritten_range_knows_its_checked_paths_are_not_cut_points(dataset: Dataset) -> None:
    tree = trees.tree_load(big_commit(dataset).tree_id)
    for ref in list(tree.ranges())[:-1]:
        rows = trees.range_rows(ref.id)
        assert not any(trees.is_cut_point(path) for path in trees.checked_paths(rows))
        assert trees.is_cut_point(ref.last) or ref.length == trees.MAX_RANGE_SIZE
    for index in range(len(tree.nodes) - 1):
        refs = tree.node_ranges(index).refs
        assert not any(trees.is_node_cut(last) for last in trees.checked_lasts(refs))
