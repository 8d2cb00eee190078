"""Writes to the catalog: one function per use case, keyword-only, transactional."""

import hashlib
import hmac
import io
import secrets
import string
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.files import File
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.utils import timezone

from datasets import list_cache, selectors
from datasets.models import (
    AccessKey,
    Dataset,
    DatasetFile,
    Licence,
    Membership,
    ModerationEvent,
    SigningKey,
    Tag,
    TagCategory,
    User,
    Workspace,
)
from project import crypto, errors
from project.prepared import PreparedQuery, first_row
from storage_configs import selectors as storage_config_selectors
from storage_configs import services as storage_config_services
from storage_configs.backends import FilesystemBackend, StorageBackend, backend_for, clean_key, hub_read_backend
from storage_configs.models import StorageConfig
from storage_configs.services import SHA1_HEX
from versioning import labels as label_rules
from versioning import selectors as versioning_selectors
from versioning import services as versioning_services
from versioning.fence import fence_share
from versioning.models import Branch, Commit, Draft, Job, StagedEntry
from versioning.trees import EMPTY_TREE, Entry, Part, tree_load, trees_diff

ACCESS_KEY_PREFIX = "ACCESSKEY-"
SIGNING_KEY_PREFIX = "AKID"
SIGNATURE_WINDOW = timedelta(minutes=5)
# last_used_at is a hint for people, so it is written at most this often per key.
LAST_USED_RESOLUTION = timedelta(minutes=1)
NAME_MAX_LENGTH = 255
_ALPHANUMERIC = string.ascii_letters + string.digits


def _hash_key(raw_key: str) -> str:
    """Hash an access key; the key is 128 random bits, so a fast hash cannot be brute-forced."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def workspace_create_personal(*, user: User) -> Workspace:
    """Create the user's personal workspace named after the username, with the user as owner."""
    if Workspace.objects.filter(name=user.username).exclude(owner=user, kind=Workspace.Kind.USER).exists():
        raise errors.Conflict(f"workspace name {user.username!r} is taken")
    workspace, _ = Workspace.objects.get_or_create(
        owner=user, kind=Workspace.Kind.USER, defaults={"name": user.username}
    )
    Membership.objects.get_or_create(workspace=workspace, user=user, defaults={"role": Membership.Role.OWNER})
    return workspace


@transaction.atomic
def user_get_or_create(*, username: str) -> User:
    """Return the user, creating it (without a usable password) when missing."""
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is None:
        user = user_model(username=username)
        user.set_unusable_password()
        user.save()
    return user


@transaction.atomic
def workspace_get_or_create(*, name: str, owner: User) -> Workspace:
    """Return the named workspace, creating a team workspace owned by ``owner`` when missing."""
    workspace, created = Workspace.objects.get_or_create(name=name, defaults={"owner": owner})
    if created:
        Membership.objects.create(workspace=workspace, user=owner, role=Membership.Role.OWNER)
    return workspace


def personal_workspace(*, user: User) -> Workspace:
    """Return the user's personal workspace."""
    return Workspace.objects.get(owner=user, kind=Workspace.Kind.USER)


@transaction.atomic
def membership_set(*, workspace: Workspace, user: User, role: str) -> Membership:
    """Give the user this role in the workspace."""
    if role not in Membership.Role.values:
        raise errors.Invalid("role", f"must be one of {', '.join(Membership.Role.values)}")
    membership, _ = Membership.objects.update_or_create(workspace=workspace, user=user, defaults={"role": role})
    return membership


def access_key_create(*, user: User, workspace: Workspace, name: str = "") -> tuple[AccessKey, str]:
    """Issue a new access key; the returned plain key is never stored and cannot be shown again."""
    if not Membership.objects.filter(workspace=workspace, user=user).exists():
        raise errors.Forbidden(f"{user.username} is not a member of workspace {workspace.name}")
    raw_key = ACCESS_KEY_PREFIX + secrets.token_hex(16)
    key = AccessKey.objects.create(
        user=user, workspace=workspace, name=name, key_hash=_hash_key(raw_key), prefix=raw_key[:14]
    )
    return key, raw_key


# A key acts in its workspace for as long as its user belongs there: leaving the workspace ends every key.
_STILL_A_MEMBER = Exists(Membership.objects.filter(workspace=OuterRef("workspace"), user=OuterRef("user")))
_MEMBER_ROLE = Membership.objects.filter(workspace=OuterRef("workspace"), user=OuterRef("user")).values("role")[:1]

# The user's role comes along (``member_role``, see ``selectors.key_role``): no role, no key.
_ACTIVE_ACCESS_KEY: PreparedQuery[AccessKey] = PreparedQuery(
    lambda key_hash: first_row(
        AccessKey.objects.select_related("user", "workspace")
        .annotate(member_role=Subquery(_MEMBER_ROLE))
        .filter(key_hash=key_hash, revoked_at__isnull=True, user__is_active=True)
        .exclude(member_role=None)
    ),
    key_hash="<the key's hash>",
)


def access_key_authenticate(*, raw_key: str, now: datetime | None = None) -> AccessKey:
    """Return the active key matching ``raw_key``, recording its use; unknown or revoked keys fail, and so do
    keys whose user has left the key's workspace."""
    now = now or timezone.now()
    key = _ACTIVE_ACCESS_KEY.first(key_hash=_hash_key(raw_key))
    if key is None:
        raise errors.Unauthorized("unknown or revoked access key", reason="unknown_key")
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        AccessKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def access_key_revoke(*, key: AccessKey) -> AccessKey:
    """Revoke the key; revoking twice keeps the first time."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        AccessKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=key.revoked_at)
        list_cache.access_changed()
    return key


def signing_key_create(*, user: User, workspace: Workspace) -> tuple[SigningKey, str]:
    """Issue a SecretId/secret pair for signed requests; the secret is stored encrypted."""
    if not Membership.objects.filter(workspace=workspace, user=user).exists():
        raise errors.Forbidden(f"{user.username} is not a member of workspace {workspace.name}")
    secret = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(40))
    for _ in range(3):
        secret_id = SIGNING_KEY_PREFIX + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(32))
        try:
            with transaction.atomic():
                key = SigningKey.objects.create(
                    user=user, workspace=workspace, secret_id=secret_id, secret_ciphertext=crypto.encrypt(secret)
                )
            return key, secret
        except IntegrityError:
            continue
    raise errors.Conflict("could not allocate a unique SecretId")


def signing_key_revoke(*, key: SigningKey) -> SigningKey:
    """Revoke the signing key."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        SigningKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=key.revoked_at)
    return key


