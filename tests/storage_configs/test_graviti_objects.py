"""The hub's graviti object route (raw PUT and GET under a signed grant, XML errors) and object permissions."""

import hashlib
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from django.test import Client
from rest_framework.test import APIClient

from datasets import services
from datasets.models import Dataset, User, Workspace
from storage_configs import tokens
from storage_configs.backends import StorageBackend, backend_for
from storage_configs.models import StorageConfig
from storage_configs.services import storage_config_create
from tests.factories import DatasetFactory, UserFactory
from tests.storage_configs.conftest import AZURITE_ACCOUNT, AZURITE_KEY, S3_SECRET, unique

pytestmark = pytest.mark.django_db

DATA = b"\x00 graviti object bytes \xff"
SHA1 = hashlib.sha1(DATA).hexdigest()


@pytest.fixture
def dataset(user: User, storage_settings: object) -> Dataset:
    return DatasetFactory(creator=user, name="pets")


@pytest.fixture
def home(user: User) -> Workspace:
    """Alice's personal workspace, which holds her datasets."""
    return services.personal_workspace(user=user)


@pytest.fixture
def keyed(api_client: APIClient, user: User, home: Workspace, dataset: Dataset) -> APIClient:
    api_client.credentials(HTTP_X_TOKEN=services.access_key_create(user=user, workspace=home)[1])
    return api_client


def permission(client: APIClient, action: str, dataset: str = "alice/pets", status: int = 200) -> dict:
    answer = client.get(f"/v2/datasets/{dataset}/objects/permissions?actions={action}&is_internal=False&expired=600")
    assert answer.status_code == status, answer.content
    return answer.json()


def object_path(grant: dict, key: str, sas: str | None = None) -> str:
    """The path and query the SDK sends for a key (``{endpoint_prefix}/{key}?{sas_param}``)."""
    url = urlsplit(f"{grant['endpoint_prefix']}/{key}?{sas if sas is not None else grant['sas_param']}")
    return f"{url.path}?{url.query}"


def put(client: Client, path: str, data: bytes = DATA) -> object:
    return client.put(path, data, content_type="image/png", HTTP_X_MS_BLOB_TYPE="BlockBlob")


def assert_xml(answer: object, status: int, code: str) -> None:
    assert answer.status_code == status  # type: ignore[attr-defined]
    assert answer["Content-Type"] == "application/xml"  # type: ignore[index]
    assert f"<Error><Code>{code}</Code>" in answer.content.decode()  # type: ignore[attr-defined]


def test_permissions_are_azure_shaped_for_every_storage(keyed: APIClient, dataset: Dataset) -> None:
    answer = permission(keyed, "PUT")
    assert answer["backend_type"] == "AZURE"
    assert answer["permission"]["prefix"] == f"{dataset.hex_id}/"
    assert answer["permission"]["endpoint_prefix"] == "http://testserver/storage/graviti"
    assert "prefix" not in permission(keyed, "GET")["permission"]


def test_put_then_get_streams_the_bytes_back(keyed: APIClient, client: Client, dataset: Dataset) -> None:
    grant = permission(keyed, "PUT")["permission"]
    key = grant["prefix"] + SHA1
    assert put(client, object_path(grant, key)).status_code == 201
    assert put(client, object_path(grant, key)).status_code == 201  # the SDK sends the same file twice
    reader = permission(keyed, "GET")["permission"]
    answer = client.get(object_path(reader, key))
    assert (answer.status_code, b"".join(answer.streaming_content)) == (200, DATA)
    assert answer["Content-Length"] == str(len(DATA))


def test_a_body_whose_sha1_is_not_the_key_stores_nothing(keyed: APIClient, client: Client, dataset: Dataset) -> None:
    grant = permission(keyed, "PUT")["permission"]
    other = grant["prefix"] + hashlib.sha1(b"other").hexdigest()
    assert_xml(put(client, object_path(grant, other)), 400, "InvalidInput")
    assert not backend_for(dataset.storage_config).exists(other)


