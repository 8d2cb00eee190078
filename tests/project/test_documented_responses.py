"""Real success bodies match what each dialect's OpenAPI schema documents for them (found by the fuzzer)."""

import time
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
from rest_framework.test import APIClient

from datasets import services
from datasets.models import User, Workspace
from storage_configs.services import storage_config_create
from tests.factories import DatasetFactory

pytestmark = pytest.mark.django_db
TENSORBAY = "/gatewayv2/tensorbay-open-api/v1/"


def assert_documented(client: APIClient, dialect: str, path: str, method: str, body: Any) -> None:
    """Validate the body against the schema of the operation's 200 response, components included."""
    schema = client.get(f"/openapi/{dialect}.json").json()
    documented = schema["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.validate(body, {**documented, "components": schema["components"]})


def test_whalerun_list_is_documented_in_its_envelope(api_client: APIClient, user: User) -> None:
    DatasetFactory(creator=user)
    response = api_client.get("/api/datasets/")
    assert_documented(api_client, "whalerun", "/api/datasets/", "get", response.json())


def test_whalerun_bodies_trimmed_by_fields_are_documented(api_client: APIClient, user: User) -> None:
    dataset = DatasetFactory(creator=user)
    response = api_client.put(f"/api/datasets/{dataset.pk}/total_votes/?fields=id", {"delta": 1}, format="json")
    assert response.json()["data"] == {"dataset": {"id": dataset.pk}}
    assert_documented(api_client, "whalerun", "/api/datasets/{dataset_id}/total_votes/", "put", response.json())


def test_aidmp_list_is_documented_with_its_total(api_client: APIClient, user: User) -> None:
    DatasetFactory(creator=user, is_public=True)
    response = api_client.get("/aids/aidmp/data/v1/datasets")
    assert response.json()["total"] == 1
    assert_documented(api_client, "aidmp", "/aids/aidmp/data/v1/datasets", "get", response.json())


def test_institution_list_is_documented_in_its_envelope(
    api_client: APIClient, user: User, workspace: Workspace
) -> None:
    DatasetFactory(creator=user)
    key, secret = services.signing_key_create(user=user, workspace=workspace)
    query = {"SecretId": key.secret_id, "Timestamp": str(int(time.time() * 1000))}
    canonical = "&".join(f"{name}={quote(value, safe='')}" for name, value in sorted(query.items()))
    query["Signature"] = services.signature_compute(secret=secret, message=canonical)
    response = api_client.get("/api/v1/datasets", query)
    assert response.json()["datasetCount"] == 1
    assert_documented(api_client, "institution", "/api/v1/datasets", "get", response.json())


@pytest.mark.parametrize("route", ["storage-configs", "auth-storage-configs"])
def test_tensorbay_config_lists_each_document_their_own_items(
    api_client: APIClient, workspace: Workspace, access_key: str, route: str
) -> None:
    storage_config_create(workspace=workspace, name="disk", kind="local", file_path="team")
    response = api_client.get(f"{TENSORBAY}{route}", HTTP_X_TOKEN=access_key)
    assert response.status_code == 200
    assert_documented(api_client, "tensorbay", f"{TENSORBAY}{route}", "get", response.json())
