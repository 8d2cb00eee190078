"""``import_files``: entries from JSON Lines or CSV as one commit (or one draft), all or nothing, repeatable."""

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command

from datasets.models import Dataset, Workspace
from storage_configs.services import storage_config_create
from tests.datasets.commands.conftest import branch_entries, entry_row, run_command, write_csv, write_jsonl
from versioning import selectors as versioning_selectors
from versioning import services as versioning_services
from versioning import sheets
from versioning.models import Commit, Draft, StagedEntry
from versioning.trees import Entry

pytestmark = pytest.mark.django_db


def entry_of(row: dict) -> Entry:
    segment, _, remote_path = row["path"].partition("/")
    return Entry.create(
        segment=segment,
        remote_path=remote_path,
        object_key=row["object"],
        sha1=row["sha1"],
        size=row["size"],
        label=row.get("label"),
    )


def test_it_commits_entries_from_json_lines(dataset: Dataset, tmp_path: Path) -> None:
    rows = [entry_row(n) for n in range(3)] + [entry_row(9, segment="", label={"class": "cat"})]
    source = write_jsonl(tmp_path / "files.jsonl", rows)

    run = run_command("import_files", "alice/cats", str(source), "--message", "First import")

    assert not run.failed, run.stderr
    assert "created 4, updated 0, skipped 0, failed 0" in run.stdout
    commit = Commit.objects.get(dataset=dataset)
    assert commit.title == "First import"
    assert branch_entries(dataset) == sorted(entry_of(row) for row in rows)


def test_it_commits_entries_from_csv_with_json_labels(dataset: Dataset, tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "files.csv",
        ["path", "object", "size", "sha1", "label"],
        [
            ["train/a.jpg", "objects/a", "10", "a" * 40, '{"box": [1, 2, 3, 4]}'],
            ["train/b.jpg", "objects/b", "20", "B" * 40, ""],
        ],
    )

    run = run_command("import_files", "alice/cats", str(source))

    assert not run.failed, run.stderr
    assert branch_entries(dataset) == [
        Entry("train/a.jpg", "objects/a", "a" * 40, 10, {"box": [1, 2, 3, 4]}),
        Entry("train/b.jpg", "objects/b", "b" * 40, 20),
    ]


def test_it_commits_on_the_named_branch(dataset: Dataset, tmp_path: Path) -> None:
    run_command("import_files", "alice/cats", str(write_jsonl(tmp_path / "a.jsonl", [entry_row(1)])))
    versioning_services.branch_create(dataset=dataset, name="dev", revision="main")
    source = write_jsonl(tmp_path / "b.jsonl", [entry_row(2)])

    run = run_command("import_files", "alice/cats", str(source), "--branch", "dev")

    assert not run.failed, run.stderr
    assert len(branch_entries(dataset, "dev")) == 2
    assert len(branch_entries(dataset, "main")) == 1


def test_an_unknown_branch_or_dataset_fails_without_changes(dataset: Dataset, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "files.jsonl", [entry_row(1)])

    assert (
        "branch 'nope' does not exist"
        in run_command("import_files", "alice/cats", str(source), "--branch", "nope").stderr
    )
    assert "dataset alice/dogs does not exist" in run_command("import_files", "alice/dogs", str(source)).stderr
    assert not Commit.objects.exists()


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "not valid JSON"),
        ('["a"]', "must be a JSON object"),
        ({"object": "o", "size": 1, "sha1": "a" * 40}, "path is required"),
        ({**entry_row(0), "path": "no-segment-slash"}, "path: must be segment/remotePath"),
        ({**entry_row(0), "path": "train/"}, "path: must be segment/remotePath"),
        ({**entry_row(0), "object": ""}, "object is required"),
        ({**entry_row(0), "object": "../escape"}, "object: must not contain . or .. segments"),
        ({**entry_row(0), "size": -1}, "size: must be a non-negative integer"),
        ({**entry_row(0), "size": "big"}, "size: must be a non-negative integer"),
        ({**entry_row(0), "sha1": "xyz"}, "checksum: must be 40 lowercase hex digits"),
        ({**entry_row(0), "label": [1]}, "label: must be a JSON object"),
        ({**entry_row(0), "label": "{oops"}, "label: must be a JSON object"),
    ],
)
def test_a_bad_line_is_reported_and_the_others_are_committed(
    dataset: Dataset, tmp_path: Path, line: dict | str, reason: str
) -> None:
    source = write_jsonl(tmp_path / "files.jsonl", [entry_row(1), line, entry_row(2)])

    run = run_command("import_files", "alice/cats", str(source))

    assert run.failed
    assert f"line 2: {reason}" in run.stderr
    assert "created 2, updated 0, skipped 0, failed 1" in run.stdout
    assert [entry.path for entry in branch_entries(dataset)] == ["train/img-000001.jpg", "train/img-000002.jpg"]


