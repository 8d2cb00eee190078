"""The catalog model: personal workspaces, unique names, cascades, counters, the demo catalog."""

import pytest
from django.core.management import call_command
from django.db import DataError, IntegrityError

from datasets import services
from datasets.models import Dataset, DatasetFile, Membership, User, Workspace
from project import errors
from tests.factories import DatasetFactory, UserFactory


@pytest.mark.django_db
def test_every_user_gets_a_personal_workspace_named_after_them() -> None:
    user = User.objects.create_user(username="frank", password="x")
    workspace = Workspace.objects.get(owner=user, kind=Workspace.Kind.USER)
    assert workspace.name == "frank"
    assert Membership.objects.get(workspace=workspace, user=user).role == Membership.Role.OWNER


@pytest.mark.django_db
def test_superusers_get_a_personal_workspace_too() -> None:
    admin = User.objects.create_superuser(username="root", password="x")
    assert services.personal_workspace(user=admin).name == "root"


@pytest.mark.django_db
def test_a_username_taken_by_a_team_workspace_is_refused() -> None:
    owner = UserFactory(username="owner")
    services.workspace_get_or_create(name="vision", owner=owner)
    with pytest.raises(errors.Conflict):
        UserFactory(username="vision")


def test_dataset_name_is_unique_per_workspace(user: User, workspace: Workspace) -> None:
    services.dataset_create(workspace=workspace, creator=user, name="cats")
    with pytest.raises(errors.Conflict):
        services.dataset_create(workspace=workspace, creator=user, name="cats")


def test_same_dataset_name_in_two_workspaces_is_fine(user: User, other_user: User) -> None:
    for owner in (user, other_user):
        services.dataset_create(workspace=services.personal_workspace(user=owner), creator=owner, name="cats")
    assert Dataset.objects.filter(name="cats").count() == 2


@pytest.mark.parametrize("name", ["", "   ", "a/b", "x" * 256])
def test_bad_dataset_names_are_invalid(user: User, workspace: Workspace, name: str) -> None:
    with pytest.raises(errors.Invalid):
        services.dataset_create(workspace=workspace, creator=user, name=name)


def test_tags_are_stored_by_category(user: User, workspace: Workspace) -> None:
    dataset = services.dataset_create(
        workspace=workspace, creator=user, name="roads", tags={"数据类型": ["图片", "视频"], "应用场景": ["自动驾驶"]}
    )
    assert sorted((tag.category.name, tag.name) for tag in dataset.tags.all()) == [
        ("应用场景", "自动驾驶"),
        ("数据类型", "图片"),
        ("数据类型", "视频"),
    ]


def test_dataset_ids_serve_every_dialect(user: User, workspace: Workspace) -> None:
    dataset = services.dataset_create(workspace=workspace, creator=user, name="ids")
    assert isinstance(dataset.pk, int)
    assert len(dataset.hex_id) == 32 and str(dataset.uuid).replace("-", "") == dataset.hex_id


def test_counters_cannot_go_below_zero(user: User) -> None:
    dataset = DatasetFactory(creator=user)
    # SQLite enforces the check constraint; MariaDB's unsigned column refuses the value first.
    with pytest.raises((IntegrityError, DataError)):
        Dataset.objects.filter(pk=dataset.pk).update(total_votes=-1)


def test_deleting_a_dataset_deletes_its_files_and_a_parent_its_children(user: User) -> None:
    dataset = DatasetFactory(creator=user)
    parent = DatasetFile.objects.create(user=user, name="model.bin", oss_object="m/model.bin", size=3, dataset=None)
    child = DatasetFile.objects.create(user=user, name="w.bin", oss_object="m/w.bin", size=1, parent=parent)
    attached = DatasetFile.objects.create(user=user, name="a.csv", oss_object="d/a.csv", size=2, dataset=dataset)
    dataset.delete()
    assert not DatasetFile.objects.filter(pk=attached.pk).exists()
    parent.delete()
    assert not DatasetFile.objects.filter(pk=child.pk).exists()


@pytest.mark.django_db
def test_seed_demo_can_run_twice_without_duplicates() -> None:
    call_command("seed_demo")
    first = list(Dataset.objects.values_list("name", flat=True).order_by("name"))
    call_command("seed_demo")
    assert list(Dataset.objects.values_list("name", flat=True).order_by("name")) == first
    assert len(first) == 3
    assert Dataset.objects.filter(is_public=True).count() == 3
