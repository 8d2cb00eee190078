"""Random sequences of stage/commit/branch operations against a naive in-memory model.

Ranges are made tiny here (about three entries) so that a few dozen paths already span many ranges and the
range reuse, rewrite, paging and diff code paths are all exercised; each test runs once with metaranges of the
usual width (a tree of one metarange, its ranges inline) and once with metaranges of about five ranges, so
trees have two levels and metaranges split, merge and are shared between commits.
"""

from dataclasses import dataclass, field
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasets.models import Dataset, User
from project import errors
from tests.versioning.conftest import make_entry, small_trees
from versioning import selectors, services
from versioning.models import ROOT_COMMIT_ID, Draft
from versioning.trees import Entry

pytestmark = pytest.mark.django_db

SEGMENTS = ["a", "a-b", "b"]
NAMES = [str(n) for n in range(15)]
CONTENTS = ["x", "y"]
BIG = 10**6

_datasets = count()


@dataclass
class State:
    entries: dict[str, Entry] = field(default_factory=dict)
    segments: dict[str, str] = field(default_factory=dict)

    def copy(self) -> "State":
        return State(dict(self.entries), dict(self.segments))


@dataclass
class ModelDraft:
    number: int
    branch: str
    base_id: str
    base: State
    view: State
    touched_paths: set[str] = field(default_factory=set)
    touched_segments: set[str] = field(default_factory=set)


def new_dataset(user: User) -> Dataset:
    return Dataset.objects.create(workspace=user.owned_workspaces.get(), name=f"p{next(_datasets)}")


def listing(dataset: Dataset, revision: str | int) -> State:
    at = selectors.revision_resolve(dataset=dataset, revision=revision)
    segments = {s.name: s.description for s in selectors.segment_list(revision=at, limit=BIG).items}
    if at.has_staged_changes:
        entries = sorted(
            (e for name in segments for e in selectors.entry_list(revision=at, segment=name, limit=BIG).items),
            key=lambda e: e.path,
        )
    else:
        entries = selectors.entry_list(revision=at, limit=BIG).items
    paths = [e.path for e in entries]
    assert paths == sorted(set(paths)), "entries must come sorted by path, each path once"
    return State({e.path: e for e in entries}, segments)


def changed(old: State, new: State) -> tuple[set[str], set[str]]:
    paths = {p for p in old.entries.keys() | new.entries.keys() if old.entries.get(p) != new.entries.get(p)}
    segments = {s for s in old.segments.keys() | new.segments.keys() if old.segments.get(s) != new.segments.get(s)}
    return paths, segments


def apply_draft(draft: ModelDraft, head: State) -> State:
    result = head.copy()
    paths, segments = changed(draft.base, draft.view)
    for path in paths:
        if path in draft.view.entries:
            result.entries[path] = draft.view.entries[path]
        else:
            result.entries.pop(path, None)
    for name in segments:
        if name in draft.view.segments:
            result.segments[name] = draft.view.segments[name]
        else:
            result.segments.pop(name, None)
    return result


put = st.tuples(
    st.just("put"), st.integers(0, 2), st.sampled_from(SEGMENTS), st.sampled_from(NAMES), st.sampled_from(CONTENTS)
)
put_many = st.tuples(
    st.just("put_many"),
    st.integers(0, 2),
    st.lists(st.tuples(st.sampled_from(SEGMENTS), st.sampled_from(NAMES), st.sampled_from(CONTENTS)), max_size=15),
)
# A first commit with many files, so that every example starts over several ranges.
initial_files = st.lists(
    st.tuples(st.sampled_from(SEGMENTS), st.sampled_from(NAMES), st.sampled_from(CONTENTS)), min_size=10, max_size=45
)
operation = st.one_of(
    st.tuples(st.just("open"), st.integers(0, 1)),
    put,
    put_many,
    put_many,
    st.tuples(st.just("delete"), st.integers(0, 2), st.sampled_from(SEGMENTS), st.sampled_from(NAMES)),
    st.tuples(st.just("segment_delete"), st.integers(0, 2), st.sampled_from(SEGMENTS)),
    st.tuples(st.just("segment_put"), st.integers(0, 2), st.sampled_from(SEGMENTS), st.sampled_from(["", "d"])),
    st.tuples(st.just("commit"), st.integers(0, 2)),
    st.tuples(st.just("commit"), st.integers(0, 2)),
    st.tuples(st.just("branch"), st.integers(0, 1)),
)


