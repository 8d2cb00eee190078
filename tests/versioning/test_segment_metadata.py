"""Per-segment metadata (fusion sensors, sheet schemas): staged in drafts, frozen by commits, kept in the tree."""

import pytest

from datasets.models import Dataset, User
from project import errors
from tests.versioning.conftest import make_entry
from versioning import selectors, services
from versioning.models import Commit, Draft, SegmentMetadata
from versioning.trees import TreeContent, tree_load

pytestmark = pytest.mark.django_db

SENSORS = [{"name": "lidar", "type": "LIDAR", "extrinsics": {"translation": {"x": 1.5, "y": 0, "z": 2}}}]


def at(dataset: Dataset, revision: str | int) -> selectors.Revision:
    return selectors.revision_resolve(dataset=dataset, revision=revision)


def draft_with_segment(dataset: Dataset, user: User, name: str = "s", files: tuple[str, ...] = ("a",)) -> Draft:
    draft = services.draft_create(dataset=dataset, title="t", creator=user)
    services.draft_segment_put(draft=draft, name=name)
    if files:
        services.draft_stage_upserts(draft=draft, entries=[make_entry(name, file) for file in files])
    return draft


def commit(draft: Draft) -> Commit:
    return services.draft_commit(draft=draft, title="c")


def test_metadata_set_in_a_draft_reads_back_at_the_draft(dataset: Dataset, user: User) -> None:
    draft = draft_with_segment(dataset, user)
    services.draft_segment_metadata_set(draft=draft, name="s", key="sensors", value=SENSORS)
    assert selectors.segment_metadata(revision=at(dataset, draft.number), name="s") == {"sensors": SENSORS}


def test_a_segment_without_metadata_reads_empty(dataset: Dataset, user: User) -> None:
    draft = draft_with_segment(dataset, user)
    assert selectors.segment_metadata(revision=at(dataset, draft.number), name="s") == {}
    assert selectors.segment_metadata(revision=at(dataset, commit(draft).id), name="s") == {}


def test_metadata_of_an_unknown_segment_is_not_found(dataset: Dataset, user: User) -> None:
    draft = draft_with_segment(dataset, user)
    with pytest.raises(errors.NotFound):
        services.draft_segment_metadata_set(draft=draft, name="nope", key="k", value=1)
    with pytest.raises(errors.NotFound):
        selectors.segment_metadata(revision=at(dataset, draft.number), name="nope")


def test_a_commit_freezes_metadata_and_a_new_draft_inherits_it(dataset: Dataset, user: User) -> None:
    first = draft_with_segment(dataset, user)
    services.draft_segment_metadata_set(draft=first, name="s", key="sensors", value=SENSORS)
    frozen = commit(first)
    second = services.draft_create(dataset=dataset, title="t2")
    assert selectors.segment_metadata(revision=at(dataset, second.number), name="s") == {"sensors": SENSORS}
    services.draft_segment_metadata_set(draft=second, name="s", key="sensors", value=[])
    services.draft_segment_metadata_set(draft=second, name="s", key="schema", value={"a": "int32"})
    changed = commit(second)
    assert selectors.segment_metadata(revision=at(dataset, frozen.id), name="s") == {"sensors": SENSORS}
    assert selectors.segment_metadata(revision=at(dataset, changed.id), name="s") == {
        "sensors": [],
        "schema": {"a": "int32"},
    }


def test_none_removes_a_key(dataset: Dataset, user: User) -> None:
    draft = draft_with_segment(dataset, user)
    services.draft_segment_metadata_set(draft=draft, name="s", key="sensors", value=SENSORS)
    services.draft_segment_metadata_set(draft=draft, name="s", key="sensors", value=None)
    created = commit(draft)
    assert selectors.segment_metadata(revision=at(dataset, created.id), name="s") == {}
    assert tree_load(created.tree_id).metadata_ids == {}


def test_describing_a_segment_keeps_its_metadata(dataset: Dataset, user: User) -> None:
    first = draft_with_segment(dataset, user)
    services.draft_segment_metadata_set(draft=first, name="s", key="sensors", value=SENSORS)
    commit(first)
    second = services.draft_create(dataset=dataset, title="t2")
    services.draft_segment_put(draft=second, name="s", description="described")
    assert selectors.segment_metadata(revision=at(dataset, commit(second).id), name="s") == {"sensors": SENSORS}


def test_deleting_a_segment_deletes_its_metadata(dataset: Dataset, user: User) -> None:
    first = draft_with_segment(dataset, user)
    services.draft_segment_metadata_set(draft=first, name="s", key="sensors", value=SENSORS)
    commit(first)
    second = services.draft_create(dataset=dataset, title="t2")
    services.draft_segment_delete(draft=second, name="s")
    services.draft_segment_put(draft=second, name="s")
    assert selectors.segment_metadata(revision=at(dataset, commit(second).id), name="s") == {}


