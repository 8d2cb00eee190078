"""Real answers, success and error, match what each dialect's OpenAPI schema documents for them."""

import itertools
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
from django.conf import LazySettings
from django.db import OperationalError
from django.http import HttpRequest
from django.test import RequestFactory
from rest_framework.test import APIClient

from datasets import services
from datasets.models import User, Workspace
from project import errors
from project.api import aidmp, graviti, institution, limits, tensorbay, whalerun
from project.api.errors import ErrorRecord
from project.api.schema import DOCUMENTED_DIALECTS, EVERY_OPERATION_KINDS, OBJECT_KINDS, WRITE_KINDS
from storage_configs.services import storage_config_create
from tests.factories import DatasetFactory

pytestmark = pytest.mark.django_db
TENSORBAY = "/gatewayv2/tensorbay-open-api/v1/"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def assert_documented(client: APIClient, dialect: str, path: str, method: str, response: Any) -> None:
    """Check the answer's status, content type and body against what the operation documents for that status."""
    schema = client.get(f"/openapi/{dialect}.json").json()
    responses = schema["paths"][path][method]["responses"]
    assert str(response.status_code) in responses, f"{method.upper()} {path} does not document {response.status_code}"
    content = responses[str(response.status_code)]["content"]
    assert response["Content-Type"] in content
    documented = content[response["Content-Type"]]["schema"]
    jsonschema.validate(response.json(), {**documented, "components": schema["components"]})


def signed(query: dict[str, str], *, secret_id: str, secret: str) -> dict[str, str]:
    """The query with ``SecretId``, ``Timestamp`` and its ``Signature``."""
    query = {**query, "SecretId": secret_id, "Timestamp": str(int(time.time() * 1000))}
    canonical = "&".join(f"{name}={quote(value, safe='')}" for name, value in sorted(query.items()))
    return {**query, "Signature": services.signature_compute(secret=secret, message=canonical)}


# Success bodies


def test_whalerun_list_is_documented_in_its_envelope(api_client: APIClient, user: User) -> None:
    DatasetFactory(creator=user)
    response = api_client.get("/api/datasets/")
    assert_documented(api_client, "whalerun", "/api/datasets/", "get", response)


def test_whalerun_bodies_trimmed_by_fields_are_documented(api_client: APIClient, user: User) -> None:
    dataset = DatasetFactory(creator=user)
    response = api_client.put(f"/api/datasets/{dataset.pk}/total_votes/?fields=id", {"delta": 1}, format="json")
    assert response.json()["data"] == {"dataset": {"id": dataset.pk}}
    assert_documented(api_client, "whalerun", "/api/datasets/{dataset_id}/total_votes/", "put", response)


def test_aidmp_list_is_documented_with_its_total(api_client: APIClient, user: User) -> None:
    DatasetFactory(creator=user, is_public=True)
    response = api_client.get("/aids/aidmp/data/v1/datasets")
    assert response.json()["total"] == 1
    assert_documented(api_client, "aidmp", "/aids/aidmp/data/v1/datasets", "get", response)


def test_institution_list_is_documented_in_its_envelope(
    api_client: APIClient, user: User, workspace: Workspace
) -> None:
    DatasetFactory(creator=user)
    key, secret = services.signing_key_create(user=user, workspace=workspace)
    response = api_client.get("/api/v1/datasets", signed({}, secret_id=key.secret_id, secret=secret))
    assert response.json()["datasetCount"] == 1
    assert_documented(api_client, "institution", "/api/v1/datasets", "get", response)


@pytest.mark.parametrize("route", ["storage-configs", "auth-storage-configs"])
def test_tensorbay_config_lists_each_document_their_own_items(
    api_client: APIClient, workspace: Workspace, access_key: str, route: str
) -> None:
    storage_config_create(workspace=workspace, name="disk", kind="local", file_path="team")
    response = api_client.get(f"{TENSORBAY}{route}", HTTP_X_TOKEN=access_key)
    assert response.status_code == 200
    assert_documented(api_client, "tensorbay", f"{TENSORBAY}{route}", "get", response)


# Error bodies


def whalerun_bad_page(client: APIClient, user: User, key: str) -> Any:
    return client.get("/api/datasets/?page=0")


def whalerun_missing_dataset(client: APIClient, user: User, key: str) -> Any:
    return client.put("/api/datasets/999999/total_votes/", {"delta": 1}, format="json")


