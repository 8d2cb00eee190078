"""Prepared queries: the queryset's own statement and results, compiled once per connection."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from datasets.models import Dataset, User, Workspace
from project.prepared import PreparedQuery, first_row, get_rows
from tests.factories import UserFactory

BY_USERNAME: PreparedQuery[User] = PreparedQuery(
    lambda username: first_row(User.objects.filter(username=username, is_active=True)), username="<username>"
)
WORKSPACES: PreparedQuery[Workspace] = PreparedQuery(
    lambda owner_id: Workspace.objects.select_related("owner").filter(owner_id=owner_id).order_by("name"),
    owner_id=-1,
)
NAMES: PreparedQuery[Dataset] = PreparedQuery(
    lambda dataset_uuid: Dataset.objects.filter(uuid=dataset_uuid).values("name"), dataset_uuid=uuid.UUID(int=0)
)


def test_it_runs_the_statement_the_queryset_runs(user: User, other_user: User) -> None:
    with CaptureQueriesContext(connection) as expected:
        assert User.objects.filter(username="bob", is_active=True).first() == other_user
    with CaptureQueriesContext(connection) as prepared:
        assert BY_USERNAME.first(username="bob") == other_user
    assert [query["sql"] for query in prepared.captured_queries] == [
        query["sql"] for query in expected.captured_queries
    ]


def test_it_finds_nothing_as_first_does(db: None) -> None:
    assert BY_USERNAME.first(username="nobody") is None


def test_it_loads_related_rows_as_select_related_does(user: User) -> None:
    UserFactory(username="carol")
    workspaces = list(WORKSPACES.iterate(owner_id=user.pk))
    assert workspaces == list(Workspace.objects.filter(owner=user).order_by("name"))
    with CaptureQueriesContext(connection) as queries:
        assert workspaces[0].owner.username == "alice"
    assert queries.captured_queries == []


def test_it_yields_values_dicts(workspace: Workspace, user: User) -> None:
    dataset = Dataset.objects.create(workspace=workspace, creator=user, name="cats")
    assert list(NAMES.iterate(dataset_uuid=dataset.uuid)) == [{"name": "cats"}]


def test_a_sample_the_statement_does_not_hold_is_refused(db: None) -> None:
    broken: PreparedQuery[User] = PreparedQuery(lambda username: User.objects.filter(pk=1), username="<username>")
    with pytest.raises(ValueError, match="username"):
        broken.first(username="alice")


USERS_BY_ID: PreparedQuery[User] = PreparedQuery(
    lambda ids: User.objects.filter(pk__in=ids).order_by("pk").values_list("username"), ids=[-1]
)


def test_a_list_value_is_run_as_its_in_lookup_whatever_its_length(user: User, other_user: User) -> None:
    assert list(USERS_BY_ID.iterate(ids=[other_user.pk])) == [("bob",)]
    assert list(USERS_BY_ID.iterate(ids=[other_user.pk, user.pk, user.pk, None])) == [("alice",), ("bob",)]


def test_an_empty_list_runs_no_statement_as_the_in_lookup_does(db: None) -> None:
    with CaptureQueriesContext(connection) as queries:
        assert list(USERS_BY_ID.iterate(ids=[])) == []
    assert queries.captured_queries == []


USER_BY_USERNAME: PreparedQuery[User] = PreparedQuery(
    lambda username: get_rows(User.objects.filter(username=username).values_list("pk")), username="<username>"
)


def test_get_runs_the_statement_get_runs(user: User) -> None:
    with CaptureQueriesContext(connection) as expected:
        assert User.objects.values_list("pk").get(username="alice") == (user.pk,)
    with CaptureQueriesContext(connection) as prepared:
        assert USER_BY_USERNAME.get(username="alice") == (user.pk,)
    assert [query["sql"] for query in prepared.captured_queries] == [
        query["sql"] for query in expected.captured_queries
    ]


def test_get_of_nothing_raises_does_not_exist_as_get_does(db: None) -> None:
    with pytest.raises(User.DoesNotExist, match=r"^User matching query does not exist\.$"):
        USER_BY_USERNAME.get(username="nobody")


def test_instances_hold_what_the_querysets_instances_hold(user: User, workspace: Workspace) -> None:
    Dataset.objects.create(workspace=workspace, creator=user, name="cats")
    by_name: PreparedQuery[Dataset] = PreparedQuery(
        lambda name: Dataset.objects.select_related("workspace__owner", "creator", "licence").filter(name=name),
        name="<name>",
    )
    [prepared] = by_name.iterate(name="cats")
    [expected] = Dataset.objects.select_related("workspace__owner", "creator", "licence").filter(name="cats")

    def state(instance: object) -> dict:
        held = {name: value for name, value in vars(instance).items() if name != "_state"}
        return {**held, "_state": (instance._state.adding, instance._state.db)}  # type: ignore[attr-defined]

    assert state(prepared) == state(expected)
    assert state(prepared.workspace) == state(expected.workspace)
    assert state(prepared.workspace.owner) == state(expected.workspace.owner)
    assert prepared.licence is expected.licence is None
    assert prepared._state.fields_cache.keys() == expected._state.fields_cache.keys()