def test_a_csv_line_with_missing_fields_is_reported(dataset: Dataset, tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "files.csv",
        ["path", "object", "size", "sha1"],
        [["train/a.jpg", "o"], ["train/b", "o", "1", "a" * 40]],
    )

    run = run_command("import_files", "alice/cats", str(source))

    assert "line 2: has 2 fields, the header has 4" in run.stderr
    assert [entry.path for entry in branch_entries(dataset)] == ["train/b"]


def test_strict_stops_at_the_first_bad_line_and_commits_nothing(dataset: Dataset, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "files.jsonl", [entry_row(1), "{not json", entry_row(2)])

    run = run_command("import_files", "alice/cats", str(source), "--strict")

    assert run.failed
    assert "line 2: not valid JSON" in run.stderr
    assert not Commit.objects.exists()


def test_dry_run_changes_nothing(dataset: Dataset, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "files.jsonl", [entry_row(n) for n in range(5)])

    run = run_command("import_files", "alice/cats", str(source), "--dry-run")

    assert "created 5, updated 0, skipped 0, failed 0 — dry run, nothing was changed" in run.stdout
    assert not Commit.objects.exists()


def test_running_it_again_makes_no_second_commit(dataset: Dataset, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "files.jsonl", [entry_row(n) for n in range(5)])
    run_command("import_files", "alice/cats", str(source))
    head = versioning_selectors.branch_get(dataset=dataset, name="main").head_id

    run = run_command("import_files", "alice/cats", str(source))

    assert not run.failed
    assert "created 0, updated 0, skipped 5, failed 0 — nothing to commit" in run.stdout
    assert Commit.objects.filter(dataset=dataset).count() == 1
    assert versioning_selectors.branch_get(dataset=dataset, name="main").head_id == head


def test_changed_and_new_entries_are_counted_apart(dataset: Dataset, tmp_path: Path) -> None:
    run_command("import_files", "alice/cats", str(write_jsonl(tmp_path / "a.jsonl", [entry_row(n) for n in range(3)])))
    second = [entry_row(0), entry_row(1, size=999), entry_row(3), entry_row(3)]

    run = run_command("import_files", "alice/cats", str(write_jsonl(tmp_path / "b.jsonl", second)))

    assert "created 1, updated 1, skipped 2, failed 0" in run.stdout
    assert {entry.path: entry.size for entry in branch_entries(dataset)}["train/img-000001.jpg"] == 999


def test_draft_stages_the_entries_in_a_new_draft(dataset: Dataset, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "files.jsonl", [entry_row(n) for n in range(4)])

    run = run_command("import_files", "alice/cats", str(source), "--draft", "--message", "Review me")

    assert not run.failed, run.stderr
    draft = Draft.objects.get(dataset=dataset)
    assert (draft.title, draft.state) == ("Review me", Draft.State.OPEN)
    assert StagedEntry.objects.filter(draft=draft).count() == 4
    assert not Commit.objects.exists()
    assert f"draft {draft.number}" in run.stdout


def test_running_a_draft_import_again_reuses_the_draft(dataset: Dataset, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "files.jsonl", [entry_row(n) for n in range(4)])
    run_command("import_files", "alice/cats", str(source), "--draft")

    run = run_command("import_files", "alice/cats", str(source), "--draft")

    assert "already staged in draft 1" in run.stdout
    assert Draft.objects.filter(dataset=dataset).count() == 1


