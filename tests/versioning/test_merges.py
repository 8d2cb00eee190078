"""Three-way squash-and-merge: random histories against a naive in-memory merge, and the rules one by one."""

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasets.models import Dataset, User
from project import errors
from tests.versioning.conftest import make_entry, small_trees
from tests.versioning.test_properties import (
    BIG,
    ModelDraft,
    Run,
    State,
    initial_files,
    listing,
    new_dataset,
    operation,
)
from versioning import merges, selectors, services
from versioning.models import ROOT_COMMIT_ID, Branch, Draft

pytestmark = pytest.mark.django_db

CATALOGS = [{"BOX2D": {"categories": [{"name": "01"}]}}, {"BOX2D": {"categories": [{"name": "02"}]}}]


@dataclass
class Meta:
    catalog: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)


class MergeRun(Run):
    """A ``Run`` that also knows each commit's parent and the catalog and notes of commits and drafts."""

    def __init__(self, dataset: Dataset, files: list[tuple[str, str, str]]) -> None:
        self.parents: dict[str, str] = {}
        self.meta: dict[str | int, Meta] = {ROOT_COMMIT_ID: Meta()}
        self.touched_meta: set[int] = set()
        super().__init__(dataset, files)

    def step(self, op: tuple) -> None:
        if op[0] == "open" and len(self.drafts) < 3:
            super().step(op)
            draft = self.drafts[-1]
            base = self.meta[draft.base_id]
            self.meta[draft.number] = Meta(dict(base.catalog), dict(base.notes))
            return
        super().step(op)

    def catalog(self, draft: ModelDraft, which: int) -> None:
        services.draft_metadata_set(draft=self.real(draft), catalog=CATALOGS[which])
        self.meta[draft.number].catalog = CATALOGS[which]
        self.touched_meta.add(draft.number)

    def notes(self, draft: ModelDraft, value: bool) -> None:
        services.draft_metadata_set(draft=self.real(draft), notes={"isContinuous": value})
        self.meta[draft.number].notes = {**self.meta[draft.number].notes, "isContinuous": value}
        self.touched_meta.add(draft.number)

    def commit(self, draft: ModelDraft) -> None:
        head_id = self.heads[draft.branch]
        super().commit(draft)
        new_head = self.heads[draft.branch]
        if new_head != head_id:
            self.parents[new_head] = head_id
            source = draft.number if draft.number in self.touched_meta else head_id
            self.meta[new_head] = self.meta[source]

    def ancestors(self, commit_id: str) -> list[str]:
        chain = [commit_id]
        while chain[-1] in self.parents:
            chain.append(self.parents[chain[-1]])
        return chain

    def merge_base(self, first: str, second: str) -> str:
        theirs = set(self.ancestors(second))
        return next((c for c in self.ancestors(first) if c in theirs), ROOT_COMMIT_ID)


merge_operation = st.one_of(
    operation,
    st.tuples(st.just("catalog"), st.integers(0, 2), st.integers(0, 1)),
    st.tuples(st.just("notes"), st.integers(0, 2), st.booleans()),
)


SEGMENT_NAMES = ["a", "a-b", "b"]
NAME_CHOICES = [str(n) for n in range(15)]
edit = st.one_of(
    st.tuples(
        st.just("put"), st.sampled_from(SEGMENT_NAMES), st.sampled_from(NAME_CHOICES), st.sampled_from(["x", "y", "z"])
    ),
    st.tuples(st.just("put"), st.sampled_from(SEGMENT_NAMES), st.sampled_from(NAME_CHOICES), st.just("x")),
    st.tuples(st.just("delete"), st.sampled_from(SEGMENT_NAMES), st.sampled_from(NAME_CHOICES)),
    st.tuples(st.just("segment_delete"), st.sampled_from(SEGMENT_NAMES)),
    st.tuples(st.just("segment_put"), st.sampled_from(SEGMENT_NAMES), st.sampled_from(["", "d", "e"])),
    st.tuples(st.just("catalog"), st.integers(0, 1)),
    st.tuples(st.just("notes"), st.booleans()),
)
# Rounds of edits, each committed, on (source or target, edits).
edit_rounds = st.lists(st.tuples(st.booleans(), st.lists(edit, min_size=1, max_size=10)), min_size=1, max_size=4)


