"""The Dataset Hub project: settings, urls and the plumbing the dialects share."""

from project.celery import app as celery_app

__all__ = ("celery_app",)
