"""The content browser on fusion segments (frames by sensor) and Graviti sheets (a table of rows), public and admin."""

import re

import pytest
from django.test import Client
from django.urls import resolve, reverse

from catalog import browser
from datasets import demo_content, services
from datasets.models import Dataset, User, Workspace
from tests.catalog.conftest import SEGMENT, crops_dataset, stereo_dataset
from tests.catalog.test_pages import dataset_url, diff_url, page, preview_paths
from versioning.models import Commit, DatasetObject

pytestmark = pytest.mark.django_db

FRAME_0, FRAME_1, FRAME_3 = demo_content.frame_id(0), demo_content.frame_id(1), demo_content.frame_id(3)


def frames_shown(html: str) -> list[str]:
    return re.findall(r'<li class="frame" data-frame="([^"]+)"', html)


def sensor_files(html: str) -> list[str]:
    return re.findall(r'class="file sensor-file" data-sensor="([^"]+)"', html)


def assert_previews_load(client: Client, html: str) -> None:
    paths = preview_paths(html)
    assert paths
    for path in paths:
        response = client.get(path)
        assert (response.status_code, response["Content-Type"]) == (200, "image/png")
        assert response.content.startswith(b"\x89PNG")


def test_a_fusion_segment_shows_its_sensors_and_each_frames_files_by_sensor(client: Client, stereo: Dataset) -> None:
    html = page(client, dataset_url(stereo))
    assert re.findall(r'<tr class="sensor" data-sensor="([^"]+)">', html) == ["cam-left", "cam-right"]
    assert "CAMERA" in html and "left camera of the stereo pair" in html
    assert frames_shown(html) == [demo_content.frame_id(index) for index in range(4)]
    assert sensor_files(html) == ["cam-left", "cam-right"] * 4
    assert f"at {demo_content.FRAME_START}" in html
    assert len(preview_paths(html)) == 8
    assert_previews_load(client, html)


def test_a_frames_preview_draws_the_sensors_file_with_its_boxes(client: Client, stereo: Dataset) -> None:
    html = page(client, dataset_url(stereo), frame=FRAME_0, sensor="cam-left")
    [path] = preview_paths(html)
    assert 'alt="Preview of cam-left/0000.png with its BOX2D labels"' in html
    # A token carries the second it was signed in, so the one the page holds is compared by what it names.
    match = resolve(path)
    assert match.view_name == "catalog:preview"
    assert browser.preview_grant(token=match.kwargs["token"]) == browser.PreviewGrant(
        scope=browser.PUBLIC,
        dataset_id=stereo.pk,
        commit_id=Commit.objects.filter(dataset=stereo).order_by("-depth").first().id,  # type: ignore[union-attr]
        path=f"{SEGMENT}/{FRAME_0}",
        slot="part:cam-left",
    )


def test_a_frame_page_shows_that_frame_alone(client: Client, stereo: Dataset) -> None:
    html = page(client, dataset_url(stereo), frame=FRAME_1)
    assert frames_shown(html) == [FRAME_1]
    assert sensor_files(html) == ["cam-left", "cam-right"]
    assert f"Frame {FRAME_1}" in html
    assert_previews_load(client, html)


def test_a_sensor_keeps_only_its_files_in_every_frame(client: Client, stereo: Dataset) -> None:
    html = page(client, dataset_url(stereo), sensor="cam-right")
    assert len(frames_shown(html)) == 4
    assert sensor_files(html) == ["cam-right"] * 4
    assert all("cam-right/" in path for path in re.findall(r'alt="Preview of ([^"]+)"', html))


def test_frames_are_listed_page_by_page(client: Client, stereo: Dataset) -> None:
    first = page(client, dataset_url(stereo), per_page="3")
    second = page(client, dataset_url(stereo), per_page="3", page="2")
    assert frames_shown(first) == [demo_content.frame_id(index) for index in range(3)]
    assert frames_shown(second) == [FRAME_3]
    assert "Page 2 of 2" in second


def test_an_older_commit_shows_the_frames_it_held(client: Client, stereo: Dataset) -> None:
    first = Commit.objects.filter(dataset=stereo).order_by("depth").first()
    html = page(client, dataset_url(stereo), rev=first.id)  # type: ignore[union-attr]
    assert frames_shown(html) == [demo_content.frame_id(index) for index in range(3)]


