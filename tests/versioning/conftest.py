"""Fixtures for the versioning tests: a user, a dataset, and a short way to build entries."""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from datasets.models import Dataset, User
from versioning import trees
from versioning.trees import Entry


@pytest.fixture
def user(db: None) -> User:
    return User.objects.create(username="ada")


@pytest.fixture
def dataset(user: User) -> Dataset:
    return Dataset.objects.create(workspace=user.owned_workspaces.get(), name="cats", creator=user)


def make_entry(segment: str, remote_path: str, content: str = "", label: dict | None = None) -> Entry:
    """An entry whose object key and sha1 derive from ``content`` (the path when empty)."""
    body = (content or f"{segment}/{remote_path}").encode()
    sha1 = hashlib.sha1(body).hexdigest()
    return Entry.create(
        segment=segment, remote_path=remote_path, object_key=f"objects/{sha1}", sha1=sha1, size=len(body), label=label
    )


def commit_frames(dataset: Dataset, segment: str, frames: int, sensors: tuple[str, ...] = ("CAM", "LIDAR")) -> None:
    """Commit ``frames`` frames of a fusion dataset, each with one file per sensor, all named alike."""
    from versioning import services
    from versioning.trees import Part

    draft = services.draft_create(dataset=dataset, title="frames")
    services.draft_segment_ensure(draft=draft, name=segment)
    for sensor in sensors:
        services.draft_sensor_put(draft=draft, segment=segment, sensor={"name": sensor, "type": "LIDAR"})
    parts = []
    for index in range(frames):
        frame_id = f"01GZ6T7Y3C{index:016d}"
        for sensor in sensors:
            entry = make_entry(segment, f"{index:03d}.bin", f"{sensor}-{index}")
            parts.append((frame_id, Part(sensor, f"{index:03d}.bin", entry.object_key, entry.sha1, entry.size)))
    services.draft_frame_parts_put(draft=draft, segment=segment, parts=parts)
    services.draft_commit(draft=draft, title="frames")


@contextmanager
def small_trees(*, narrow_nodes: bool = False) -> Iterator[None]:
    """Ranges of about three entries (and, with ``narrow_nodes``, metaranges of about five ranges), so a few
    dozen paths already span many ranges (and metaranges) and every split, merge and reuse path is taken."""
    names = ("MIN_RANGE_SIZE", "CUT_ODDS", "MAX_RANGE_SIZE", "MIN_NODE_SIZE", "NODE_CUT_ODDS", "MAX_NODE_SIZE")
    saved = [getattr(trees, name) for name in names]
    small = [2, 2, 5, *([2, 3, 12] if narrow_nodes else saved[3:])]
    for name, value in zip(names, small, strict=True):
        setattr(trees, name, value)
    try:
        yield
    finally:
        for name, value in zip(names, saved, strict=True):
            setattr(trees, name, value)
