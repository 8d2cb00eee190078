from django.apps import AppConfig


class VersioningConfig(AppConfig):
    name = "versioning"

    def ready(self) -> None:
        from versioning import signals  # noqa: F401  (connects the versioning receivers)