def test_verify_reports_missing_objects_and_wrong_sizes(
    workspace: Workspace, dataset: Dataset, tmp_path: Path, make_file: Callable[[str, bytes], Path]
) -> None:
    dataset.storage_config = storage_config_create(workspace=workspace, name="lake", kind="local", file_path="lake")
    dataset.save()
    make_file("lake/objects/a", b"12345")
    make_file("lake/objects/b", b"123")
    rows = [
        {"path": "train/a", "object": "objects/a", "size": 5, "sha1": "a" * 40},
        {"path": "train/b", "object": "objects/b", "size": 5, "sha1": "b" * 40},
        {"path": "train/c", "object": "objects/c", "size": 5, "sha1": "c" * 40},
    ]

    run = run_command("import_files", "alice/cats", str(write_jsonl(tmp_path / "f.jsonl", rows)), "--verify")

    assert "line 2: object 'objects/b' has 3 bytes, not 5" in run.stderr
    assert "line 3: object 'objects/c' does not exist" in run.stderr
    assert [entry.path for entry in branch_entries(dataset)] == ["train/a"]


def test_without_a_terminal_progress_is_plain_lines(dataset: Dataset, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "files.jsonl", [entry_row(n) for n in range(10)])

    run = run_command("import_files", "alice/cats", str(source), "--progress-every", "4")

    progress = [line for line in run.stderr.splitlines() if line.startswith("import_files:")]
    assert [line.split(" read")[0] for line in progress] == [
        "import_files: 4 lines",
        "import_files: 8 lines",
        "import_files: 10 lines",
    ]
    assert "\r" not in run.stderr


class Terminal(io.StringIO):
    """Captured output that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_on_a_terminal_progress_is_a_bar_with_rate_and_eta(dataset: Dataset, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "files.jsonl", [entry_row(n) for n in range(10)])
    stderr = Terminal()

    call_command("import_files", "alice/cats", str(source), stdout=io.StringIO(), stderr=stderr)

    bar = stderr.getvalue()
    assert "import_files: 100%" in bar
    assert "B/s]" in bar  # rate in bytes of the file per second, after the elapsed<remaining (ETA) pair
    assert "<00:00" in bar


SHEET_AVRO = '{"type": "record", "name": "root", "fields": [{"name": "id", "type": ["null", "long"]}]}'


def sheet_with_one_row(dataset: Dataset) -> None:
    """Commit a Graviti sheet ``train`` holding one row added as the SDK adds it (key 100000000000000001)."""
    draft = versioning_services.draft_create(dataset=dataset, title="sheet")
    schema = sheets.schema_texts(portex="type: record\n", avro=SHEET_AVRO)
    versioning_services.sheet_create(draft=draft, name="train", schema=schema)
    assert versioning_services.sheet_rows_add(draft=draft, name="train", rows=[{"id": 1}]) == [sheets.record_key(1)]
    versioning_services.draft_commit(draft=draft, title="sheet")


def row_record(number: int) -> dict:
    """An import_files record for the sheet row under the counter's ``number``-th key, with a file."""
    return entry_row(number, path=f"train/{sheets.record_key(number)}", label={"id": number})


@pytest.mark.parametrize("as_draft", [False, True])
def test_imported_rows_move_the_record_key_counter_past_their_keys(
    dataset: Dataset, tmp_path: Path, as_draft: bool
) -> None:
    sheet_with_one_row(dataset)
    source = write_jsonl(tmp_path / "rows.jsonl", [row_record(9), row_record(5)])

    run = run_command("import_files", "alice/cats", str(source), *(["--draft"] if as_draft else []))

    assert not run.failed, run.stderr
    draft = Draft.objects.get(state=Draft.State.OPEN) if as_draft else None
    draft = draft or versioning_services.draft_create(dataset=dataset, title="append")
    assert versioning_services.sheet_rows_add(draft=draft, name="train", rows=[{"id": 10}]) == [sheets.record_key(10)]
    revision = versioning_selectors.revision_resolve(dataset=dataset, revision=draft.number)
    page = versioning_selectors.sheet_row_page(revision=revision, name="train", offset=0, limit=128)
    assert [row["id"] for _, row in page.items] == [1, 5, 9, 10]


def test_entries_that_are_not_record_keys_leave_the_counter_alone(dataset: Dataset, tmp_path: Path) -> None:
    sheet_with_one_row(dataset)
    source = write_jsonl(tmp_path / "files.jsonl", [entry_row(7), entry_row(8, path="train/1000")])

    assert not run_command("import_files", "alice/cats", str(source)).failed

    draft = versioning_services.draft_create(dataset=dataset, title="append")
    assert versioning_services.sheet_rows_add(draft=draft, name="train", rows=[{"id": 2}]) == [sheets.record_key(2)]
