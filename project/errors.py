"""The domain error tree: every rule the domain enforces fails with one of these.

Domain code raises them with a stable ``kind`` and context; ``project.api.errors.normalise`` turns them
(and framework exceptions) into one neutral record, and each dialect maps the kind to its own codes.
"""

from typing import Any


class DomainError(Exception):
    """A failure the domain names; ``kind`` is stable, ``message`` is for people."""

    kind = "internal"
    default_message = "internal error"

    def __init__(self, message: str = "", **context: Any) -> None:
        self.message = message or self.default_message
        self.context = context
        super().__init__(self.message)


class Malformed(DomainError):
    """The request could not be read at all (bad JSON, wrong content type)."""

    kind = "malformed"
    default_message = "malformed request"


class Missing(DomainError):
    """A required parameter or field is absent; ``location`` is ``query`` or ``body`` when it matters."""

    kind = "missing"

    def __init__(self, field: str, message: str = "", **context: Any) -> None:
        self.field = field
        super().__init__(message or f"{field} is required", field=field, **context)


class Invalid(DomainError):
    """A parameter or field is present but its value is wrong; ``location`` as for ``Missing``."""

    kind = "invalid"

    def __init__(self, field: str, reason: str, **context: Any) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}", field=field, reason=reason, **context)


class Unauthorized(DomainError):
    """The caller did not prove who it is, or the credential is unknown or revoked."""

    kind = "unauthorized"
    default_message = "missing, unknown or revoked credential"


class Forbidden(DomainError):
    """The caller is known but may not do this to this object."""

    kind = "forbidden"
    default_message = "not allowed"


class NotAllowed(DomainError):
    """The object's state forbids the operation (delete the default branch, commit a closed draft)."""

    kind = "not_allowed"
    default_message = "operation not allowed in this state"


class NotFound(DomainError):
    """The object does not exist, or the caller may not know that it does."""

    kind = "not_found"
    default_message = "not found"


class MethodNotAllowed(DomainError):
    """The route exists but not for this HTTP method."""

    kind = "method_not_allowed"
    default_message = "method not allowed"


class Conflict(DomainError):
    """A name is taken, or concurrent changes collide."""

    kind = "conflict"
    default_message = "conflict"


class StorageObjectMissing(DomainError):
    """An object the request refers to is not in storage (or has another size or hash)."""

    kind = "storage_object_missing"
    default_message = "storage object does not exist"


class FilesInvalid(DomainError):
    """Dataset file ids name files that do not exist or belong to someone else."""

    kind = "files_invalid"
    default_message = "dataset file ids are invalid"


class TooLarge(DomainError):
    """The request body or an uploaded object is larger than allowed."""

    kind = "too_large"
    default_message = "request too large"


class Throttled(DomainError):
    """The caller sent too many requests; ``retry_after`` is in seconds."""

    kind = "throttled"
    default_message = "too many requests"

    def __init__(self, retry_after: int, message: str = "") -> None:
        self.retry_after = retry_after
        super().__init__(message, retry_after=retry_after)


class ServiceUnavailable(DomainError):
    """A service the request needs (storage, database) cannot be reached."""

    kind = "unavailable"
    default_message = "service unavailable"
