"""The secret is write-only: it can be set, is stored encrypted, and no page or JSON the hub serves shows it."""

import pytest
from django.test import Client
from django.urls import reverse

from datasets.models import User, Workspace
from storage_configs.backends import backend_for
from storage_configs.models import StorageConfig
from storage_configs.services import storage_config_create

pytestmark = pytest.mark.django_db

# Azure account keys are base64, so one secret fits every kind.
SECRET = "U3VwM3ItU2VjcmV0LVZhbHVlLVdpdGgtQ2hhcnMvKz0hIQ=="
CONFIGS = {
    "s3": {"endpoint": "http://127.0.0.1:9", "bucket": "bucket1", "access_key_id": "AKIAID"},
    "oss": {"endpoint": "http://127.0.0.1:9", "bucket": "bucket1", "access_key_id": "LTAIID"},
    "azure": {
        "endpoint": "http://127.0.0.1:9/acct",
        "bucket": "container1",
        "access_key_id": "acct",
        "account_type": "China",
    },
    "local": {"file_path": "team"},
}


@pytest.fixture
def configs(workspace: Workspace, storage_settings: object) -> list[StorageConfig]:
    return [
        storage_config_create(
            workspace=workspace, name=f"{kind}-config", kind=kind, secret="" if kind == "local" else SECRET, **fields
        )
        for kind, fields in CONFIGS.items()
    ]


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(User.objects.create_superuser(username="admin", email="admin@example.com", password="x"))
    return client


def admin_pages(config: StorageConfig) -> list[str]:
    """Every admin page about storage configs."""
    return [
        reverse("admin:storage_configs_storageconfig_changelist"),
        reverse("admin:storage_configs_storageconfig_add"),
        reverse("admin:storage_configs_storageconfig_change", args=[config.pk]),
        reverse("admin:storage_configs_storageconfig_delete", args=[config.pk]),
        reverse("admin:storage_configs_storageconfig_history", args=[config.pk]),
    ]


def test_secret_is_stored_encrypted(configs: list[StorageConfig]) -> None:
    stored = StorageConfig.objects.get(name="s3-config")

    assert SECRET not in stored.secret_ciphertext
    assert stored.get_secret() == SECRET


def test_no_admin_page_shows_the_secret(admin_client: Client, configs: list[StorageConfig]) -> None:
    for config in configs:
        for url in admin_pages(config):
            answer = admin_client.get(url)
            assert answer.status_code == 200, url
            assert SECRET not in answer.content.decode(), url


def test_admin_sets_a_new_secret_without_showing_it(admin_client: Client, configs: list[StorageConfig]) -> None:
    config = configs[0]
    url = reverse("admin:storage_configs_storageconfig_change", args=[config.pk])
    form = {
        "workspace": config.workspace_id,
        "name": config.name,
        "kind": config.kind,
        "file_path": "",
        "endpoint": config.endpoint,
        "bucket": config.bucket,
        "account_type": "",
        "access_key_id": config.access_key_id,
        "secret": "Another-Secret-42",
    }

    answer = admin_client.post(url, form, follow=True)

    assert answer.status_code == 200
    assert "Another-Secret-42" not in answer.content.decode()
    assert StorageConfig.objects.get(pk=config.pk).get_secret() == "Another-Secret-42"


def test_admin_form_with_an_empty_secret_keeps_the_stored_one(
    admin_client: Client, configs: list[StorageConfig]
) -> None:
    config = configs[0]
    url = reverse("admin:storage_configs_storageconfig_change", args=[config.pk])
    form = {
        "workspace": config.workspace_id,
        "name": "renamed",
        "kind": config.kind,
        "endpoint": config.endpoint,
        "bucket": config.bucket,
        "access_key_id": config.access_key_id,
        "secret": "",
    }

    admin_client.post(url, form)

    assert StorageConfig.objects.get(pk=config.pk).name == "renamed"
    assert StorageConfig.objects.get(pk=config.pk).get_secret() == SECRET


def new_s3_form(workspace: Workspace, **fields: str) -> dict:
    """The admin add form for an S3 config."""
    form = {
        "workspace": workspace.pk,
        "name": "new",
        "kind": "s3",
        "endpoint": "e",
        "bucket": "b",
        "access_key_id": "k",
    }
    return form | fields


def test_admin_creates_a_config_with_an_encrypted_secret(admin_client: Client, workspace: Workspace) -> None:
    answer = admin_client.post(
        reverse("admin:storage_configs_storageconfig_add"), new_s3_form(workspace, secret=SECRET)
    )

    assert answer.status_code == 302
    assert StorageConfig.objects.get(name="new").get_secret() == SECRET


def test_admin_refuses_a_cloud_config_without_a_secret(admin_client: Client, workspace: Workspace) -> None:
    answer = admin_client.post(reverse("admin:storage_configs_storageconfig_add"), new_s3_form(workspace))

    assert answer.status_code == 200
    assert "secret is required" in answer.content.decode()
    assert not StorageConfig.objects.filter(name="new").exists()


def test_admin_refuses_a_file_path_that_climbs_out(admin_client: Client, workspace: Workspace) -> None:
    form = new_s3_form(workspace, secret=SECRET, file_path="../other")

    answer = admin_client.post(reverse("admin:storage_configs_storageconfig_add"), form)

    assert answer.status_code == 200
    assert SECRET not in answer.content.decode()
    assert not StorageConfig.objects.filter(name="new").exists()


def test_failed_connection_test_never_shows_the_secret(admin_client: Client, configs: list[StorageConfig]) -> None:
    changelist = reverse("admin:storage_configs_storageconfig_changelist")
    chosen = [config.pk for config in configs if config.kind in ("oss", "azure", "local")]

    answer = admin_client.post(changelist, {"action": "test_connection", "_selected_action": chosen}, follow=True)

    page = answer.content.decode()
    assert "oss-config: storage cannot be reached" in page.lower()
    assert "local-config: connected" in page.lower()
    assert SECRET not in page


def test_signed_urls_and_upload_policies_never_hold_the_secret(configs: list[StorageConfig]) -> None:
    for config in configs:
        backend = backend_for(config)
        policy = backend.upload_policy(object_prefix="p/", expires_in=60, max_size=10)
        assert SECRET not in backend.url("p/x", expires_in=60)
        assert all(SECRET not in value for value in [policy.host, *policy.fields.values()])


def test_hub_json_errors_never_hold_the_secret(client: Client, configs: list[StorageConfig]) -> None:
    answers = [
        client.post(reverse("storage_configs:upload"), {"token": "bad", "key": "k"}),
        client.get(reverse("storage_configs:download", kwargs={"token": "bad"})),
    ]

    assert all(SECRET not in answer.content.decode() for answer in answers)
