"""The content browser inside the admin: curators see hidden and private datasets' files, previews and diffs."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from datasets.models import Dataset
from versioning.models import Commit

pytestmark = pytest.mark.django_db


def change_url(dataset: Dataset) -> str:
    return reverse("admin:datasets_dataset_change", args=[dataset.pk])


def admin_diff_url(dataset: Dataset) -> str:
    return reverse("admin:datasets_dataset_diff", args=[dataset.pk])


@pytest.mark.parametrize("dataset_name", ["streets", "private", "hidden"])
def test_a_curator_sees_the_files_and_previews_of_any_dataset(
    curator_client: Client, request: pytest.FixtureRequest, dataset_name: str
) -> None:
    dataset: Dataset = request.getfixturevalue(dataset_name)
    html = curator_client.get(change_url(dataset)).content.decode()
    assert 'id="content-browser"' in html
    previews = re.findall(r'src="(/previews/[^"]+)"', html)
    assert previews
    response = curator_client.get(previews[0])
    assert (response.status_code, response["Content-Type"]) == (200, "image/png")


def test_admin_previews_need_a_staff_user(curator_client: Client, client: Client, hidden: Dataset) -> None:
    html = curator_client.get(change_url(hidden)).content.decode()
    [preview] = re.findall(r'src="(/previews/[^"]+)"', html)
    assert client.get(preview).status_code == 404


def test_the_admin_history_links_each_commit_to_its_diff(
    curator_client: Client, streets: Dataset, commits: list[Commit]
) -> None:
    html = curator_client.get(change_url(streets)).content.decode()
    for commit in commits:
        assert f"{admin_diff_url(streets)}?head={commit.id}" in html


def test_the_admin_diff_page_names_the_changed_files(curator_client: Client, hidden: Dataset) -> None:
    commit = Commit.objects.get(dataset=hidden)
    response = curator_client.get(admin_diff_url(hidden), {"head": commit.id})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-action="add" data-path="day/street-000.png"' in html
    assert "Faces" in html


@pytest.mark.parametrize(("params", "status"), [({"rev": "nope"}, 404), ({"per_page": "1000"}, 400)])
def test_bad_browser_input_in_the_admin_answers_a_clear_page(
    curator_client: Client, streets: Dataset, params: dict[str, str], status: int
) -> None:
    assert curator_client.get(change_url(streets), params).status_code == status
    assert curator_client.get(admin_diff_url(streets), {"head": "nope"}).status_code == 404


def test_the_admin_diff_page_needs_a_staff_login(client: Client, streets: Dataset) -> None:
    response = client.get(admin_diff_url(streets))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
