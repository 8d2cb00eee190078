"""Branches, tags, revision resolution, diffs and the bulk import path."""

import pytest

from datasets.models import Dataset, User
from project import errors
from tests.versioning.conftest import make_entry
from versioning import selectors, services, trees
from versioning.models import ROOT_COMMIT_ID, Commit

pytestmark = pytest.mark.django_db


def commit_files(dataset: Dataset, files: dict[str, list[str]], content: str = "", branch: str = "main") -> Commit:
    draft = services.draft_create(dataset=dataset, title="t", branch_name=branch)
    for segment, names in files.items():
        services.draft_stage_upserts(draft=draft, entries=[make_entry(segment, name, content) for name in names])
    return services.draft_commit(draft=draft, title="c")


def at(dataset: Dataset, revision: str | int) -> selectors.Revision:
    return selectors.revision_resolve(dataset=dataset, revision=revision)


def test_revision_resolves_branch_before_tag_before_commit(dataset: Dataset) -> None:
    first = commit_files(dataset, {"s": ["a"]})
    services.tag_create(dataset=dataset, name="v1", revision=first.id)
    assert at(dataset, "main").kind == "BRANCH"
    assert at(dataset, "v1").kind == "TAG"
    assert at(dataset, first.id).kind == "COMMIT"
    assert at(dataset, ROOT_COMMIT_ID).kind == "ROOT"
    assert at(dataset, 1).kind == "DRAFT"


def test_revision_of_unknown_name_is_not_found(dataset: Dataset) -> None:
    with pytest.raises(errors.NotFound):
        at(dataset, "nope")


def test_revision_of_another_datasets_commit_is_not_found(dataset: Dataset, user: User) -> None:
    other = Dataset.objects.create(workspace=dataset.workspace, name="dogs")
    commit = commit_files(other, {"s": ["a"]})
    with pytest.raises(errors.NotFound):
        at(dataset, commit.id)


def test_revision_of_unknown_draft_is_not_found(dataset: Dataset) -> None:
    with pytest.raises(errors.NotFound):
        at(dataset, 7)


def test_branch_create_from_tag_points_at_its_commit(dataset: Dataset) -> None:
    first = commit_files(dataset, {"s": ["a"]})
    services.tag_create(dataset=dataset, name="v1", revision="main")
    commit_files(dataset, {"s": ["b"]})
    branch = services.branch_create(dataset=dataset, name="old", revision="v1")
    assert branch.head_id == first.id


def test_branch_create_at_root_is_not_allowed(dataset: Dataset) -> None:
    with pytest.raises(errors.NotAllowed):
        services.branch_create(dataset=dataset, name="dev", revision=ROOT_COMMIT_ID)


def test_branch_create_with_taken_name_is_a_conflict(dataset: Dataset) -> None:
    commit_files(dataset, {"s": ["a"]})
    services.tag_create(dataset=dataset, name="v1", revision="main")
    with pytest.raises(errors.Conflict):
        services.branch_create(dataset=dataset, name="v1", revision="main")
    with pytest.raises(errors.Conflict):
        services.branch_create(dataset=dataset, name="main", revision="main")


def test_branch_create_from_a_draft_is_invalid(dataset: Dataset) -> None:
    commit_files(dataset, {"s": ["a"]})
    services.draft_create(dataset=dataset, title="t")
    with pytest.raises(errors.Invalid):
        services.branch_create(dataset=dataset, name="dev", revision=2)  # type: ignore[arg-type]


def test_branch_with_empty_name_is_invalid(dataset: Dataset) -> None:
    commit_files(dataset, {"s": ["a"]})
    with pytest.raises(errors.Invalid):
        services.branch_create(dataset=dataset, name="", revision="main")


def test_default_branch_cannot_be_deleted(dataset: Dataset) -> None:
    with pytest.raises(errors.NotAllowed):
        services.branch_delete(dataset=dataset, name="main")


def test_deleting_unknown_branch_is_not_found(dataset: Dataset) -> None:
    with pytest.raises(errors.NotFound):
        services.branch_delete(dataset=dataset, name="nope")


def test_deleted_branch_leaves_its_commits_reachable(dataset: Dataset) -> None:
    commit_files(dataset, {"s": ["a"]})
    services.branch_create(dataset=dataset, name="dev", revision="main")
    on_dev = commit_files(dataset, {"s": ["b"]}, branch="dev")
    services.branch_delete(dataset=dataset, name="dev")
    page = selectors.commit_list(revision=at(dataset, on_dev.id))
    assert page.items[0].id == on_dev.id
    assert page.total == 2


def test_branch_list_is_by_name_and_filters_exactly(dataset: Dataset) -> None:
    commit_files(dataset, {"s": ["a"]})
    for name in ("zeta", "dev", "devel"):
        services.branch_create(dataset=dataset, name=name, revision="main")
    assert [b.name for b in selectors.branch_list(dataset=dataset)] == ["dev", "devel", "main", "zeta"]
    assert [b.name for b in selectors.branch_list(dataset=dataset, name="dev")] == ["dev"]