def signature_compute(*, secret: str, message: str) -> str:
    """HMAC-SHA256 of the message with the secret, as lowercase hex."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


_ACTIVE_SIGNING_KEY: PreparedQuery[SigningKey] = PreparedQuery(
    lambda secret_id: first_row(
        SigningKey.objects.select_related("user", "workspace")
        .filter(secret_id=secret_id, revoked_at__isnull=True, user__is_active=True)
        .filter(_STILL_A_MEMBER)
    ),
    secret_id="<secret id>",
)


def signing_key_authenticate(
    *, secret_id: str, timestamp_ms: str, signature: str, message: str, now: datetime | None = None
) -> SigningKey:
    """Check a signed request: known active SecretId of a workspace member, timestamp within five minutes,
    matching HMAC."""
    now = now or timezone.now()
    key = _ACTIVE_SIGNING_KEY.first(secret_id=secret_id)
    if key is None:
        raise errors.Unauthorized("unknown or revoked SecretId", reason="unknown_key")
    try:
        signed_at = datetime.fromtimestamp(int(timestamp_ms) / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise errors.Unauthorized("Timestamp must be milliseconds since the epoch", reason="timestamp") from None
    if abs(now - signed_at) > SIGNATURE_WINDOW:
        raise errors.Unauthorized("Timestamp is outside the five-minute window", reason="timestamp")
    expected = signature_compute(secret=crypto.decrypt(key.secret_ciphertext), message=message)
    if not hmac.compare_digest(expected, signature.lower()):
        raise errors.Unauthorized("Signature does not match", reason="signature")
    # A signature is good once: remember it for longer than a timestamp stays acceptable.
    if not cache.add(f"signature-used:{key.secret_id}:{expected}", 1, timeout=2 * SIGNATURE_WINDOW.seconds):
        raise errors.Unauthorized("this signature has been used already", reason="replay")
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        SigningKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def licence_get_or_create(*, name: str) -> Licence | None:
    """Return the licence with this name, creating it; an empty name means no licence."""
    name = name.strip()
    if not name:
        return None
    licence, _ = Licence.objects.get_or_create(name=name)
    return licence


def dataset_set_tags(*, dataset: Dataset, tags: dict[str, list[str]]) -> None:
    """Replace the dataset's tags with ``{category: [values]}``, creating categories and values."""
    chosen = []
    for category_name, values in tags.items():
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            raise errors.Invalid("tags", f"values of {category_name!r} must be a list of strings")
        category, _ = TagCategory.objects.get_or_create(name=category_name)
        chosen += [Tag.objects.get_or_create(category=category, name=value)[0] for value in values]
    dataset.tags.set(chosen)


def dataset_name_check(*, name: str) -> str:
    """Return the name stripped, or fail when it cannot name a dataset."""
    name = name.strip()
    if not name:
        raise errors.Invalid("name", "must not be empty")
    if len(name) > NAME_MAX_LENGTH or "/" in name:
        raise errors.Invalid("name", "must be at most 255 characters without '/'")
    return name


@transaction.atomic
def dataset_create(
    *,
    workspace: Workspace,
    creator: User | None,
    name: str,
    alias: str = "",
    title: str = "",
    description: str = "",
    licence: str = "",
    data_type: int = Dataset.DataType.IMAGE,
    kind: int = Dataset.Kind.NORMAL,
    origin: int = Dataset.Origin.COMMON,
    is_public: bool = False,
    tags: dict[str, list[str]] | None = None,
    storage_config: StorageConfig | None = None,
) -> Dataset:
    """Create a dataset; its name is unique in the workspace."""
    name = dataset_name_check(name=name)
    if data_type not in Dataset.DataType.values:
        raise errors.Invalid("type", f"must be one of {Dataset.DataType.values}")
    try:
        with transaction.atomic():
            dataset = Dataset.objects.create(
                workspace=workspace,
                creator=creator,
                name=name,
                alias=alias,
                title=title or name,
                description=description,
                licence=licence_get_or_create(name=licence),
                data_type=data_type,
                kind=kind,
                origin=origin,
                is_public=is_public,
                storage_config=storage_config,
            )
    except IntegrityError:
        raise errors.Conflict(f"dataset {name!r} already exists in workspace {workspace.name}") from None
    if tags:
        dataset_set_tags(dataset=dataset, tags=tags)
    versioning_services.branch_ensure_default(dataset=dataset)
    return dataset


def dataset_file_create(
    *, user: User, name: str, oss_object: str, size: int, mime_type: str = "", description: str = ""
) -> DatasetFile:
    """Register an object already in the hub's storage; it must exist with exactly this size."""
    stored_size = storage_config_selectors.storage_object_check(storage_config=None, key=oss_object)
    if stored_size != size:
        raise errors.Invalid("size", f"the stored object has {stored_size} bytes")
    digest = hashlib.sha1(usedforsecurity=False)
    for chunk in hub_read_backend().iter_chunks(oss_object):
        digest.update(chunk)
    return DatasetFile.objects.create(
        user=user,
        name=name,
        oss_object=oss_object,
        size=size,
        sha1=digest.hexdigest(),
        mime_type=mime_type,
        description=description,
    )


