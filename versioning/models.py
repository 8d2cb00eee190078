"""Branches, commits, tags, drafts and the content-addressed file tree (issue #4).

A commit points at an immutable ``Tree``: its segments and its ranges, each range holding about a thousand
entries sorted by path (``segment/remotePath``) and stored once under the hash of its contents. A tree of more
than a few dozen ranges lists them through ``Metarange`` nodes of a few dozen range pointers each.
A draft stages upserts and deletes in ``StagedEntry`` and ``StagedSegment`` until it is committed.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

ROOT_COMMIT_ID = "0" * 32
MAX_PATH_LENGTH = 700


class PathField(models.CharField):
    """Text compared byte by byte, without padding, so the database sorts paths exactly as Python does."""

    def db_type(self, connection: Any) -> str | None:
        db_type = super().db_type(connection)
        if connection.vendor == "mysql":
            collation = "utf8mb4_nopad_bin" if connection.mysql_is_mariadb else "utf8mb4_0900_bin"
            return f"{db_type} COLLATE {collation}"
        # SQLite compares text with BINARY (memcmp of UTF-8), which is code point order.
        return db_type


class Range(models.Model):
    """A run of entries sorted by path, keyed by the SHA-256 of its encoding; shared by every tree holding it."""

    id = models.CharField(max_length=64, primary_key=True)
    data = models.BinaryField()
    # When a writer last stored this content (again): garbage collection keeps anything written since its mark.
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.id


class Metarange(models.Model):
    """An ordered run of range pointers (a node of a two-level tree), keyed by the SHA-256 of its encoding."""

    id = models.CharField(max_length=64, primary_key=True)
    data = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.id


class Tree(models.Model):
    """A commit's content: its segments and its ranges (inline, or through metaranges), keyed by the hash of its
    encoding."""

    id = models.CharField(max_length=64, primary_key=True)
    data = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.id


class SegmentMetadata(models.Model):
    """A segment's metadata (fusion sensors, a sheet's schema), stored once under the hash of its JSON text."""

    id = models.CharField(max_length=64, primary_key=True)
    data = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.id


class Commit(models.Model):
    """An immutable snapshot of a dataset; ``parent`` is null for the first commit (whose parent is ROOT)."""

    id = models.CharField(max_length=32, primary_key=True)
    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="commits")
    parent = models.ForeignKey("self", on_delete=models.RESTRICT, null=True, blank=True, related_name="children")
    tree = models.ForeignKey(Tree, on_delete=models.PROTECT, related_name="commits")
    # Number of commits in the ancestry chain ending here, so history pages know their total at once.
    depth = models.PositiveIntegerField()
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    committer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="commits"
    )
    committed_at = models.DateTimeField()
    entry_count = models.PositiveBigIntegerField()
    total_size = models.PositiveBigIntegerField()
    # Files per segment, kept once the tree holds composite entries (fusion frames hold several files each);
    # null while every entry is one file, so the tree's entry counts say it.
    file_counts = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["dataset", "-committed_at"], name="commit_dataset_time")]

    def __str__(self) -> str:
        return self.id

    @property
    def parent_commit_id(self) -> str:
        """The parent's id, or the ROOT id for a first commit."""
        return self.parent_id or ROOT_COMMIT_ID

    @property
    def file_count(self) -> int:
        """Number of files in the commit (each part of a composite entry counts)."""
        return self.entry_count if self.file_counts is None else sum(self.file_counts.values())

    @property
    def committer_name(self) -> str:
        """The committer's display name, or an empty string when the user is gone."""
        return self.committer.display_name if self.committer else ""


class Branch(models.Model):
    """A movable name for a commit; ``head`` is null while the branch is at ROOT (no commits)."""

    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="branches")
    name = models.CharField(max_length=255)
    head = models.ForeignKey(Commit, on_delete=models.RESTRICT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "name"], name="one_branch_name_per_dataset")]
        verbose_name_plural = "branches"

    def __str__(self) -> str:
        return self.name

    @property
    def head_commit_id(self) -> str:
        """The head's id, or the ROOT id for a branch without commits."""
        return self.head_id or ROOT_COMMIT_ID


class Tag(models.Model):
    """A fixed name for a commit."""

    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="version_tags")
    name = models.CharField(max_length=255)
    commit = models.ForeignKey(Commit, on_delete=models.RESTRICT, related_name="tags")
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "name"], name="one_tag_name_per_dataset")]

    def __str__(self) -> str:
        return self.name


