"""Access and signing keys in the admin: issued by the services, secrets shown once, revoked, last use shown."""

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from datasets import services
from datasets.models import AccessKey, SigningKey, User, Workspace
from project import crypto


def issue_access_key(client: Client, user: User, workspace: Workspace, name: str = "ci") -> tuple[str, str]:
    """Post the add form; return the page and the key it shows."""
    answer = client.post(
        reverse("admin:datasets_accesskey_add"), {"user": user.pk, "workspace": workspace.pk, "name": name}
    )
    assert answer.status_code == 200
    page = answer.content.decode()
    key = page.split('<code class="issued-value">')[1].split("</code>")[0]
    return page, key


def test_issuing_an_access_key_shows_it_once_and_it_works(
    admin_client: Client, user: User, workspace: Workspace
) -> None:
    page, raw_key = issue_access_key(admin_client, user, workspace)

    key = AccessKey.objects.get()
    assert raw_key.startswith("ACCESSKEY-") and page.count(raw_key) == 1
    assert (key.user, key.workspace, key.name, key.prefix) == (user, workspace, "ci", raw_key[:14])
    assert raw_key not in key.key_hash
    assert services.access_key_authenticate(raw_key=raw_key) == key


def test_the_page_with_a_new_key_is_never_cached(admin_client: Client, user: User, workspace: Workspace) -> None:
    answer = admin_client.post(
        reverse("admin:datasets_accesskey_add"), {"user": user.pk, "workspace": workspace.pk, "name": ""}
    )

    assert "no-store" in answer["Cache-Control"]


def test_no_later_page_shows_the_access_key(admin_client: Client, user: User, workspace: Workspace) -> None:
    _, raw_key = issue_access_key(admin_client, user, workspace)
    key = AccessKey.objects.get()

    for url in (
        reverse("admin:datasets_accesskey_changelist"),
        reverse("admin:datasets_accesskey_change", args=[key.pk]),
        reverse("admin:datasets_accesskey_history", args=[key.pk]),
    ):
        assert raw_key not in admin_client.get(url).content.decode()


def test_a_key_is_issued_only_to_a_member_of_the_workspace(
    admin_client: Client, other_user: User, workspace: Workspace
) -> None:
    answer = admin_client.post(
        reverse("admin:datasets_accesskey_add"), {"user": other_user.pk, "workspace": workspace.pk, "name": "x"}
    )

    assert "bob is not a member of workspace alice" in answer.content.decode()
    assert not AccessKey.objects.exists()


def test_the_add_page_asks_who_the_key_is_for(admin_client: Client) -> None:
    page = admin_client.get(reverse("admin:datasets_accesskey_add")).content.decode()

    assert 'name="user"' in page and 'name="workspace"' in page and 'name="name"' in page


def test_revoking_selected_access_keys(admin_client: Client, user: User, workspace: Workspace) -> None:
    key, _ = services.access_key_create(user=user, workspace=workspace)

    admin_client.post(
        reverse("admin:datasets_accesskey_changelist"), {"action": "revoke_keys", "_selected_action": [key.pk]}
    )

    key.refresh_from_db()
    assert key.revoked_at is not None


def test_the_list_shows_when_a_key_was_last_used(admin_client: Client, user: User, workspace: Workspace) -> None:
    _, raw_key = services.access_key_create(user=user, workspace=workspace)
    services.access_key_authenticate(raw_key=raw_key, now=timezone.now())

    page = admin_client.get(reverse("admin:datasets_accesskey_changelist")).content.decode()

    assert "Last used at" in page
    assert 'class="field-last_used_at">-<' not in page


def test_a_key_owner_cannot_be_changed_after_issue(
    admin_client: Client, user: User, other_user: User, workspace: Workspace
) -> None:
    key, _ = services.access_key_create(user=user, workspace=workspace, name="old")

    admin_client.post(
        reverse("admin:datasets_accesskey_change", args=[key.pk]), {"user": other_user.pk, "name": "renamed"}
    )

    key.refresh_from_db()
    assert (key.user, key.name) == (user, "renamed")


def test_issuing_a_signing_key_shows_its_secret_once(admin_client: Client, user: User, workspace: Workspace) -> None:
    answer = admin_client.post(reverse("admin:datasets_signingkey_add"), {"user": user.pk, "workspace": workspace.pk})

    page = answer.content.decode()
    key = SigningKey.objects.get()
    secret = crypto.decrypt(key.secret_ciphertext)
    assert page.count(secret) == 1 and key.secret_id in page
    assert secret not in admin_client.get(reverse("admin:datasets_signingkey_change", args=[key.pk])).content.decode()


def test_revoking_selected_signing_keys(admin_client: Client, user: User, workspace: Workspace) -> None:
    key, _ = services.signing_key_create(user=user, workspace=workspace)

    admin_client.post(
        reverse("admin:datasets_signingkey_changelist"), {"action": "revoke_keys", "_selected_action": [key.pk]}
    )

    key.refresh_from_db()
    assert key.revoked_at is not None
