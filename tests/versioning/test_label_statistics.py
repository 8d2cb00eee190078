"""Label statistics kept with the tree equal a naive count over every label, at every draft and commit."""

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasets.models import Dataset, User
from tests.versioning.conftest import make_entry
from tests.versioning.label_counts import naive_statistics
from versioning import selectors, services, trees

pytestmark = pytest.mark.django_db

SEGMENTS = ["a", "a-b", "b"]
NAMES = [str(n) for n in range(5)]
COLORS = ["red", "green", "blue"]
CATALOGS = [
    {
        "BOX2D": {
            "categories": [{"name": "cat"}, {"name": "dog"}],
            "attributes": [
                {"name": "color", "enum": COLORS},
                {"name": "occluded", "type": "boolean"},
                {"name": "size", "type": "integer"},
            ],
        },
        "CLASSIFICATION": {"categories": [{"name": "cat"}]},
        "SEMANTIC_MASK": {},
    },
    # The same types, but ``color`` is no longer enumerable and ``size`` is: counts must be made again.
    {
        "BOX2D": {
            "attributes": [{"name": "color", "type": "string"}, {"name": "size", "type": "integer", "enum": [1, 2, 3]}]
        },
        "CLASSIFICATION": {},
        "SEMANTIC_MASK": {},
    },
]

_datasets = count()

box = st.fixed_dictionaries(
    {"xmin": st.just(0)},
    optional={
        "category": st.sampled_from(["cat", "dog"]),
        "attributes": st.fixed_dictionaries(
            {},
            optional={
                "color": st.sampled_from(COLORS),
                "occluded": st.booleans(),
                "size": st.integers(1, 3),
            },
        ),
    },
)
label = st.fixed_dictionaries(
    {},
    optional={
        "BOX2D": st.lists(box, max_size=3),
        "CLASSIFICATION": st.fixed_dictionaries({}, optional={"category": st.just("cat")}),
        "SEMANTIC_MASK": st.just({"remotePath": "m.png", "checksum": "0" * 40, "fileSize": 1, "objectKey": "k"}),
    },
)
put = st.tuples(st.just("put"), st.sampled_from(SEGMENTS), st.sampled_from(NAMES), label)
delete = st.tuples(st.just("delete"), st.sampled_from(SEGMENTS), st.sampled_from(NAMES), st.none())
drop_segment = st.tuples(st.just("drop"), st.sampled_from(SEGMENTS), st.none(), st.none())
catalog = st.tuples(st.just("catalog"), st.integers(0, len(CATALOGS) - 1), st.none(), st.none())
commit = st.tuples(st.just("commit"), st.none(), st.none(), st.none())
operation = st.one_of(put, put, put, delete, drop_segment, catalog, commit, commit)


@contextmanager
def tiny_ranges() -> Iterator[None]:
    saved = trees.MIN_RANGE_SIZE, trees.CUT_ODDS, trees.MAX_RANGE_SIZE
    trees.MIN_RANGE_SIZE, trees.CUT_ODDS, trees.MAX_RANGE_SIZE = 2, 2, 5
    try:
        yield
    finally:
        trees.MIN_RANGE_SIZE, trees.CUT_ODDS, trees.MAX_RANGE_SIZE = saved


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=3, max_size=40))
def test_statistics_equal_a_naive_count_at_every_draft_and_commit(user: User, operations: list[tuple]) -> None:
    dataset = Dataset.objects.create(workspace=user.owned_workspaces.get(), name=f"d{next(_datasets)}", creator=user)
    state: dict[str, dict] = {}
    current = 0
    with tiny_ranges():
        draft = services.draft_create(dataset=dataset, title="t")
        services.draft_metadata_set(draft=draft, catalog=CATALOGS[current])
        for action, first, name, value in [*operations, ("commit", None, None, None)]:
            if action == "put":
                services.draft_stage_upserts(draft=draft, entries=[make_entry(first, name, label=value or None)])
                state[f"{first}/{name}"] = value
            elif action == "delete" and f"{first}/{name}" in state:
                services.draft_stage_deletes(draft=draft, segment=first, remote_paths=[name])
                del state[f"{first}/{name}"]
            elif action == "drop" and any(path.startswith(f"{first}/") for path in state):
                services.draft_segment_delete(draft=draft, name=first)
                state = {path: v for path, v in state.items() if not path.startswith(f"{first}/")}
            elif action == "catalog":
                current = first
                services.draft_metadata_set(draft=draft, catalog=CATALOGS[current])
            expected = naive_statistics([v for v in state.values() if v], CATALOGS[current])
            at_draft = selectors.revision_resolve(dataset=dataset, revision=draft.number)
            assert selectors.label_statistics(revision=at_draft) == expected
            if action == "commit":
                done = services.draft_commit(draft=draft, title="c")
                at_commit = selectors.revision_resolve(dataset=dataset, revision=done.id)
                assert selectors.label_statistics(revision=at_commit) == expected
                draft = services.draft_create(dataset=dataset, title="t")


def test_a_tree_built_without_statistics_is_counted_when_read(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    dataset = Dataset.objects.create(workspace=user.owned_workspaces.get(), name="unkept", creator=user)
    draft = services.draft_create(dataset=dataset, title="t")
    services.draft_metadata_set(draft=draft, catalog=CATALOGS[0])
    label = {"BOX2D": [{"category": "cat", "attributes": {"color": "red"}}]}
    services.draft_stage_upserts(draft=draft, entries=[make_entry("a", "1", label=label)])
    with monkeypatch.context() as patched:
        patched.setattr(services, "_statistics_after", lambda *args: {})
        done = services.draft_commit(draft=draft, title="c")
    at_commit = selectors.revision_resolve(dataset=dataset, revision=done.id)
    assert selectors.label_statistics(revision=at_commit) == naive_statistics([label], CATALOGS[0])
    following = services.draft_create(dataset=dataset, title="t")
    services.draft_stage_upserts(draft=following, entries=[make_entry("b", "1")])
    again = services.draft_commit(draft=following, title="c")
    at_next = selectors.revision_resolve(dataset=dataset, revision=again.id)
    assert selectors.label_statistics(revision=at_next) == naive_statistics([label], CATALOGS[0])