def _files_for_dataset(*, user: User, file_ids: list[int], dataset: Dataset | None) -> list[DatasetFile]:
    """Lock and return the caller's files for the dataset; unknown, foreign, repeated or taken ids fail."""
    if len(set(file_ids)) != len(file_ids):
        raise errors.FilesInvalid("file_ids repeats a file")
    files = list(DatasetFile.objects.select_for_update().filter(pk__in=file_ids).order_by("pk"))
    if len(files) != len(file_ids):
        raise errors.FilesInvalid("file_ids names files that do not exist")
    if len({file.name for file in files}) != len(files):
        raise errors.FilesInvalid("two files have the same name")
    for file in files:
        if file.user_id != user.pk:
            raise errors.FilesInvalid(f"file {file.pk} belongs to another user")
        if file.dataset_id is not None and (dataset is None or file.dataset_id != dataset.pk):
            raise errors.FilesInvalid(f"file {file.pk} is attached to another dataset")
    return files


def _unique_name(*, workspace: Workspace, title: str) -> str:
    """A dataset name for a title, made unique in the workspace."""
    base = (title.strip().replace("/", "-") or "dataset")[:240]
    if not Dataset.objects.filter(workspace=workspace, name=base).exists():
        return base
    return f"{base}-{uuid.uuid4().hex[:8]}"


@transaction.atomic
def dataset_create_with_files(
    *, user: User, title: str, description: str, licence: str, file_ids: list[int]
) -> Dataset:
    """Create a dataset in the user's workspace holding these files (whale.run's create)."""
    workspace = personal_workspace(user=user)
    files = _files_for_dataset(user=user, file_ids=file_ids, dataset=None)
    dataset = dataset_create(
        workspace=workspace,
        creator=user,
        name=_unique_name(workspace=workspace, title=title),
        title=title,
        description=description,
        licence=licence,
    )
    _attach_files(dataset=dataset, files=files, user=user)
    return dataset


@transaction.atomic
def dataset_edit_with_files(
    *, dataset_id: int, user: User, title: str, description: str, licence: str, file_ids: list[int]
) -> Dataset:
    """Replace a dataset's metadata and files; only its creator may (whale.run's edit)."""
    dataset = _dataset_for_owner(dataset_id=dataset_id, user=user)
    files = _files_for_dataset(user=user, file_ids=file_ids, dataset=dataset)
    dataset.title = title
    dataset.description = description
    dataset.licence = licence_get_or_create(name=licence)
    dataset.save(update_fields=["title", "description", "licence", "updated_at"])
    _attach_files(dataset=dataset, files=files, user=user)
    return dataset


# whale.run files live in the dataset's default segment (TensorBay's unnamed segment), keyed by file name.
FILES_SEGMENT = ""


def _attach_files(*, dataset: Dataset, files: list[DatasetFile], user: User) -> None:
    """Point the files at the dataset and, when the set changed, commit it on the default branch."""
    file_ids = {file.pk for file in files}
    attached = set(DatasetFile.objects.filter(dataset=dataset).values_list("pk", flat=True))
    DatasetFile.objects.filter(dataset=dataset).exclude(pk__in=file_ids).update(dataset=None)
    DatasetFile.objects.filter(pk__in=file_ids).update(dataset=dataset)
    list_cache.catalog_changed()
    if attached == file_ids:
        return
    draft = versioning_services.draft_create(dataset=dataset, title="Update dataset files", creator=user)
    revision = versioning_selectors.revision_resolve(dataset=dataset, revision=draft.number)
    try:
        versioning_selectors.segment_get(revision=revision, name=FILES_SEGMENT)
    except errors.NotFound:
        pass
    else:
        # Emptying the segment first makes the staged files its whole content.
        versioning_services.draft_segment_delete(draft=draft, name=FILES_SEGMENT)
    entries = [
        Entry.create(
            segment=FILES_SEGMENT, remote_path=file.name, object_key=file.oss_object, sha1=file.sha1, size=file.size
        )
        for file in files
    ]
    if entries:
        versioning_services.draft_stage_upserts(draft=draft, entries=entries)
    versioning_services.draft_commit(draft=draft, title="Update dataset files", committer=user)


def _dataset_for_owner(*, dataset_id: int, user: User) -> Dataset:
    """Lock and return the dataset when the user created it."""
    dataset = Dataset.objects.select_for_update().filter(pk=dataset_id).first()
    if dataset is None:
        raise errors.NotFound(f"dataset {dataset_id} does not exist")
    if dataset.creator_id != user.pk:
        raise errors.Forbidden("only the dataset's owner may change it")
    return dataset


MODERATION_FLAGS = {"hidden": ("hide", "unhide"), "featured": ("feature", "unfeature")}


@transaction.atomic
def dataset_moderate(
    *, dataset: Dataset, actor: User | None, flag: str, value: bool, reason: str = "", via: str = "api"
) -> Dataset:
    """Set ``hidden`` or ``featured`` and record the step in the moderation log (only when it changes)."""
    on, off = MODERATION_FLAGS[flag]
    if getattr(dataset, flag) != value:
        setattr(dataset, flag, value)
        dataset.save(update_fields=[flag, "updated_at"])
        ModerationEvent.objects.create(
            dataset=dataset, actor=actor, action=on if value else off, reason=reason, via=via
        )
    return dataset


@transaction.atomic
def dataset_set_hidden(*, dataset_id: int, user: User, hidden: bool) -> Dataset:
    """Hide or show a dataset; only its creator may (whale.run)."""
    dataset = _dataset_for_owner(dataset_id=dataset_id, user=user)
    return dataset_moderate(dataset=dataset, actor=user, flag="hidden", value=hidden)


COUNTERS = ("total_notebooks", "total_topics", "total_comments", "total_votes")


