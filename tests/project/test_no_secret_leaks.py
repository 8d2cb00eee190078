"""No secret the hub handles appears in a response, a log record or an error, except once, where it is issued.

One test drives every flow that touches a secret — storage configs with secrets through TensorBay and
Graviti, listing files of an unreachable storage, the admin's connection test, access and signing keys from
the commands and the admin, refused institution signatures, refused service tokens, error pages — records
every response (status line, headers, body) and every log record at DEBUG, and greps them for each secret.
"""

import io
import logging
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from django.conf import LazySettings
from django.core.management import call_command
from django.http import HttpResponseBase, QueryDict
from django.test import Client
from django.urls import reverse

from datasets import services
from datasets.models import User, Workspace
from project.api.authentication import canonical_query
from storage_configs.models import StorageConfig

pytestmark = pytest.mark.django_db

# Distinct, greppable values; Azure account keys are base64, so one storage secret fits every kind.
STORAGE_SECRET = "U3RvcmFnZVNlY3JldE5ldmVyU2hvd24xMjM0NTY3OA=="
SERVICE_TOKEN = "service-token-never-shown-5f2d9a"
UNREACHABLE = "http://127.0.0.1:9"


class Recorder:
    """A test client that keeps the full text of every response it receives."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.responses: list[str] = []
        self.statuses: list[int] = []

    def request(self, method: str, path: str, **kwargs: object) -> HttpResponseBase:
        response = getattr(self.client, method)(path, **kwargs)
        self.record(response)
        return response

    def record(self, response: HttpResponseBase) -> None:
        self.statuses.append(response.status_code)
        body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
        self.responses.append(response.serialize_headers().decode() + "\n\n" + body.decode(errors="replace"))


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record of every logger at DEBUG, ``django.request`` and the error normaliser included."""
    with caplog.at_level(logging.DEBUG):
        yield caplog


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    """Each record as a handler would write it: message, exception with traceback, and extra attributes."""
    formatter = logging.Formatter()
    return "\n".join(f"{formatter.format(record)} {record.__dict__}" for record in caplog.records)


def issue_access_key_by_command() -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_access_key", "carol", stdout=out, stderr=err)
    return out.getvalue().strip().splitlines()[-1]


def issue_signing_key_by_command() -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_signing_key", "carol", stdout=out, stderr=err)
    secret_id, secret = out.getvalue().strip().splitlines()[-1].split()
    return secret_id, secret


def issued_value(page: str) -> str:
    """The secret the admin shows once after an issue: the last value on the page (a SecretId comes first)."""
    return page.split('<code class="issued-value">')[-1].split("</code>")[0]


def storage_config_bodies() -> dict[str, dict[str, str]]:
    common = {"filePath": "team", "accesskeyId": "AKIDPUBLIC", "accesskeySecret": STORAGE_SECRET}
    return {
        "s3": {"name": "s3-config", "endpoint": UNREACHABLE, "bucketName": "bucket1", **common},
        "oss": {"name": "oss-config", "endpoint": UNREACHABLE, "bucketName": "bucket1", **common},
        "azure": {"name": "azure-config", "containerName": "container1", "accountType": "China", **common},
    }


def signed_query(secret_id: str, secret: str, *, signature: str | None = None, **params: str) -> str:
    query = {"SecretId": secret_id, "Timestamp": str(int(time.time() * 1000)), **params}
    expected = services.signature_compute(secret=secret, message=canonical_query(QueryDict(urlencode(query))))
    return urlencode({**query, "Signature": signature or expected})


