"""The dataset page: metadata editing, branches, tags, paged history, paged files and signed downloads."""

from pathlib import Path

import pytest
from django.conf import LazySettings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from datasets import services
from datasets.models import Dataset, Licence, Tag, TagCategory, User
from tests.datasets.admin.conftest import make_entries
from tests.versioning.test_merges import two_branches
from versioning import jobs, sheets
from versioning import services as versioning_services
from versioning.models import Range
from versioning.trees import Entry, Part


def change_url(dataset: Dataset) -> str:
    return reverse("admin:datasets_dataset_change", args=[dataset.pk])


def test_it_shows_branches_tags_history_files_and_moderation(
    admin_client: Client, superuser: User, dataset: Dataset
) -> None:
    versioning_services.branch_create(dataset=dataset, name="experiments", revision="main")
    versioning_services.tag_create(dataset=dataset, name="v1.0", revision="main")
    services.dataset_moderate(dataset=dataset, actor=superuser, flag="featured", value=True, reason="great set")

    page = admin_client.get(change_url(dataset)).content.decode()

    for text in ("experiments", "main (default)", "v1.0", "First photos", "images/000002.jpg", "great set"):
        assert text in page
    assert f"?dataset__id__exact={dataset.pk}" in page


def test_the_page_offers_only_the_moderation_steps_that_change_something(
    admin_client: Client, dataset: Dataset
) -> None:
    page = admin_client.get(change_url(dataset)).content.decode()

    assert reverse("admin:datasets_dataset_moderate", args=[dataset.pk, "hide"]) in page
    assert reverse("admin:datasets_dataset_moderate", args=[dataset.pk, "unhide"]) not in page


def test_it_edits_the_metadata(admin_client: Client, dataset: Dataset, licence: Licence) -> None:
    tag = Tag.objects.create(category=TagCategory.objects.create(name="scene"), name="night")

    answer = admin_client.post(
        change_url(dataset),
        {
            "title": "Night cats",
            "description": "After dark",
            "licence": licence.pk,
            "tags": [tag.pk],
            "data_type": Dataset.DataType.VIDEO,
            "cover": "covers/cat.jpg",
            # Read-only fields are ignored even when posted.
            "hidden": "on",
            "name": "renamed",
        },
    )

    dataset.refresh_from_db()
    assert answer.status_code == 302
    assert (dataset.title, dataset.description, dataset.licence, dataset.data_type, dataset.cover) == (
        "Night cats",
        "After dark",
        licence,
        Dataset.DataType.VIDEO,
        "covers/cat.jpg",
    )
    assert list(dataset.tags.all()) == [tag]
    assert (dataset.name, dataset.hidden) == ("street-cats", False)


def test_datasets_cannot_be_added_in_the_admin(admin_client: Client, dataset: Dataset) -> None:
    assert admin_client.get(reverse("admin:datasets_dataset_add")).status_code == 403


def test_deleting_a_dataset_deletes_its_history(admin_client: Client, dataset: Dataset) -> None:
    answer = admin_client.post(reverse("admin:datasets_dataset_delete", args=[dataset.pk]), {"post": "yes"})

    assert answer.status_code == 302
    assert not Dataset.objects.filter(pk=dataset.pk).exists()


def test_the_history_is_paged(admin_client: Client, dataset: Dataset) -> None:
    for n in range(24):
        versioning_services.commit_import(
            dataset=dataset, entries=make_entries(1, segment=f"s{n}"), title=f"Commit number {n}"
        )

    first = admin_client.get(change_url(dataset)).context
    last = admin_client.get(change_url(dataset), {"commit_page": "2"}).context

    assert [commit.title for commit in first["commits"]][:2] == ["Commit number 23", "Commit number 22"]
    assert len(first["commits"]) == 20 and first["commit_pages"]["pages"] == 2
    assert [commit.title for commit in last["commits"]][-1] == "First photos"
    assert len(last["commits"]) == 5 and last["commit_pages"]["next"] == ""


def test_the_files_are_paged(admin_client: Client, dataset: Dataset) -> None:
    versioning_services.commit_import(dataset=dataset, entries=make_entries(117, segment="more"), title="More")

    third = admin_client.get(change_url(dataset), {"file_page": "3", "commit_page": "1"}).context

    assert third["file_total"] == 120
    assert [path for path, _, _, _, _ in third["files"]][:1] == ["more/000097.jpg"]  # after the three images/ files
    assert len(third["files"]) == 20
    assert third["file_pages"]["previous"] == "?file_page=2&commit_page=1"