def whalerun_bad_body(client: APIClient, user: User, key: str) -> Any:
    return client.put("/api/datasets/999999/total_votes/", {"delta": "1"}, format="json")


def aidmp_bad_page_size(client: APIClient, user: User, key: str) -> Any:
    return client.get("/aids/aidmp/data/v1/datasets", {"page_size": 5000})


def aidmp_unknown_key(client: APIClient, user: User, key: str) -> Any:
    return client.get("/aids/aidmp/data/v1/datasets", HTTP_X_TOKEN="ACCESSKEY-" + "0" * 32)


def institution_unsigned(client: APIClient, user: User, key: str) -> Any:
    return client.get("/api/v1/datasets")


def institution_limit_too_large(client: APIClient, user: User, key: str) -> Any:
    signing_key, secret = services.signing_key_create(user=user, workspace=services.personal_workspace(user=user))
    return client.get("/api/v1/datasets", signed({"limit": "1000"}, secret_id=signing_key.secret_id, secret=secret))


def tensorbay_missing_dataset(client: APIClient, user: User, key: str) -> Any:
    return client.get(f"{TENSORBAY}datasets/{'0' * 32}", HTTP_X_TOKEN=key)


def tensorbay_no_key(client: APIClient, user: User, key: str) -> Any:
    return client.get(f"{TENSORBAY}datasets")


def tensorbay_name_taken(client: APIClient, user: User, key: str) -> Any:
    client.post(f"{TENSORBAY}datasets", {"name": "mnist"}, format="json", HTTP_X_TOKEN=key)
    return client.post(f"{TENSORBAY}datasets", {"name": "mnist"}, format="json", HTTP_X_TOKEN=key)


def graviti_missing_dataset(client: APIClient, user: User, key: str) -> Any:
    return client.get("/v2/datasets/alice/nope", HTTP_X_TOKEN=key)


def graviti_name_taken(client: APIClient, user: User, key: str) -> Any:
    client.post("/v2/datasets", {"name": "mnist"}, format="json", HTTP_X_TOKEN=key)
    return client.post("/v2/datasets", {"name": "mnist"}, format="json", HTTP_X_TOKEN=key)


# (dialect, documented path, method, the request, the status it answers)
ERROR_ANSWERS: list[tuple[str, str, str, Callable[[APIClient, User, str], Any], int]] = [
    ("whalerun", "/api/datasets/", "get", whalerun_bad_page, 400),
    ("whalerun", "/api/datasets/{dataset_id}/total_votes/", "put", whalerun_missing_dataset, 404),
    ("whalerun", "/api/datasets/{dataset_id}/total_votes/", "put", whalerun_bad_body, 400),
    ("aidmp", "/aids/aidmp/data/v1/datasets", "get", aidmp_bad_page_size, 400),
    ("aidmp", "/aids/aidmp/data/v1/datasets", "get", aidmp_unknown_key, 401),
    ("institution", "/api/v1/datasets", "get", institution_unsigned, 401),
    ("institution", "/api/v1/datasets", "get", institution_limit_too_large, 400),
    ("tensorbay", f"{TENSORBAY}datasets/{{dataset_id}}", "get", tensorbay_missing_dataset, 404),
    ("tensorbay", f"{TENSORBAY}datasets", "get", tensorbay_no_key, 401),
    ("tensorbay", f"{TENSORBAY}datasets", "post", tensorbay_name_taken, 409),
    ("graviti", "/v2/datasets/{workspace}/{dataset}", "get", graviti_missing_dataset, 404),
    ("graviti", "/v2/datasets", "post", graviti_name_taken, 409),
]


@pytest.mark.parametrize(
    ("dialect", "path", "method", "send", "status"),
    ERROR_ANSWERS,
    ids=[send.__name__ for _, _, _, send, _ in ERROR_ANSWERS],
)
def test_error_answers_are_documented_for_their_operation(
    api_client: APIClient,
    user: User,
    access_key: str,
    dialect: str,
    path: str,
    method: str,
    send: Callable[[APIClient, User, str], Any],
    status: int,
) -> None:
    response = send(api_client, user, access_key)
    assert response.status_code == status
    assert_documented(api_client, dialect, path, method, response)