def test_a_key_that_is_not_prefix_and_sha1_is_refused(keyed: APIClient, client: Client) -> None:
    grant = permission(keyed, "PUT")["permission"]
    assert_xml(put(client, object_path(grant, grant["prefix"] + "name.png")), 400, "InvalidInput")


@pytest.mark.parametrize("damage", ["tampered", "other action", "other prefix", "expired", "missing"])
def test_bad_grants_answer_authentication_failed(
    keyed: APIClient, client: Client, dataset: Dataset, damage: str
) -> None:
    grant = permission(keyed, "PUT")["permission"]
    key = grant["prefix"] + SHA1
    token = parse_qs(grant["sas_param"])["sig"][0]
    if damage == "tampered":
        sas = "sig=" + token[:-3] + ("xyz" if not token.endswith("xyz") else "abc")
    elif damage == "other action":
        sas = permission(keyed, "GET")["permission"]["sas_param"]
    elif damage == "other prefix":
        key = "0" * 32 + "/" + SHA1
        sas = grant["sas_param"]
    elif damage == "expired":
        expired = tokens.ObjectGrant(
            storage="hub", prefix=grant["prefix"], action="PUT", max_size=10, expires_at=int(time.time()) - 1
        )
        sas = "sig=" + tokens.object_token(expired)
    else:
        sas = ""
    assert_xml(put(client, object_path(grant, key, sas)), 403, "AuthenticationFailed")
    assert not backend_for(dataset.storage_config).exists(grant["prefix"] + SHA1)


def test_a_body_over_the_grants_size_stores_nothing(client: Client, dataset: Dataset) -> None:
    prefix = f"{dataset.hex_id}/"
    grant = tokens.ObjectGrant(storage="hub", prefix=prefix, action="PUT", max_size=4, expires_at=int(time.time()) + 60)
    answer = put(client, f"/storage/graviti/{prefix}{SHA1}?sig={tokens.object_token(grant)}")
    assert_xml(answer, 413, "RequestBodyTooLarge")


def test_a_missing_object_answers_blob_not_found(keyed: APIClient, client: Client) -> None:
    reader = permission(keyed, "GET")["permission"]
    grant = permission(keyed, "PUT")["permission"]
    assert_xml(client.get(object_path(reader, grant["prefix"] + SHA1)), 404, "BlobNotFound")


def test_other_methods_answer_xml(client: Client) -> None:
    assert_xml(client.post("/storage/graviti/a/b"), 405, "UnsupportedHttpVerb")


def test_readers_get_but_may_not_put(dataset: Dataset, home: Workspace) -> None:
    reader = UserFactory(username="rita")
    services.membership_set(workspace=home, user=reader, role="reader")
    client = APIClient()
    client.credentials(HTTP_X_TOKEN=services.access_key_create(user=reader, workspace=home)[1])
    permission(client, "GET")
    assert permission(client, "PUT", "alice/pets", status=403)["code"] == "AccessDenied"


def test_bad_actions_and_expiry_are_refused(keyed: APIClient) -> None:
    assert keyed.get("/v2/datasets/alice/pets/objects/permissions").json()["code"] == "RequestParamsMissing"
    assert (
        keyed.get("/v2/datasets/alice/pets/objects/permissions?actions=DELETE").json()["code"] == "InvalidParamsValue"
    )
    answer = keyed.get("/v2/datasets/alice/pets/objects/permissions?actions=GET&expired=0")
    assert (answer.status_code, answer.json()["code"]) == (400, "InvalidParamsValue")