def test_branch_get_of_unknown_name_is_not_found(dataset: Dataset) -> None:
    with pytest.raises(errors.NotFound):
        selectors.branch_get(dataset=dataset, name="nope")


def test_tag_at_root_is_not_allowed(dataset: Dataset) -> None:
    with pytest.raises(errors.NotAllowed):
        services.tag_create(dataset=dataset, name="v1", revision="main")


def test_duplicate_tag_is_a_conflict(dataset: Dataset) -> None:
    commit_files(dataset, {"s": ["a"]})
    services.tag_create(dataset=dataset, name="v1", revision="main")
    with pytest.raises(errors.Conflict):
        services.tag_create(dataset=dataset, name="v1", revision="main")


def test_tag_list_is_by_name(dataset: Dataset) -> None:
    commit_files(dataset, {"s": ["a"]})
    for name in ("v2", "v10", "v1"):
        services.tag_create(dataset=dataset, name=name, revision="main")
    assert [t.name for t in selectors.tag_list(dataset=dataset)] == ["v1", "v10", "v2"]


def test_tag_delete_keeps_the_commit(dataset: Dataset) -> None:
    first = commit_files(dataset, {"s": ["a"]})
    services.tag_create(dataset=dataset, name="v1", revision="main")
    services.tag_delete(dataset=dataset, name="v1")
    assert selectors.commit_get(dataset=dataset, commit_id=first.id) == first
    with pytest.raises(errors.NotFound):
        selectors.tag_get(dataset=dataset, name="v1")


def test_deleting_unknown_tag_is_not_found(dataset: Dataset) -> None:
    with pytest.raises(errors.NotFound):
        services.tag_delete(dataset=dataset, name="nope")


def test_history_is_unchanged_by_later_commits(dataset: Dataset) -> None:
    first = commit_files(dataset, {"s": ["a", "b"]}, content="one")
    before = selectors.entry_list(revision=at(dataset, first.id)).items
    commit_files(dataset, {"s": ["a", "c"]}, content="two")
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_segment_delete(draft=draft, name="s")
    services.draft_commit(draft=draft, title="drop")
    assert selectors.entry_list(revision=at(dataset, first.id)).items == before
    assert selectors.commit_get(dataset=dataset, commit_id=first.id).entry_count == 2


def test_commits_share_ranges_they_did_not_change(dataset: Dataset) -> None:
    services.commit_import(
        dataset=dataset, entries=(make_entry("s", f"{n:05d}") for n in range(5000)), presorted=True, title="big"
    )
    before = selectors.revision_resolve(dataset=dataset, revision="main").commit
    after = commit_files(dataset, {"s": ["00042"]}, content="changed")
    old_ranges, new_ranges = trees.tree_load(before.tree_id).ranges(), trees.tree_load(after.tree_id).ranges()  # type: ignore[union-attr]
    assert len({r.id for r in old_ranges} - {r.id for r in new_ranges}) == 1


def test_diff_of_commits_reports_add_delete_and_modify(dataset: Dataset) -> None:
    first = commit_files(dataset, {"s": ["keep", "change", "drop"]}, content="one")
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_stage_upserts(draft=draft, entries=[make_entry("s", "change", "two"), make_entry("s", "new")])
    services.draft_stage_deletes(draft=draft, segment="s", remote_paths=["drop"])
    second = services.draft_commit(draft=draft, title="c")
    diff = selectors.diff_entries(base=at(dataset, first.id), head=at(dataset, second.id))
    assert [(c.path, c.action) for c in diff.items] == [("s/change", "modify"), ("s/drop", "delete"), ("s/new", "add")]


def test_diff_of_a_draft_against_its_base(dataset: Dataset) -> None:
    commit_files(dataset, {"s": ["a", "b"]})
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_stage_upserts(draft=draft, entries=[make_entry("s", "c")])
    services.draft_stage_deletes(draft=draft, segment="s", remote_paths=["a"])
    head = at(dataset, draft.number)
    diff = selectors.diff_entries(base=selectors.diff_base(revision=head), head=head)
    assert [(c.path, c.action) for c in diff.items] == [("s/a", "delete"), ("s/c", "add")]


def test_diff_of_a_draft_against_another_commit_is_invalid(dataset: Dataset) -> None:
    first = commit_files(dataset, {"s": ["a"]})
    commit_files(dataset, {"s": ["b"]})
    draft = services.draft_create(dataset=dataset, title="t")
    with pytest.raises(errors.Invalid):
        selectors.diff_entries(base=at(dataset, first.id), head=at(dataset, draft.number))