def edit_and_commit(run: MergeRun, branch: str, edits: list[tuple]) -> None:
    """Open a draft on the branch, apply the edits the model allows and commit it."""
    run.drafts.clear()  # older drafts stay open in the database; only the new one is edited
    run.step(("open", sorted(run.heads).index(branch)))
    draft = run.drafts[-1]
    for kind, *arguments in edits:
        if kind == "delete" and f"{arguments[0]}/{arguments[1]}" not in draft.view.entries:
            continue
        if kind == "segment_delete" and arguments[0] not in draft.view.segments:
            continue
        getattr(run, kind)(draft, *arguments)
    run.commit(draft)


def naive_merge(
    base: State, source: State, target: State, metas: tuple[Meta, Meta, Meta], strategy: str
) -> tuple[State, Meta, set[str]]:
    """The merge by definition, over whole states: (result, result metadata, conflicting paths)."""
    conflicts: set[str] = set()

    def inside(state_a: State, state_b: State, segment: str) -> bool:
        paths = state_a.entries.keys() | state_b.entries.keys()
        return any(p.partition("/")[0] == segment and state_a.entries.get(p) != state_b.entries.get(p) for p in paths)

    segment_winner: dict[str, str] = {}
    result = State()
    for name in sorted(base.segments.keys() | source.segments.keys() | target.segments.keys()):
        was, mine, other = base.segments.get(name), source.segments.get(name), target.segments.get(name)
        conflicted = (
            (was != mine and was != other and mine != other)
            or (mine is None and was != mine and other is not None and inside(base, target, name))
            or (other is None and was != other and mine is not None and inside(base, source, name))
        )
        if conflicted:
            conflicts.add(f"segment:{name}")
            segment_winner[name] = "source" if strategy == "override" else "target"
        else:
            segment_winner[name] = "source" if was != mine else "target"
        chosen = mine if segment_winner[name] == "source" else other
        if chosen is not None:
            result.segments[name] = chosen
    for path in sorted(base.entries.keys() | source.entries.keys() | target.entries.keys()):
        was, mine, other = base.entries.get(path), source.entries.get(path), target.entries.get(path)
        conflicted = was != mine and was != other and mine != other
        if conflicted:
            conflicts.add(path)
        segment = path.partition("/")[0]
        if segment not in result.segments:
            continue
        if segment_winner[segment] == "target" and segment not in target.segments:
            continue
        winner = ("source" if strategy == "override" else "target") if conflicted else None
        chosen = mine if (winner or ("source" if was != mine else "target")) == "source" else other
        if chosen is not None:
            result.entries[path] = chosen
    meta = Meta()
    for key in ("catalog", "notes"):
        was, mine, other = (getattr(m, key) for m in metas)
        conflicted = was != mine and was != other and mine != other
        if conflicted:
            conflicts.add(key)
            setattr(meta, key, mine if strategy == "override" else other)
        else:
            setattr(meta, key, mine if was != mine else other)
    if strategy == "abort" and conflicts:
        return target, metas[2], conflicts
    return result, meta, conflicts


def reported(conflicts: list[merges.MergeConflict]) -> set[str]:
    return {f"segment:{c.path}" if c.kind == "segment" else c.path for c in conflicts}


