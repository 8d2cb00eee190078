"""The catalog: users, workspaces and their members, keys, datasets, dataset files, tags and licences."""

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class User(AbstractUser):
    """A person or service account; integer ``id`` for whale.run, ``uuid`` for AIDMP."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    nickname = models.CharField(max_length=150, blank=True)
    mobile = models.CharField(max_length=32, blank=True)
    description = models.TextField(blank=True)

    @property
    def display_name(self) -> str:
        """The nickname, or the username when none is set."""
        return self.nickname or self.username


class Workspace(models.Model):
    """An owner namespace: a Graviti workspace, an AIDMP tenant, an institution."""

    class Kind(models.TextChoices):
        USER = "USER", "personal"
        TEAM = "TEAM", "team"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=150, unique=True)
    alias = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    email = models.EmailField(blank=True)
    location = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TEAM)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_workspaces")
    # Where new datasets go when their creator names no storage config (Graviti's default storage config).
    default_storage_config = models.ForeignKey(
        "storage_configs.StorageConfig", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="workspaces", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One personal workspace per user.
            models.UniqueConstraint(fields=["owner"], condition=Q(kind="USER"), name="one_personal_workspace")
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in a workspace."""

    class Role(models.TextChoices):
        OWNER = "owner"
        ADMIN = "admin"
        WRITER = "writer"
        READER = "reader"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.READER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def can_write(self) -> bool:
        """Whether the role may change the workspace's datasets."""
        return self.role != self.Role.READER


class AccessKey(models.Model):
    """An ``X-Token`` credential; only its SHA-256 is stored, the key itself is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_keys")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="access_keys")
    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The key's first characters, so people can tell their keys apart.
    prefix = models.CharField(max_length=20, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        """Whether the key has not been revoked."""
        return self.revoked_at is None


class SigningKey(models.Model):
    """An institution-dialect key pair: public ``secret_id`` (``AKID…``), secret stored encrypted."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signing_keys")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="signing_keys")
    secret_id = models.CharField(max_length=64, unique=True, editable=False)
    secret_ciphertext = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.secret_id

    @property
    def is_active(self) -> bool:
        """Whether the key has not been revoked."""
        return self.revoked_at is None


class Licence(models.Model):
    """A licence a dataset is published under."""

    name = models.CharField(max_length=255, unique=True)
    url = models.URLField(blank=True)

    def __str__(self) -> str:
        return self.name


class TagCategory(models.Model):
    """A tag category such as 数据类型 (data type) or 应用场景 (application)."""

    name = models.CharField(max_length=100, unique=True)

    class Meta:
        verbose_name_plural = "tag categories"

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """A tag value within a category."""

    category = models.ForeignKey(TagCategory, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["category", "name"], name="one_tag_per_category_name")]

    def __str__(self) -> str:
        return f"{self.category.name}: {self.name}"


class ListedDatasetManager(models.Manager["Dataset"]):
    """Datasets people made; search results (internal datasets a search job writes) are left out."""

    def get_queryset(self) -> models.QuerySet["Dataset"]:
        return super().get_queryset().filter(search_source__isnull=True)


class Dataset(models.Model):
    """A dataset as every dialect sees it; files and history live in ``versioning``.

    A search result is a dataset too, internal and read-only: ``search_source`` names the dataset searched.
    ``objects`` leaves search results out, so no list, catalog or admin page shows them; ``all_objects``
    reaches them where they must be found (by id, by garbage collection).
    """

    class DataType(models.IntegerChoices):
        IMAGE = 0, "image"
        VOICE = 1, "voice"
        TEXT = 2, "text"
        VIDEO = 3, "video"
        POINT_CLOUD = 6, "point cloud"

    class Kind(models.IntegerChoices):
        NORMAL = 0, "normal"
        FUSION = 1, "fusion"

    class Origin(models.IntegerChoices):
        COMMON = 0, "common"
        IMPORTED = 1, "imported"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=255)
    alias = models.CharField(max_length=255, blank=True)
    title = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    licence = models.ForeignKey(Licence, on_delete=models.PROTECT, null=True, blank=True, related_name="datasets")
    data_type = models.PositiveSmallIntegerField(choices=DataType.choices, default=DataType.IMAGE)
    kind = models.PositiveSmallIntegerField(choices=Kind.choices, default=Kind.NORMAL)
    origin = models.PositiveSmallIntegerField(choices=Origin.choices, default=Origin.COMMON)
    is_public = models.BooleanField(default=False)
    hidden = models.BooleanField(default=False)
    featured = models.BooleanField(default=False)
    tags = models.ManyToManyField(Tag, related_name="datasets", blank=True)
    total_notebooks = models.PositiveIntegerField(default=0)
    total_topics = models.PositiveIntegerField(default=0)
    total_comments = models.PositiveIntegerField(default=0)
    total_votes = models.PositiveIntegerField(default=0)
    storage_config = models.ForeignKey(
        "storage_configs.StorageConfig", on_delete=models.PROTECT, null=True, blank=True, related_name="datasets"
    )
    default_branch = models.CharField(max_length=255, default="main")
    cover = models.CharField(max_length=1024, blank=True)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="datasets"
    )
    # Set on a search result only: the dataset it was searched in, whose readers read it.
    search_source = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    all_objects = models.Manager()
    objects = ListedDatasetManager()

    class Meta:
        default_manager_name = "objects"
        base_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="one_dataset_name_per_workspace"),
            models.CheckConstraint(
                condition=Q(total_notebooks__gte=0)
                & Q(total_topics__gte=0)
                & Q(total_comments__gte=0)
                & Q(total_votes__gte=0),
                name="dataset_counters_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["is_public", "hidden", "-updated_at"], name="dataset_public_listing")]
        # Curators hide and feature datasets without the right to change anything else.
        permissions = [("moderate_dataset", "Can hide, unhide, feature and unfeature datasets")]

    def __str__(self) -> str:
        return f"{self.workspace.name}/{self.name}"

    @property
    def hex_id(self) -> str:
        """The 32-hex id the TensorBay and Graviti dialects use."""
        return self.uuid.hex

    @property
    def is_search_result(self) -> bool:
        """Whether the dataset is a search job's read-only result."""
        return self.search_source_id is not None


class DatasetFile(models.Model):
    """An object already in storage, registered by a user (whale.run); may depend on a parent file."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dataset_files")
    name = models.CharField(max_length=255)
    oss_object = models.CharField(max_length=1024)
    storage_config = models.ForeignKey(
        "storage_configs.StorageConfig", on_delete=models.PROTECT, null=True, blank=True, related_name="files"
    )
    size = models.PositiveBigIntegerField()
    # SHA-1 of the object's bytes, read when the file is registered, so commits can hold it.
    sha1 = models.CharField(max_length=40, blank=True)
    mime_type = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, null=True, blank=True, related_name="files")
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="children")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class ModerationEvent(models.Model):
    """One hide/unhide/feature/unfeature of a dataset: who, when, what, why, and through which door."""

    class Action(models.TextChoices):
        HIDE = "hide"
        UNHIDE = "unhide"
        FEATURE = "feature"
        UNFEATURE = "unfeature"

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="moderation_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="moderation_events"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    reason = models.TextField(blank=True)
    via = models.CharField(max_length=16, default="api")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} {self.dataset} by {self.actor}"
