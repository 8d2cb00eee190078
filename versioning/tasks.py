"""Celery tasks of the versioning app."""

from celery import shared_task
from django.conf import settings

from versioning import jobs


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    # The job checks its own time limit as it goes; these only stop a task that stopped checking.
    soft_time_limit=settings.JOB_TIME_LIMIT_SECONDS + 30,
    time_limit=settings.JOB_TIME_LIMIT_SECONDS + 60,
)
def run_job(job_id: str, attempt: int) -> None:
    """Run one attempt of a job (safe to deliver more than once)."""
    jobs.job_run(job_id=job_id, attempt=attempt)
