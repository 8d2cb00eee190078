"""The front page with the public catalog, dataset pages, diffs and previews."""

from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.home, name="home"),
    path("datasets/<str:workspace>/<str:name>/", views.dataset_page, name="dataset"),
    path("datasets/<str:workspace>/<str:name>/diff/", views.diff_page, name="diff"),
    path("previews/<str:token>", views.preview, name="preview"),
]
