"""Drafts, staging, commits and history through the services and selectors."""

import pytest

from datasets.models import Dataset, User
from project import errors
from tests.versioning.conftest import make_entry
from versioning import selectors, services
from versioning.models import ROOT_COMMIT_ID, Commit, Draft, StagedEntry

pytestmark = pytest.mark.django_db


def paths(page: selectors.Page) -> list[str]:
    return [item.path for item in page.items]


def commit_files(dataset: Dataset, user: User, files: dict[str, list[str]], title: str = "add") -> str:
    draft = services.draft_create(dataset=dataset, title=title, creator=user)
    for segment, names in files.items():
        services.draft_stage_upserts(draft=draft, entries=[make_entry(segment, name) for name in names])
    return services.draft_commit(draft=draft, title=title, committer=user).id


def at(dataset: Dataset, revision: str | int) -> selectors.Revision:
    return selectors.revision_resolve(dataset=dataset, revision=revision)


def test_new_dataset_has_default_branch_at_root(dataset: Dataset) -> None:
    branch = selectors.branch_get(dataset=dataset, name="main")
    assert branch.head_commit_id == ROOT_COMMIT_ID


def test_root_revision_lists_nothing(dataset: Dataset) -> None:
    revision = at(dataset, ROOT_COMMIT_ID)
    assert selectors.entry_list(revision=revision).total == 0
    assert selectors.segment_list(revision=revision).total == 0


def test_draft_numbers_increase_per_dataset_across_branches(dataset: Dataset, user: User) -> None:
    first = commit_files(dataset, user, {"s": ["a"]})
    services.branch_create(dataset=dataset, name="dev", revision=first)
    numbers = [
        services.draft_create(dataset=dataset, title="t", branch_name=name).number for name in ("main", "dev", "main")
    ]
    assert numbers == [2, 3, 4]


def test_draft_on_unknown_branch_is_not_found(dataset: Dataset) -> None:
    with pytest.raises(errors.NotFound):
        services.draft_create(dataset=dataset, title="t", branch_name="nope")


def test_draft_without_title_is_refused(dataset: Dataset) -> None:
    with pytest.raises(errors.Missing):
        services.draft_create(dataset=dataset, title="")


def test_first_commit_has_root_parent_and_stats(dataset: Dataset, user: User) -> None:
    commit_id = commit_files(dataset, user, {"train": ["1.jpg", "2.jpg"], "test": ["3.jpg"]})
    commit = selectors.commit_get(dataset=dataset, commit_id=commit_id)
    assert commit.parent_commit_id == ROOT_COMMIT_ID
    assert commit.entry_count == 3
    assert commit.total_size == sum(len(p) for p in ("train/1.jpg", "train/2.jpg", "test/3.jpg"))
    assert len(commit.id) == 32 and commit.id == commit.id.lower()


def test_commit_moves_branch_and_marks_draft_committed(dataset: Dataset, user: User) -> None:
    commit_id = commit_files(dataset, user, {"s": ["a"]})
    assert selectors.branch_get(dataset=dataset, name="main").head_id == commit_id
    draft = selectors.draft_get(dataset=dataset, number=1)
    assert draft.state == Draft.State.COMMITTED
    assert draft.committed_as_id == commit_id