def dataset_counter_add(*, dataset_id: int, counter: str, delta: int) -> Dataset:
    """Add ``delta`` to a counter in one atomic UPDATE; a total never goes below zero."""
    if counter not in COUNTERS:
        raise errors.Invalid("counter", f"must be one of {', '.join(COUNTERS)}")
    _, largest = connection.ops.integer_field_range(Dataset._meta.get_field(counter).get_internal_type())
    matching = Dataset.objects.filter(pk=dataset_id)
    if delta < 0:
        matching = matching.filter(**{f"{counter}__gte": -delta})
    elif delta > 0:
        matching = matching.filter(**{f"{counter}__lte": largest - delta})
    if not matching.update(**{counter: F(counter) + delta, "updated_at": timezone.now()}):
        if not Dataset.objects.filter(pk=dataset_id).exists():
            raise errors.NotFound(f"dataset {dataset_id} does not exist")
        if delta < 0:
            raise errors.Invalid("delta", f"{counter} cannot go below zero")
        raise errors.Invalid("delta", f"{counter} cannot exceed {largest}")
    list_cache.catalog_changed()
    return Dataset.objects.get(pk=dataset_id)


def _check_can_write(*, workspace: Workspace, user: User) -> None:
    """Only members who are not readers change a workspace's datasets and settings."""
    membership = selectors.membership_get(workspace=workspace, user=user)
    if membership is None or not membership.can_write:
        raise errors.Forbidden(f"{user.username} may not change workspace {workspace.name}")


@transaction.atomic
def dataset_create_in_storage(
    *,
    workspace: Workspace,
    creator: User,
    name: str,
    alias: str = "",
    storage_config_name: str | None = None,
    with_draft: bool = False,
    is_public: bool = False,
    kind: int = Dataset.Kind.NORMAL,
) -> Dataset:
    """Create a dataset in a named storage config (else the workspace's default), optionally with draft 1 open."""
    _check_can_write(workspace=workspace, user=creator)
    if storage_config_name is None:
        storage_config = workspace.default_storage_config
    else:
        storage_config = storage_config_selectors.storage_config_get(workspace=workspace, name=storage_config_name)
    dataset = dataset_create(
        workspace=workspace,
        creator=creator,
        name=name,
        alias=alias,
        storage_config=storage_config,
        is_public=is_public,
        kind=kind,
    )
    if with_draft:
        versioning_services.draft_create(dataset=dataset, title=dataset.name, creator=creator)
    return selectors.dataset_list_with_head().get(pk=dataset.pk)


@transaction.atomic
def dataset_update(
    *,
    dataset: Dataset,
    name: str | None = None,
    alias: str | None = None,
    default_branch: str | None = None,
    is_public: bool | None = None,
) -> Dataset:
    """Rename a dataset (unique in its workspace), change its alias or visibility, or make another existing branch
    the default."""
    if is_public is not None:
        dataset.is_public = is_public
    if name is not None:
        dataset.name = dataset_name_check(name=name)
    if alias is not None:
        dataset.alias = alias
    if default_branch is not None:
        if not Branch.objects.filter(dataset=dataset, name=default_branch).exists():
            raise errors.NotFound(f"branch {default_branch!r} does not exist", branch=default_branch)
        dataset.default_branch = default_branch
    try:
        with transaction.atomic():
            dataset.save(update_fields=["name", "alias", "default_branch", "is_public", "updated_at"])
    except IntegrityError:
        raise errors.Conflict(f"dataset {dataset.name!r} already exists in its workspace") from None
    return selectors.dataset_list_with_head().get(pk=dataset.pk)


@transaction.atomic
def dataset_delete(*, dataset: Dataset) -> None:
    """Delete a dataset with its history (drafts, tags, branches and commits) and its search results."""
    for result in Dataset.all_objects.filter(search_source=dataset):
        versioning_services.history_delete(dataset=result)
        result.delete()
    versioning_services.history_delete(dataset=dataset)
    dataset.delete()


@transaction.atomic
def dataset_create_from_search(
    *, job: Job, workspace: Workspace, creator: User, name: str, alias: str = "", is_public: bool = False
) -> Dataset:
    """Create a dataset of the searched dataset's type whose first commit is a successful search's result."""
    result = job.result_dataset
    if job.job_type != Job.Type.BASIC_SEARCH or job.status != Job.Status.SUCCESS or result is None:
        raise errors.NotAllowed(f"job {job.pk} is {job.status}; only a successful search becomes a dataset", job=job.pk)
    source = job.dataset
    # Entries point at the searched dataset's objects, so they stay in its storage: the hub's own storage
    # serves every workspace, a storage config only its own.
    if source.storage_config_id is not None and source.workspace_id != workspace.pk:
        raise errors.NotAllowed("a search of a dataset in a storage config becomes a dataset in its workspace only")
    _check_can_write(workspace=workspace, user=creator)
    dataset = dataset_create(
        workspace=workspace,
        creator=creator,
        name=name,
        alias=alias,
        data_type=source.data_type,
        kind=source.kind,
        is_public=is_public,
        storage_config=source.storage_config,
    )
    head = Branch.objects.select_related("head__dataset").get(dataset=result, name=result.default_branch).head
    if head is not None:
        versioning_services.commit_adopt(dataset=dataset, commit=head, title=job.title, committer=creator)
    return dataset


@transaction.atomic
def workspace_set_default_storage_config(*, workspace: Workspace, user: User, name: str) -> Workspace:
    """Make the workspace's storage config with this name the one new datasets use by default."""
    _check_can_write(workspace=workspace, user=user)
    workspace.default_storage_config = storage_config_selectors.storage_config_get(workspace=workspace, name=name)
    workspace.save(update_fields=["default_storage_config"])
    return workspace


def signing_key_rotate_secrets(*, batch_size: int = 500) -> int:
    """Re-encrypt every signing secret under the newest key; return how many were rewritten."""
    return crypto.rotate_stored(SigningKey, "secret_ciphertext", batch_size=batch_size)


