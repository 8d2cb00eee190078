"""drf-spectacular descriptions of the dialects: their authentication schemes and the errors they answer with."""

from collections.abc import Collection
from http import HTTPStatus
from typing import Any, Protocol

from django.http import HttpRequest
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.hooks import postprocess_schema_enums
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ComponentRegistry, ResolvedComponent
from rest_framework.permissions import SAFE_METHODS

from project.api import aidmp, graviti, institution, tensorbay, whalerun
from project.api.errors import ErrorRecord


class AccessKeyScheme(OpenApiAuthenticationExtension):
    target_class = "project.api.authentication.AccessKeyAuthentication"
    name = "AccessKey"
    match_subclasses = True

    def get_security_definition(self, auto_schema: Any) -> dict:
        return {"type": "apiKey", "in": "header", "name": "X-Token", "description": "ACCESSKEY-<32 hex>"}


class ServiceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "project.api.authentication.ServiceTokenAuthentication"
    name = "ServiceToken"

    def get_security_definition(self, auto_schema: Any) -> dict:
        return {"type": "apiKey", "in": "header", "name": "X-Service-Token"}


class SignatureScheme(OpenApiAuthenticationExtension):
    target_class = "project.api.authentication.SignatureAuthentication"
    name = "Signature"

    def get_security_definition(self, auto_schema: Any) -> dict:
        return {
            "type": "apiKey",
            "in": "query",
            "name": "Signature",
            "description": "Hex HMAC-SHA256, with the signing secret, of every other query parameter sorted by "
            "name and URL-encoded; SecretId and Timestamp (milliseconds, within 5 minutes) are required too.",
        }


class DocumentedDialect(Protocol):
    """A dialect that renders errors and describes their bodies."""

    def error_body(self, record: ErrorRecord, request: HttpRequest) -> tuple[int, dict[str, Any]]: ...

    def error_schemas(self) -> dict[int, dict[str, Any]]: ...


DOCUMENTED_DIALECTS: dict[str, DocumentedDialect] = {
    "whalerun": whalerun.DIALECT,
    "aidmp": aidmp.DIALECT,
    "institution": institution.DIALECT,
    "tensorbay": tensorbay.DIALECT,
    "graviti": graviti.DIALECT,
}

# Error kinds an operation may answer with. Any request: the limits and a part that does not answer come
# before the view, and every view authenticates and reads parameters (a body, or at least its length).
EVERY_OPERATION_KINDS = (
    "malformed",
    "missing",
    "invalid",
    "unauthorized",
    "too_large",
    "throttled",
    "unavailable",
    "internal",
)
# Operations that name an object in their path or change something: the object may be missing, out of the
# caller's reach or in a state that refuses the operation.
OBJECT_KINDS = ("not_found", "forbidden", "not_allowed", "storage_object_missing")
# Only writes collide with existing names or concurrent changes, or are handed bad file ids.
WRITE_KINDS = ("conflict", "files_invalid")


def operation_error_kinds(*, path: str, method: str) -> tuple[str, ...]:
    """The error kinds an operation on ``path`` (with ``{parameters}``) with ``method`` may answer with."""
    writes = method.upper() not in SAFE_METHODS
    kinds: tuple[str, ...] = EVERY_OPERATION_KINDS
    if writes or "{" in path:
        kinds += OBJECT_KINDS
    if writes:
        kinds += WRITE_KINDS
    return kinds


def error_statuses(dialect: DocumentedDialect, *, kinds: Collection[str], method: str) -> set[int]:
    """The HTTP statuses the dialect renders the kinds with, for a request with ``method``."""
    request = HttpRequest()
    request.method = method.upper()
    return {dialect.error_body(ErrorRecord(kind=kind, message=kind), request)[0] for kind in kinds}


def error_component_name(dialect: DocumentedDialect, status: int) -> str:
    """The component of the dialect's error body at ``status``: ``TensorBayNotFoundError``."""
    phrase = HTTPStatus(status).phrase.title().replace(" ", "").removesuffix("Error")
    return f"{type(dialect).__name__}{phrase}Error"


ERROR_COMPONENTS = {
    error_component_name(dialect, status)
    for dialect in DOCUMENTED_DIALECTS.values()
    for status in dialect.error_schemas()
}


def postprocess_enums_outside_error_bodies(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular's enum hook, leaving the error bodies' code and message sets in place.

    Those sets overlap from status to status, which that hook would resolve into names like ``Code1b2Enum``.
    """
    schemas = result.get("components", {}).get("schemas", {})
    error_bodies = {name: schemas.pop(name) for name in [name for name in schemas if name in ERROR_COMPONENTS]}
    result = postprocess_schema_enums(result, generator, **kwargs)
    if error_bodies:
        schemas = result["components"]["schemas"]
        result["components"]["schemas"] = dict(sorted({**schemas, **error_bodies}.items()))
    return result


# gunicorn refuses these itself, with its own HTML page, before the hub reads the request: no dialect can
# answer them. Its defaults: a request line over 4094 bytes (limit_request_line), a header over 8190 bytes
# or more than 100 headers (limit_request_field_size, limit_request_fields).
SERVER_REFUSALS = {
    HTTPStatus.REQUEST_URI_TOO_LONG: "the request line (path and query) is longer than the HTTP server reads",
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE: "a header is longer, or there are more, than the HTTP server reads",
}


def server_refusal(status: HTTPStatus) -> dict[str, Any]:
    """The documented response of a request the HTTP server refuses before the hub reads it."""
    return {
        "description": f"{status.phrase}: {SERVER_REFUSALS[status]}; answered by the server, not the dialect",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }


RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds until requests are counted anew"}}


class DialectAutoSchema(AutoSchema):
    """Document a dialect view's error answers next to its success bodies, from the dialect's error table."""

    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: ComponentRegistry
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        dialect_name = getattr(getattr(self.view, "dialect", None), "name", None)
        if operation is None or dialect_name is None:
            return operation
        dialect = DOCUMENTED_DIALECTS[dialect_name]
        schemas = dialect.error_schemas()
        statuses = error_statuses(dialect, kinds=operation_error_kinds(path=path, method=method), method=method)
        for status in sorted(statuses):
            name = error_component_name(dialect, status)
            component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schemas[status])
            registry.register_on_missing(component)
            response: dict[str, Any] = {
                "description": HTTPStatus(status).phrase,
                "content": {"application/json": {"schema": component.ref}},
            }
            if status == HTTPStatus.TOO_MANY_REQUESTS:
                response["headers"] = RETRY_AFTER
            # A dialect that answered errors with a success status would need both bodies documented there.
            assert str(status) not in operation["responses"], f"{method} {path} answers {status} for errors too"
            operation["responses"][str(status)] = response
        for refusal in SERVER_REFUSALS:
            operation["responses"][str(refusal.value)] = server_refusal(refusal)
        operation["responses"] = dict(sorted(operation["responses"].items()))
        return operation