def test_no_secret_appears_outside_its_one_time_display(
    client: Client, user: User, workspace: Workspace, settings: LazySettings, all_logs: pytest.LogCaptureFixture
) -> None:
    settings.WHALERUN_SERVICE_TOKEN = SERVICE_TOKEN
    api = Recorder(Client(raise_request_exception=False))

    # Keys issued by the commands: their output is the one-time display.
    access_key = issue_access_key_by_command()
    secret_id, signing_secret = issue_signing_key_by_command()
    # Keys issued in the admin: the answer to the issuing POST is the one-time display, so it is not recorded.
    client.force_login(User.objects.create_superuser(username="admin", email="admin@example.com", password="x"))
    admin = Recorder(client)
    carol = User.objects.get(username="carol")
    carol_workspace = services.personal_workspace(user=carol)
    issued = client.post(
        reverse("admin:datasets_accesskey_add"), {"user": carol.pk, "workspace": carol_workspace.pk, "name": "ci"}
    ).content.decode()
    admin_access_key = issued_value(issued)
    issued = client.post(
        reverse("admin:datasets_signingkey_add"), {"user": carol.pk, "workspace": carol_workspace.pk}
    ).content.decode()
    admin_signing_secret = issued_value(issued)
    headers = {"X-Token": access_key}

    # Storage configs with secrets: created (twice, the second a conflict), refused, listed, fetched.
    for kind, body in storage_config_bodies().items():
        for path in (f"/v1/storage-configs/{kind}", f"/gatewayv2/tensorbay-open-api/v1/storage-configs/{kind}"):
            api.request("post", path, data=body, content_type="application/json", headers=headers)
        api.request(
            "post",
            f"/v1/storage-configs/{kind}",
            data={**body, "name": ""},
            content_type="application/json",
            headers=headers,
        )
        api.request(
            "post",
            f"/v1/storage-configs/{kind}",
            data={**body, "accesskeySecret": [STORAGE_SECRET]},
            content_type="application/json",
            headers=headers,
        )
    assert StorageConfig.objects.exclude(secret_ciphertext="").count() == 3
    for path in ("/v1/storage-configs", "/v1/auth-storage-configs", "/v2/workspaces/carol/storage-configs"):
        api.request("get", path, headers=headers)
    for name in ("s3-config", "oss-config", "azure-config"):
        api.request("get", f"/v2/workspaces/carol/storage-configs/{name}", headers=headers)
    # The storage cannot be reached: listing its files fails with the secret set. (Azure's endpoint is the
    # public cloud's, named by the account, so it is left out of the connection attempts.)
    for name in ("s3-config", "oss-config"):
        api.request("get", f"/v1/cloud/{name}/files", headers=headers)

    # The admin's pages about those configs and its connection test against the unreachable endpoint.
    for config in StorageConfig.objects.filter(name__in=["s3-config", "oss-config"]):
        admin.request(
            "post",
            reverse("admin:storage_configs_storageconfig_test_connection", args=[config.pk]),
            follow=True,
        )
        admin.request("get", reverse("admin:storage_configs_storageconfig_change", args=[config.pk]))
    for url in ("admin:datasets_accesskey_changelist", "admin:datasets_signingkey_changelist"):
        admin.request("get", reverse(url))

    # Institution: a good signature, a wrong one, a replay, an old timestamp, an unknown SecretId.
    good = signed_query(secret_id, signing_secret)
    api.request("get", f"/api/v1/datasets?{good}")
    api.request("get", f"/api/v1/datasets?{good}")
    api.request("get", f"/api/v1/datasets?{signed_query(secret_id, signing_secret, signature='0' * 64)}")
    api.request("get", f"/api/v1/datasets?{signed_query(secret_id, admin_signing_secret, limit='x')}")
    stale = urlencode({"SecretId": secret_id, "Timestamp": "1", "Signature": "0" * 64})
    api.request("get", f"/api/v1/datasets?{stale}")

    # Access keys and the service token refused or misused; error pages with credentials attached.
    api.request("get", "/v2/datasets", headers={"X-Token": access_key[:-1] + "x"})
    api.request("get", "/v1/users", headers={"X-Token": admin_access_key})
    api.request("get", "/api/datasets/", headers={"X-Service-Token": SERVICE_TOKEN[:-1]})
    api.request("get", "/api/datasets/", headers={"X-Service-Token": SERVICE_TOKEN})
    api.request("get", "/v1/no-such-route", headers=headers)
    api.request("post", "/v2/datasets", data="{not json", content_type="application/json", headers=headers)
    api.request("get", "/aids/aidmp/data/v1/datasets", headers={"X-Token": admin_access_key + "0"})

    secrets = {
        "storage secret": STORAGE_SECRET,
        "access key (command)": access_key,
        "access key (admin)": admin_access_key,
        "signing secret (command)": signing_secret,
        "signing secret (admin)": admin_signing_secret,
        "service token": SERVICE_TOKEN,
    }
    responses = "\n".join(api.responses + admin.responses)
    logs = log_text(all_logs)
    # The flows ran: successes, refusals of every kind and failed connections were all answered and logged.
    assert {200, 400, 401, 404, 409} <= set(api.statuses) and max(api.statuses) >= 500
    assert set(admin.statuses) == {200} and all_logs.records
    for what, secret in secrets.items():
        assert secret not in responses, f"{what} in a response"
        assert secret not in logs, f"{what} in a log record"