def test_s3_reads_redirect_to_a_presigned_url(
    keyed: APIClient, client: Client, user: User, home: Workspace, moto_endpoint: str
) -> None:
    bucket = unique("gv-objects")
    boto3.client(
        "s3", endpoint_url=moto_endpoint, aws_access_key_id="AKIATEST", aws_secret_access_key=S3_SECRET
    ).create_bucket(Bucket=bucket)
    config = storage_config_create(
        workspace=home, name="s3", kind="s3", endpoint=moto_endpoint, bucket=bucket,
        access_key_id="AKIATEST", secret=S3_SECRET, file_path="gv",
    )  # fmt: skip
    DatasetFactory(creator=user, name="s3pets", storage_config=config)
    grant = permission(keyed, "PUT", "alice/s3pets")["permission"]
    key = grant["prefix"] + SHA1
    assert put(client, object_path(grant, key)).status_code == 201
    assert backend_for(config).size(key) == len(DATA)
    answer = client.get(object_path(permission(keyed, "GET", "alice/s3pets")["permission"], key))
    assert answer.status_code == 302
    assert answer["Location"].startswith(moto_endpoint) and f"gv/{key}" in answer["Location"]


def test_azure_configs_get_a_native_container_sas(
    keyed: APIClient, user: User, home: Workspace, azurite_endpoint: str
) -> None:
    from azure.storage.blob import BlobServiceClient

    container = unique("gv-objects")
    BlobServiceClient(
        azurite_endpoint, credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
    ).create_container(container)
    config = storage_config_create(
        workspace=home, name="az", kind="azure", endpoint=azurite_endpoint, bucket=container,
        account_type="Global", access_key_id=AZURITE_ACCOUNT, secret=AZURITE_KEY, file_path="gv",
    )  # fmt: skip
    DatasetFactory(creator=user, name="azpets", storage_config=config)
    grant = permission(keyed, "PUT", "alice/azpets")["permission"]
    assert grant["endpoint_prefix"].endswith(f"/{container}/gv")
    import requests

    key = grant["prefix"] + SHA1
    answer = requests.put(
        f"{grant['endpoint_prefix']}/{key}?{grant['sas_param']}",
        data=DATA,
        headers={"x-ms-blob-type": "BlockBlob"},
        timeout=30,
    )
    assert answer.status_code == 201
    reader: StorageBackend = backend_for(StorageConfig.objects.get(pk=config.pk))
    assert b"".join(reader.iter_chunks(key)) == DATA
    sas = permission(keyed, "GET", "alice/azpets")["permission"]
    assert requests.get(f"{sas['endpoint_prefix']}/{key}?{sas['sas_param']}", timeout=30).content == DATA


def test_copy_puts_the_objects_under_the_target_in_order(keyed: APIClient, client: Client, user: User) -> None:
    DatasetFactory(creator=user, name="copy")
    grant = permission(keyed, "PUT")["permission"]
    key = grant["prefix"] + SHA1
    put(client, object_path(grant, key))
    target = Dataset.objects.get(name="copy")
    answer = keyed.post(
        "/v2/datasets/alice/copy/objects/copy", {"source_dataset": "pets", "keys": [key, key]}, format="json"
    )
    assert answer.status_code == 201
    assert answer.json() == {"keys": [f"{target.hex_id}/{SHA1}"] * 2}
    assert backend_for(target.storage_config).exists(f"{target.hex_id}/{SHA1}")


def test_copy_refuses_keys_of_other_datasets_and_missing_objects(keyed: APIClient, user: User) -> None:
    DatasetFactory(creator=user, name="copy")
    source = Dataset.objects.get(name="pets")
    for keys in (["0" * 32 + "/" + SHA1], [f"{source.hex_id}/{SHA1}"], [f"{source.hex_id}/x"]):
        answer = keyed.post(
            "/v2/datasets/alice/copy/objects/copy", {"source_dataset": "pets", "keys": keys}, format="json"
        )
        assert (answer.status_code, answer.json()["code"]) == (400, "InvalidParamsValue")


def test_copy_across_storage_configs_is_forbidden(
    keyed: APIClient, user: User, home: Workspace, tmp_path: Path
) -> None:
    config = storage_config_create(workspace=home, name="local", kind="local", file_path="x")
    DatasetFactory(creator=user, name="elsewhere", storage_config=config)
    answer = keyed.post(
        "/v2/datasets/alice/elsewhere/objects/copy", {"source_dataset": "pets", "keys": []}, format="json"
    )
    assert (answer.status_code, answer.json()["code"]) == (403, "Forbidden")