def test_a_fusion_diff_names_the_changed_frames_and_their_sensors_files(client: Client, stereo: Dataset) -> None:
    html = page(client, diff_url(stereo))
    frames = set(re.findall(r'class="change" data-action="(\w+)" data-path="([^"]+)"', html))
    assert frames == {("modify", f"{SEGMENT}/{FRAME_1}"), ("add", f"{SEGMENT}/{FRAME_3}")}
    parts = re.findall(r'class="part-change" data-sensor="([^"]+)" data-action="(\w+)"', html)
    assert sorted(parts) == [("cam-left", "add"), ("cam-right", "add"), ("cam-right", "modify")]
    assert "2 frames changed" in html
    # cam-right of frame 1 before and after, both cameras of frame 3 after.
    assert len(preview_paths(html)) == 4
    assert_previews_load(client, html)


def test_a_sheet_shows_its_columns_and_a_table_of_its_rows(client: Client, crops: Dataset) -> None:
    html = page(client, dataset_url(crops), sheet="cars")
    assert re.findall(r'<th scope="col">([^<]+)</th>', html)[-6:] == [
        "Record key", "id", "colour", "doors", "tags", "image",
    ]  # fmt: skip
    assert '<code>image</code> <span class="muted">file</span>' in html
    assert "array of string" in html
    keys = re.findall(r'<tr class="sheet-row" data-record-key="(\d+)">', html)
    assert keys == ["100000000000000001", "100000000000000002", "100000000000000003"]
    assert "[&quot;parked&quot;,&quot;1&quot;]" in html
    assert len(preview_paths(html)) == 3
    assert_previews_load(client, html)


def test_a_sheet_is_shown_as_a_sheet_when_picked_as_a_segment(client: Client, crops: Dataset) -> None:
    html = page(client, dataset_url(crops))
    assert 'id="sheet-rows"' in html and "(sheet)" in html


def test_a_sheet_named_in_the_query_wins_over_a_segment(client: Client, crops: Dataset) -> None:
    html = page(client, dataset_url(crops), sheet="cars", segment="other")
    assert len(re.findall(r'class="sheet-row"', html)) == 3


def test_a_sheets_rows_are_listed_page_by_page(client: Client, crops: Dataset) -> None:
    html = page(client, dataset_url(crops), sheet="cars", per_page="2", page="2")
    assert re.findall(r'data-record-key="(\d+)"', html) == ["100000000000000003"]


def test_a_sheet_file_no_longer_registered_shows_its_name_without_a_preview(client: Client, crops: Dataset) -> None:
    [first, *_] = preview_paths(page(client, dataset_url(crops), sheet="cars"))
    DatasetObject.objects.filter(dataset=crops).delete()
    html = page(client, dataset_url(crops), sheet="cars")
    assert preview_paths(html) == []
    assert html.count("not registered") == 3
    assert re.search(r'class="file-name">[0-9a-f]{12}\.png<', html)
    assert client.get(first).status_code == 404


@pytest.mark.parametrize("per_page", [1, 40])
def test_a_page_of_rows_costs_the_same_queries_whatever_its_size(
    client: Client, team: Workspace, user: User, per_page: int, django_assert_max_num_queries: object
) -> None:
    dataset = crops_dataset(team, user, rows=40, name="many-crops")
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        html = page(client, dataset_url(dataset), sheet="cars", per_page=str(per_page))
    assert len(preview_paths(html)) == per_page


@pytest.mark.parametrize("per_page", [1, 12])
def test_a_page_of_frames_costs_the_same_queries_whatever_its_size(
    client: Client, team: Workspace, user: User, per_page: int, django_assert_max_num_queries: object
) -> None:
    dataset = stereo_dataset(team, user, frames=12, name="long-drive")
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        html = page(client, dataset_url(dataset), per_page=str(per_page))
    assert len(frames_shown(html)) == per_page


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"sensor": "lidar"}, 404, "sensor &#x27;lidar&#x27; does not exist in segment &#x27;drive&#x27;"),
        ({"frame": demo_content.frame_id(99)}, 404, "does not exist"),
        ({"frame": "../../etc/passwd"}, 404, "does not exist"),
        ({"frame": "x" * 300}, 400, "frame: must be at most 255 characters"),
        ({"sensor": "cam\x00"}, 400, "sensor: must be at most 255 characters"),
        ({"frame": FRAME_0, "page": "2"}, 404, "page 2 does not exist"),
        ({"page": "9"}, 404, "page 9 does not exist"),
        ({"page": "-3"}, 400, "page: must be between 1 and"),
        ({"per_page": "1000000000"}, 400, "per_page: must be between 1 and 100"),
        ({"sheet": "drive"}, 404, "sheet &#x27;drive&#x27; does not exist"),
    ],
)
def test_bad_input_to_a_fusion_page_answers_a_clear_page(
    client: Client, stereo: Dataset, params: dict[str, str], status: int, message: str
) -> None:
    response = client.get(dataset_url(stereo), params)
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert message in response.content.decode()


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"sheet": "bikes"}, 404, "sheet &#x27;bikes&#x27; does not exist"),
        ({"sheet": "cars", "frame": FRAME_0}, 404, "only the segments of a fusion dataset hold frames"),
        ({"sensor": "cam-left"}, 404, "only the segments of a fusion dataset hold frames"),
        ({"sheet": "cars", "page": "5"}, 404, "page 5 does not exist"),
        ({"sheet": "cars", "per_page": "101"}, 400, "per_page: must be between 1 and 100"),
        ({"sheet": "cars", "page": "1e3"}, 400, "page: must be a whole number"),
    ],
)
def test_bad_input_to_a_sheet_page_answers_a_clear_page(
    client: Client, crops: Dataset, params: dict[str, str], status: int, message: str
) -> None:
    response = client.get(dataset_url(crops), params)
    assert response.status_code == status
    assert message in response.content.decode()


