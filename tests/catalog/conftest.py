"""Datasets with real content for the catalog's pages: street scenes over two commits, a private and a hidden one."""

from pathlib import Path

import pytest
from django.conf import LazySettings

from datasets import demo_content, services
from datasets.models import Dataset, User, Workspace
from datasets.services import FileContent
from tests.datasets.admin.conftest import curator, curator_client  # noqa: F401  (the admin's curator)
from versioning.models import Commit


@pytest.fixture(autouse=True)
def media(settings: LazySettings, tmp_path: Path) -> Path:
    """Objects of each test in a directory of its own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def street_files(seeds: range, segment: str = "day") -> list[FileContent]:
    return [FileContent(segment, f.remote_path, f.content, f.label) for f in demo_content.street_files(seeds)]


@pytest.fixture
def team(user: User) -> Workspace:
    return services.workspace_get_or_create(name="vision-team", owner=user)


@pytest.fixture
def streets(team: Workspace, user: User) -> Dataset:
    """A public dataset: three labelled street scenes and a CSV, then a commit that redraws one, removes one,
    and adds a README."""
    dataset = services.dataset_create(
        workspace=team,
        creator=user,
        name="streets",
        title="Street scenes",
        description="Cars and signs, drawn.",
        licence="CC BY 4.0",
        is_public=True,
        tags={"task": ["detection"], "scene": ["street"]},
    )
    csv = FileContent("docs", "boxes.csv", b"file,category\nstreet-000.png,car\nstreet-001.png,car\n")
    services.dataset_contents_commit(
        dataset=dataset, committer=user, title="First photos", files=[*street_files(range(3)), csv]
    )
    redrawn, label = demo_content.street_scene(99, cars=3)
    services.dataset_contents_commit(
        dataset=dataset,
        committer=user,
        title="Redraw street-001",
        files=[FileContent("day", "street-001.png", redrawn, label), FileContent("docs", "README.txt", b"hello\n")],
        deletes=[("day", "street-002.png")],
    )
    return dataset


@pytest.fixture
def commits(streets: Dataset) -> list[Commit]:
    """The two commits of ``streets``, oldest first."""
    return list(Commit.objects.filter(dataset=streets).order_by("depth"))


@pytest.fixture
def private(team: Workspace, user: User) -> Dataset:
    dataset = services.dataset_create(workspace=team, creator=user, name="private-streets", title="Private streets")
    services.dataset_contents_commit(dataset=dataset, committer=user, title="Secret", files=street_files(range(1)))
    return dataset


@pytest.fixture
def hidden(team: Workspace, user: User) -> Dataset:
    dataset = services.dataset_create(
        workspace=team, creator=user, name="hidden-streets", title="Hidden streets", is_public=True
    )
    services.dataset_contents_commit(dataset=dataset, committer=user, title="Faces", files=street_files(range(1)))
    services.dataset_moderate(dataset=dataset, actor=None, flag="hidden", value=True, reason="faces")
    return dataset
