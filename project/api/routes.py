"""The routes of each dialect, relative to its prefix; root urls mount them and the schemas read them."""

from django.urls import path

from datasets.api import graviti as graviti_catalog
from datasets.api import tensorbay as tensorbay_catalog

# TensorBay and Graviti routes have no trailing slash, whale.run routes have one, as their clients send them.
whalerun: list = []
aidmp: list = []
institution: list = []
tensorbay = [
    path("users", tensorbay_catalog.UserView.as_view()),
]
graviti = [
    path("current-user", graviti_catalog.CurrentUserView.as_view()),
    path("current-workspace", graviti_catalog.CurrentWorkspaceView.as_view()),
    path("workspaces/<str:workspace>", graviti_catalog.WorkspaceView.as_view()),
]