@transaction.atomic
def dataset_import(
    *,
    workspace_name: str,
    name: str,
    owner: User | None = None,
    title: str | None = None,
    description: str | None = None,
    licence: str | None = None,
    tags: dict[str, list[str]] | None = None,
    data_type: int | None = None,
    is_public: bool | None = None,
    storage_config_name: str | None = None,
) -> tuple[Dataset, str]:
    """Create the dataset ``workspace/name`` or update the fields given; say ``created``, ``updated`` or ``unchanged``.

    A field left None keeps its value (or its default on create). A missing workspace is created, owned by
    ``owner``, only when an owner is given.
    """
    name = dataset_name_check(name=name)
    workspace = Workspace.objects.filter(name=workspace_name).first()
    if workspace is None:
        if owner is None:
            raise errors.NotFound(f"workspace {workspace_name!r} does not exist (give an owner to create it)")
        workspace = workspace_get_or_create(name=workspace_name, owner=owner)
    storage_config = (
        storage_config_selectors.storage_config_get(workspace=workspace, name=storage_config_name)
        if storage_config_name
        else None
    )
    dataset = Dataset.objects.select_for_update().filter(workspace=workspace, name=name).first()
    if dataset is None:
        dataset = dataset_create(
            workspace=workspace,
            creator=owner or workspace.owner,
            name=name,
            title=title or "",
            description=description or "",
            licence=licence or "",
            data_type=Dataset.DataType.IMAGE if data_type is None else data_type,
            is_public=bool(is_public),
            tags=tags,
            storage_config=storage_config,
        )
        return dataset, "created"
    wanted: dict[str, Any] = {}
    if title is not None:
        wanted["title"] = title
    if description is not None:
        wanted["description"] = description
    if licence is not None:
        wanted["licence"] = licence_get_or_create(name=licence)
    if data_type is not None:
        if data_type not in Dataset.DataType.values:
            raise errors.Invalid("type", f"must be one of {Dataset.DataType.values}")
        wanted["data_type"] = data_type
    if is_public is not None:
        wanted["is_public"] = is_public
    if storage_config is not None:
        wanted["storage_config"] = storage_config
    changed = {field: value for field, value in wanted.items() if getattr(dataset, field) != value}
    if "storage_config" in changed and Commit.objects.filter(dataset=dataset).exists():
        raise errors.NotAllowed("the storage config of a dataset with commits cannot change", dataset=name)
    tags_changed = tags is not None and _tag_pairs(tags) != set(dataset.tags.values_list("category__name", "name"))
    for field, value in changed.items():
        setattr(dataset, field, value)
    if changed:
        dataset.save(update_fields=[*changed, "updated_at"])
    if tags_changed and tags is not None:
        dataset_set_tags(dataset=dataset, tags=tags)
    return dataset, "updated" if changed or tags_changed else "unchanged"


def _tag_pairs(tags: dict[str, list[str]]) -> set[tuple[str, str]]:
    """The (category, value) pairs of ``{category: [values]}``; a malformed mapping is invalid."""
    pairs: set[tuple[str, str]] = set()
    for category, values in tags.items():
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            raise errors.Invalid("tags", f"values of {category!r} must be a list of strings")
        pairs.update((category, value) for value in values)
    return pairs


# Entries are staged in a draft this many at a time: big inserts, bounded memory.
ENTRY_STAGE_BATCH = 5000


@dataclass(frozen=True)
class EntriesImported:
    """What an entries import did with its ``records`` valid entries, and the commit or draft it made.

    ``created`` paths are new to the branch, ``updated`` ones held another entry (in a draft: any entry),
    ``unchanged`` are the rest (already there as given, or repeated in the source). Neither a commit nor a
    draft means nothing changed; ``repeated`` means the draft came from an earlier run of the same source.
    """

    records: int
    created: int
    updated: int
    unchanged: int
    commit: Commit | None = None
    draft: Draft | None = None
    repeated: bool = False


def dataset_entries_import(
    *,
    dataset: Dataset,
    entries: Iterable[Entry],
    title: str,
    branch_name: str | None = None,
    committer: User | None = None,
    as_draft: bool = False,
    source_digest: str = "",
    dry_run: bool = False,
) -> EntriesImported:
    """Upsert a stream of entries onto a branch as one commit, or stage them in one new draft; all or nothing.

    Running an import again changes nothing: no commit is made when the branch's tree would stay the same,
    and an open draft whose description names the same ``source_digest`` is reported instead of a second
    one. ``dry_run`` does all the work and rolls it back. Every entry must already have passed
    ``versioning.services.entry_check`` (``import_sources.entry_from_fields`` runs it), so it is not repeated.
    """
    records = 0

    def counted() -> Iterator[Entry]:
        nonlocal records
        for entry in entries:
            records += 1
            yield entry

    name = branch_name or dataset.default_branch
    with transaction.atomic():
        if as_draft:
            result = _entries_stage_in_draft(
                dataset=dataset,
                entries=counted(),
                title=title,
                branch_name=name,
                creator=committer,
                digest=source_digest,
            )
        else:
            result = _entries_commit(
                dataset=dataset, entries=counted(), title=title, branch_name=name, committer=committer
            )
        result = EntriesImported(
            records=records,
            created=result.created,
            updated=result.updated,
            unchanged=records - result.created - result.updated,
            commit=result.commit,
            draft=result.draft,
            repeated=result.repeated,
        )
        if dry_run or result.repeated or (result.commit is None and result.draft is None):
            transaction.set_rollback(True)
    return result