def test_diff_base_of_a_commit_is_its_parent(dataset: Dataset) -> None:
    first = commit_files(dataset, {"s": ["a"]})
    second = commit_files(dataset, {"s": ["b"]})
    assert selectors.diff_base(revision=at(dataset, second.id)).commit_id == first.id
    assert selectors.diff_base(revision=at(dataset, first.id)).commit_id == ROOT_COMMIT_ID


def test_diff_pages_with_total(dataset: Dataset) -> None:
    commit = commit_files(dataset, {"s": [str(n) for n in range(5)]})
    diff = selectors.diff_entries(base=at(dataset, ROOT_COMMIT_ID), head=at(dataset, commit.id), offset=1, limit=2)
    assert ([c.path for c in diff.items], diff.total) == (["s/1", "s/2"], 5)


def test_segment_diff_names_added_deleted_and_modified_segments(dataset: Dataset) -> None:
    first = commit_files(dataset, {"same": ["a"], "gone": ["b"], "edited": ["c"]})
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_segment_delete(draft=draft, name="gone")
    services.draft_stage_upserts(draft=draft, entries=[make_entry("edited", "d"), make_entry("new", "e")])
    second = services.draft_commit(draft=draft, title="c")
    diff = selectors.diff_segments(base=at(dataset, first.id), head=at(dataset, second.id))
    assert [(c.name, c.action) for c in diff.items] == [("edited", "modify"), ("gone", "delete"), ("new", "add")]


def test_segment_diff_counts_a_description_change(dataset: Dataset) -> None:
    first = commit_files(dataset, {"s": ["a"]})
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_segment_put(draft=draft, name="s", description="described")
    head = at(dataset, draft.number)
    assert [c.action for c in selectors.diff_segments(base=at(dataset, first.id), head=head).items] == ["modify"]


def test_import_of_unsorted_entries_keeps_the_last_of_each_path(dataset: Dataset) -> None:
    entries = [make_entry("s", "b"), make_entry("s", "a", "old"), make_entry("t", "c"), make_entry("s", "a", "new")]
    commit = services.commit_import(dataset=dataset, entries=entries, title="import")
    listed = selectors.entry_list(revision=at(dataset, commit.id)).items
    assert [e.path for e in listed] == ["s/a", "s/b", "t/c"]
    assert listed[0].sha1 == make_entry("s", "a", "new").sha1
    assert [s.name for s in selectors.segment_list(revision=at(dataset, commit.id)).items] == ["s", "t"]


def test_import_spills_sorting_runs_to_disk(dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trees, "SORT_RUN_SIZE", 3)
    names = [f"{n:03d}" for n in range(20)]
    commit = services.commit_import(dataset=dataset, entries=[make_entry("s", n) for n in reversed(names)], title="i")
    assert [e.remote_path for e in selectors.entry_list(revision=at(dataset, commit.id)).items] == names


def test_import_that_fits_one_sorting_run_stays_in_memory(dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trees, "SORT_RUN_SIZE", 5)

    def no_spill(run: list) -> None:
        raise AssertionError("an input of one run was spilled to disk")

    monkeypatch.setattr(trees, "_spill", no_spill)
    names = [f"{n:03d}" for n in range(5)]
    commit = services.commit_import(dataset=dataset, entries=[make_entry("s", n) for n in reversed(names)], title="i")
    assert [e.remote_path for e in selectors.entry_list(revision=at(dataset, commit.id)).items] == names


def test_import_of_presorted_entries_out_of_order_is_invalid(dataset: Dataset) -> None:
    with pytest.raises(errors.Invalid):
        services.commit_import(
            dataset=dataset, entries=[make_entry("s", "b"), make_entry("s", "a")], presorted=True, title="import"
        )


def test_import_onto_a_branch_upserts_over_its_head(dataset: Dataset) -> None:
    commit_files(dataset, {"s": ["a", "b"]}, content="one")
    commit = services.commit_import(dataset=dataset, entries=[make_entry("s", "b", "two")], title="import")
    listed = selectors.entry_list(revision=at(dataset, commit.id)).items
    assert [(e.path, e.sha1) for e in listed] == [
        ("s/a", make_entry("s", "a", "one").sha1),
        ("s/b", make_entry("s", "b", "two").sha1),
    ]


def test_import_onto_unknown_branch_is_not_found(dataset: Dataset) -> None:
    with pytest.raises(errors.NotFound):
        services.commit_import(dataset=dataset, entries=[], title="i", branch_name="nope")


def test_segment_list_pages_by_name(dataset: Dataset) -> None:
    commit_files(dataset, {"b": ["1"], "a": ["2"], "c": ["3"]})
    page = selectors.segment_list(revision=at(dataset, "main"), offset=1, limit=1)
    assert ([s.name for s in page.items], page.total) == (["b"], 3)


def test_segment_get_of_unknown_segment_is_not_found(dataset: Dataset) -> None:
    with pytest.raises(errors.NotFound):
        selectors.segment_get(revision=at(dataset, "main"), name="nope")