class Draft(models.Model):
    """A staging area over ``base_commit`` (null: ROOT) on a branch, numbered per dataset from 1."""

    class State(models.TextChoices):
        OPEN = "OPEN"
        CLOSED = "CLOSED"
        COMMITTED = "COMMITTED"

    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="drafts")
    number = models.PositiveIntegerField()
    # Kept by name as well, so a draft still says where it came from after its branch is deleted.
    branch = models.ForeignKey(Branch, on_delete=models.SET_NULL, null=True, blank=True, related_name="drafts")
    branch_name = models.CharField(max_length=255)
    base_commit = models.ForeignKey(Commit, on_delete=models.RESTRICT, null=True, blank=True, related_name="+")
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    state = models.CharField(max_length=9, choices=State.choices, default=State.OPEN)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="drafts"
    )
    committed_as = models.ForeignKey(Commit, on_delete=models.RESTRICT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="one_draft_number_per_dataset"),
            models.CheckConstraint(
                condition=~Q(state="COMMITTED") | Q(committed_as__isnull=False), name="committed_draft_has_commit"
            ),
        ]

    def __str__(self) -> str:
        return f"draft {self.number}"

    @property
    def parent_commit_id(self) -> str:
        """The base commit's id, or the ROOT id for a draft on an empty branch."""
        return self.base_commit_id or ROOT_COMMIT_ID

    @property
    def is_open(self) -> bool:
        """Whether the draft still takes changes."""
        return self.state == self.State.OPEN


class StagedSegment(models.Model):
    """A segment created, described or deleted in a draft; ``clears_entries`` drops its entries at base."""

    class Action(models.TextChoices):
        PUT = "put"
        DELETE = "delete"

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="staged_segments")
    name = models.CharField(max_length=255)
    action = models.CharField(max_length=6, choices=Action.choices)
    description = models.TextField(blank=True)
    clears_entries = models.BooleanField(default=False)
    # The segment's metadata id when the draft set it ("" for none); null, a third state: the draft did not
    # set it, so the segment keeps whatever the commit it lands on has.
    metadata_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001

    class Meta:
        constraints = [models.UniqueConstraint(fields=["draft", "name"], name="one_staged_segment_per_name")]

    def __str__(self) -> str:
        return f"{self.action} segment {self.name!r}"


class StagedEntry(models.Model):
    """An entry upserted or deleted in a draft; staging the same path again replaces the row."""

    class Action(models.TextChoices):
        PUT = "put"
        DELETE = "delete"

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="staged_entries")
    path = PathField(max_length=MAX_PATH_LENGTH)
    segment = PathField(max_length=255)
    action = models.CharField(max_length=6, choices=Action.choices)
    object_key = models.CharField(max_length=1024, blank=True)
    sha1 = models.CharField(max_length=40, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    label = models.JSONField(null=True, blank=True)
    timestamp = models.FloatField(null=True, blank=True)
    # The parts of a composite entry (a fusion frame), as ``versioning.trees.Part`` rows.
    parts = models.JSONField(null=True, blank=True)
    # Whether the path holds an entry in the draft's base, so counts need no look-up in the tree.
    in_base = models.BooleanField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["draft", "path"], name="one_staged_entry_per_path")]
        indexes = [
            models.Index(fields=["draft", "segment"], name="staged_entry_segment"),
            # Garbage collection checks whether an object it is about to delete was staged meanwhile.
            models.Index(fields=["sha1"], name="staged_entry_sha1"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.path}"


class DatasetObject(models.Model):
    """A distinct object (by SHA-1) that a commit of the dataset has held; catalogs count them as files."""

    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="+")
    sha1 = models.CharField(max_length=40)
    # When a commit last registered the object: garbage collection keeps objects committed since its mark.
    registered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "sha1"], name="one_object_per_dataset_sha1")]
        indexes = [models.Index(fields=["sha1"], name="dataset_object_sha1")]

    def __str__(self) -> str:
        return self.sha1


class DraftMetadata(models.Model):
    """The catalog and notes a draft sets (TensorBay keeps both with the content); a commit has those of the
    nearest draft committed in its history that set them."""

    draft = models.OneToOneField(Draft, on_delete=models.CASCADE, related_name="metadata")
    catalog = models.JSONField(default=dict, blank=True)
    notes = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"metadata of {self.draft}"