@pytest.mark.parametrize("slot", ["part:lidar", "field:colour", "field:nope", "other:x"])
def test_a_preview_of_a_file_the_entry_does_not_hold_does_not_exist(
    client: Client, stereo: Dataset, crops: Dataset, slot: str
) -> None:
    dataset, path = (stereo, f"{SEGMENT}/{FRAME_0}") if slot.startswith("part") else (crops, "cars/100000000000000001")
    commit = Commit.objects.filter(dataset=dataset).order_by("-depth").first()
    token = browser.preview_token(scope=browser.PUBLIC, dataset=dataset, commit_id=commit.id, path=path, slot=slot)  # type: ignore[union-attr]
    response = client.get(reverse("catalog:preview", args=[token]))
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def admin_change_url(dataset: Dataset) -> str:
    return reverse("admin:datasets_dataset_change", args=[dataset.pk])


def test_a_curator_sees_a_fusion_datasets_frames_by_sensor_in_the_admin(
    curator_client: Client, stereo: Dataset
) -> None:
    html = curator_client.get(admin_change_url(stereo), {"sensor": "cam-left"}).content.decode()
    assert sensor_files(html) == ["cam-left"] * 4
    assert_previews_load(curator_client, html)


def test_a_curator_sees_a_sheets_rows_in_the_admin(curator_client: Client, crops: Dataset) -> None:
    html = curator_client.get(admin_change_url(crops), {"sheet": "cars"}).content.decode()
    assert len(re.findall(r'class="sheet-row"', html)) == 3
    assert_previews_load(curator_client, html)


def test_bad_frame_input_in_the_admin_answers_a_clear_page(curator_client: Client, stereo: Dataset) -> None:
    response = curator_client.get(admin_change_url(stereo), {"frame": demo_content.frame_id(42)})
    assert response.status_code == 404
    assert "does not exist" in response.content.decode()


def test_a_sheets_diff_shows_each_changed_rows_values(client: Client, crops: Dataset) -> None:
    html = page(client, diff_url(crops))
    rows = re.findall(r'class="change" data-action="(\w+)" data-path="([^"]+)"', html)
    assert rows == [("add", f"cars/10000000000000000{n}") for n in (1, 2, 3)]
    assert html.count('<code class="row-values">{&quot;id&quot;:') == 3
    assert "No preview" not in html


@pytest.mark.parametrize("per_page", [1, 12])
def test_a_page_of_changed_frames_costs_the_same_queries_whatever_its_size(
    client: Client, team: Workspace, user: User, per_page: int, django_assert_max_num_queries: object
) -> None:
    dataset = stereo_dataset(team, user, frames=12, name="long-drive")
    first = Commit.objects.filter(dataset=dataset).order_by("depth").first()
    with django_assert_max_num_queries(13):  # type: ignore[operator]
        html = page(client, diff_url(dataset), head=first.id, per_page=str(per_page))  # type: ignore[union-attr]
    assert html.count('class="change"') == per_page
    assert len(preview_paths(html)) == 2 * per_page


def test_a_page_costs_the_same_queries_however_many_segments_have_metadata(
    client: Client, team: Workspace, user: User, django_assert_max_num_queries: object
) -> None:
    dataset = services.dataset_create(
        workspace=team, creator=user, name="drives", is_public=True, kind=Dataset.Kind.FUSION
    )
    sensors = {f"drive-{n:02d}": [{"name": f"cam-{n}", "type": "CAMERA"}] for n in range(40)}
    services.dataset_contents_commit(dataset=dataset, committer=user, title="Sensors", sensors=sensors)
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        html = page(client, dataset_url(dataset))
    assert html.count('class="sensor"') == 1 and "drive-39" in html