@pytest.mark.parametrize("narrow_nodes", [False, True], ids=["wide-nodes", "narrow-nodes"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    files=initial_files,
    operations=st.lists(merge_operation, max_size=30),
    rounds=edit_rounds,
    strategy=st.sampled_from(merges.STRATEGIES),
    data=st.data(),
)
def test_merge_matches_the_naive_three_way_merge(
    user: User,
    narrow_nodes: bool,
    files: list[tuple[str, str, str]],
    operations: list[tuple],
    rounds: list[tuple[bool, list[tuple]]],
    strategy: str,
    data: st.DataObject,
) -> None:
    with small_trees(narrow_nodes=narrow_nodes):
        run = MergeRun(new_dataset(user), files)
        run.step(("branch", 0))
        for op in operations:
            run.step(op)
        names = sorted(name for name, head in run.heads.items() if head != ROOT_COMMIT_ID)
        source_name = data.draw(st.sampled_from(names))
        target_name = data.draw(st.sampled_from([n for n in names if n != source_name]))
        for on_source, edits in rounds:
            edit_and_commit(run, source_name if on_source else target_name, edits)
        source_id, target_id = run.heads[source_name], run.heads[target_name]
        base_id = run.merge_base(source_id, target_id)
        metas = (run.meta[base_id], run.meta[source_id], run.meta[target_id])
        expected, expected_meta, expected_conflicts = naive_merge(
            run.states[base_id], run.states[source_id], run.states[target_id], metas, strategy
        )
        source = Branch.objects.get(dataset=run.dataset, name=source_name)
        target = Branch.objects.get(dataset=run.dataset, name=target_name)

        result = merges.merge_prepare(source=source, target=target, strategy=strategy, title="merged")

        assert result.plan.base is None if base_id == ROOT_COMMIT_ID else result.plan.base.id == base_id
        assert reported(result.conflicts) == expected_conflicts
        assert result.draft.is_open and result.draft.branch_name == target_name
        assert result.draft.parent_commit_id == target_id
        assert listing(run.dataset, result.draft.number) == expected
        revision = selectors.revision_resolve(dataset=run.dataset, revision=result.draft.number)
        metadata = selectors.revision_metadata(revision=revision)
        assert (metadata.catalog, metadata.notes) == (expected_meta.catalog, expected_meta.notes)
        # The source is unmoved, and the draft commits to exactly the merged content.
        assert Branch.objects.get(pk=source.pk).head_id == source_id
        commit = services.draft_commit(draft=result.draft, title="merged")
        assert listing(run.dataset, commit.id) == expected
        assert commit.entry_count == len(expected.entries)


def commit_files(dataset: Dataset, branch: str, files: dict[str, str | None], segment: str = "s") -> str:
    draft = services.draft_create(dataset=dataset, title="t", branch_name=branch)
    puts = [make_entry(segment, name, content) for name, content in files.items() if content is not None]
    if puts:
        services.draft_stage_upserts(draft=draft, entries=puts)
    deletes = [name for name, content in files.items() if content is None]
    if deletes:
        services.draft_stage_deletes(draft=draft, segment=segment, remote_paths=deletes)
    return services.draft_commit(draft=draft, title="c").id


def two_branches(dataset: Dataset) -> tuple[Branch, Branch]:
    commit_files(dataset, "main", {"a": "1", "b": "1", "c": "1"})
    services.branch_create(dataset=dataset, name="dev", revision="main")
    commit_files(dataset, "dev", {"a": "dev", "b": None, "d": "dev"})
    commit_files(dataset, "main", {"a": "main", "c": "main", "e": "main"})
    return Branch.objects.get(dataset=dataset, name="dev"), Branch.objects.get(dataset=dataset, name="main")


def contents(dataset: Dataset, revision: str | int) -> dict[str, str]:
    found = selectors.revision_resolve(dataset=dataset, revision=revision)
    return {e.remote_path: e.sha1[:8] for e in selectors.entry_list(revision=found, segment="s", limit=BIG).items}


def sha(content: str) -> str:
    return make_entry("s", "x", content).sha1[:8]


@pytest.mark.parametrize(
    ("strategy", "a"),
    [("override", "dev"), ("skip", "main")],
)
def test_strategy_decides_who_wins_a_conflict(dataset: Dataset, strategy: str, a: str) -> None:
    source, target = two_branches(dataset)
    result = merges.merge_prepare(source=source, target=target, strategy=strategy, title="m")
    assert contents(dataset, result.draft.number) == {
        "a": sha(a),
        "c": sha("main"),
        "d": sha("dev"),
        "e": sha("main"),
    }


def test_abort_applies_nothing_when_a_path_conflicts(dataset: Dataset) -> None:
    source, target = two_branches(dataset)
    result = merges.merge_prepare(source=source, target=target, strategy="abort", title="m")
    assert contents(dataset, result.draft.number) == contents(dataset, "main")
    assert [c.path for c in result.conflicts] == ["s/a"]


def test_conflict_report_holds_both_sides(dataset: Dataset) -> None:
    source, target = two_branches(dataset)
    (conflict,) = merges.merge_prepare(source=source, target=target, strategy=None, title="m").conflicts
    assert conflict.as_dict() == {
        "kind": "entry",
        "path": "s/a",
        "source": {"sha1": make_entry("s", "a", "dev").sha1, "size": 3, "label": {}},
        "target": {"sha1": make_entry("s", "a", "main").sha1, "size": 4, "label": {}},
    }


def test_modify_delete_is_a_conflict(dataset: Dataset) -> None:
    commit_files(dataset, "main", {"a": "1"})
    services.branch_create(dataset=dataset, name="dev", revision="main")
    commit_files(dataset, "dev", {"a": None})
    commit_files(dataset, "main", {"a": "2"})
    source, target = Branch.objects.get(name="dev"), Branch.objects.get(name="main")
    (conflict,) = merges.merge_prepare(source=source, target=target, strategy="override", title="m").conflicts
    assert (conflict.path, conflict.source) == ("s/a", None)


def test_same_change_on_both_sides_is_no_conflict(dataset: Dataset) -> None:
    commit_files(dataset, "main", {"a": "1"})
    services.branch_create(dataset=dataset, name="dev", revision="main")
    commit_files(dataset, "dev", {"a": "2", "b": "2"})
    commit_files(dataset, "main", {"a": "2"})
    source, target = Branch.objects.get(name="dev"), Branch.objects.get(name="main")
    result = merges.merge_prepare(source=source, target=target, strategy="abort", title="m")
    assert result.conflicts == []
    assert contents(dataset, result.draft.number) == {"a": sha("2"), "b": sha("2")}


def test_moved_target_head_is_caught_when_the_draft_commits(dataset: Dataset) -> None:
    source, target = two_branches(dataset)
    result = merges.merge_prepare(source=source, target=target, strategy="override", title="m")
    commit_files(dataset, "main", {"d": "later"})
    with pytest.raises(errors.Conflict):
        services.draft_commit(draft=result.draft, title="m")


def test_unknown_strategy_is_refused(dataset: Dataset) -> None:
    source, target = two_branches(dataset)
    with pytest.raises(errors.Invalid):
        merges.merge_prepare(source=source, target=target, strategy="theirs", title="m")
    assert not Draft.objects.filter(dataset=dataset, title="m").exists()


def test_branch_without_commits_is_refused(dataset: Dataset) -> None:
    commit_files(dataset, "main", {"a": "1"})
    services.branch_create(dataset=dataset, name="dev", revision="main")
    empty = Branch.objects.create(dataset=dataset, name="empty")
    with pytest.raises(errors.NotAllowed):
        merges.merge_prepare(source=empty, target=Branch.objects.get(name="main"), strategy="skip", title="m")


def test_check_may_stop_the_merge_before_anything_is_written(dataset: Dataset) -> None:
    source, target = two_branches(dataset)
    drafts = Draft.objects.count()

    def stop() -> Any:
        raise errors.NotAllowed("stopped")

    with pytest.raises(errors.NotAllowed):
        merges.merge_prepare(source=source, target=target, strategy="skip", title="m", check=stop)
    assert Draft.objects.count() == drafts


def set_metadata(dataset: Dataset, branch: str, value: Any, key: str = "sensors") -> None:
    draft = services.draft_create(dataset=dataset, title="t", branch_name=branch)
    if isinstance(value, str):
        value = [{"name": value}]
    services.draft_segment_metadata_set(draft=draft, name="s", key=key, value=value)
    services.draft_commit(draft=draft, title="c")


def set_description(dataset: Dataset, branch: str, description: str) -> None:
    draft = services.draft_create(dataset=dataset, title="t", branch_name=branch)
    services.draft_segment_put(draft=draft, name="s", description=description)
    services.draft_commit(draft=draft, title="c")


def merged_segment(dataset: Dataset, strategy: str) -> tuple[merges.MergeResult, dict[str, Any]]:
    source, target = Branch.objects.get(name="dev"), Branch.objects.get(name="main")
    result = merges.merge_prepare(source=source, target=target, strategy=strategy, title="m")
    revision = selectors.revision_resolve(dataset=dataset, revision=result.draft.number)
    return result, selectors.segment_metadata(revision=revision, name="s")


def camera(name: str, fov: int) -> dict[str, Any]:
    return {"name": name, "type": "CAMERA", "intrinsics": {"fov": fov}}


@pytest.mark.parametrize(("strategy", "winner"), [("override", 60), ("skip", 90), ("abort", 90)])
def test_one_sensor_changed_on_both_sides_is_a_conflict_of_that_sensor(
    dataset: Dataset, strategy: str, winner: int
) -> None:
    commit_files(dataset, "main", {"a": "1"})
    set_metadata(dataset, "main", [camera("back", 30), camera("front", 30)])
    services.branch_create(dataset=dataset, name="dev", revision="main")
    set_metadata(dataset, "dev", [camera("back", 30), camera("front", 60)])
    set_metadata(dataset, "main", [camera("back", 45), camera("front", 90)])

    result, metadata = merged_segment(dataset, strategy)

    (conflict,) = result.conflicts
    assert (conflict.kind, conflict.path) == ("sensor", "s/front")
    assert (conflict.source, conflict.target) == (camera("front", 60), camera("front", 90))
    # The sensor only the target changed keeps the target's change under every strategy.
    assert metadata == {"sensors": [camera("back", 45), camera("front", winner)]}


def test_sensors_added_on_both_sides_merge_without_conflict(dataset: Dataset) -> None:
    commit_files(dataset, "main", {"a": "1"})
    set_metadata(dataset, "main", [camera("back", 30)])
    services.branch_create(dataset=dataset, name="dev", revision="main")
    set_metadata(dataset, "dev", [camera("back", 30), camera("left", 10)])
    set_metadata(dataset, "main", [camera("right", 20)])  # the target also deletes "back"

    result, metadata = merged_segment(dataset, "abort")

    assert result.conflicts == []
    assert metadata == {"sensors": [camera("left", 10), camera("right", 20)]}
    commit = services.draft_commit(draft=result.draft, title="m")
    revision = selectors.revision_resolve(dataset=dataset, revision=commit.id)
    assert selectors.segment_metadata(revision=revision, name="s") == metadata


def test_the_same_sensor_added_alike_on_both_sides_is_no_conflict(dataset: Dataset) -> None:
    commit_files(dataset, "main", {"a": "1"})
    services.branch_create(dataset=dataset, name="dev", revision="main")
    set_metadata(dataset, "dev", [camera("back", 30)])
    set_metadata(dataset, "main", [camera("back", 30)])

    result, metadata = merged_segment(dataset, "abort")

    assert result.conflicts == []
    assert metadata == {"sensors": [camera("back", 30)]}


def test_description_and_sensors_changed_on_different_sides_both_apply(dataset: Dataset) -> None:
    commit_files(dataset, "main", {"a": "1"})
    services.branch_create(dataset=dataset, name="dev", revision="main")
    set_metadata(dataset, "dev", [camera("back", 30)])
    set_description(dataset, "main", "street scenes")

    result, metadata = merged_segment(dataset, "abort")

    assert result.conflicts == []
    assert metadata == {"sensors": [camera("back", 30)]}
    revision = selectors.revision_resolve(dataset=dataset, revision=result.draft.number)
    assert selectors.segment_get(revision=revision, name="s").description == "street scenes"


@pytest.mark.parametrize(("strategy", "winner"), [("override", "dev"), ("skip", "main")])
def test_description_changed_on_both_sides_is_a_conflict_of_the_segment(
    dataset: Dataset, strategy: str, winner: str
) -> None:
    commit_files(dataset, "main", {"a": "1"})
    services.branch_create(dataset=dataset, name="dev", revision="main")
    set_description(dataset, "dev", "dev")
    set_description(dataset, "main", "main")
    set_metadata(dataset, "dev", [camera("back", 30)])

    result, metadata = merged_segment(dataset, strategy)

    (conflict,) = result.conflicts
    assert (conflict.kind, conflict.path, conflict.source, conflict.target) == (
        "segment",
        "s",
        {"description": "dev"},
        {"description": "main"},
    )
    revision = selectors.revision_resolve(dataset=dataset, revision=result.draft.number)
    assert selectors.segment_get(revision=revision, name="s").description == winner
    assert metadata == {"sensors": [camera("back", 30)]}


@pytest.mark.parametrize(("strategy", "winner"), [("override", "dev"), ("skip", "main"), ("abort", "main")])
def test_another_metadata_key_changed_on_both_sides_is_one_conflict(
    dataset: Dataset, strategy: str, winner: str
) -> None:
    commit_files(dataset, "main", {"a": "1"})
    services.branch_create(dataset=dataset, name="dev", revision="main")
    set_metadata(dataset, "dev", {"columns": "dev"}, key="schema")
    set_metadata(dataset, "main", {"columns": "main"}, key="schema")

    result, metadata = merged_segment(dataset, strategy)

    (conflict,) = result.conflicts
    assert (conflict.kind, conflict.path) == ("metadata", "s/schema")
    assert (conflict.source, conflict.target) == ({"columns": "dev"}, {"columns": "main"})
    assert metadata == {"schema": {"columns": winner}}


def test_sensors_changed_where_the_other_side_deleted_the_segment_conflict_as_the_segment(dataset: Dataset) -> None:
    commit_files(dataset, "main", {"a": "1"})
    services.branch_create(dataset=dataset, name="dev", revision="main")
    set_metadata(dataset, "dev", [camera("back", 30)])
    draft = services.draft_create(dataset=dataset, title="t", branch_name="main")
    services.draft_segment_delete(draft=draft, name="s")
    services.draft_commit(draft=draft, title="c")

    source, target = Branch.objects.get(name="dev"), Branch.objects.get(name="main")
    result = merges.merge_prepare(source=source, target=target, strategy="skip", title="m")

    (conflict,) = result.conflicts
    assert (conflict.kind, conflict.path, conflict.target) == ("segment", "s", None)
    revision = selectors.revision_resolve(dataset=dataset, revision=result.draft.number)
    assert selectors.segment_list(revision=revision).items == []


def test_segment_metadata_changed_on_one_side_merges(dataset: Dataset) -> None:
    commit_files(dataset, "main", {"a": "1"})
    services.branch_create(dataset=dataset, name="dev", revision="main")
    set_metadata(dataset, "dev", "dev")
    commit_files(dataset, "main", {"b": "2"})
    source, target = Branch.objects.get(name="dev"), Branch.objects.get(name="main")
    result = merges.merge_prepare(source=source, target=target, strategy="abort", title="m")
    assert result.conflicts == []
    commit = services.draft_commit(draft=result.draft, title="m")
    revision = selectors.revision_resolve(dataset=dataset, revision=commit.id)
    assert selectors.segment_metadata(revision=revision, name="s") == {"sensors": [{"name": "dev"}]}
    assert set(contents(dataset, commit.id)) == {"a", "b"}
