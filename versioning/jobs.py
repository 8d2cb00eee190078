"""Jobs on datasets: create, abort, retry and delete them, and run one as a Celery task (issue #17).

The job row is the source of truth. Running a job has two steps: planning reads only and checks now and
then that the job is still wanted (not aborted, deleted or retried) and within its time limit; then one
transaction locks the job row, checks again and writes the result (a merge's draft, a search's result
dataset) together with the job's SUCCESS. So a task delivered twice (its worker died) plans again and finds
the result already written, a worker killed mid-job leaves nothing behind, and an abort is honoured at any
point before the result is written. A search is not retried: it reads one commit, which never changes.
"""

import hashlib
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from kombu.exceptions import KombuError

from datasets.models import Dataset, User
from project import errors
from versioning import merges, search, selectors
from versioning.models import Branch, Job

# A job keeps this many conflicts of its merge's report (and counts them all).
JOB_CONFLICTS_KEPT = 1000
# The error message of a merge with conflicts names this many paths.
MESSAGE_PATHS_SHOWN = 10
# A job still PROCESSING this long after its time limit lost its worker for good (a hard kill).
OVERDUE_GRACE_SECONDS = 120


class JobStopped(Exception):
    """The job was aborted, deleted or retried while it ran: its result is not wanted any more."""


class JobTimedOut(Exception):
    """The job ran past its time limit."""


def request_key(*, caller: str, request_id: str) -> str | None:
    """The key under which a create request is remembered: the caller and the request's ``X-Request-Id``."""
    if not request_id:
        return None
    return hashlib.sha256(f"{caller}\n{request_id}".encode()).hexdigest()


def _branch(dataset: Dataset, arguments: dict[str, Any], key: str) -> Branch:
    name = arguments.get(key)
    if not isinstance(name, str) or not name:
        raise errors.Missing(f"arguments.{key}")
    branch = Branch.objects.select_related("head").filter(dataset=dataset, name=name).first()
    if branch is None:
        raise errors.NotFound(f"branch {name!r} does not exist", branch=name)
    if branch.head_id is None:
        raise errors.NotAllowed(f"branch {name!r} has no commits", branch=name)
    return branch


def _check_merge_arguments(dataset: Dataset, arguments: dict[str, Any]) -> None:
    title = arguments.get("title")
    if not isinstance(title, str) or not title:
        raise errors.Missing("arguments.title")
    strategy = arguments.get("strategy")
    if strategy is not None and strategy not in merges.STRATEGIES:
        raise errors.Invalid("arguments.strategy", f"must be one of {', '.join(merges.STRATEGIES)}")
    description = arguments.get("description", "")
    if not isinstance(description, str):
        raise errors.Invalid("arguments.description", "must be a string")
    source, target = _branch(dataset, arguments, "sourceBranchName"), _branch(dataset, arguments, "targetBranchName")
    if source.pk == target.pk:
        raise errors.Invalid("arguments.sourceBranchName", "must differ from targetBranchName")


