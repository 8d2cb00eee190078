"""People and datasets for the admin tests: a superuser, a curator, and a small catalog to curate."""

import hashlib

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from datasets import services
from datasets.models import Dataset, Licence, User, Workspace
from tests.factories import UserFactory
from versioning import services as versioning_services
from versioning.trees import Entry


def make_entries(count: int, segment: str = "images") -> list[Entry]:
    """``count`` small entries in one segment, each with its own content."""
    entries = []
    for n in range(count):
        body = f"{segment}/{n}".encode()
        sha1 = hashlib.sha1(body).hexdigest()
        entries.append(
            Entry.create(
                segment=segment, remote_path=f"{n:06d}.jpg", object_key=f"objects/{sha1}", sha1=sha1, size=len(body)
            )
        )
    return entries


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser(username="root", email="root@example.com", password="root-password-1")


@pytest.fixture
def admin_client(superuser: User) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def curator(db: None) -> User:
    """A staff user whose only rights come from the ``curator`` group the migrations create."""
    curator = UserFactory(username="carol", is_staff=True)
    curator.groups.add(Group.objects.get(name="curator"))
    return curator


@pytest.fixture
def curator_client(curator: User) -> Client:
    client = Client()
    client.force_login(curator)
    return client


@pytest.fixture
def team(user: User, other_user: User) -> Workspace:
    """A team workspace alice owns and bob writes in."""
    team = services.workspace_get_or_create(name="vision-team", owner=user)
    services.membership_set(workspace=team, user=other_user, role="writer")
    return team


@pytest.fixture
def dataset(user: User, team: Workspace) -> Dataset:
    """A public dataset with a licence, a tag and three files on its default branch."""
    dataset = services.dataset_create(
        workspace=team,
        creator=user,
        name="street-cats",
        title="Street cats",
        description="Cats photographed in the street",
        licence="CC-BY-4.0",
        is_public=True,
        tags={"数据类型": ["图片"]},
    )
    versioning_services.commit_import(dataset=dataset, entries=make_entries(3), title="First photos", committer=user)
    return dataset


@pytest.fixture
def other_dataset(other_user: User) -> Dataset:
    """A private text dataset in bob's personal workspace, without files."""
    return services.dataset_create(
        workspace=services.personal_workspace(user=other_user),
        creator=other_user,
        name="poems",
        title="Poems",
        description="Short verse",
        data_type=Dataset.DataType.TEXT,
    )


@pytest.fixture
def licence(db: None) -> Licence:
    return Licence.objects.create(name="MIT")
