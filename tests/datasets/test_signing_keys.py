"""Signing keys: AKID SecretIds, secrets encrypted at rest, HMAC-SHA256 signatures in a 5-minute window."""

import io
import json
import re
import time
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from datasets import services
from datasets.models import Membership, SigningKey, User, Workspace
from project import crypto
from project.api.authentication import canonical_query
from project.api.institution import MESSAGES, InstitutionView


class WhoAmI(InstitutionView):
    """A signed endpoint answering with the caller, to drive the authentication end to end."""

    def get(self, request: Request) -> Response:
        return Response({"code": 0, "user": request.user.username})


def signed_get(secret_id: str, secret: str, *, timestamp_ms: int | None = None, **params: str) -> Response:
    """Call WhoAmI with a query signed as the institution dialect requires."""
    query = {"SecretId": secret_id, "Timestamp": str(timestamp_ms or int(time.time() * 1000)), **params}
    canonical = "&".join(f"{name}={quote(value, safe='')}" for name, value in sorted(query.items()))
    signature = services.signature_compute(secret=secret, message=canonical)
    request = APIRequestFactory().get("/api/v1/whoami", {**query, "Signature": signature})
    return WhoAmI.as_view()(request)


@pytest.fixture
def signing_pair(user: User, workspace: Workspace) -> tuple[str, str]:
    key, secret = services.signing_key_create(user=user, workspace=workspace)
    return key.secret_id, secret


def test_secret_id_is_akid_and_secret_is_encrypted_at_rest(signing_pair: tuple[str, str]) -> None:
    secret_id, secret = signing_pair
    assert re.fullmatch(r"AKID[A-Za-z0-9]{32}", secret_id)
    stored = SigningKey.objects.get(secret_id=secret_id)
    assert secret not in stored.secret_ciphertext
    assert crypto.decrypt(stored.secret_ciphertext) == secret


def test_signed_request_is_accepted(signing_pair: tuple[str, str]) -> None:
    response = signed_get(*signing_pair, type="0")
    assert response.status_code == 200
    assert response.data["user"] == "alice"


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        ({"secret": "wrong-secret"}, 204),
        ({"minutes_off": -6}, 203),
        ({"minutes_off": 6}, 203),
        ({"secret_id": "AKID" + "x" * 32}, 202),
    ],
)
def test_bad_signatures_are_refused_with_their_code(signing_pair: tuple[str, str], tamper: dict, code: int) -> None:
    secret_id, secret = signing_pair
    if "minutes_off" in tamper:
        # Taken when the test runs, not when it is collected: a long suite would carry it back into the window.
        tamper = {"timestamp_ms": int((time.time() + tamper["minutes_off"] * 60) * 1000)}
    arguments = {"secret_id": secret_id, "secret": secret, **tamper}
    response = signed_get(arguments.pop("secret_id"), arguments.pop("secret"), **arguments)
    assert response.status_code == 401
    assert json.loads(response.content) == {"code": code, "message": MESSAGES[code]}


def test_missing_signature_parameters_are_code_201(signing_pair: tuple[str, str]) -> None:
    response = WhoAmI.as_view()(APIRequestFactory().get("/api/v1/whoami", {"SecretId": signing_pair[0]}))
    assert response.status_code == 401
    assert json.loads(response.content)["code"] == 201


def test_revoked_signing_key_is_refused(signing_pair: tuple[str, str]) -> None:
    services.signing_key_revoke(key=SigningKey.objects.get(secret_id=signing_pair[0]))
    assert signed_get(*signing_pair).status_code == 401


def test_signing_key_is_refused_once_its_user_leaves_the_workspace(user: User, other_user: User) -> None:
    institution = services.workspace_get_or_create(name="institute", owner=other_user)
    services.membership_set(workspace=institution, user=user, role="reader")
    key, secret = services.signing_key_create(user=user, workspace=institution)
    Membership.objects.filter(workspace=institution, user=user).delete()
    response = signed_get(key.secret_id, secret)
    assert (response.status_code, json.loads(response.content)["code"]) == (401, 202)


def test_canonical_query_sorts_encodes_rfc3986_and_leaves_out_the_signature() -> None:
    request = APIRequestFactory().get("/x", {"b": "2", "a": "1 1/~*", "Signature": "s"})
    assert canonical_query(Request(request).query_params) == "a=1%201%2F~%2A&b=2"


def test_a_signature_is_accepted_once(signing_pair: tuple[str, str]) -> None:
    now = int(time.time() * 1000)
    assert signed_get(*signing_pair, timestamp_ms=now, type="1").status_code == 200
    replay = signed_get(*signing_pair, timestamp_ms=now, type="1")
    assert (replay.status_code, json.loads(replay.content)["code"]) == (401, 217)


@pytest.mark.django_db
def test_command_prints_secret_id_and_secret_last(capsys: pytest.CaptureFixture) -> None:
    call_command("create_signing_key", "inst")
    secret_id, secret = capsys.readouterr().out.strip().splitlines()[-1].split(" ")
    assert crypto.decrypt(SigningKey.objects.get(secret_id=secret_id).secret_ciphertext) == secret


def test_rotate_secrets_re_encrypts_signing_secrets(user: User, workspace: Workspace, settings: object) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SECRETS_ENCRYPTION_KEYS = [old_key]  # type: ignore[attr-defined]
    key, secret = services.signing_key_create(user=user, workspace=workspace)
    settings.SECRETS_ENCRYPTION_KEYS = [new_key, old_key]  # type: ignore[attr-defined]
    call_command("rotate_secrets", stdout=io.StringIO())
    settings.SECRETS_ENCRYPTION_KEYS = [new_key]  # type: ignore[attr-defined]
    assert crypto.decrypt(SigningKey.objects.get(pk=key.pk).secret_ciphertext) == secret