def _dispatch(job: Job) -> None:
    """Send the job to the workers; with no broker it runs when it is first read instead."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    from versioning.tasks import run_job

    try:
        run_job.apply_async(args=(job.id, job.attempt), countdown=settings.JOB_START_DELAY_SECONDS)
    except (KombuError, OSError) as error:
        logging.getLogger(__name__).warning("broker unavailable (%s)", type(error).__name__)
        raise errors.ServiceUnavailable("broker unavailable", part="broker") from None


def job_create(
    *,
    dataset: Dataset,
    job_type: str,
    title: str,
    arguments: dict[str, Any],
    description: str = "",
    creator: User | None = None,
    request: str | None = None,
) -> Job:
    """Queue a job; the same ``request`` key again returns the job it created instead of a second one.

    The job is sent to the broker inside the transaction that creates it, so a broker that cannot be
    reached leaves no job behind.
    """
    if job_type not in selectors.JOB_TYPES:
        raise errors.Invalid("jobType", f"must be one of {', '.join(selectors.JOB_TYPES)}")
    if job_type not in Job.Type.values:
        raise errors.NotAllowed(f"{job_type} jobs are not supported", job_type=job_type)
    if not title:
        raise errors.Missing("title")
    if not isinstance(arguments, dict):
        raise errors.Invalid("arguments", "must be an object")
    if request is not None:
        existing = Job.objects.filter(dataset=dataset, request_key=request).first()
        if existing is not None:
            return existing
    if job_type == Job.Type.BASIC_SEARCH:
        search.search_query(dataset=dataset, arguments=arguments)
    else:
        _check_merge_arguments(dataset, arguments)
    try:
        with transaction.atomic():
            job = Job.objects.create(
                id=uuid.uuid4().hex,
                dataset=dataset,
                job_type=job_type,
                title=title[:255],
                description=description,
                arguments=arguments,
                creator=creator,
                request_key=request,
            )
            _dispatch(job)
    except IntegrityError:
        existing = Job.objects.filter(dataset=dataset, request_key=request).first() if request else None
        if existing is None:
            raise
        return existing
    return job


def _locked(job: Job) -> Job:
    locked = Job.objects.select_for_update().filter(pk=job.pk).first()
    if locked is None:
        raise errors.NotFound(f"job {job.pk} does not exist", job=job.pk)
    return locked


@transaction.atomic
def job_abort(*, job: Job) -> Job:
    """Abort a queued or running job; aborting an aborted job again changes nothing."""
    locked = _locked(job)
    if locked.status == Job.Status.ABORTED:
        return locked
    if locked.is_finished:
        raise errors.NotAllowed(f"job {locked.pk} is {locked.status}", job=locked.pk)
    locked.status = Job.Status.ABORTED
    locked.finished_at = timezone.now()
    locked.save(update_fields=["status", "finished_at"])
    return locked


@transaction.atomic
def job_retry(*, job: Job) -> Job:
    """Queue a failed or aborted job again, as a new attempt."""
    locked = _locked(job)
    if locked.job_type == Job.Type.BASIC_SEARCH:
        raise errors.NotAllowed("basicSearch jobs are not retried: search again instead", job=job.pk)
    if locked.status not in (Job.Status.FAILED, Job.Status.ABORTED):
        raise errors.NotAllowed(f"job {locked.pk} is {locked.status}; only FAILED or ABORTED jobs retry", job=job.pk)
    locked.status = Job.Status.QUEUING
    locked.attempt += 1
    locked.started_at = locked.finished_at = None
    locked.error_message = ""
    locked.result = None
    locked.save(update_fields=["status", "attempt", "started_at", "finished_at", "error_message", "result"])
    _dispatch(locked)
    return locked


@transaction.atomic
def job_delete(*, job: Job) -> None:
    """Delete a job in whatever state, with a search's result; a run still going stops without writing one."""
    locked = _locked(job)
    result = locked.result_dataset
    Job.objects.filter(pk=locked.pk).delete()
    if result is not None:
        search.search_result_delete(dataset=result)


def jobs_fail_overdue(*, dataset: Dataset) -> None:
    """End FAILED the dataset's jobs whose worker was lost for good past their time limit."""
    limit = settings.JOB_TIME_LIMIT_SECONDS
    overdue = Job.objects.filter(
        dataset=dataset,
        status=Job.Status.PROCESSING,
        started_at__lt=timezone.now() - timedelta(seconds=limit + OVERDUE_GRACE_SECONDS),
    )
    # Reads stay reads unless a job is overdue, so they never wait for a write lock.
    if not overdue.exists():
        return
    overdue.update(
        status=Job.Status.FAILED,
        error_message=f"the job exceeded its time limit of {limit} s",
        finished_at=timezone.now(),
    )


