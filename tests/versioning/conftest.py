"""Fixtures for the versioning tests: a user, a dataset, and a short way to build entries."""

import hashlib

import pytest

from datasets.models import Dataset, User
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
