from django.apps import AppConfig


class StorageConfigsConfig(AppConfig):
    name = "storage_configs"
    verbose_name = "storage configurations"
