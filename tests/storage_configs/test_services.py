"""Creating, changing, deleting storage configs and rotating their secrets."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from datasets.models import DatasetFile, User, Workspace
from project import errors
from storage_configs.models import StorageConfig
from storage_configs.selectors import storage_config_get, storage_config_list
from storage_configs.services import storage_config_create, storage_config_delete, storage_config_update

pytestmark = pytest.mark.django_db

S3 = {"kind": "s3", "endpoint": "s3.cn-northwest-1.amazonaws.com.cn", "bucket": "graviti-210415"}


def create_s3(workspace: Workspace, name: str = "aws_1", secret: str = "s3cr3t") -> StorageConfig:
    return storage_config_create(workspace=workspace, name=name, access_key_id="AKIK", secret=secret, **S3)


def test_config_name_is_unique_in_a_workspace(workspace: Workspace) -> None:
    create_s3(workspace)

    with pytest.raises(errors.Conflict):
        create_s3(workspace)


def test_same_name_is_allowed_in_another_workspace(workspace: Workspace) -> None:
    other = Workspace.objects.create(name="other", owner=workspace.owner)
    create_s3(workspace)

    assert create_s3(other).workspace == other


def test_cloud_config_without_a_secret_is_refused(workspace: Workspace) -> None:
    with pytest.raises(errors.Missing) as raised:
        create_s3(workspace, secret="")

    assert raised.value.field == "secret"


def test_cloud_config_without_a_bucket_is_refused(workspace: Workspace) -> None:
    with pytest.raises(errors.Missing):
        storage_config_create(workspace=workspace, name="x", kind="oss", endpoint="e", access_key_id="k", secret="s")


def test_azure_config_needs_china_or_global_account_type(workspace: Workspace) -> None:
    with pytest.raises(errors.Invalid):
        storage_config_create(
            workspace=workspace,
            name="az",
            kind="azure",
            bucket="c",
            access_key_id="acct",
            account_type="Mars",
            secret="a2V5",
        )


def test_azure_account_type_is_read_as_the_docs_spell_it(workspace: Workspace) -> None:
    config = storage_config_create(
        workspace=workspace,
        name="az",
        kind="azure",
        bucket="c",
        access_key_id="a",
        account_type="Azure_china",
        secret="a2V5",
    )

    assert config.account_type == "China"


def test_azure_account_key_must_be_base64(workspace: Workspace) -> None:
    with pytest.raises(errors.Invalid) as raised:
        storage_config_create(
            workspace=workspace,
            name="az",
            kind="azure",
            bucket="c",
            access_key_id="a",
            account_type="China",
            secret="%%",
        )

    assert "%%" not in raised.value.message


def test_unknown_kind_is_refused(workspace: Workspace) -> None:
    with pytest.raises(errors.Invalid):
        storage_config_create(workspace=workspace, name="x", kind="ftp")


@pytest.mark.parametrize("file_path", ["../up", "a/../../b", "/../etc", "a\\b"])
def test_file_path_that_could_leave_the_storage_is_refused(workspace: Workspace, file_path: str) -> None:
    with pytest.raises(errors.Invalid):
        storage_config_create(workspace=workspace, name="local", kind="local", file_path=file_path)


def test_file_path_with_outer_slashes_stays_inside_the_storage(workspace: Workspace) -> None:
    config = storage_config_create(workspace=workspace, name="local", kind="local", file_path="/team/data/")

    assert config.file_path == "team/data"


def test_update_keeps_the_secret_when_none_is_given(workspace: Workspace) -> None:
    config = create_s3(workspace)

    storage_config_update(storage_config=config, bucket="new-bucket")

    stored = StorageConfig.objects.get(pk=config.pk)
    assert (stored.bucket, stored.get_secret()) == ("new-bucket", "s3cr3t")


def test_update_replaces_the_secret_when_given(workspace: Workspace) -> None:
    config = create_s3(workspace)

    storage_config_update(storage_config=config, secret="n3w")

    assert StorageConfig.objects.get(pk=config.pk).get_secret() == "n3w"


def test_renaming_onto_a_taken_name_is_refused(workspace: Workspace) -> None:
    create_s3(workspace, name="a")
    config = create_s3(workspace, name="b")

    with pytest.raises(errors.Conflict):
        storage_config_update(storage_config=config, name="a")


def test_delete_removes_an_unused_config(workspace: Workspace) -> None:
    config = create_s3(workspace)

    storage_config_delete(storage_config=config)

    assert not StorageConfig.objects.filter(pk=config.pk).exists()


def test_delete_of_a_config_that_files_use_is_refused(workspace: Workspace) -> None:
    config = create_s3(workspace)
    user = User.objects.create(username="uploader")
    DatasetFile.objects.create(user=user, name="f", oss_object="k", size=1, storage_config=config)

    with pytest.raises(errors.Conflict):
        storage_config_delete(storage_config=config)


def test_list_filters_by_exact_name(workspace: Workspace) -> None:
    create_s3(workspace, name="aws_1")
    create_s3(workspace, name="aws_10")

    assert [config.name for config in storage_config_list(workspace=workspace, name="aws_1")] == ["aws_1"]


def test_get_of_an_unknown_name_is_not_found(workspace: Workspace) -> None:
    with pytest.raises(errors.NotFound):
        storage_config_get(workspace=workspace, name="absent")


def test_rotate_secrets_re_encrypts_under_the_new_key(workspace: Workspace, settings: object) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SECRETS_ENCRYPTION_KEYS = [old_key]
    config = create_s3(workspace)
    settings.SECRETS_ENCRYPTION_KEYS = [new_key, old_key]

    call_command("rotate_secrets", stdout=None)

    settings.SECRETS_ENCRYPTION_KEYS = [new_key]
    assert StorageConfig.objects.get(pk=config.pk).get_secret() == "s3cr3t"