def test_a_page_of_files_reads_only_the_ranges_it_shows(admin_client: Client, dataset: Dataset) -> None:
    versioning_services.commit_import(dataset=dataset, entries=make_entries(6000, segment="big"), title="Big")
    range_table = Range._meta.db_table
    assert Range.objects.count() >= 6

    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(change_url(dataset), {"file_page": "60"})

    range_reads = [query["sql"] for query in queries.captured_queries if range_table in query["sql"]]
    assert page.context["file_total"] == 6003
    assert len(range_reads) <= 2


def stored_entry(dataset: Dataset, content: bytes) -> Entry:
    """An entry whose object is in the hub's own storage, committed on the default branch."""
    key = default_storage.save("objects/cat-photo", ContentFile(content))
    entry = Entry.create(segment="images", remote_path="cat.jpg", object_key=key, sha1="c" * 40, size=len(content))
    versioning_services.commit_import(dataset=dataset, entries=[entry], title="A stored photo")
    return entry


@pytest.fixture
def hub_storage(settings: LazySettings, tmp_path: Path) -> LazySettings:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGE_PUBLIC_URL = "http://testserver"
    return settings


def test_a_file_link_downloads_through_a_signed_url(
    admin_client: Client, dataset: Dataset, hub_storage: LazySettings
) -> None:
    stored_entry(dataset, b"meow")
    links = {path: url for path, _, _, url, _ in admin_client.get(change_url(dataset)).context["files"]}

    redirect = admin_client.get(links["images/cat.jpg"])
    download = Client().get(redirect["Location"])

    assert redirect.status_code == 302
    assert "/storage/" in redirect["Location"]
    assert (download.status_code, b"".join(download.streaming_content)) == (200, b"meow")


def test_a_download_link_for_a_missing_file_is_not_found(admin_client: Client, dataset: Dataset) -> None:
    url = reverse("admin:datasets_dataset_download", args=[dataset.pk])
    head = dataset.branches.get(name="main").head_id

    assert admin_client.get(url, {"commit": head, "path": "images/nothing.jpg"}).status_code == 404
    assert admin_client.get(url, {"commit": "nope", "path": "images/000001.jpg"}).status_code == 404


def test_a_curator_finds_tags_by_autocomplete(curator_client: Client, dataset: Dataset) -> None:
    answer = curator_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "datasets", "model_name": "dataset", "field_name": "tags", "term": "图"},
    )

    assert answer.status_code == 200
    assert [result["text"] for result in answer.json()["results"]] == ["数据类型: 图片"]


def test_each_file_shows_its_label_types_and_categories(admin_client: Client, dataset: Dataset) -> None:
    label = {
        "BOX2D": [{"category": "dog"}, {"category": "cat"}, {"category": "dog"}],
        "SEMANTIC_MASK": {"remotePath": "a.png", "checksum": "0" * 40, "fileSize": 1, "objectKey": "k"},
    }
    entry = Entry.create(
        segment="labelled", remote_path="a.jpg", object_key="objects/a", sha1="a" * 40, size=1, label=label
    )
    versioning_services.commit_import(dataset=dataset, entries=[entry], title="Labelled")

    response = admin_client.get(change_url(dataset))

    shown = {path: labels for path, _, _, _, labels in response.context["files"]}
    assert shown["labelled/a.jpg"] == [("BOX2D", ["cat", "dog"]), ("SEMANTIC_MASK", [])]
    assert "BOX2D</span>: cat, dog; <span" in response.content.decode()


def sheet_dataset(dataset: Dataset, rows: int) -> None:
    """Give the dataset a Graviti sheet ``train`` of ``rows`` rows and a sheet ``empty``, committed on main."""
    avro = (
        '{"type": "record", "name": "root", "fields": [{"name": "id", "type": ["null", "long"]},'
        ' {"name": "Label", "type": ["null", "string"]}]}'
    )
    draft = versioning_services.draft_create(dataset=dataset, title="sheets")
    for name in ("train", "empty"):
        schema = sheets.schema_texts(portex="type: record\nfields: []\n", avro=avro)
        versioning_services.sheet_create(draft=draft, name=name, schema=schema)
    versioning_services.sheet_rows_add(
        draft=draft, name="train", rows=[{"id": n, "Label": f"cat {n}"} for n in range(rows)]
    )
    versioning_services.draft_commit(draft=draft, title="sheets")


