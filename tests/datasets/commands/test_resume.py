"""An import killed mid-way leaves nothing behind, and running it again gives exactly one clean run's result.

The import runs as a real ``manage.py import_files`` process on the test database and gets SIGKILL once its
progress lines show it is well into the file, while its transaction is open (in draft mode it has already
staged thousands of rows by then).
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from datasets import services
from datasets.models import Dataset, User, Workspace
from tests.acceptance.conftest import ROOT, server_database_url
from tests.datasets.commands.conftest import entry_row, run_command, write_jsonl
from versioning import selectors as versioning_selectors
from versioning.models import Commit, Draft, StagedEntry

LINES = 20_000
KILL_AFTER = 10_000


def start_import(*args: str) -> subprocess.Popen[str]:
    """``manage.py import_files`` in a child process on the test database, progress every 1,000 lines."""
    env = {**os.environ, "DATABASE_URL": server_database_url()}
    env.pop("DB_ENGINE", None)
    return subprocess.Popen(
        [sys.executable, "manage.py", "import_files", *args, "--progress-every", "1000"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_mid_way(process: subprocess.Popen[str]) -> None:
    """Kill the import with SIGKILL once it reports having read KILL_AFTER lines; fail if it ended first."""
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith(f"import_files: {KILL_AFTER} lines read"):
            break
    assert process.poll() is None, "the import ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL


@pytest.fixture
def big_source(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "big.jsonl", (entry_row(n) for n in reversed(range(LINES))))


@pytest.fixture
def datasets_to_compare(user: User, workspace: Workspace) -> tuple[Dataset, Dataset]:
    """``alice/cats`` for the killed and resumed import, ``alice/clean`` for one clean run."""
    return (
        services.dataset_create(workspace=workspace, creator=user, name="cats"),
        services.dataset_create(workspace=workspace, creator=user, name="clean"),
    )


@pytest.mark.django_db(transaction=True)
def test_a_killed_commit_import_leaves_nothing_and_a_rerun_equals_one_clean_run(
    datasets_to_compare: tuple[Dataset, Dataset], big_source: Path
) -> None:
    cats, clean = datasets_to_compare

    kill_mid_way(start_import("alice/cats", str(big_source)))

    assert not Commit.objects.filter(dataset=cats).exists()
    resumed = run_command("import_files", "alice/cats", str(big_source))
    assert f"created {LINES}, updated 0, skipped 0, failed 0" in resumed.stdout
    run_command("import_files", "alice/clean", str(big_source))
    resumed_head = versioning_selectors.branch_get(dataset=cats, name="main").head
    clean_head = versioning_selectors.branch_get(dataset=clean, name="main").head
    assert Commit.objects.filter(dataset=cats).count() == 1
    assert resumed_head is not None and clean_head is not None
    assert (resumed_head.tree_id, resumed_head.entry_count) == (clean_head.tree_id, LINES)


@pytest.mark.django_db(transaction=True)
def test_a_killed_draft_import_leaves_no_draft_and_a_rerun_stages_everything_once(
    datasets_to_compare: tuple[Dataset, Dataset], big_source: Path
) -> None:
    cats, _ = datasets_to_compare

    kill_mid_way(start_import("alice/cats", str(big_source), "--draft"))

    assert not Draft.objects.filter(dataset=cats).exists()
    assert not StagedEntry.objects.exists()
    first = run_command("import_files", "alice/cats", str(big_source), "--draft")
    again = run_command("import_files", "alice/cats", str(big_source), "--draft")
    assert f"created {LINES}, updated 0, skipped 0, failed 0" in first.stdout
    assert "already staged in draft 1" in again.stdout
    draft = Draft.objects.get(dataset=cats)
    assert StagedEntry.objects.filter(draft=draft).count() == LINES
