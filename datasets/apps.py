from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "datasets"
    verbose_name = "catalog"

    def ready(self) -> None:
        from datasets import signals  # noqa: F401  (connects the catalog receivers)
