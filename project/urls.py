"""Root URLs: the admin, operations endpoints, API schemas and docs, and the five dialects."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from project import health
from project.api import routes, schema  # noqa: F401  (schema registers the auth schemes)

# (dialect name, mount points, routes); institution's /api/v1/ must precede whale.run's /api/.
DIALECT_MOUNTS = [
    ("institution", ["api/v1/"], routes.institution),
    ("aidmp", ["aids/aidmp/data/v1/"], routes.aidmp),
    ("tensorbay", ["v1/", "gatewayv2/tensorbay-open-api/v1/"], routes.tensorbay),
    ("graviti", ["v2/"], routes.graviti),
    ("whalerun", ["api/"], routes.whalerun),
]

schema_urls = [
    path(
        f"openapi/{name}.json",
        SpectacularJSONAPIView.as_view(
            patterns=[path(mounts[-1], include(dialect_routes))],
            custom_settings={"TITLE": f"Dataset Hub — {name}"},
        ),
        name=f"openapi-{name}",
    )
    for name, mounts, dialect_routes in DIALECT_MOUNTS
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("", include("catalog.urls")),
    path("storage/", include("storage_configs.urls")),
    *schema_urls,
    path(
        "docs/",
        SpectacularSwaggerView.as_view(
            url_name="openapi-tensorbay", template_name="docs/swagger_ui.html", template_name_js="docs/swagger_ui.js"
        ),
        name="docs",
    ),
    *[path(mount, include(dialect_routes)) for _, mounts, dialect_routes in DIALECT_MOUNTS for mount in mounts],
]

handler400 = "project.api.dialects.handler400"
handler404 = "project.api.dialects.handler404"
handler500 = "project.api.dialects.handler500"
