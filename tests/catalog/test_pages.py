"""The front page, the public catalog, dataset pages, diffs and previews, as an anonymous visitor gets them."""

import hashlib
import re

import pytest
from django.test import Client
from django.urls import reverse

from catalog import browser
from catalog.views import DIALECTS
from datasets import services
from datasets.models import Dataset, Tag, User, Workspace
from project.urls import DIALECT_MOUNTS
from versioning import services as versioning_services
from versioning.models import Commit
from versioning.trees import Entry

pytestmark = pytest.mark.django_db


def page(client: Client, path: str, **params: str) -> str:
    response = client.get(path, params)
    assert response.status_code == 200, re.findall(r"id=\"error-message\">([^<]*)", response.content.decode())
    return response.content.decode()


def dataset_url(dataset: Dataset) -> str:
    return reverse("catalog:dataset", args=[dataset.workspace.name, dataset.name])


def diff_url(dataset: Dataset) -> str:
    return reverse("catalog:diff", args=[dataset.workspace.name, dataset.name])


def preview_paths(html: str) -> list[str]:
    return re.findall(r'src="(/previews/[^"]+)"', html)


def test_the_front_page_names_every_dialect_with_its_base_url_and_docs(client: Client) -> None:
    html = page(client, "/")
    for name, mounts, _ in DIALECT_MOUNTS:
        assert f"/docs/?urls.primaryName={name}" in html
        for mount in mounts:
            assert f"http://testserver/{mount}</code>" in html
    for link in ('href="/admin/"', 'href="/healthz"', 'href="/docs/"'):
        assert link in html


def test_the_front_page_introduces_exactly_the_mounted_dialects() -> None:
    assert {(d["name"], tuple(b.strip("/") for b in d["bases"])) for d in DIALECTS} == {
        (name, tuple(mount.strip("/") for mount in mounts)) for name, mounts, _ in DIALECT_MOUNTS
    }


def test_the_catalog_lists_public_datasets_and_never_private_or_hidden_ones(
    client: Client, streets: Dataset, private: Dataset, hidden: Dataset
) -> None:
    html = page(client, "/")
    assert dataset_url(streets) in html
    assert "private-streets" not in html and "hidden-streets" not in html
    assert "Private streets" not in html and "Hidden streets" not in html


@pytest.mark.parametrize("dataset_name", ["private", "hidden"])
def test_private_and_hidden_datasets_have_no_public_pages(
    client: Client, request: pytest.FixtureRequest, dataset_name: str
) -> None:
    dataset: Dataset = request.getfixturevalue(dataset_name)
    for url in (dataset_url(dataset), diff_url(dataset)):
        response = client.get(url)
        assert response.status_code == 404
        assert "does not exist" in response.content.decode()


@pytest.fixture
def catalog(team: Workspace, user: User, other_user: User) -> dict[str, Dataset]:
    lab = services.workspace_get_or_create(name="audio-lab", owner=other_user)
    return {
        "cats": services.dataset_create(
            workspace=team, creator=user, name="street-cats", title="Street cats", is_public=True,
            licence="CC0", tags={"animal": ["cat"]},
        ),
        "dogs": services.dataset_create(
            workspace=team, creator=user, name="street-dogs", title="Street dogs", is_public=True,
            licence="CC BY 4.0", tags={"animal": ["dog"]},
        ),
        "sounds": services.dataset_create(
            workspace=lab, creator=other_user, name="street-sounds", title="Street sounds", is_public=True,
            licence="CC BY 4.0", data_type=Dataset.DataType.VOICE,
        ),
        "songs": services.dataset_create(workspace=lab, creator=other_user, name="bird-songs", is_public=True),
    }  # fmt: skip


def listed(html: str) -> set[str]:
    return set(re.findall(r'class="dataset-link" data-name="([^"]+)"', html))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"street-cats", "street-dogs", "street-sounds", "bird-songs"}),
        ({"q": "street"}, {"street-cats", "street-dogs", "street-sounds"}),
        ({"q": "Street dogs"}, {"street-dogs"}),
        ({"licence": "CC BY 4.0"}, {"street-dogs", "street-sounds"}),
        ({"data_type": "1"}, {"street-sounds"}),
        ({"workspace": "audio-lab"}, {"street-sounds", "bird-songs"}),
        ({"workspace": "audio-lab", "q": "street"}, {"street-sounds"}),
        ({"q": "nothing like it"}, set()),
    ],
)
def test_the_catalog_is_searched_and_narrowed_by_facets(
    client: Client, catalog: dict[str, Dataset], params: dict[str, str], expected: set[str]
) -> None:
    assert listed(page(client, "/", **params)) == expected


