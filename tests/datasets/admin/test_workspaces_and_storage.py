"""Workspaces with their members, and the storage-config page's connection test button."""

from pathlib import Path

import pytest
from django.conf import LazySettings
from django.test import Client
from django.urls import reverse

from datasets.models import Membership, User, Workspace
from storage_configs.models import StorageConfig
from storage_configs.services import storage_config_create


def test_a_workspace_page_lists_and_edits_its_members(admin_client: Client, team: Workspace, other_user: User) -> None:
    url = reverse("admin:datasets_workspace_change", args=[team.pk])
    page = admin_client.get(url).content.decode()
    assert "bob" in page or str(other_user.pk) in page

    membership = Membership.objects.get(workspace=team, user=other_user)
    owner = Membership.objects.get(workspace=team, role="owner")
    answer = admin_client.post(
        url,
        {
            "name": team.name,
            "alias": "",
            "description": "",
            "email": "",
            "location": "",
            "kind": team.kind,
            "owner": team.owner_id,
            "default_storage_config": "",
            "memberships-TOTAL_FORMS": "2",
            "memberships-INITIAL_FORMS": "2",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-id": owner.pk,
            "memberships-0-workspace": team.pk,
            "memberships-0-user": owner.user_id,
            "memberships-0-role": "owner",
            "memberships-1-id": membership.pk,
            "memberships-1-workspace": team.pk,
            "memberships-1-user": other_user.pk,
            "memberships-1-role": "reader",
        },
    )

    membership.refresh_from_db()
    assert answer.status_code == 302 and membership.role == "reader"


@pytest.fixture
def local_config(workspace: Workspace, settings: LazySettings, tmp_path: Path) -> StorageConfig:
    settings.STORAGE_LOCAL_ROOT = tmp_path / "local"
    return storage_config_create(workspace=workspace, name="disk", kind="local", file_path="team")


def test_the_storage_config_page_has_a_connection_test_button(
    admin_client: Client, local_config: StorageConfig
) -> None:
    page = admin_client.get(reverse("admin:storage_configs_storageconfig_change", args=[local_config.pk]))

    assert (
        reverse("admin:storage_configs_storageconfig_test_connection", args=[local_config.pk]) in page.content.decode()
    )


def test_the_connection_test_button_reports_a_working_storage(
    admin_client: Client, local_config: StorageConfig
) -> None:
    answer = admin_client.post(
        reverse("admin:storage_configs_storageconfig_test_connection", args=[local_config.pk]), follow=True
    )

    assert "disk: connected" in answer.content.decode().lower()


def test_the_connection_test_button_reports_a_failing_storage_without_its_secret(
    admin_client: Client, workspace: Workspace
) -> None:
    config = storage_config_create(
        workspace=workspace,
        name="dead-s3",
        kind="s3",
        endpoint="http://127.0.0.1:9",
        bucket="bucket1",
        access_key_id="AKIAID",
        secret="never-shown-secret-value",
    )

    answer = admin_client.post(
        reverse("admin:storage_configs_storageconfig_test_connection", args=[config.pk]), follow=True
    )

    page = answer.content.decode().lower()
    assert "dead-s3: storage cannot be reached" in page
    assert "never-shown-secret-value" not in page


def test_the_connection_test_is_a_post(admin_client: Client, local_config: StorageConfig) -> None:
    url = reverse("admin:storage_configs_storageconfig_test_connection", args=[local_config.pk])

    assert admin_client.get(url).status_code == 405
