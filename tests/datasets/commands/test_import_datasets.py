"""``import_datasets``: catalog records from JSON Lines or CSV, created or updated by workspace and name."""

from pathlib import Path

import pytest

from datasets.models import Dataset, User, Workspace
from storage_configs.services import storage_config_create
from tests.datasets.commands.conftest import run_command, write_csv, write_jsonl

pytestmark = pytest.mark.django_db

CATS = {
    "workspace": "alice",
    "name": "cats",
    "title": "Cats",
    "description": "Pictures of cats",
    "license": "CC BY 4.0",
    "tags": {"数据类型": ["图片"], "应用场景": ["图像分类"]},
    "type": 0,
    "is_public": True,
}


def tags_of(dataset: Dataset) -> set[tuple[str, str]]:
    return set(dataset.tags.values_list("category__name", "name"))


def test_it_creates_datasets_from_json_lines(workspace: Workspace, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "catalog.jsonl", [CATS, {"workspace": "alice", "name": "dogs", "type": "text"}])

    run = run_command("import_datasets", str(source))

    assert not run.failed
    assert "created 2, updated 0, skipped 0, failed 0" in run.stdout
    cats = Dataset.objects.get(workspace=workspace, name="cats")
    assert cats.licence is not None
    assert (cats.title, cats.description, cats.licence.name, cats.is_public) == (
        "Cats",
        "Pictures of cats",
        "CC BY 4.0",
        True,
    )
    assert tags_of(cats) == {("数据类型", "图片"), ("应用场景", "图像分类")}
    assert Dataset.objects.get(workspace=workspace, name="dogs").data_type == Dataset.DataType.TEXT


def test_it_creates_datasets_from_csv(workspace: Workspace, tmp_path: Path) -> None:
    header = ["workspace", "name", "title", "description", "license", "tags", "type", "is_public", "storage_config"]
    source = write_csv(
        tmp_path / "catalog.csv",
        header,
        [["alice", "cats", "Cats", "", "MIT", '{"数据类型": ["图片"]}', "6", "yes", ""]],
    )

    run = run_command("import_datasets", str(source))

    assert not run.failed
    cats = Dataset.objects.get(workspace=workspace, name="cats")
    assert cats.licence is not None
    assert (cats.title, cats.licence.name, cats.data_type, cats.is_public) == ("Cats", "MIT", 6, True)
    assert tags_of(cats) == {("数据类型", "图片")}


def test_it_updates_by_workspace_and_name_and_never_duplicates(workspace: Workspace, tmp_path: Path) -> None:
    run_command("import_datasets", str(write_jsonl(tmp_path / "first.jsonl", [CATS])))
    changed = {**CATS, "title": "More cats", "tags": {"数据类型": ["视频"]}}
    source = write_jsonl(tmp_path / "second.jsonl", [changed, {"workspace": "alice", "name": "cats"}])

    run = run_command("import_datasets", str(source))

    assert "created 0, updated 1, skipped 1, failed 0" in run.stdout
    cats = Dataset.objects.get(workspace=workspace, name="cats")
    assert cats.title == "More cats"
    assert tags_of(cats) == {("数据类型", "视频")}
    assert Dataset.objects.filter(name="cats").count() == 1


def test_running_it_again_skips_every_record(workspace: Workspace, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "catalog.jsonl", [CATS])
    run_command("import_datasets", str(source))

    run = run_command("import_datasets", str(source))

    assert "created 0, updated 0, skipped 1, failed 0" in run.stdout
    assert Dataset.objects.count() == 1


def test_bad_lines_are_reported_with_their_number_and_the_rest_is_imported(
    workspace: Workspace, tmp_path: Path
) -> None:
    source = write_jsonl(
        tmp_path / "catalog.jsonl",
        [
            CATS,
            "{not json",
            {"workspace": "alice"},
            {"workspace": "nobody", "name": "x"},
            {"workspace": "alice", "name": "bad-type", "type": 4},
            {"workspace": "alice", "name": "bad-tags", "tags": {"a": "b"}},
            {"workspace": "alice", "name": "bad-public", "is_public": "maybe"},
            {"workspace": "alice", "name": "bad-storage", "storage_config": "missing"},
            "[1, 2]",
            {"workspace": "alice", "name": "dogs"},
        ],
    )

    run = run_command("import_datasets", str(source))

    assert run.failed
    assert "created 2, updated 0, skipped 0, failed 8" in run.stdout
    for line, reason in [
        (2, "not valid JSON"),
        (3, "name is required"),
        (4, "workspace 'nobody' does not exist"),
        (5, "type: must be one of"),
        (6, "tags: values of 'a' must be a list of strings"),
        (7, "is_public: must be true or false"),
        (8, "storage config 'missing' does not exist"),
        (9, "must be a JSON object"),
    ]:
        assert f"line {line}: {reason}" in run.stderr
    assert set(Dataset.objects.values_list("name", flat=True)) == {"cats", "dogs"}


def test_a_csv_row_with_the_wrong_number_of_fields_is_reported(workspace: Workspace, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "catalog.csv", ["workspace", "name"], [["alice", "cats", "extra"], ["alice"]])

    run = run_command("import_datasets", str(source))

    assert "line 2: has 3 fields, the header has 2" in run.stderr
    assert "line 3: has 1 fields, the header has 2" in run.stderr
    assert not Dataset.objects.exists()


def test_strict_stops_at_the_first_bad_line_and_changes_nothing(workspace: Workspace, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "catalog.jsonl", [CATS, "{not json", {"workspace": "alice", "name": "dogs"}])

    run = run_command("import_datasets", str(source), "--strict")

    assert run.failed
    assert "line 2: not valid JSON" in run.stderr
    assert not Dataset.objects.exists()


def test_dry_run_changes_nothing(workspace: Workspace, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "catalog.jsonl", [CATS])

    run = run_command("import_datasets", str(source), "--dry-run")

    assert "created 1, updated 0, skipped 0, failed 0 — dry run: nothing was changed" in run.stdout
    assert not Dataset.objects.exists()


def test_a_missing_workspace_is_created_for_the_owner(db: None, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "catalog.jsonl", [{**CATS, "workspace": "vision-lab"}])

    run = run_command("import_datasets", str(source), "--owner", "carol")

    assert not run.failed
    workspace = Workspace.objects.get(name="vision-lab")
    assert workspace.owner == User.objects.get(username="carol")
    assert workspace.datasets.get().name == "cats"


def test_it_attaches_the_named_storage_config(workspace: Workspace, tmp_path: Path) -> None:
    config = storage_config_create(workspace=workspace, name="lake", kind="local", file_path="lake")
    source = write_jsonl(tmp_path / "catalog.jsonl", [{**CATS, "storage_config": "lake"}])

    run_command("import_datasets", str(source))

    assert Dataset.objects.get(name="cats").storage_config == config


def test_an_unknown_suffix_needs_a_format(workspace: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "catalog.txt"
    source.write_text('{"workspace": "alice", "name": "cats"}\n')

    assert run_command("import_datasets", str(source)).failed
    assert not run_command("import_datasets", str(source), "--format", "jsonl").failed