def test_the_tag_facet_narrows_to_datasets_with_every_chosen_tag(client: Client, catalog: dict[str, Dataset]) -> None:
    cat = Tag.objects.get(name="cat")
    html = page(client, "/", tag=str(cat.pk))
    assert listed(html) == {"street-cats"}
    assert re.search(r'aria-current="true" data-facet="tag"><span>animal: cat</span><span>1</span>', html)


def test_facets_count_the_matching_datasets(client: Client, catalog: dict[str, Dataset]) -> None:
    html = page(client, "/", q="street")
    assert "<span>CC BY 4.0</span><span>2</span>" in html
    assert "<span>audio-lab</span><span>1</span>" in html
    assert "<span>vision-team</span><span>2</span>" in html


def test_the_catalog_is_paginated(client: Client, team: Workspace, user: User) -> None:
    for n in range(23):
        services.dataset_create(workspace=team, creator=user, name=f"set-{n:02d}", is_public=True)
    first, second = page(client, "/"), page(client, "/", page="2")
    assert len(listed(first)) == 20 and len(listed(second)) == 3
    assert not listed(first) & listed(second)
    assert "Page 2 of 2" in second


@pytest.mark.parametrize("count", [3, 30])
def test_a_catalog_page_costs_the_same_queries_however_many_datasets(
    client: Client, team: Workspace, user: User, count: int, django_assert_max_num_queries: object
) -> None:
    for n in range(count):
        services.dataset_create(
            workspace=team, creator=user, name=f"set-{n:02d}", is_public=True, licence=f"L{n % 3}",
            tags={"kind": [f"k{n}"]},
        )  # fmt: skip
    with django_assert_max_num_queries(10):  # type: ignore[operator]
        html = page(client, "/")
    assert len(listed(html)) == min(count, 20)


def test_the_dataset_page_shows_what_the_dataset_is_and_its_files_with_previews(
    client: Client, streets: Dataset, commits: list[Commit]
) -> None:
    versioning_services.tag_create(dataset=streets, name="v1", revision=commits[0].id)
    html = page(client, dataset_url(streets))
    for text in ("Street scenes", "Cars and signs, drawn.", "CC BY 4.0", "task: detection", "main", "v1",
                 "First photos", "Redraw street-001", "street-000.png", "street-001.png"):  # fmt: skip
        assert text in html
    assert "street-002.png" not in html
    assert len(preview_paths(html)) == 2
    for commit in commits:
        assert f"{diff_url(streets)}?head={commit.id}" in html


def test_the_dataset_page_browses_any_revision_and_segment(
    client: Client, streets: Dataset, commits: list[Commit]
) -> None:
    old = page(client, dataset_url(streets), rev=commits[0].id)
    assert "street-002.png" in old and len(preview_paths(old)) == 3
    docs = page(client, dataset_url(streets), segment="docs")
    assert "README.txt" in docs and "hello" in docs
    assert "<td>street-000.png</td><td>car</td>" in docs  # the CSV's first rows as a table


def test_a_preview_link_answers_the_thumbnail(client: Client, streets: Dataset) -> None:
    [first, _] = preview_paths(page(client, dataset_url(streets)))
    response = client.get(first)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


def test_a_preview_of_a_dataset_hidden_since_the_link_was_made_is_gone(
    client: Client, streets: Dataset, user: User
) -> None:
    [first, _] = preview_paths(page(client, dataset_url(streets)))
    services.dataset_moderate(dataset=streets, actor=user, flag="hidden", value=True)
    assert client.get(first).status_code == 404


def test_an_admin_preview_link_shows_nothing_to_a_visitor(client: Client, hidden: Dataset) -> None:
    commit = Commit.objects.get(dataset=hidden)
    token = browser.preview_token(scope=browser.ADMIN, dataset=hidden, commit_id=commit.id, path="day/street-000.png")
    assert client.get(reverse("catalog:preview", args=[token])).status_code == 404


