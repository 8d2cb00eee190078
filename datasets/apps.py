from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "datasets"
    verbose_name = "catalog"

    def ready(self) -> None:
        from datasets import checks, signals  # noqa: F401  (registers the checks, connects the receivers)