def jobs_run_queued(*, jobs: list[Job]) -> None:
    """With no broker, run the queued jobs among those just read (the embedded default's way to start them)."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        return
    from versioning.tasks import run_job

    for job in jobs:
        if job.status == Job.Status.QUEUING:
            run_job.apply(args=(job.id, job.attempt))
            job.refresh_from_db()


def _claim(job_id: str, attempt: int) -> Job | None:
    with transaction.atomic():
        job = Job.objects.select_for_update().select_related("dataset").filter(pk=job_id).first()
        if job is None or job.attempt != attempt or job.is_finished:
            return None
        if job.status == Job.Status.QUEUING:
            job.status = Job.Status.PROCESSING
            job.started_at = timezone.now()
            job.save(update_fields=["status", "started_at"])
        return job


def _fail(job_id: str, attempt: int, message: str) -> None:
    Job.objects.filter(pk=job_id, attempt=attempt, status=Job.Status.PROCESSING).update(
        status=Job.Status.FAILED, error_message=message, finished_at=timezone.now()
    )


def _still_wanted(job: Job) -> Callable[[], None]:
    deadline = (job.started_at or timezone.now()) + timedelta(seconds=settings.JOB_TIME_LIMIT_SECONDS)

    def check() -> None:
        state = Job.objects.filter(pk=job.pk).values_list("status", "attempt").first()
        if state != (Job.Status.PROCESSING, job.attempt):
            raise JobStopped
        if timezone.now() > deadline:
            raise JobTimedOut

    return check


def conflict_message(conflicts: list[merges.MergeConflict]) -> str:
    """The error message of a merge with conflicts: how many paths, and the first of them."""
    if not conflicts:
        return ""
    shown = ", ".join(c.path for c in conflicts[:MESSAGE_PATHS_SHOWN])
    more = ", …" if len(conflicts) > MESSAGE_PATHS_SHOWN else ""
    return f"conflict: {len(conflicts)} paths differ on both branches: {shown}{more}"


def _merge_finish(job: Job, check: Callable[[], None]) -> None:
    arguments = job.arguments
    source = Branch.objects.select_related("head", "dataset").get(
        dataset=job.dataset, name=arguments["sourceBranchName"]
    )
    target = Branch.objects.select_related("head", "dataset").get(
        dataset=job.dataset, name=arguments["targetBranchName"]
    )
    plan = merges.merge_plan(source=source, target=target, strategy=arguments.get("strategy"), check=check)
    with transaction.atomic():
        locked = _wanted_locked(job)
        draft = merges.merge_apply(
            plan=plan,
            target=target,
            title=arguments["title"],
            description=arguments.get("description") or "",
            creator=locked.creator,
        )
        locked.status = Job.Status.SUCCESS
        locked.finished_at = timezone.now()
        locked.result = {"draftNumber": draft.number}
        locked.result_draft = draft
        locked.conflicts = [c.as_dict() for c in plan.conflicts[:JOB_CONFLICTS_KEPT]]
        locked.conflict_count = len(plan.conflicts)
        # Only a merge that applied nothing says so; override and skip resolved their conflicts.
        locked.error_message = "" if plan.applied else conflict_message(plan.conflicts)
        locked.save()


def _search_finish(job: Job, check: Callable[[], None]) -> None:
    query = search.search_query(dataset=job.dataset, arguments=job.arguments)
    with search.search_plan(query=query, check=check) as plan, transaction.atomic():
        locked = _wanted_locked(job)
        result, commit = search.search_result_write(
            plan=plan, name=f"search/{job.pk}", title=job.title, creator=locked.creator
        )
        locked.status = Job.Status.SUCCESS
        locked.finished_at = timezone.now()
        locked.result = {"searchResultId": result.hex_id, "searchResultCommitId": commit.id}
        locked.result_dataset = result
        locked.save()


def _wanted_locked(job: Job) -> Job:
    """The job's row, locked, while this attempt is still the one running; otherwise stop (undoing any write)."""
    locked = Job.objects.select_for_update().filter(pk=job.pk).first()
    if locked is None or locked.attempt != job.attempt or locked.status != Job.Status.PROCESSING:
        raise JobStopped
    return locked


def job_run(*, job_id: str, attempt: int) -> None:
    """Run one attempt of a job to its end; running it again (a second delivery) writes no second result."""
    job = _claim(job_id, attempt)
    if job is None:
        return
    limit = settings.JOB_TIME_LIMIT_SECONDS
    finish = _search_finish if job.job_type == Job.Type.BASIC_SEARCH else _merge_finish
    try:
        finish(job, _still_wanted(job))
    except JobStopped:
        return
    except (JobTimedOut, SoftTimeLimitExceeded):
        _fail(job_id, attempt, f"the job exceeded its time limit of {limit} s")
    except Branch.DoesNotExist:
        _fail(job_id, attempt, "a branch of the merge no longer exists")
    except errors.DomainError as error:
        _fail(job_id, attempt, error.message)
