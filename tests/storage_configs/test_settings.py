"""STORAGE_BACKEND picks the hub's own storage and makes the variables it needs required."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from project.settings import default_storage_from_environment

S3_VARIABLES = ["STORAGE_S3_BUCKET", "STORAGE_S3_ACCESS_KEY_ID", "STORAGE_S3_SECRET_ACCESS_KEY"]
AZURE_VARIABLES = ["STORAGE_AZURE_ACCOUNT_NAME", "STORAGE_AZURE_ACCOUNT_KEY", "STORAGE_AZURE_CONTAINER"]
OSS_VARIABLES = [
    "STORAGE_OSS_ENDPOINT",
    "STORAGE_OSS_BUCKET",
    "STORAGE_OSS_ACCESS_KEY_ID",
    "STORAGE_OSS_ACCESS_KEY_SECRET",
]


def test_filesystem_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORAGE_BACKEND", raising=False)

    backend, storage = default_storage_from_environment()

    assert backend == "filesystem"
    assert storage["BACKEND"] == "django.core.files.storage.FileSystemStorage"


@pytest.mark.parametrize(
    ("backend", "variable"),
    [("s3", name) for name in S3_VARIABLES]
    + [("azure", name) for name in AZURE_VARIABLES]
    + [("oss", name) for name in OSS_VARIABLES],
)
def test_missing_variable_of_the_chosen_backend_stops_start_up_naming_it(
    monkeypatch: pytest.MonkeyPatch, backend: str, variable: str
) -> None:
    monkeypatch.setenv("STORAGE_BACKEND", backend)
    for name in S3_VARIABLES + AZURE_VARIABLES + OSS_VARIABLES:
        monkeypatch.setenv(name, "dmFsdWU=")
    monkeypatch.delenv(variable)

    with pytest.raises(ImproperlyConfigured, match=variable):
        default_storage_from_environment()


def test_unknown_backend_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_BACKEND", "ftp")

    with pytest.raises(ImproperlyConfigured, match="STORAGE_BACKEND"):
        default_storage_from_environment()


def test_azure_endpoint_points_the_hub_storage_at_azurite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_BACKEND", "azure")
    for name in AZURE_VARIABLES:
        monkeypatch.setenv(name, "dmFsdWU=")
    monkeypatch.setenv("STORAGE_AZURE_ENDPOINT", "http://127.0.0.1:10000/devstoreaccount1")

    _, storage = default_storage_from_environment()

    assert "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;" in storage["OPTIONS"]["connection_string"]