def _entries_commit(
    *, dataset: Dataset, entries: Iterable[Entry], title: str, branch_name: str, committer: User | None
) -> EntriesImported:
    commit = versioning_services.commit_import(
        dataset=dataset, entries=entries, title=title, branch_name=branch_name, committer=committer, checked=True
    )
    # The parent is the head the import was applied to, read under the branch lock.
    old = tree_load(commit.parent.tree_id) if commit.parent is not None else EMPTY_TREE
    new = tree_load(commit.tree_id)
    if (commit.parent is not None and commit.parent.tree_id == commit.tree_id) or (
        commit.parent is None and new.entry_count == 0
    ):
        return EntriesImported(records=0, created=0, updated=0, unchanged=0)
    # Imports only add or replace entries, so every new path adds one to the count.
    created = new.entry_count - old.entry_count
    updated = sum(1 for change in trees_diff(old, new) if change.old is not None) if old.entry_count else 0
    return EntriesImported(records=0, created=created, updated=updated, unchanged=0, commit=commit)


def _entries_stage_in_draft(
    *, dataset: Dataset, entries: Iterator[Entry], title: str, branch_name: str, creator: User | None, digest: str
) -> EntriesImported:
    description = f"Imported from source sha256:{digest}" if digest else ""
    if digest:
        earlier = (
            versioning_selectors.draft_list(dataset=dataset, branch_name=branch_name)
            .filter(description=description)
            .first()
        )
        if earlier is not None:
            for _ in entries:  # still read, so bad records are reported as in the first run
                pass
            return EntriesImported(records=0, created=0, updated=0, unchanged=0, draft=earlier, repeated=True)
    draft = versioning_services.draft_create(
        dataset=dataset, title=title, description=description, branch_name=branch_name, creator=creator
    )
    while batch := list(islice(entries, ENTRY_STAGE_BATCH)):
        versioning_services.draft_stage_upserts(draft=draft, entries=batch)
    staged = StagedEntry.objects.filter(draft=draft)
    created, updated = staged.filter(in_base=False).count(), staged.filter(in_base=True).count()
    if not created and not updated:
        return EntriesImported(records=0, created=0, updated=0, unchanged=0)
    return EntriesImported(records=0, created=created, updated=updated, unchanged=0, draft=draft)


@transaction.atomic
def dataset_moderate_many(
    *, dataset_ids: list[int], actor: User | None, flag: str, value: bool, reason: str = "", via: str = "admin"
) -> int:
    """Moderate many datasets at once, each step recorded as by ``dataset_moderate``; return how many changed."""
    changing = Dataset.objects.select_for_update().filter(pk__in=dataset_ids).exclude(**{flag: value}).order_by("pk")
    moderated = 0
    for dataset in changing:
        dataset_moderate(dataset=dataset, actor=actor, flag=flag, value=value, reason=reason, via=via)
        moderated += 1
    return moderated


@transaction.atomic
def dataset_edit_metadata(
    *,
    dataset: Dataset,
    title: str,
    description: str,
    licence: Licence | None,
    data_type: int,
    cover: str,
    tags: list[Tag],
) -> Dataset:
    """Replace a dataset's descriptive metadata (the curator's edit); moderation flags are not touched."""
    if data_type not in Dataset.DataType.values:
        raise errors.Invalid("data_type", f"must be one of {Dataset.DataType.values}")
    dataset.title = title
    dataset.description = description
    dataset.licence = licence
    dataset.data_type = data_type
    dataset.cover = cover
    dataset.save(update_fields=["title", "description", "licence", "data_type", "cover", "updated_at"])
    dataset.tags.set(tags)
    return dataset


@transaction.atomic
def workspace_storage_config_create(*, workspace: Workspace, user: User, **fields: str) -> StorageConfig:
    """Create a storage config in a workspace the user may change (fields as ``storage_config_create`` takes)."""
    _check_can_write(workspace=workspace, user=user)
    return storage_config_services.storage_config_create(workspace=workspace, **fields)  # type: ignore[arg-type]


@transaction.atomic
def workspace_storage_config_delete(*, workspace: Workspace, user: User, name: str) -> None:
    """Delete a storage config of a workspace the user may change, when no dataset or file uses it."""
    _check_can_write(workspace=workspace, user=user)
    storage_config_services.storage_config_delete(
        storage_config=selectors.storage_config_get(workspace=workspace, name=name)
    )


@dataclass(frozen=True)
class UploadedObject:
    """A file a client says it uploaded: where it goes in a segment, its content's SHA-1 and size, its label."""

    remote_path: str
    sha1: str
    size: int
    label: dict | None = None
    timestamp: float | None = None
    # Where the file goes in a fusion segment: a frame (ULID) and the sensor that recorded it.
    frame_id: str | None = None
    sensor_name: str | None = None


def _frame_slot(dataset: Dataset, frame_id: str | None, sensor_name: str | None) -> tuple[str, str] | None:
    """Where a file goes in a fusion dataset (frame id, sensor name); None in a normal one, which ignores both."""
    if dataset.kind != Dataset.Kind.FUSION:
        return None
    if not frame_id:
        raise errors.Missing("frameId", "a file of a fusion dataset needs its frameId")
    if not sensor_name:
        raise errors.Missing("sensorName", "a file of a fusion dataset needs its sensorName")
    return frame_id, sensor_name


def _object_sha1(backend: StorageBackend, key: str) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    for chunk in backend.iter_chunks(key):
        digest.update(chunk)
    return digest.hexdigest()


def _mask_object(dataset: Dataset) -> label_rules.MaskObject:
    """How a mask's object is found: uploaded like data, under its SHA-1, with its size (and content)."""
    backend = backend_for(dataset.storage_config)

    def key_of(sha1: str, size: int) -> str:
        key = selectors.dataset_object_key(dataset=dataset, sha1=sha1)
        if backend.size(key) != size:
            raise errors.StorageObjectMissing(f"mask object {sha1} is not in storage with size {size}", key=key)
        if not isinstance(backend, FilesystemBackend) and _object_sha1(backend, key) != sha1:
            raise errors.StorageObjectMissing(f"mask object {sha1} has other content", key=key)
        return key

    return key_of


def _label_prepared(draft: Draft, remote_path: str, label: dict | None) -> dict | None:
    if not label:
        return None
    return label_rules.label_prepare(
        catalog=versioning_selectors.draft_catalog(draft=draft),
        remote_path=remote_path,
        label=label,
        mask_object=_mask_object(draft.dataset),
    )