class GcFence(models.Model):
    """The one row writers of versioned content share-lock and garbage collection locks to start a mark.

    Every transaction that stores ranges, trees or segment metadata, stages entries or registers objects holds
    a shared lock on it, so when a collection's exclusive lock is granted no such write is in flight, and every
    later write is stamped after the mark began.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    marked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"gc fence (last mark {self.marked_at})"


class DeletedDataset(models.Model):
    """A deleted dataset whose objects may still lie in storage under its prefix, until collection sweeps them."""

    hex_id = models.CharField(max_length=32, unique=True)
    # Null: the hub's own storage. Deleting the config forgets the objects (there is nothing left to reach).
    storage_config = models.ForeignKey(
        "storage_configs.StorageConfig", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    deleted_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.hex_id


class DatasetGarbage(models.Model):
    """What the last garbage collection found unreachable in a dataset's storage and has not deleted yet."""

    dataset = models.OneToOneField("datasets.Dataset", on_delete=models.CASCADE, related_name="garbage")
    object_count = models.PositiveBigIntegerField(default=0)
    reclaimable_bytes = models.PositiveBigIntegerField(default=0)
    measured_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "dataset garbage"

    def __str__(self) -> str:
        return f"garbage of {self.dataset_id}"


class KeyCounter(models.Model):
    """The last number a dataset handed out for new entry keys (sheet record keys); numbers are never reused."""

    dataset = models.OneToOneField("datasets.Dataset", on_delete=models.CASCADE, primary_key=True, related_name="+")
    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"key counter at {self.value}"


class SearchHistory(models.Model):
    """A search of one sheet at a commit or a draft: its criteria, and its result count once known (commits only,
    whose content never changes), with the count in each range of the sheet so that a later page skips the ranges
    before it."""

    id = models.CharField(max_length=32, primary_key=True)
    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="+")
    commit = models.ForeignKey(Commit, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    sheet = models.CharField(max_length=255)
    criteria = models.JSONField()
    record_count = models.PositiveBigIntegerField(null=True, blank=True)
    range_counts = models.JSONField(null=True, blank=True)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(commit__isnull=False) & Q(draft__isnull=True))
                | (Q(commit__isnull=True) & Q(draft__isnull=False)),
                name="search_at_a_commit_or_a_draft",
            )
        ]
        indexes = [models.Index(fields=["dataset", "created_at"], name="search_dataset_time")]
        verbose_name_plural = "search histories"

    def __str__(self) -> str:
        return f"search {self.id} of {self.sheet}"


class Job(models.Model):
    """Long work on a dataset (a merge, a search), run by a Celery task; the row is the source of truth for its state.

    ``attempt`` counts retries: a task carries the attempt it was sent for, so a late delivery of an earlier
    attempt does nothing. ``request_key`` remembers the create request a retried POST repeats.
    """

    class Type(models.TextChoices):
        SQUASH_AND_MERGE = "squashAndMerge"
        BASIC_SEARCH = "basicSearch"

    class Status(models.TextChoices):
        QUEUING = "QUEUING"
        PROCESSING = "PROCESSING"
        SUCCESS = "SUCCESS"
        FAILED = "FAILED"
        ABORTED = "ABORTED"

    id = models.CharField(max_length=32, primary_key=True)
    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="jobs")
    job_type = models.CharField(max_length=32, choices=Type.choices)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    arguments = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUING)
    error_message = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)
    # The merge's conflict report: the first JOB_CONFLICTS_KEPT conflicts, and how many there were.
    conflicts = models.JSONField(default=list, blank=True)
    conflict_count = models.PositiveIntegerField(default=0)
    result_draft = models.ForeignKey(Draft, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # A search's result: the internal dataset holding the matching entries, deleted with the job.
    result_dataset = models.ForeignKey(
        "datasets.Dataset", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Null, not empty, without one: nulls never collide in the unique constraint, on every database.
    request_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    attempt = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["dataset", "-created_at"], name="job_dataset_time")]
        constraints = [models.UniqueConstraint(fields=["dataset", "request_key"], name="one_job_per_request")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_finished(self) -> bool:
        """Whether the job is in a terminal state."""
        return self.status in (self.Status.SUCCESS, self.Status.FAILED, self.Status.ABORTED)
