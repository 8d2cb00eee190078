"""drf-spectacular descriptions of the dialects' authentication schemes."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
