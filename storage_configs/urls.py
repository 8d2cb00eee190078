"""The hub's own storage endpoints, mounted at ``storage/``."""

from django.urls import path, re_path

from storage_configs import views

app_name = "storage_configs"

urlpatterns = [
    path("files/<str:token>", views.download, name="download"),
    path("uploads", views.upload, name="upload"),
    path("graviti/<path:key>", views.graviti_object, name="object"),
    re_path(r"^(?P<path>.*)$", views.unknown),
]