class Run:
    """Applies operations to the services and to the model side by side."""

    def __init__(self, dataset: Dataset, files: list[tuple[str, str, str]]) -> None:
        self.dataset = dataset
        self.heads: dict[str, str] = {"main": ROOT_COMMIT_ID}
        self.states: dict[str, State] = {ROOT_COMMIT_ID: State()}
        self.drafts: list[ModelDraft] = []
        self.step(("put_many", 0, files))
        self.step(("commit", 0))

    def branch_name(self, index: int) -> str:
        names = sorted(self.heads)
        return names[index % len(names)]

    def draft(self, index: int) -> ModelDraft:
        if not self.drafts:
            self.step(("open", index))
        return self.drafts[index % len(self.drafts)]

    def real(self, draft: ModelDraft) -> Draft:
        return selectors.draft_get(dataset=self.dataset, number=draft.number)

    def step(self, op: tuple) -> None:
        kind = op[0]
        if kind == "open":
            if len(self.drafts) >= 3:
                return
            branch = self.branch_name(op[1])
            real = services.draft_create(dataset=self.dataset, title="t", branch_name=branch)
            base = self.states[self.heads[branch]]
            self.drafts.append(ModelDraft(real.number, branch, self.heads[branch], base, base.copy()))
        elif kind == "branch":
            source = self.branch_name(op[1])
            name = f"b{len(self.heads)}"
            if self.heads[source] == ROOT_COMMIT_ID:
                with pytest.raises(errors.NotAllowed):
                    services.branch_create(dataset=self.dataset, name=name, revision=source)
                return
            services.branch_create(dataset=self.dataset, name=name, revision=source)
            self.heads[name] = self.heads[source]
        else:
            getattr(self, kind)(self.draft(op[1]), *op[2:])

    def put(self, draft: ModelDraft, segment: str, name: str, content: str) -> None:
        entry = make_entry(segment, name, content)
        services.draft_stage_upserts(draft=self.real(draft), entries=[entry])
        draft.view.entries[entry.path] = entry
        draft.view.segments.setdefault(segment, "")
        draft.touched_paths.add(entry.path)
        draft.touched_segments.add(segment)

    def put_many(self, draft: ModelDraft, files: list[tuple[str, str, str]]) -> None:
        entries = [make_entry(segment, name, content) for segment, name, content in files]
        services.draft_stage_upserts(draft=self.real(draft), entries=entries)
        for entry in entries:
            draft.view.entries[entry.path] = entry
            draft.view.segments.setdefault(entry.segment, "")
            draft.touched_paths.add(entry.path)
            draft.touched_segments.add(entry.segment)

    def delete(self, draft: ModelDraft, segment: str, name: str) -> None:
        path = f"{segment}/{name}"
        if path not in draft.view.entries:
            with pytest.raises(errors.NotFound):
                services.draft_stage_deletes(draft=self.real(draft), segment=segment, remote_paths=[name])
            return
        services.draft_stage_deletes(draft=self.real(draft), segment=segment, remote_paths=[name])
        del draft.view.entries[path]
        draft.touched_paths.add(path)
        draft.touched_segments.add(segment)

    def segment_delete(self, draft: ModelDraft, segment: str) -> None:
        if segment not in draft.view.segments:
            with pytest.raises(errors.NotFound):
                services.draft_segment_delete(draft=self.real(draft), name=segment)
            return
        services.draft_segment_delete(draft=self.real(draft), name=segment)
        del draft.view.segments[segment]
        draft.view.entries = {p: e for p, e in draft.view.entries.items() if e.segment != segment}
        draft.touched_segments.add(segment)

    def segment_put(self, draft: ModelDraft, segment: str, description: str) -> None:
        services.draft_segment_put(draft=self.real(draft), name=segment, description=description)
        draft.view.segments[segment] = description
        draft.touched_segments.add(segment)

    def commit(self, draft: ModelDraft) -> None:
        head_id = self.heads[draft.branch]
        head = self.states[head_id]
        if head_id == draft.base_id:
            expected = draft.view.copy()
            may_conflict = False
        else:
            paths, segments = changed(draft.base, head)
            may_conflict = bool(
                paths & draft.touched_paths
                or segments & draft.touched_segments
                or any(p.partition("/")[0] in draft.touched_segments for p in paths)
            )
            expected = apply_draft(draft, head)
        try:
            commit = services.draft_commit(draft=self.real(draft), title="c")
        except errors.Conflict:
            assert may_conflict
            return
        self.drafts.remove(draft)
        self.heads[draft.branch] = commit.id
        self.states[commit.id] = expected
        assert listing(self.dataset, commit.id) == expected
        assert commit.entry_count == len(expected.entries)
        assert commit.total_size == sum(e.size for e in expected.entries.values())


