"""Every error under a dialect's prefix answers in that dialect's JSON, never HTML or a stack trace."""

import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from datasets import services
from datasets.models import AccessKey

WHALERUN_NOT_FOUND = (404, {"code": 1104, "message": "Not Found", "data": {}})
WHALERUN_INTERNAL = (500, {"code": 1000, "message": "Internal Server Error", "data": {}})

UNKNOWN_ROUTES = [
    ("/api/no-such-thing/", WHALERUN_NOT_FOUND),
    ("/api/v1/no-such-thing", (404, {"code": 205, "message": "接口不存在"})),
    ("/aids/aidmp/data/v1/no-such-thing", (404, {"code": 5, "message": "no such route", "details": []})),
    ("/v1/no-such-thing", (404, {"code": "ResourceNotExist", "message": "no such route"})),
    ("/gatewayv2/tensorbay-open-api/v1/no-such-thing", (404, {"code": "ResourceNotExist", "message": "no such route"})),
    ("/v2/no-such-thing", (404, {"code": "ResourceNotExist", "message": "no such route"})),
]

CRASHES = [
    ("/api/test-crash/", WHALERUN_INTERNAL),
    ("/api/test-echo/?crash", WHALERUN_INTERNAL),
    ("/api/v1/test-crash", (500, {"code": 207, "message": "服务内部错误"})),
    ("/aids/aidmp/data/v1/test-echo?crash", (500, {"code": 13, "message": "internal server error", "details": []})),
    ("/v1/test-crash", (500, {"code": "InternalServerError", "message": "internal server error"})),
    (
        "/gatewayv2/tensorbay-open-api/v1/test-crash",
        (500, {"code": "InternalServerError", "message": "internal server error"}),
    ),
    ("/v2/test-echo?crash", (500, {"code": "InternalServerError", "message": "internal server error"})),
]


def body(response: object) -> dict:
    assert response["Content-Type"] == "application/json"  # type: ignore[index]
    return json.loads(response.content)  # type: ignore[attr-defined]


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(("path", "expected"), UNKNOWN_ROUTES)
def test_unknown_routes_answer_in_the_dialect_of_their_prefix(
    api_client: APIClient, path: str, expected: tuple, debug: bool
) -> None:
    with override_settings(DEBUG=debug):
        response = api_client.post(path, {"a": 1}, format="json")
    assert (response.status_code, body(response)) == expected


@pytest.mark.django_db
@pytest.mark.urls("tests.project.error_urls")
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(("path", "expected"), CRASHES)
def test_server_errors_answer_in_the_dialect_without_details(
    api_client: APIClient, path: str, expected: tuple, debug: bool
) -> None:
    with override_settings(DEBUG=debug):
        response = api_client.get(path)
    assert (response.status_code, body(response)) == expected
    assert b"secret-internal-detail" not in response.content
    assert b"Traceback" not in response.content


@pytest.mark.django_db
def test_pages_outside_the_dialects_keep_django_behaviour(api_client: APIClient) -> None:
    response = api_client.get("/no-such-page")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
@pytest.mark.urls("tests.project.error_urls")
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/test-echo/", 1100),
        ("/v1/test-echo", "InvalidParamsValue"),
        ("/v2/test-echo", "InvalidParamsValue"),
        ("/aids/aidmp/data/v1/test-echo", 3),
    ],
)
def test_malformed_json_is_the_dialect_bad_request(api_client: APIClient, path: str, expected: object) -> None:
    response = api_client.post(path, "{not json", content_type="application/json")
    assert (response.status_code, body(response)["code"]) == (400, expected)


@pytest.mark.django_db
@pytest.mark.urls("tests.project.error_urls")
def test_delete_bodies_are_read_as_json(api_client: APIClient) -> None:
    response = api_client.delete("/v1/test-echo", {"name": "dev"}, format="json")
    assert (response.status_code, response.json()) == (200, {"name": "dev"})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/users", (405, {"code": "ResourceNotExist", "message": 'Method "DELETE" not allowed.'})),
        ("/v2/current-user", (405, {"code": "ResourceNotExist", "message": 'Method "DELETE" not allowed.'})),
    ],
)
def test_wrong_method_is_the_dialect_error(api_client: APIClient, access_key: str, path: str, expected: tuple) -> None:
    response = api_client.delete(path, HTTP_X_TOKEN=access_key)
    assert (response.status_code, body(response)) == expected


@pytest.mark.django_db
@pytest.mark.urls("tests.project.error_urls")
def test_csrf_never_blocks_token_apis(access_key: str) -> None:
    client = APIClient(enforce_csrf_checks=True)
    response = client.post("/v1/test-echo", {"x": 1}, format="json", HTTP_X_TOKEN=access_key)
    assert (response.status_code, response.json()) == (200, {"x": 1})


TOKEN_ROUTES = [
    ("/v1/users", {"code": "Unauthorized"}),
    ("/gatewayv2/tensorbay-open-api/v1/users", {"code": "Unauthorized"}),
    ("/v2/current-user", {"code": "Unauthorized"}),
    ("/v2/current-workspace", {"code": "Unauthorized"}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "expected"), TOKEN_ROUTES)
@pytest.mark.parametrize("token", [None, "ACCESSKEY-" + "0" * 32, "garbage"])
def test_missing_or_unknown_key_is_the_dialect_401(
    api_client: APIClient, path: str, expected: dict, token: str | None
) -> None:
    headers = {"HTTP_X_TOKEN": token} if token else {}
    response = api_client.get(path, **headers)
    assert response.status_code == 401
    assert body(response)["code"] == expected["code"]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "expected"), TOKEN_ROUTES)
def test_revoked_key_is_the_dialect_401(api_client: APIClient, access_key: str, path: str, expected: dict) -> None:
    assert api_client.get(path, HTTP_X_TOKEN=access_key).status_code == 200
    services.access_key_revoke(key=AccessKey.objects.get())
    response = api_client.get(path, HTTP_X_TOKEN=access_key)
    assert (response.status_code, body(response)["code"]) == (401, expected["code"])


@pytest.mark.django_db
@pytest.mark.urls("tests.project.error_urls")
def test_aidmp_token_is_optional_but_a_bad_one_is_401(api_client: APIClient, access_key: str) -> None:
    assert api_client.get("/aids/aidmp/data/v1/test-echo").status_code == 200
    assert api_client.get("/aids/aidmp/data/v1/test-echo", HTTP_X_TOKEN=access_key).status_code == 200
    services.access_key_revoke(key=AccessKey.objects.get())
    response = api_client.get("/aids/aidmp/data/v1/test-echo", HTTP_X_TOKEN=access_key)
    assert (response.status_code, body(response)["code"]) == (401, 16)


@pytest.mark.django_db
@pytest.mark.urls("tests.project.error_urls")
def test_whalerun_service_token_is_required_when_configured(api_client: APIClient) -> None:
    expected_401 = {"code": 1101, "message": "Unauthorized", "data": {}}
    with override_settings(WHALERUN_SERVICE_TOKEN="s3rvice"):
        assert body(api_client.get("/api/test-echo/")) == expected_401
        assert body(api_client.get("/api/test-echo/", HTTP_X_SERVICE_TOKEN="wrong")) == expected_401
        assert api_client.get("/api/test-echo/", HTTP_X_SERVICE_TOKEN="s3rvice").status_code == 200
    assert api_client.get("/api/test-echo/").status_code == 200