def test_it_shows_sheets_with_a_page_of_rows(admin_client: Client, dataset: Dataset) -> None:
    sheet_dataset(dataset, 25)

    page = admin_client.get(change_url(dataset) + "?sheet=train").content.decode()

    assert "train</strong>" in page and "(25 rows)" in page and "(0 rows)" in page
    # The section at the head pages its rows by 20 (the content browser below shows the sheet as well).
    start = page.index('id="dataset-sheet-rows"')
    section = page[start : page.index("</table>", start)]
    assert "<th>label</th>" in section and "&quot;cat 19&quot;" in section and "cat 20" not in section
    assert "page 1 of 2" in page
    second = admin_client.get(change_url(dataset) + "?sheet=train&row_page=2").content.decode()
    assert "&quot;cat 24&quot;" in second and "100000000000000025" in second
    first = admin_client.get(change_url(dataset)).content.decode()
    assert "empty</strong>" in first and "No rows." in first


def test_a_fusion_datasets_files_are_each_sensors_files_of_its_frames(
    admin_client: Client, user: User, hub_storage: LazySettings
) -> None:
    fusion = services.dataset_create(
        workspace=services.personal_workspace(user=user), creator=user, name="drive", kind=Dataset.Kind.FUSION
    )
    draft = versioning_services.draft_create(dataset=fusion, title="frames")
    versioning_services.draft_segment_put(draft=draft, name="seq1")
    parts = []
    for sensor in ("CAM", "LIDAR"):
        versioning_services.draft_sensor_put(draft=draft, segment="seq1", sensor={"name": sensor, "type": "LIDAR"})
        key = default_storage.save(f"objects/{sensor}", ContentFile(sensor.encode()))
        parts.append(("01GZ6T7Y3C0000000000000000", Part(sensor, "000.bin", key, "c" * 40, len(sensor))))
    versioning_services.draft_frame_parts_put(draft=draft, segment="seq1", parts=parts)
    versioning_services.draft_commit(draft=draft, title="frames")

    context = admin_client.get(change_url(fusion)).context
    links = [url for _, _, _, url, _ in context["files"]]
    contents = [b"".join(Client().get(admin_client.get(link)["Location"]).streaming_content) for link in links]

    assert context["file_total"] == 2
    assert contents == [b"CAM", b"LIDAR"]


def test_it_lists_the_jobs_with_status_conflicts_and_result_draft(admin_client: Client, dataset: Dataset) -> None:
    two_branches(dataset)
    job = jobs.job_create(
        dataset=dataset,
        job_type="squashAndMerge",
        title="dev->main(abort)",
        arguments={"title": "merged", "sourceBranchName": "dev", "targetBranchName": "main", "strategy": "abort"},
    )
    jobs.jobs_run_queued(jobs=[job])

    page = admin_client.get(change_url(dataset)).content.decode()

    assert "Jobs (1)" in page
    for text in ("dev-&gt;main(abort)", "SUCCESS", "<code>s/a</code>", f"draft {job.result_draft.number} on main"):
        assert text in page
    assert reverse("admin:versioning_job_change", args=[job.pk]) in page


def test_the_job_page_shows_both_sides_of_each_conflict(admin_client: Client, dataset: Dataset) -> None:
    two_branches(dataset)
    job = jobs.job_create(
        dataset=dataset,
        job_type="squashAndMerge",
        title="m",
        arguments={"title": "merged", "sourceBranchName": "dev", "targetBranchName": "main", "strategy": "skip"},
    )
    jobs.jobs_run_queued(jobs=[job])

    page = admin_client.get(reverse("admin:versioning_job_change", args=[job.pk])).content.decode()

    source, target = job.conflicts[0]["source"], job.conflicts[0]["target"]
    assert f"sha1 {source['sha1']}, 3 bytes, no label" in page
    assert f"sha1 {target['sha1']}, 4 bytes, no label" in page