def test_a_tampered_preview_link_is_refused(client: Client, streets: Dataset, hidden: Dataset) -> None:
    [first, _] = preview_paths(page(client, dataset_url(streets)))
    payload, _, signature = first.removeprefix("/previews/").partition(":")
    forged = browser.preview_token(scope=browser.PUBLIC, dataset=hidden, commit_id="x", path="y").partition(":")[0]
    for token in (f"{forged}:{signature}", payload, first.removeprefix("/previews/")[:-2] + "xx", "nonsense"):
        response = client.get(reverse("catalog:preview", args=[token]))
        assert response.status_code == 404
        assert "not valid" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"rev": "no-such-branch"}, 404, "revision &#x27;no-such-branch&#x27; does not exist"),
        ({"rev": "f" * 32}, 404, "does not exist"),
        ({"segment": "no-such-segment"}, 404, "segment &#x27;no-such-segment&#x27; does not exist"),
        ({"page": "99"}, 404, "page 99 does not exist"),
        ({"page": "0"}, 400, "page: must be between 1 and"),
        ({"page": "two"}, 400, "page: must be a whole number"),
        ({"page": "9" * 40}, 400, "page: must be between 1 and"),
        ({"per_page": "100000"}, 400, "per_page: must be between 1 and 100"),
        ({"history_page": "-1"}, 400, "history_page: must be between 1 and"),
        ({"rev": "x" * 300}, 400, "rev: must be at most 255 characters"),
        ({"rev": "main\x00"}, 400, "rev: must be at most 255 characters"),
    ],
)
def test_bad_input_to_the_dataset_page_answers_a_clear_page(
    client: Client, streets: Dataset, params: dict[str, str], status: int, message: str
) -> None:
    response = client.get(dataset_url(streets), params)
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert message in response.content.decode()


@pytest.mark.parametrize(
    ("params", "status"),
    [({"head": "nope"}, 404), ({"base": "nope"}, 404), ({"page": "7"}, 404), ({"per_page": "0"}, 400)],
)
def test_bad_input_to_the_diff_page_answers_a_clear_page(
    client: Client, streets: Dataset, params: dict[str, str], status: int
) -> None:
    assert client.get(diff_url(streets), params).status_code == status


@pytest.mark.parametrize(
    ("params", "status"),
    [({"page": "3"}, 404), ({"page": "x"}, 400), ({"data_type": "9"}, 400), ({"tag": "cat"}, 400),
     ({"q": "x" * 201}, 400)],
)  # fmt: skip
def test_bad_input_to_the_catalog_answers_a_clear_page(client: Client, params: dict[str, str], status: int) -> None:
    assert client.get("/", params).status_code == status


def test_an_unknown_page_answers_the_sites_404_page(client: Client) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "There is no page at this address." in response.content.decode()


def test_a_commits_diff_names_what_was_added_modified_and_removed(
    client: Client, streets: Dataset, commits: list[Commit]
) -> None:
    html = page(client, diff_url(streets), head=commits[1].id)
    found = set(re.findall(r'class="change" data-action="(\w+)" data-path="([^"]+)"', html))
    assert found == {("modify", "day/street-001.png"), ("delete", "day/street-002.png"), ("add", "docs/README.txt")}
    assert "First photos" in html and "Redraw street-001" in html
    assert len(preview_paths(html)) == 3  # street-001 before and after, street-002 before


def test_a_diff_between_any_two_revisions(client: Client, streets: Dataset, commits: list[Commit]) -> None:
    versioning_services.branch_create(dataset=streets, name="old", revision=commits[0].id)
    html = page(client, diff_url(streets), base="main", head="old")
    found = set(re.findall(r'class="change" data-action="(\w+)" data-path="([^"]+)"', html))
    assert found == {("modify", "day/street-001.png"), ("add", "day/street-002.png"), ("delete", "docs/README.txt")}


def big_dataset(team: Workspace, user: User, count: int) -> Dataset:
    dataset = services.dataset_create(workspace=team, creator=user, name="big", is_public=True)
    entries = []
    for n in range(count):
        sha1 = hashlib.sha1(str(n).encode()).hexdigest()
        entries.append(
            Entry.create(segment="images", remote_path=f"{n:06d}.jpg", object_key=f"x/{sha1}", sha1=sha1, size=1)
        )
    versioning_services.commit_import(dataset=dataset, entries=entries, title="many", presorted=True)
    return dataset


@pytest.mark.parametrize("per_page", [1, 100])
def test_a_page_of_files_costs_the_same_queries_whatever_its_size(
    client: Client, team: Workspace, user: User, per_page: int, django_assert_max_num_queries: object
) -> None:
    dataset = big_dataset(team, user, 2500)
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        html = page(client, dataset_url(dataset), per_page=str(per_page), page="3")
    assert len(preview_paths(html)) == per_page


@pytest.mark.parametrize("per_page", [1, 100])
def test_a_page_of_changes_costs_the_same_queries_whatever_its_size(
    client: Client, team: Workspace, user: User, per_page: int, django_assert_max_num_queries: object
) -> None:
    dataset = big_dataset(team, user, 300)
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        html = page(client, diff_url(dataset), per_page=str(per_page))
    assert html.count('class="change"') == per_page