@pytest.mark.parametrize("narrow_nodes", [False, True], ids=["wide-nodes", "narrow-nodes"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=initial_files, operations=st.lists(operation, min_size=5, max_size=60))
def test_random_operations_match_the_model_at_every_commit(
    user: User, narrow_nodes: bool, files: list[tuple[str, str, str]], operations: list[tuple]
) -> None:
    with small_trees(narrow_nodes=narrow_nodes):
        run = Run(new_dataset(user), files)
        for op in operations:
            run.step(op)
        for draft in run.drafts:
            assert listing(run.dataset, draft.number) == draft.view
        # History stays as it was committed, however many commits came after.
        for commit_id, state in run.states.items():
            assert listing(run.dataset, commit_id) == state


@pytest.mark.parametrize("narrow_nodes", [False, True], ids=["wide-nodes", "narrow-nodes"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=initial_files, operations=st.lists(operation, min_size=5, max_size=60), data=st.data())
def test_diff_equals_the_set_difference_of_listings(
    user: User, narrow_nodes: bool, files: list[tuple[str, str, str]], operations: list[tuple], data: st.DataObject
) -> None:
    with small_trees(narrow_nodes=narrow_nodes):
        run = Run(new_dataset(user), files)
        for op in operations:
            run.step(op)
        commit_ids = sorted(run.states)
        old_id = data.draw(st.sampled_from(commit_ids))
        new_id = data.draw(st.sampled_from(commit_ids))
        pairs = [(old_id, new_id, run.states[new_id])]
        pairs += [(draft.base_id, draft.number, draft.view) for draft in run.drafts]
        for base_id, head_ref, head_state in pairs:
            base_state = run.states[base_id]
            base = selectors.revision_resolve(dataset=run.dataset, revision=base_id)
            head = selectors.revision_resolve(dataset=run.dataset, revision=head_ref)
            diff = selectors.diff_entries(base=base, head=head, limit=BIG)
            expected = sorted(changed(base_state, head_state)[0])
            assert [c.path for c in diff.items] == expected
            assert diff.total == len(expected)
            for change in diff.items:
                assert change.old == base_state.entries.get(change.path)
                assert change.new == head_state.entries.get(change.path)


@pytest.mark.parametrize("narrow_nodes", [False, True], ids=["wide-nodes", "narrow-nodes"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=initial_files, operations=st.lists(operation, min_size=5, max_size=60), data=st.data())
def test_pages_are_slices_of_the_full_listing(
    user: User, narrow_nodes: bool, files: list[tuple[str, str, str]], operations: list[tuple], data: st.DataObject
) -> None:
    with small_trees(narrow_nodes=narrow_nodes):
        run = Run(new_dataset(user), files)
        for op in operations:
            run.step(op)
        views = [(commit_id, state) for commit_id, state in run.states.items()]
        views += [(draft.number, draft.view) for draft in run.drafts]
        revision_ref, state = data.draw(st.sampled_from(views))
        revision = selectors.revision_resolve(dataset=run.dataset, revision=revision_ref)
        for segment in sorted(state.segments):
            expected = sorted(p for p in state.entries if p.startswith(segment + "/"))
            offset = data.draw(st.integers(0, len(expected) + 1))
            limit = data.draw(st.integers(0, 5))
            page = selectors.entry_list(revision=revision, segment=segment, offset=offset, limit=limit)
            assert [e.path for e in page.items] == expected[offset : offset + limit]
            assert page.total == len(expected)


@pytest.mark.parametrize("narrow_nodes", [False, True], ids=["wide-nodes", "narrow-nodes"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=initial_files, operations=st.lists(operation, min_size=5, max_size=60))
def test_equal_contents_give_equal_trees_whatever_the_history(
    user: User, narrow_nodes: bool, files: list[tuple[str, str, str]], operations: list[tuple]
) -> None:
    with small_trees(narrow_nodes=narrow_nodes):
        run = Run(new_dataset(user), files)
        for op in operations:
            run.step(op)
        for branch, head_id in run.heads.items():
            if head_id == ROOT_COMMIT_ID:
                continue
            state = run.states[head_id]
            rebuilt = services.commit_import(
                dataset=new_dataset(user),
                entries=reversed(list(state.entries.values())),
                segment_descriptions=state.segments,
                title=f"rebuild {branch}",
            )
            assert rebuilt.tree_id == selectors.commit_get(dataset=run.dataset, commit_id=head_id).tree_id