# A documented operation of each dialect, as (dialect, documented path, method, request path).
OPERATIONS = [
    ("whalerun", "/api/datasets/", "get", "/api/datasets/"),
    ("aidmp", "/aids/aidmp/data/v1/datasets", "get", "/aids/aidmp/data/v1/datasets"),
    ("institution", "/api/v1/datasets", "get", "/api/v1/datasets"),
    ("tensorbay", f"{TENSORBAY}datasets", "post", f"{TENSORBAY}datasets"),
    ("graviti", "/v2/datasets", "get", "/v2/datasets"),
]


@pytest.mark.parametrize(("dialect", "path", "method", "request_path"), OPERATIONS)
def test_throttled_answers_are_documented(
    api_client: APIClient, settings: LazySettings, dialect: str, path: str, method: str, request_path: str
) -> None:
    settings.RATE_LIMIT_PER_ADDRESS = 1
    getattr(api_client, method)(request_path)
    response = getattr(api_client, method)(request_path)
    assert response.status_code == 429
    settings.RATE_LIMIT_PER_ADDRESS = 0  # to fetch the schema
    assert_documented(api_client, dialect, path, method, response)


@pytest.mark.parametrize(("dialect", "path", "method", "request_path"), OPERATIONS)
def test_too_large_answers_are_documented(
    api_client: APIClient, settings: LazySettings, dialect: str, path: str, method: str, request_path: str
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api_client.generic(method.upper(), request_path, "[" + "0," * 1000 + "0]", "application/json")
    assert response.status_code == (400 if dialect == "graviti" else 413)  # the graviti SDK knows no 413
    assert_documented(api_client, dialect, path, method, response)


@pytest.mark.parametrize(("dialect", "path", "method", "request_path"), OPERATIONS)
def test_unavailable_answers_are_documented(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch, dialect: str, path: str, method: str, request_path: str
) -> None:
    def database_lost(request: HttpRequest, dialect: object) -> None:
        raise OperationalError("connection refused")

    with monkeypatch.context() as patched:
        patched.setattr(limits, "rate_limit", database_lost)
        response = getattr(api_client, method)(request_path)
    assert response.status_code == 503
    assert_documented(api_client, dialect, path, method, response)


# Every error a dialect renders has the body its schema documents for that status.

KINDS = sorted(
    {cls.kind for cls in errors.DomainError.__subclasses__()}
    | {
        kind
        for table in (whalerun.ERRORS, aidmp.ERRORS, institution.ERRORS, tensorbay.ERRORS, graviti.ERRORS)
        for kind in table
    }
)
# Fields, reasons and locations the tables tell apart (institution's parameter and signature codes,
# whale.run's URL parameters of a POST or PUT).
RECORDS = [
    ErrorRecord(kind=kind, message=kind, field=field, context={"reason": reason, "location": location})
    for kind, field, reason, location in itertools.product(
        KINDS,
        ["", "type", "limit", "offset", "name"],
        ["", "type", "too_large", "not_positive", "missing", "unknown_key", "timestamp", "signature", "replay"],
        ["", "query"],
    )
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dialect", sorted(DOCUMENTED_DIALECTS))
def test_every_error_a_dialect_renders_has_its_documented_body(dialect: str, method: str) -> None:
    documented = DOCUMENTED_DIALECTS[dialect]
    schemas = documented.error_schemas()
    request = RequestFactory().generic(method, "/")
    rendered = {json.dumps(documented.error_body(record, request), sort_keys=True) for record in RECORDS}
    for status, body in map(json.loads, sorted(rendered)):
        jsonschema.validate(body, schemas[status])


@pytest.mark.parametrize("dialect", sorted(DOCUMENTED_DIALECTS))
def test_every_operation_documents_the_errors_any_request_may_meet(api_client: APIClient, dialect: str) -> None:
    documented = DOCUMENTED_DIALECTS[dialect]
    request = RequestFactory().get("/")
    met_anywhere = {
        documented.error_body(ErrorRecord(kind=kind, message=kind), request)[0]
        for kind in ("malformed", "unauthorized", "too_large", "throttled", "unavailable")
    }
    refused_by_the_server = {414, 431}
    paths = api_client.get(f"/openapi/{dialect}.json").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            documented = set(operation["responses"])
            assert {str(status) for status in met_anywhere | refused_by_the_server} <= documented, f"{method} {path}"


def test_every_error_kind_is_documented_for_some_operations() -> None:
    # A documented method never meets method_not_allowed.
    assert {*EVERY_OPERATION_KINDS, *OBJECT_KINDS, *WRITE_KINDS} == set(KINDS) - {"method_not_allowed"}
