"""The catalog model: personal workspaces, unique names, cascades, counters, the demo catalog."""

import hashlib
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.core.management import call_command
from django.db import DataError, IntegrityError

from datasets import demo_content, services
from datasets.models import Dataset, DatasetFile, Membership, User, Workspace
from project import errors
from storage_configs.backends import hub_backend
from tests.factories import DatasetFactory, UserFactory
from versioning import selectors as versioning_selectors
from versioning.models import Commit


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
def test_seed_demo_can_run_twice_without_duplicates(settings: LazySettings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo")
    first = list(Dataset.objects.values_list("name", flat=True).order_by("name"))
    commits = Commit.objects.count()
    call_command("seed_demo")
    assert list(Dataset.objects.values_list("name", flat=True).order_by("name")) == first
    assert Commit.objects.count() == commits
    assert len(first) == 7
    assert Dataset.objects.filter(is_public=True, hidden=False).count() == 6


@pytest.mark.django_db
def test_seed_demo_makes_labelled_images_over_two_commits_and_a_branch(settings: LazySettings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo")
    streets = Dataset.objects.get(name="street-scenes-demo")
    main = versioning_selectors.revision_resolve(dataset=streets, revision="main")
    assert [c.title for c in versioning_selectors.commit_list(revision=main).items] == [
        "Add night photos, redraw street-001",
        "First street photos",
    ]
    experiments = versioning_selectors.revision_resolve(dataset=streets, revision="experiments")
    assert experiments.commit is not None and experiments.commit.parent_id == main.commit_id
    entry = versioning_selectors.entry_get(revision=main, segment="day", remote_path="street-000.png")
    assert entry.label is not None and entry.label["BOX2D"] and entry.label["POLYGON"]
    stored = hub_backend().open(entry.object_key).read()
    assert stored.startswith(b"\x89PNG") and hashlib.sha1(stored).hexdigest() == entry.sha1
    # Labels are checked against the catalog, so the demo's commits carry one covering every label type used.
    catalog = versioning_selectors.revision_metadata(revision=main).catalog
    assert {"BOX2D", "POLYGON"} <= set(catalog)
    assert "car" in {category["name"] for category in catalog["BOX2D"]["categories"]}
    assert versioning_selectors.label_statistics(revision=main)["BOX2D"]["quantity"] > 0
    changes = versioning_selectors.diff_entries(base=versioning_selectors.diff_base(revision=main), head=main)
    assert {(change.path, change.action) for change in changes.items} >= {
        ("day/street-001.png", "modify"),
        ("day/street-005.png", "delete"),
        ("night/night-000.png", "add"),
    }


@pytest.mark.django_db
def test_seed_demo_leaves_a_hidden_dataset_for_the_curator(settings: LazySettings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo")
    faces = Dataset.objects.get(name="street-faces-demo")
    assert faces.hidden and faces.is_public
    assert faces.moderation_events.get().reason
    assert Commit.objects.filter(dataset=faces).exists()


@pytest.mark.django_db
def test_seed_demo_makes_a_fusion_dataset_with_two_cameras_over_two_commits(
    settings: LazySettings, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo")
    stereo = Dataset.objects.get(name="stereo-streets-demo")
    assert stereo.kind == Dataset.Kind.FUSION
    main = versioning_selectors.revision_resolve(dataset=stereo, revision="main")
    sensors = versioning_selectors.segment_sensors(revision=main, segment="drive-01")
    assert [(sensor["name"], sensor["type"]) for sensor in sensors] == [("cam-left", "CAMERA"), ("cam-right", "CAMERA")]
    frames = versioning_selectors.entry_list(revision=main, segment="drive-01").items
    assert len(frames) == 4
    parts = frames[0].part_list()
    assert [part.name for part in parts] == ["cam-left", "cam-right"]
    assert parts[0].label is not None and parts[0].label["BOX2D"]
    assert hub_backend().open(parts[0].object_key).read().startswith(b"\x89PNG")
    changes = versioning_selectors.diff_entries(base=versioning_selectors.diff_base(revision=main), head=main)
    assert {(change.path, change.action) for change in changes.items} == {
        (f"drive-01/{demo_content.frame_id(1)}", "modify"),
        (f"drive-01/{demo_content.frame_id(3)}", "add"),
    }


@pytest.mark.django_db
def test_seed_demo_makes_a_sheet_whose_image_column_names_registered_files(
    settings: LazySettings, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo")
    crops = Dataset.objects.get(name="car-crops-demo")
    main = versioning_selectors.revision_resolve(dataset=crops, revision="main")
    assert versioning_selectors.sheet_list(revision=main) == ["cars"]
    rows = versioning_selectors.sheet_row_page(revision=main, name="cars", offset=0, limit=10).items
    assert len(rows) == 6
    image = rows[0][1]["image"]
    assert image["key"].startswith(f"{crops.hex_id}/") and image["extension"] == ".png"
    assert hub_backend().open(image["key"]).read().startswith(b"\x89PNG")
    sha1s = {row["image"]["key"].rpartition("/")[2] for _, row in rows}
    assert versioning_selectors.objects_registered(dataset=crops, sha1s=sha1s) == sha1s
