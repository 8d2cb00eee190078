"""Who reaches the admin: staff only, and a curator exactly as far as the curator group allows."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from datasets.models import Dataset, ModerationEvent, User
from tests.factories import UserFactory

CHANGELIST = reverse("admin:datasets_dataset_changelist")


def test_the_curator_group_has_exactly_the_curators_permissions(db: None) -> None:
    group = Group.objects.get(name="curator")

    assert set(group.permissions.values_list("content_type__app_label", "codename")) == {
        ("datasets", "view_dataset"),
        ("datasets", "change_dataset"),
        ("datasets", "moderate_dataset"),
        ("datasets", "view_moderationevent"),
        ("datasets", "view_workspace"),
        ("datasets", "view_membership"),
        ("datasets", "view_licence"),
        ("datasets", "view_tag"),
        ("datasets", "view_tagcategory"),
    }


@pytest.mark.parametrize("url", ["/admin/", CHANGELIST, reverse("admin:datasets_moderationevent_changelist")])
def test_a_user_who_is_not_staff_cannot_reach_the_admin(client: Client, user: User, url: str) -> None:
    client.force_login(user)

    answer = client.get(url)

    assert answer.status_code == 302 and answer["Location"].startswith("/admin/login/")


def test_staff_without_the_curator_group_sees_no_datasets(client: Client, db: None) -> None:
    client.force_login(UserFactory(username="dave", is_staff=True))

    assert client.get(CHANGELIST).status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        CHANGELIST,
        reverse("admin:datasets_moderationevent_changelist"),
        reverse("admin:datasets_workspace_changelist"),
    ],
)
def test_a_curator_reaches_the_curators_pages(curator_client: Client, dataset: Dataset, url: str) -> None:
    assert curator_client.get(url).status_code == 200


def test_a_curator_opens_and_edits_a_dataset(curator_client: Client, dataset: Dataset) -> None:
    url = reverse("admin:datasets_dataset_change", args=[dataset.pk])
    assert curator_client.get(url).status_code == 200

    answer = curator_client.post(url, {"title": "Curated cats", "description": "", "data_type": 0, "cover": ""})

    dataset.refresh_from_db()
    assert answer.status_code == 302 and dataset.title == "Curated cats"


def test_a_curator_hides_through_the_bulk_action(curator_client: Client, curator: User, dataset: Dataset) -> None:
    curator_client.post(CHANGELIST, {"action": "hide", ACTION_CHECKBOX_NAME: [dataset.pk], "post": "yes"})

    assert ModerationEvent.objects.get().actor == curator


@pytest.mark.parametrize(
    "url",
    [
        reverse("admin:datasets_accesskey_changelist"),
        reverse("admin:datasets_signingkey_changelist"),
        reverse("admin:storage_configs_storageconfig_changelist"),
        reverse("admin:datasets_user_changelist"),
    ],
)
def test_keys_storage_and_users_stay_with_superusers(curator_client: Client, url: str) -> None:
    assert curator_client.get(url).status_code == 403


def test_a_curator_cannot_delete_a_dataset(curator_client: Client, dataset: Dataset) -> None:
    answer = curator_client.post(reverse("admin:datasets_dataset_delete", args=[dataset.pk]), {"post": "yes"})

    assert answer.status_code == 403 and Dataset.objects.filter(pk=dataset.pk).exists()


def test_staff_who_may_not_moderate_get_no_moderation(client: Client, dataset: Dataset) -> None:
    viewer = UserFactory(username="erin", is_staff=True)
    viewer.user_permissions.add(*Group.objects.get(name="curator").permissions.exclude(codename="moderate_dataset"))
    client.force_login(viewer)

    page = client.get(CHANGELIST)
    toggle = client.post(reverse("admin:datasets_dataset_moderate", args=[dataset.pk, "hide"]))

    assert page.context["action_form"] is None and "moderate-toggle" not in page.content.decode()
    assert toggle.status_code == 403 and not ModerationEvent.objects.exists()
