"""Datasets with real content for the catalog's pages: street scenes over two commits, a private and a hidden one."""

from pathlib import Path

import pytest
from django.conf import LazySettings

from datasets import demo_content, services
from datasets.models import Dataset, User, Workspace
from datasets.services import FileContent, SheetFile
from tests.datasets.admin.conftest import curator, curator_client  # noqa: F401  (the admin's curator)
from versioning import sheets
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


SEGMENT = "drive"


def frame_files(indices: range, *, seed: int | None = None, sensor: str | None = None) -> list[FileContent]:
    """Both cameras' files (or one's) of the demo's stereo frames, as files of ``SEGMENT``."""
    return [
        FileContent(
            SEGMENT, f.remote_path, f.content, f.label, frame_id=f.frame_id, sensor_name=f.sensor, timestamp=f.timestamp
        )
        for index in indices
        for f in demo_content.stereo_frame(index, seed=seed)
        if sensor is None or f.sensor == sensor
    ]


def stereo_dataset(team: Workspace, user: User, *, frames: int = 3, name: str = "stereo") -> Dataset:
    """A public fusion dataset: ``frames`` frames from two cameras, then a commit that adds a frame and redraws
    the right camera's image of frame 1."""
    dataset = services.dataset_create(
        workspace=team, creator=user, name=name, title="Stereo", is_public=True, kind=Dataset.Kind.FUSION
    )
    services.dataset_contents_commit(
        dataset=dataset,
        committer=user,
        title="Frames",
        files=frame_files(range(frames)),
        sensors={SEGMENT: demo_content.STEREO_SENSORS},
    )
    services.dataset_contents_commit(
        dataset=dataset,
        committer=user,
        title="Another frame, a redrawn camera",
        files=frame_files(range(frames, frames + 1)) + frame_files(range(1, 2), seed=40, sensor="cam-right"),
    )
    return dataset


@pytest.fixture
def stereo(team: Workspace, user: User) -> Dataset:
    return stereo_dataset(team, user)


def crops_dataset(team: Workspace, user: User, *, rows: int = 3, name: str = "crops") -> Dataset:
    """A public dataset with the demo's sheet of cars: ``rows`` rows, each with its own image."""
    dataset = services.dataset_create(workspace=team, creator=user, name=name, title="Crops", is_public=True)
    services.dataset_sheet_commit(
        dataset=dataset,
        committer=user,
        title="Cars",
        sheet="cars",
        schema=sheets.schema_texts(portex=demo_content.CAR_SHEET_PORTEX, avro=demo_content.CAR_SHEET_AVRO),
        rows=[
            {
                "id": index,
                "colour": "red",
                "doors": 4,
                "tags": ["parked", str(index)],
                "image": SheetFile(demo_content.car_crop(index) + str(index).encode(), ".png", {"width": 96}),
            }
            for index in range(rows)
        ],
    )
    return dataset


@pytest.fixture
def crops(team: Workspace, user: User) -> Dataset:
    return crops_dataset(team, user)
