"""The ``curator`` group: staff who find, inspect, describe and moderate datasets, and nothing more."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CURATOR_GROUP = "curator"
# Everything a curator's pages need; keys, storage configs, users and deletes stay with superusers.
CURATOR_PERMISSIONS = [
    "view_dataset",
    "change_dataset",
    "moderate_dataset",
    "view_moderationevent",
    "view_workspace",
    "view_membership",
    "view_licence",
    "view_tag",
    "view_tagcategory",
]


def create_curator_group(apps, schema_editor):
    """Create (or reset) the group with exactly the curator's permissions; safe to run again."""
    app_config = apps.get_app_config("datasets")
    # Permissions are normally created after all migrations; create this app's now so they can be granted.
    # (A migration's app configs have no models module, which create_permissions takes for "no models".)
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = models_module or True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = models_module
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    group, _ = group_model.objects.get_or_create(name=CURATOR_GROUP)
    group.permissions.set(
        permission_model.objects.filter(content_type__app_label="datasets", codename__in=CURATOR_PERMISSIONS)
    )


def delete_curator_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=CURATOR_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("datasets", "0006_moderate_permission"),
    ]

    operations = [migrations.RunPython(create_curator_group, delete_curator_group)]
