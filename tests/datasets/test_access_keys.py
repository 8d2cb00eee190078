"""Access keys: ACCESSKEY- + 32 lowercase hex, stored hashed, shown once, revocable, last use recorded."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from datasets import services
from datasets.models import AccessKey, Membership, User, Workspace
from project import errors


def test_key_is_accesskey_prefix_and_32_lowercase_hex(user: User, workspace: Workspace) -> None:
    _, raw_key = services.access_key_create(user=user, workspace=workspace)
    assert re.fullmatch(r"ACCESSKEY-[0-9a-f]{32}", raw_key)


def test_only_a_hash_of_the_key_is_stored(user: User, workspace: Workspace) -> None:
    key, raw_key = services.access_key_create(user=user, workspace=workspace)
    stored = AccessKey.objects.filter(pk=key.pk).values().get()
    assert raw_key not in [str(value) for value in stored.values()]
    assert raw_key[10:] not in stored["prefix"] + stored["key_hash"]


def test_key_authenticates_its_user_and_workspace(user: User, workspace: Workspace, access_key: str) -> None:
    key = services.access_key_authenticate(raw_key=access_key)
    assert (key.user, key.workspace) == (user, workspace)


def test_authentication_records_last_use(access_key: str) -> None:
    key = services.access_key_authenticate(raw_key=access_key)
    assert AccessKey.objects.get(pk=key.pk).last_used_at is not None


def test_last_use_is_written_at_most_once_a_minute(access_key: str) -> None:
    first = services.access_key_authenticate(raw_key=access_key).last_used_at
    assert first is not None
    services.access_key_authenticate(raw_key=access_key, now=first + timedelta(seconds=30))
    assert AccessKey.objects.get().last_used_at == first
    later = first + timedelta(minutes=2)
    services.access_key_authenticate(raw_key=access_key, now=later)
    assert AccessKey.objects.get().last_used_at == later


def test_revoked_key_no_longer_authenticates(access_key: str) -> None:
    key = services.access_key_authenticate(raw_key=access_key)
    services.access_key_revoke(key=key)
    with pytest.raises(errors.Unauthorized):
        services.access_key_authenticate(raw_key=access_key)


def test_key_no_longer_authenticates_once_its_user_leaves_the_workspace(user: User, other_user: User) -> None:
    team = services.workspace_get_or_create(name="team", owner=other_user)
    services.membership_set(workspace=team, user=user, role="writer")
    _, raw_key = services.access_key_create(user=user, workspace=team)
    Membership.objects.filter(workspace=team, user=user).delete()
    with pytest.raises(errors.Unauthorized):
        services.access_key_authenticate(raw_key=raw_key)


def test_unknown_key_does_not_authenticate(access_key: str) -> None:
    with pytest.raises(errors.Unauthorized):
        services.access_key_authenticate(raw_key="ACCESSKEY-" + "0" * 32)


def test_key_of_a_deactivated_user_does_not_authenticate(user: User, access_key: str) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)
    with pytest.raises(errors.Unauthorized):
        services.access_key_authenticate(raw_key=access_key)


def test_key_needs_membership_of_its_workspace(other_user: User, workspace: Workspace) -> None:
    with pytest.raises(errors.Forbidden):
        services.access_key_create(user=other_user, workspace=workspace)


def test_revoking_twice_keeps_the_first_time(access_key: str) -> None:
    key = services.access_key_authenticate(raw_key=access_key)
    services.access_key_revoke(key=key)
    first = AccessKey.objects.get().revoked_at
    services.access_key_revoke(key=AccessKey.objects.get())
    assert AccessKey.objects.get().revoked_at == first
    assert first is not None and first <= timezone.now()


@pytest.mark.django_db
def test_command_creates_user_and_personal_workspace_and_prints_key_last(capsys: pytest.CaptureFixture) -> None:
    call_command("create_access_key", "carol")
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    key = services.access_key_authenticate(raw_key=last_line)
    assert key.user.username == "carol"
    assert (key.workspace.name, key.workspace.kind) == ("carol", Workspace.Kind.USER)


@pytest.mark.django_db
def test_command_with_workspace_creates_a_team_workspace(capsys: pytest.CaptureFixture) -> None:
    call_command("create_access_key", "dave", "--workspace", "vision-lab")
    key = services.access_key_authenticate(raw_key=capsys.readouterr().out.strip().splitlines()[-1])
    assert (key.workspace.name, key.workspace.kind, key.workspace.owner.username) == ("vision-lab", "TEAM", "dave")


@pytest.mark.django_db
def test_command_reuses_an_existing_user(capsys: pytest.CaptureFixture) -> None:
    call_command("create_access_key", "erin")
    call_command("create_access_key", "erin")
    assert User.objects.filter(username="erin").count() == 1
    assert AccessKey.objects.filter(user__username="erin").count() == 2
