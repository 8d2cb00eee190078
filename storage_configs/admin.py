"""Admin for storage configs: the secret can be set but is never shown, and connections can be tested."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from project import errors
from storage_configs.models import StorageConfig
from storage_configs.selectors import storage_config_check_connection
from storage_configs.services import storage_config_validate, storage_config_validate_secret


class StorageConfigForm(forms.ModelForm):
    """The model form plus a write-only secret: empty keeps the stored one."""

    secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Access key secret or account key. Leave empty to keep the stored one; it is never displayed.",
    )

    class Meta:
        model = StorageConfig
        fields = [
            "workspace",
            "name",
            "kind",
            "file_path",
            "endpoint",
            "bucket",
            "account_type",
            "access_key_id",
            "is_hub_default",
        ]

    def _post_clean(self) -> None:
        """After Django copies the form onto the instance, apply the rules the services apply."""
        super()._post_clean()  # type: ignore[misc]  # ModelForm's hook, missing from the stubs
        if self.errors:
            return
        secret = self.cleaned_data.get("secret", "")
        try:
            storage_config_validate(config=self.instance, secret_given=bool(secret))
            storage_config_validate_secret(kind=self.instance.kind, secret=secret)
        except errors.DomainError as error:
            field = error.context.get("field", "")
            self.add_error(field if field in self.fields else None, error.message)

    def save(self, commit: bool = True) -> StorageConfig:
        if self.cleaned_data.get("secret"):
            self.instance.set_secret(self.cleaned_data["secret"])
        return super().save(commit=commit)


@admin.register(StorageConfig)
class StorageConfigAdmin(admin.ModelAdmin):
    form = StorageConfigForm
    list_display = ["name", "workspace", "kind", "bucket", "file_path", "has_secret", "is_hub_default", "updated_at"]
    list_filter = ["kind", "is_hub_default"]
    search_fields = ["name", "workspace__name", "bucket"]
    list_select_related = ["workspace"]
    actions = ["test_connection"]

    @admin.display(boolean=True, description="secret set")
    def has_secret(self, config: StorageConfig) -> bool:
        return config.has_secret

    @admin.action(description="Test the connection of the selected storage configs")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[StorageConfig]) -> None:
        for config in queryset:
            self._report_connection(request, config)

    def _report_connection(self, request: HttpRequest, config: StorageConfig) -> None:
        try:
            storage_config_check_connection(storage_config=config)
        except errors.DomainError as error:
            self.message_user(request, f"{config.name}: {error.message}", messages.ERROR)
        else:
            self.message_user(request, f"{config.name}: connected", messages.SUCCESS)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(require_POST(self.test_connection_view))
        return [
            path("<int:config_id>/test-connection/", view, name="storage_configs_storageconfig_test_connection"),
            *super().get_urls(),
        ]

    def test_connection_view(self, request: HttpRequest, config_id: int) -> HttpResponse:
        """The change page's button: test this config's connection and come back with the answer."""
        config = self.get_object(request, str(config_id))
        if config is None:
            raise Http404("no such storage config")
        if not self.has_view_permission(request, config):
            raise PermissionDenied
        self._report_connection(request, config)
        return HttpResponseRedirect(reverse("admin:storage_configs_storageconfig_change", args=[config.pk]))
