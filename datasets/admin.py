"""Admin for the catalog; keys are shown as prefixes only, never their secrets."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from datasets import services
from datasets.models import (
    AccessKey,
    Dataset,
    DatasetFile,
    Licence,
    Membership,
    SigningKey,
    Tag,
    TagCategory,
    User,
    Workspace,
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "nickname", "is_staff", "is_active")
    fieldsets = (*(BaseUserAdmin.fieldsets or ()), ("Profile", {"fields": ("nickname", "mobile", "description")}))


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "owner", "created_at")
    list_filter = ("kind",)
    search_fields = ("name", "alias", "owner__username")
    list_select_related = ("owner",)
    raw_id_fields = ("owner", "default_storage_config")
    inlines = [MembershipInline]


@admin.action(description="Revoke selected keys")
def revoke_keys(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    """Revoke every selected key that is still active."""
    revoke = services.access_key_revoke if queryset.model is AccessKey else services.signing_key_revoke
    for key in queryset.filter(revoked_at__isnull=True):
        revoke(key=key)
    modeladmin.message_user(request, "Keys revoked.", messages.SUCCESS)


@admin.register(AccessKey)
class AccessKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "user", "workspace", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "user__username", "workspace__name")
    list_select_related = ("user", "workspace")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    fields = ("user", "workspace", "name", *readonly_fields)
    actions = [revoke_keys]

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Keys are issued by ``manage.py create_access_key``, which shows the key once."""
        return False


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    list_display = ("secret_id", "user", "workspace", "created_at", "last_used_at", "revoked_at")
    search_fields = ("secret_id", "user__username", "workspace__name")
    list_select_related = ("user", "workspace")
    readonly_fields = ("secret_id", "created_at", "last_used_at", "revoked_at")
    fields = ("user", "workspace", *readonly_fields)
    actions = [revoke_keys]

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Keys are issued by ``manage.py create_signing_key``, which shows the secret once."""
        return False


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "title", "creator", "is_public", "hidden", "featured", "updated_at")
    list_filter = ("is_public", "hidden", "featured", "data_type")
    search_fields = ("name", "title", "description", "creator__username")
    list_select_related = ("workspace", "creator")
    raw_id_fields = ("workspace", "creator", "storage_config")
    filter_horizontal = ("tags",)


@admin.register(DatasetFile)
class DatasetFileAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "dataset", "size", "created_at")
    search_fields = ("name", "oss_object")
    list_select_related = ("user", "dataset")
    raw_id_fields = ("user", "dataset", "parent", "storage_config")


admin.site.register(Licence)
admin.site.register(TagCategory)
admin.site.register(Tag, list_display=("name", "category"), list_select_related=("category",))
