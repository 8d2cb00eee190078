"""Fixtures for the import commands: a dataset, input files, and a way to run a command and read its output.

The moto S3 server is the storage tests' session fixture, imported from there so both share one server.
"""

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings
from django.core.management import call_command
from django.core.management.base import CommandError

from datasets import services
from datasets.models import Dataset, User, Workspace
from tests.storage_configs.conftest import moto_endpoint  # noqa: F401 (a fixture used by name)
from versioning import selectors as versioning_selectors
from versioning.trees import Entry


@dataclass(frozen=True)
class Run:
    """What a command printed and whether it failed (exit status 1)."""

    stdout: str
    stderr: str
    failed: bool


@pytest.fixture(autouse=True)
def storage_settings(settings: LazySettings, tmp_path: Path) -> LazySettings:
    """Filesystem storage under a temporary directory, never in the checkout."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGE_LOCAL_ROOT = tmp_path / "local"
    return settings


@pytest.fixture
def dataset(user: User, workspace: Workspace) -> Dataset:
    """Alice's empty dataset ``alice/cats``."""
    return services.dataset_create(workspace=workspace, creator=user, name="cats")


def run_command(name: str, *args: str) -> Run:
    """Run a management command in-process, capturing its output; a ``CommandError`` means it failed."""
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        call_command(name, *args, stdout=stdout, stderr=stderr)
    except CommandError as error:
        stderr.write(str(error))
        return Run(stdout.getvalue(), stderr.getvalue(), failed=True)
    return Run(stdout.getvalue(), stderr.getvalue(), failed=False)


def sha1_of(text: str) -> str:
    """A well-formed SHA-1 for test entries."""
    return hashlib.sha1(text.encode()).hexdigest()


def entry_row(number: int, segment: str = "train", **overrides: Any) -> dict[str, Any]:
    """An import_files record for ``segment/img-NNNNNN.jpg``."""
    row = {
        "path": f"{segment}/img-{number:06d}.jpg",
        "object": f"objects/{number:06d}",
        "size": number + 1,
        "sha1": sha1_of(str(number)),
    }
    row.update(overrides)
    return row


def write_jsonl(path: Path, rows: Iterable[dict[str, Any] | str]) -> Path:
    """Write records (or raw lines given as strings) as JSON Lines."""
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n")
    return path


def write_csv(path: Path, header: list[str], rows: Iterable[list[Any]]) -> Path:
    """Write a CSV file with a header."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def branch_entries(dataset: Dataset, branch: str = "main") -> list[Entry]:
    """Every entry at the head of the branch."""
    revision = versioning_selectors.revision_resolve(dataset=dataset, revision=branch)
    return versioning_selectors.entry_list(revision=revision, limit=100_000).items


@pytest.fixture
def make_file(tmp_path: Path) -> Callable[[str, bytes], Path]:
    """Write bytes under the local storage root and return the path."""

    def make(key: str, content: bytes) -> Path:
        path = tmp_path / "local" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path

    return make
