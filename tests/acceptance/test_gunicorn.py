"""The service runs under gunicorn over TLS exactly as deployed: ``gunicorn project.wsgi:application``."""

import pytest
import requests

from datasets import services
from tests.acceptance.conftest import HubServer
from tests.factories import UserFactory


def test_gunicorn_serves_health_over_tls(hub_server: HubServer) -> None:
    response = requests.get(f"{hub_server.url}healthz", timeout=10)
    assert (response.status_code, response.json()["status"]) == (200, "ok")


def test_unknown_routes_are_dialect_json_through_gunicorn(hub_server: HubServer) -> None:
    response = requests.get(f"{hub_server.url}v2/nowhere", timeout=10)
    assert (response.status_code, response.headers["Content-Type"]) == (404, "application/json")


@pytest.mark.parametrize(
    ("request_options", "status"),
    [
        ({"params": {"name": "x" * 5000}}, 414),
        ({"headers": {"X-Token": "x" * 9000}}, 431),
    ],
)
def test_requests_gunicorn_refuses_are_answered_as_the_schemas_document(
    hub_server: HubServer, request_options: dict, status: int
) -> None:
    schema = requests.get(f"{hub_server.url}openapi/graviti.json", timeout=10).json()
    response = requests.get(f"{hub_server.url}v2/datasets", timeout=10, **request_options)
    assert response.status_code == status
    documented = schema["paths"]["/v2/datasets"]["get"]["responses"][str(status)]["content"]
    assert response.headers["Content-Type"] in documented


@pytest.mark.django_db(transaction=True)
def test_the_server_sees_keys_the_test_creates(hub_server: HubServer) -> None:
    user = UserFactory(username="served")
    _, key = services.access_key_create(user=user, workspace=services.personal_workspace(user=user))
    response = requests.get(f"{hub_server.url}v2/current-user", headers={"X-Token": key}, timeout=10)
    assert (response.status_code, response.json()["workspace"]) == (200, "served")