def _labels_prepared(draft: Draft, objects: Sequence[UploadedObject]) -> list[UploadedObject]:
    """The objects with their labels checked against the draft's catalog and masks made references."""
    if not any(uploaded.label for uploaded in objects):
        return list(objects)
    catalog = versioning_selectors.draft_catalog(draft=draft)
    mask_object = _mask_object(draft.dataset)
    return [
        replace(
            uploaded,
            label=label_rules.label_prepare(
                catalog=catalog, remote_path=uploaded.remote_path, label=uploaded.label or None, mask_object=mask_object
            ),
        )
        for uploaded in objects
    ]


def _lock_draft_then_fence(draft: Draft) -> None:
    """Lock the draft row, then share the garbage-collection fence: rows first, fence last, as every writer."""
    Draft.objects.select_for_update().filter(pk=draft.pk).values_list("pk", flat=True).first()
    fence_share()


@transaction.atomic
def dataset_objects_register(*, draft: Draft, segment: str, objects: Sequence[UploadedObject]) -> None:
    """Stage uploaded files in a draft, each only if its object (keyed by its SHA-1) is in storage with its size.

    Registering a path again replaces its entry, so callbacks may be repeated. Labels are checked against the
    draft's catalog first: a refused label stages nothing. The objects are checked under the garbage-collection
    fence, so a collection cannot delete one between the check and the staging.
    """
    _lock_draft_then_fence(draft)
    objects = _labels_prepared(draft, objects)
    dataset = draft.dataset
    slots = [_frame_slot(dataset, uploaded.frame_id, uploaded.sensor_name) for uploaded in objects]
    backend = backend_for(dataset.storage_config)
    entries = []
    parts: list[tuple[str, Part]] = []
    for uploaded, slot in zip(objects, slots, strict=True):
        if not SHA1_HEX.fullmatch(uploaded.sha1):
            raise errors.Invalid("checksum", "must be 40 lowercase hex digits")
        key = selectors.dataset_object_key(dataset=dataset, sha1=uploaded.sha1)
        if backend.size(key) != uploaded.size:
            raise errors.StorageObjectMissing(f"storage object {uploaded.sha1} has another size", key=key)
        # The hub checks the hash of what it stores itself; an object store took whatever the client sent.
        if not isinstance(backend, FilesystemBackend) and _object_sha1(backend, key) != uploaded.sha1:
            raise errors.StorageObjectMissing(f"storage object {uploaded.sha1} has other content", key=key)
        if slot is not None:
            frame_id, sensor = slot
            label = uploaded.label or None
            parts.append(
                (
                    frame_id,
                    Part(sensor, uploaded.remote_path, key, uploaded.sha1, uploaded.size, label, uploaded.timestamp),
                )
            )
            continue
        entries.append(
            Entry.create(
                segment=segment,
                remote_path=uploaded.remote_path,
                object_key=key,
                sha1=uploaded.sha1,
                size=uploaded.size,
                label=uploaded.label,
                timestamp=uploaded.timestamp,
            )
        )
    if parts:
        versioning_services.draft_frame_parts_put(draft=draft, segment=segment, parts=parts)
    if entries or not parts:
        versioning_services.draft_stage_upserts(draft=draft, entries=entries)


@transaction.atomic
def dataset_cloud_object_register(
    *,
    draft: Draft,
    segment: str,
    cloud_path: str,
    remote_path: str,
    label: dict | None = None,
    frame_id: str | None = None,
    sensor_name: str | None = None,
) -> None:
    """Stage an object already in the dataset's authorised storage config, hashing it to address its content."""
    _lock_draft_then_fence(draft)
    label = _label_prepared(draft, remote_path, label)
    slot = _frame_slot(draft.dataset, frame_id, sensor_name)
    config = draft.dataset.storage_config
    if config is None or config.is_hub_default:
        raise errors.NotAllowed("only datasets on an authorised storage config import cloud files")
    backend = backend_for(config)
    key = clean_key(cloud_path, field="cloudPath")
    if slot is not None:
        part = Part(slot[1], remote_path, key, _object_sha1(backend, key), backend.size(key), label or None)
        versioning_services.draft_frame_parts_put(draft=draft, segment=segment, parts=[(slot[0], part)])
        return
    entry = Entry.create(
        segment=segment,
        remote_path=remote_path,
        object_key=key,
        sha1=_object_sha1(backend, key),
        size=backend.size(key),
        label=label,
    )
    versioning_services.draft_stage_upserts(draft=draft, entries=[entry])


def dataset_labels_set(*, draft: Draft, segment: str, labels: dict[str, dict]) -> None:
    """Replace labels of a draft's entries, checked against its catalog, their masks found in storage."""
    versioning_services.draft_labels_set(
        draft=draft, segment=segment, labels=labels, mask_object=_mask_object(draft.dataset)
    )


def dataset_objects_copy(*, target: Dataset, source: Dataset, keys: Sequence[str]) -> list[str]:
    """Copy objects of ``source`` (keys ``<source id>/<sha1>``) into ``target``'s keys, one key per key, in order.

    Both datasets must be in the same workspace and storage config; an object already in the target is kept.
    """
    if source.workspace_id != target.workspace_id or source.storage_config_id != target.storage_config_id:
        raise errors.NotAllowed("objects are copied only between datasets of one workspace and storage config")
    source_prefix = selectors.dataset_object_key(dataset=source, sha1="")
    backend = backend_for(target.storage_config)
    copied: dict[str, str] = {}
    for key in keys:
        sha1 = key[len(source_prefix) :] if isinstance(key, str) and key.startswith(source_prefix) else ""
        if not SHA1_HEX.fullmatch(sha1):
            raise errors.Invalid("keys", f"{key!r} is not an object of dataset {source.name}")
        if key in copied:
            continue
        if not backend.exists(key):
            raise errors.StorageObjectMissing(f"storage object {key} does not exist", key=key)
        target_key = selectors.dataset_object_key(dataset=target, sha1=sha1)
        if target_key != key and not (backend.exists(target_key) and backend.size(target_key) == backend.size(key)):
            # Spooled to disk first: not every store's reader can be handed to another store's writer.
            with tempfile.TemporaryFile() as spool:
                for chunk in backend.iter_chunks(key):
                    spool.write(chunk)
                spool.seek(0)
                backend.save(target_key, File(spool))
        copied[key] = target_key
    return [copied[key] for key in keys]