def test_staging_the_same_path_again_replaces_it(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_stage_upserts(draft=draft, entries=[make_entry("s", "a", "one")])
    services.draft_stage_upserts(draft=draft, entries=[make_entry("s", "a", "two")])
    page = selectors.entry_list(revision=at(dataset, draft.number), segment="s")
    assert [e.sha1 for e in page.items] == [make_entry("s", "a", "two").sha1]
    assert StagedEntry.objects.filter(draft=draft).count() == 1


def test_staging_creates_missing_segment(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_stage_upserts(draft=draft, entries=[make_entry("new", "a")])
    assert [s.name for s in selectors.segment_list(revision=at(dataset, draft.number)).items] == ["new"]


def test_stage_delete_of_missing_path_is_not_found(dataset: Dataset, user: User) -> None:
    commit_files(dataset, user, {"s": ["a"]})
    draft = services.draft_create(dataset=dataset, title="t")
    with pytest.raises(errors.NotFound):
        services.draft_stage_deletes(draft=draft, segment="s", remote_paths=["zzz"])


def test_stage_delete_in_missing_segment_is_not_found(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    with pytest.raises(errors.NotFound):
        services.draft_stage_deletes(draft=draft, segment="nope", remote_paths=["a"])


def test_deleting_a_path_staged_only_in_the_draft_unstages_it(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_stage_upserts(draft=draft, entries=[make_entry("s", "a")])
    services.draft_stage_deletes(draft=draft, segment="s", remote_paths=["a"])
    assert not StagedEntry.objects.filter(draft=draft).exists()


def test_entry_with_bad_checksum_is_invalid(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    entry = make_entry("s", "a")._replace(sha1="XYZ")
    with pytest.raises(errors.Invalid):
        services.draft_stage_upserts(draft=draft, entries=[entry])


def test_entry_without_remote_path_is_invalid(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    with pytest.raises(errors.Invalid):
        services.draft_stage_upserts(draft=draft, entries=[make_entry("s", "")])


def test_segment_name_with_slash_is_invalid(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    with pytest.raises(errors.Invalid):
        services.draft_segment_put(draft=draft, name="a/b")


def test_segment_put_sets_description(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_segment_put(draft=draft, name="s", description="first")
    services.draft_segment_put(draft=draft, name="s", description="second")
    assert selectors.segment_get(revision=at(dataset, draft.number), name="s").description == "second"


def test_segment_delete_removes_its_entries_at_commit(dataset: Dataset, user: User) -> None:
    commit_files(dataset, user, {"a": ["1", "2"], "b": ["3"]})
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_segment_delete(draft=draft, name="a")
    commit = services.draft_commit(draft=draft, title="drop a")
    revision = at(dataset, commit.id)
    assert paths(selectors.entry_list(revision=revision)) == ["b/3"]
    assert [s.name for s in selectors.segment_list(revision=revision).items] == ["b"]


def test_segment_deleted_then_recreated_keeps_only_new_entries(dataset: Dataset, user: User) -> None:
    commit_files(dataset, user, {"a": ["1", "2"]})
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_segment_delete(draft=draft, name="a")
    services.draft_stage_upserts(draft=draft, entries=[make_entry("a", "9")])
    assert paths(selectors.entry_list(revision=at(dataset, draft.number), segment="a")) == ["a/9"]
    commit = services.draft_commit(draft=draft, title="replace a")
    assert paths(selectors.entry_list(revision=at(dataset, commit.id))) == ["a/9"]


def test_delete_of_unknown_segment_is_not_found(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    with pytest.raises(errors.NotFound):
        services.draft_segment_delete(draft=draft, name="nope")


def test_closed_draft_cannot_be_committed(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_close(draft=draft)
    with pytest.raises(errors.NotAllowed):
        services.draft_commit(draft=draft, title="x")


def test_closed_draft_cannot_take_changes(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_close(draft=draft)
    with pytest.raises(errors.NotAllowed):
        services.draft_stage_upserts(draft=draft, entries=[make_entry("s", "a")])


def test_committed_draft_cannot_be_closed(dataset: Dataset, user: User) -> None:
    commit_files(dataset, user, {"s": ["a"]})
    with pytest.raises(errors.NotAllowed):
        services.draft_close(draft=selectors.draft_get(dataset=dataset, number=1))


def test_draft_update_changes_title_and_description(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    updated = services.draft_update(draft=draft, title="new", description="d")
    assert (updated.title, updated.description) == ("new", "d")


def test_draft_list_filters_by_state_and_branch(dataset: Dataset, user: User) -> None:
    commit_files(dataset, user, {"s": ["a"]})
    services.draft_create(dataset=dataset, title="open")
    closed = services.draft_create(dataset=dataset, title="closed")
    services.draft_close(draft=closed)
    assert [d.number for d in selectors.draft_list(dataset=dataset)] == [2]
    assert [d.number for d in selectors.draft_list(dataset=dataset, state="ALL")] == [1, 2, 3]
    assert [d.number for d in selectors.draft_list(dataset=dataset, state="CLOSED")] == [3]
    assert not selectors.draft_list(dataset=dataset, state="ALL", branch_name="dev").exists()


def test_draft_list_with_unknown_state_is_invalid(dataset: Dataset) -> None:
    with pytest.raises(errors.Invalid):
        selectors.draft_list(dataset=dataset, state="DONE")


def test_commit_with_tag_creates_the_tag(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    commit = services.draft_commit(draft=draft, title="c", tag="v1")
    assert selectors.tag_get(dataset=dataset, name="v1").commit_id == commit.id


def test_commit_with_taken_tag_is_refused_and_draft_stays_open(dataset: Dataset, user: User) -> None:
    first = commit_files(dataset, user, {"s": ["a"]})
    services.tag_create(dataset=dataset, name="v1", revision=first)
    draft = services.draft_create(dataset=dataset, title="t")
    with pytest.raises(errors.Conflict):
        services.draft_commit(draft=draft, title="c", tag="v1")
    assert selectors.draft_get(dataset=dataset, number=draft.number).state == Draft.State.OPEN


def test_commit_without_title_is_refused(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    with pytest.raises(errors.Missing):
        services.draft_commit(draft=draft, title="")


def test_commit_is_refused_when_branch_moved_on_the_same_path(dataset: Dataset, user: User) -> None:
    commit_files(dataset, user, {"s": ["a"]})
    late = services.draft_create(dataset=dataset, title="late")
    services.draft_stage_upserts(draft=late, entries=[make_entry("s", "a", "late")])
    early = services.draft_create(dataset=dataset, title="early")
    services.draft_stage_upserts(draft=early, entries=[make_entry("s", "a", "early")])
    services.draft_commit(draft=early, title="early")
    with pytest.raises(errors.Conflict) as refused:
        services.draft_commit(draft=late, title="late")
    assert refused.value.context["paths"] == ["s/a"]


def test_commit_is_rebased_when_branch_moved_on_other_paths(dataset: Dataset, user: User) -> None:
    commit_files(dataset, user, {"s": ["a"]})
    late = services.draft_create(dataset=dataset, title="late")
    services.draft_stage_upserts(draft=late, entries=[make_entry("s", "b")])
    early = services.draft_create(dataset=dataset, title="early")
    services.draft_stage_upserts(draft=early, entries=[make_entry("s", "c")])
    early_commit = services.draft_commit(draft=early, title="early")
    late_commit = services.draft_commit(draft=late, title="late")
    assert late_commit.parent_id == early_commit.id
    assert paths(selectors.entry_list(revision=at(dataset, "main"))) == ["s/a", "s/b", "s/c"]


def test_commit_is_refused_when_a_touched_segment_changed(dataset: Dataset, user: User) -> None:
    commit_files(dataset, user, {"s": ["a"]})
    late = services.draft_create(dataset=dataset, title="late")
    services.draft_stage_upserts(draft=late, entries=[make_entry("s", "b")])
    early = services.draft_create(dataset=dataset, title="early")
    services.draft_segment_delete(draft=early, name="s")
    services.draft_commit(draft=early, title="early")
    with pytest.raises(errors.Conflict) as refused:
        services.draft_commit(draft=late, title="late")
    assert "s" in refused.value.context["paths"]


def test_commit_of_draft_on_deleted_branch_is_not_allowed(dataset: Dataset, user: User) -> None:
    first = commit_files(dataset, user, {"s": ["a"]})
    services.branch_create(dataset=dataset, name="dev", revision=first)
    draft = services.draft_create(dataset=dataset, title="t", branch_name="dev")
    services.branch_delete(dataset=dataset, name="dev")
    with pytest.raises(errors.NotAllowed):
        services.draft_commit(draft=selectors.draft_get(dataset=dataset, number=draft.number), title="c")


def test_commit_list_is_newest_first_with_total(dataset: Dataset, user: User) -> None:
    ids = [commit_files(dataset, user, {"s": [str(n)]}, title=f"c{n}") for n in range(4)]
    page = selectors.commit_list(revision=at(dataset, "main"), offset=1, limit=2)
    assert [c.id for c in page.items] == [ids[2], ids[1]]
    assert page.total == 4


def test_commit_list_of_root_is_empty(dataset: Dataset) -> None:
    assert selectors.commit_list(revision=at(dataset, "main")) == selectors.Page(items=[], total=0)


def test_commit_get_of_unknown_id_is_not_found(dataset: Dataset) -> None:
    with pytest.raises(errors.NotFound):
        selectors.commit_get(dataset=dataset, commit_id="f" * 32)


def test_committed_draft_reads_as_its_commit(dataset: Dataset, user: User) -> None:
    commit_id = commit_files(dataset, user, {"s": ["a"]})
    assert at(dataset, 1).commit_id == commit_id
    assert paths(selectors.entry_list(revision=at(dataset, 1), segment="s")) == ["s/a"]


def test_draft_entry_list_requires_a_segment(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    with pytest.raises(errors.Missing):
        selectors.entry_list(revision=at(dataset, draft.number))


def test_entry_list_of_unknown_segment_is_not_found(dataset: Dataset, user: User) -> None:
    commit_files(dataset, user, {"s": ["a"]})
    with pytest.raises(errors.NotFound):
        selectors.entry_list(revision=at(dataset, "main"), segment="nope")


def test_entry_list_with_negative_offset_is_invalid(dataset: Dataset) -> None:
    with pytest.raises(errors.Invalid):
        selectors.entry_list(revision=at(dataset, "main"), offset=-1)


def test_entry_get_reads_label_back_verbatim(dataset: Dataset) -> None:
    label = {"CLASSIFICATION": {"category": "cat"}, "BOX2D": [{"xmin": 1.5, "ymin": 2, "xmax": 3, "ymax": 4}]}
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_stage_upserts(draft=draft, entries=[make_entry("s", "a.jpg", label=label)])
    assert selectors.entry_get(revision=at(dataset, draft.number), segment="s", remote_path="a.jpg").label == label
    commit = services.draft_commit(draft=draft, title="c")
    assert selectors.entry_get(revision=at(dataset, commit.id), segment="s", remote_path="a.jpg").label == label


def test_entry_get_of_missing_path_is_not_found(dataset: Dataset) -> None:
    with pytest.raises(errors.NotFound):
        selectors.entry_get(revision=at(dataset, "main"), segment="s", remote_path="a")


def test_segment_entry_count_counts_one_segment(dataset: Dataset, user: User) -> None:
    commit_files(dataset, user, {"a": ["1", "2"], "a-b": ["3"], "b": ["4"]})
    assert selectors.segment_entry_count(revision=at(dataset, "main"), name="a") == 2


def test_revision_stats_come_from_the_commit(dataset: Dataset, user: User) -> None:
    commit_files(dataset, user, {"s": ["a", "b"]})
    assert selectors.revision_stats(revision=at(dataset, "main")).entry_count == 2


def test_revision_stats_of_a_draft_are_invalid(dataset: Dataset) -> None:
    draft = services.draft_create(dataset=dataset, title="t")
    with pytest.raises(errors.Invalid):
        selectors.revision_stats(revision=at(dataset, draft.number))


def test_deleting_a_dataset_removes_its_history(dataset: Dataset, user: User) -> None:
    first = commit_files(dataset, user, {"s": ["a"]})
    services.tag_create(dataset=dataset, name="v1", revision=first)
    commit_files(dataset, user, {"s": ["b"]})
    services.draft_create(dataset=dataset, title="open")
    dataset.delete()
    assert not Commit.objects.exists()


def test_deleting_a_path_twice_is_not_found(dataset: Dataset, user: User) -> None:
    commit_files(dataset, user, {"s": ["a"]})
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_stage_deletes(draft=draft, segment="s", remote_paths=["a"])
    with pytest.raises(errors.NotFound):
        services.draft_stage_deletes(draft=draft, segment="s", remote_paths=["a"])