def test_copy_and_move_carry_metadata(dataset: Dataset, user: User) -> None:
    first = draft_with_segment(dataset, user)
    services.draft_segment_metadata_set(draft=first, name="s", key="sensors", value=SENSORS)
    base = commit(first)
    second = services.draft_create(dataset=dataset, title="t2")
    services.draft_segment_copy(draft=second, source=at(dataset, base.id), source_segment="s", target_segment="copy")
    services.draft_segment_copy(
        draft=second, source=at(dataset, second.number), source_segment="s", target_segment="moved", move=True
    )
    head = at(dataset, commit(second).id)
    assert selectors.segment_metadata(revision=head, name="copy") == {"sensors": SENSORS}
    assert selectors.segment_metadata(revision=head, name="moved") == {"sensors": SENSORS}
    with pytest.raises(errors.NotFound):
        selectors.segment_metadata(revision=head, name="s")


def test_equal_metadata_is_stored_once_and_shared(dataset: Dataset, user: User) -> None:
    draft = draft_with_segment(dataset, user, "a")
    services.draft_segment_put(draft=draft, name="b")
    for name in ("a", "b"):
        services.draft_segment_metadata_set(draft=draft, name=name, key="sensors", value=SENSORS)
    ids = tree_load(commit(draft).tree_id).metadata_ids
    assert ids["a"] == ids["b"]
    assert SegmentMetadata.objects.count() == 1


def test_a_tree_without_metadata_keeps_the_old_encoding(dataset: Dataset, user: User) -> None:
    tree = tree_load(commit(draft_with_segment(dataset, user)).tree_id)
    assert all(len(segment) == 3 for segment in tree.segments)
    assert TreeContent.decode(tree.encode()) == tree


def test_metadata_changes_show_the_segment_as_modified(dataset: Dataset, user: User) -> None:
    base = commit(draft_with_segment(dataset, user))
    draft = services.draft_create(dataset=dataset, title="t2")
    services.draft_segment_metadata_set(draft=draft, name="s", key="sensors", value=SENSORS)
    head = commit(draft)
    page = selectors.diff_segments(base=at(dataset, base.id), head=at(dataset, head.id))
    assert [(change.name, change.action) for change in page.items] == [("s", "modify")]


def test_metadata_changed_on_the_branch_and_in_the_draft_conflicts(dataset: Dataset, user: User) -> None:
    commit(draft_with_segment(dataset, user))
    ours = services.draft_create(dataset=dataset, title="ours")
    theirs = services.draft_create(dataset=dataset, title="theirs")
    services.draft_segment_metadata_set(draft=theirs, name="s", key="sensors", value=SENSORS)
    commit(theirs)
    services.draft_segment_metadata_set(draft=ours, name="s", key="sensors", value=[])
    with pytest.raises(errors.Conflict):
        commit(ours)


def test_a_draft_that_left_metadata_alone_lands_over_a_metadata_change(dataset: Dataset, user: User) -> None:
    commit(draft_with_segment(dataset, user))
    ours = services.draft_create(dataset=dataset, title="ours")
    theirs = services.draft_create(dataset=dataset, title="theirs")
    services.draft_segment_metadata_set(draft=theirs, name="s", key="sensors", value=SENSORS)
    commit(theirs)
    services.draft_segment_put(draft=ours, name="s", description="described")
    services.draft_stage_upserts(draft=ours, entries=[make_entry("s", "b")])
    landed = at(dataset, commit(ours).id)
    assert selectors.segment_metadata(revision=landed, name="s") == {"sensors": SENSORS}
    assert selectors.segment_get(revision=landed, name="s").description == "described"


def test_an_import_keeps_the_head_metadata(dataset: Dataset, user: User) -> None:
    draft = draft_with_segment(dataset, user)
    services.draft_segment_metadata_set(draft=draft, name="s", key="sensors", value=SENSORS)
    commit(draft)
    imported = services.commit_import(dataset=dataset, entries=[make_entry("s", "b")], title="import")
    assert selectors.segment_metadata(revision=at(dataset, imported.id), name="s") == {"sensors": SENSORS}


def test_setting_the_same_value_stages_nothing(dataset: Dataset, user: User) -> None:
    draft = draft_with_segment(dataset, user, files=())
    services.draft_segment_metadata_set(draft=draft, name="s", key="sensors", value=SENSORS)
    commit(draft)
    second = services.draft_create(dataset=dataset, title="t2")
    services.draft_segment_metadata_set(draft=second, name="s", key="sensors", value=SENSORS)
    assert not second.staged_segments.exists()