def dataset_object_store(*, dataset: Dataset, content: bytes) -> UploadedObject:
    """Store content in the dataset's storage under its SHA-1, as a TensorBay upload would; the same content
    is stored once. Returns what registering it in a draft needs (give it a ``remote_path``)."""
    sha1 = hashlib.sha1(content, usedforsecurity=False).hexdigest()
    backend = backend_for(dataset.storage_config)
    key = selectors.dataset_object_key(dataset=dataset, sha1=sha1)
    storage_config_services.storage_object_put(backend=backend, key=key, content=io.BytesIO(content))
    return UploadedObject(remote_path="", sha1=sha1, size=len(content))


def _catalog_cover(draft: Draft, labels: Sequence[dict | None]) -> None:
    """Add to the draft's catalog each label type the labels use and it lacks, with their categories."""
    catalog = versioning_selectors.draft_catalog(draft=draft)
    missing: dict[str, set[str]] = {}
    for label_type, categories in (item for label in labels for item in label_rules.label_summary(label)):
        if label_type not in catalog:
            missing.setdefault(label_type, set()).update(categories)
    if missing:
        added = {
            label_type: {"categories": [{"name": name} for name in sorted(names)]} if names else {}
            for label_type, names in missing.items()
        }
        versioning_services.draft_metadata_set(draft=draft, catalog={**catalog, **added})


@dataclass(frozen=True)
class FileContent:
    """A file given with its bytes: its segment, its path there, its content and its label; in a fusion
    dataset also the frame (a ULID) and the sensor it belongs to, and when it was recorded."""

    segment: str
    remote_path: str
    content: bytes
    label: dict | None = None
    frame_id: str | None = None
    sensor_name: str | None = None
    timestamp: float | None = None


@transaction.atomic
def dataset_contents_commit(
    *,
    dataset: Dataset,
    committer: User | None,
    title: str,
    files: Sequence[FileContent] = (),
    deletes: Sequence[tuple[str, str]] = (),
    branch_name: str | None = None,
    sensors: dict[str, Sequence[dict[str, Any]]] | None = None,
) -> Commit:
    """Store files and commit them, with deletes of (segment, remote path), through a draft as an SDK would.

    Labels are checked against the draft's catalog, so a label type the catalog lacks is first added to it,
    with the categories the files use, as an SDK uploads a dataset's catalog before its labels. A fusion
    dataset's ``sensors`` (by segment, each as ``Sensor.dumps()`` gives it) are defined before its files.
    """
    draft = versioning_services.draft_create(dataset=dataset, title=title, branch_name=branch_name, creator=committer)
    _catalog_cover(draft, [file.label for file in files])
    for segment, defined in (sensors or {}).items():
        versioning_services.draft_segment_ensure(draft=draft, name=segment)
        for sensor in defined:
            versioning_services.draft_sensor_put(draft=draft, segment=segment, sensor=dict(sensor))
    for segment in sorted({file.segment for file in files}):
        versioning_services.draft_segment_ensure(draft=draft, name=segment)
        stored = []
        for file in files:
            if file.segment == segment:
                uploaded = dataset_object_store(dataset=dataset, content=file.content)
                stored.append(
                    UploadedObject(
                        remote_path=file.remote_path,
                        sha1=uploaded.sha1,
                        size=uploaded.size,
                        label=file.label,
                        timestamp=file.timestamp,
                        frame_id=file.frame_id,
                        sensor_name=file.sensor_name,
                    )
                )
        dataset_objects_register(draft=draft, segment=segment, objects=stored)
    for segment in sorted({segment for segment, _ in deletes}):
        paths = [remote_path for deleted_segment, remote_path in deletes if deleted_segment == segment]
        versioning_services.draft_stage_deletes(draft=draft, segment=segment, remote_paths=paths)
    return versioning_services.draft_commit(draft=draft, title=title, committer=committer)


@dataclass(frozen=True)
class SheetFile:
    """A file a sheet row holds in a column, given with its bytes, its extension and any further fields."""

    content: bytes
    extension: str
    fields: dict[str, Any] | None = None


@transaction.atomic
def dataset_sheet_commit(
    *,
    dataset: Dataset,
    committer: User | None,
    title: str,
    sheet: str,
    schema: dict[str, str],
    rows: Sequence[dict[str, Any]],
) -> Commit:
    """Create a sheet (schema texts as ``versioning.sheets.schema_texts`` keeps them) with rows and commit it, as
    the graviti SDK does: each ``SheetFile`` value is stored under its SHA-1 first and the row names its key."""
    draft = versioning_services.draft_create(dataset=dataset, title=title, creator=committer)
    versioning_services.sheet_create(draft=draft, name=sheet, schema=schema)
    sent = []
    for row in rows:
        values = {}
        for name, value in row.items():
            if isinstance(value, SheetFile):
                stored = dataset_object_store(dataset=dataset, content=value.content)
                key = selectors.dataset_object_key(dataset=dataset, sha1=stored.sha1)
                value = {"key": key, "extension": value.extension, "size": stored.size, **(value.fields or {})}
            values[name] = value
        sent.append(values)
    versioning_services.sheet_rows_add(draft=draft, name=sheet, rows=sent)
    return versioning_services.draft_commit(draft=draft, title=title, committer=committer)
