"""Sessions, the login user and messages serve the admin; the dialect prefixes skip them, CSRF stays as it was."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_admin_posts_still_need_a_csrf_token() -> None:
    response = Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "a", "password": "b"})

    assert response.status_code == 403


def test_admin_pages_still_get_a_session_and_a_csrf_cookie() -> None:
    response = Client().get("/admin/login/")

    assert response.status_code == 200
    assert "csrftoken" in response.cookies


@pytest.mark.parametrize("path", ["/api/datasets/", "/aids/aidmp/data/v1/datasets", "/v2/datasets", "/api/nope/"])
def test_dialect_answers_set_no_cookie_and_keep_the_security_headers(path: str) -> None:
    client = Client(enforce_csrf_checks=True)
    client.cookies["sessionid"] = "not-a-session"

    response = client.get(path)

    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_token_routes_take_posts_without_a_csrf_token() -> None:
    response = Client(enforce_csrf_checks=True).post("/api/dataset_files/", {}, content_type="application/json")

    assert response.json()["code"] == 1401
