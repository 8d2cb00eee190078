"""The Celery app that runs jobs: `celery -A project worker` starts a worker on the hub's settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("project")
# Every CELERY_* setting configures the app (project/settings.py documents them).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
