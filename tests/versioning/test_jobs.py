"""Merge jobs through the services: the state machine, idempotent runs, abort, time limit and the broker."""

from typing import Any

import pytest
from kombu.exceptions import OperationalError

from datasets.models import Dataset, User
from project import errors
from tests.versioning.test_merges import commit_files, two_branches
from versioning import jobs, services
from versioning.models import Draft, Job

pytestmark = pytest.mark.django_db

ARGUMENTS = {"title": "merged", "sourceBranchName": "dev", "targetBranchName": "main", "strategy": "override"}


def create(dataset: Dataset, request: str | None = None, **arguments: Any) -> Job:
    return jobs.job_create(
        dataset=dataset,
        job_type="squashAndMerge",
        title="dev->main",
        arguments={**ARGUMENTS, **arguments},
        request=request,
    )


def run(job: Job) -> Job:
    jobs.job_run(job_id=job.pk, attempt=job.attempt)
    return Job.objects.get(pk=job.pk)


def test_a_job_is_queued_until_it_is_first_read(dataset: Dataset) -> None:
    two_branches(dataset)
    job = create(dataset)
    assert job.status == Job.Status.QUEUING
    jobs.jobs_run_queued(jobs=[job])
    assert job.status == Job.Status.SUCCESS
    assert job.result == {"draftNumber": job.result_draft.number}
    assert job.result_draft.is_open and job.result_draft.branch_name == "main"


def test_conflicts_are_reported_and_named_in_the_message(dataset: Dataset) -> None:
    two_branches(dataset)
    job = run(create(dataset, strategy="abort"))
    assert job.status == Job.Status.SUCCESS
    assert job.conflict_count == 1
    assert job.conflicts[0]["path"] == "s/a"
    assert job.error_message == "conflict: 1 paths differ on both branches: s/a"


def test_running_a_job_twice_opens_one_draft(dataset: Dataset) -> None:
    two_branches(dataset)
    job = create(dataset)
    drafts = Draft.objects.count()
    run(job)
    finished = run(job)
    assert Draft.objects.count() == drafts + 1
    assert finished.status == Job.Status.SUCCESS


def test_a_redelivered_job_left_processing_runs_to_one_draft(dataset: Dataset) -> None:
    two_branches(dataset)
    job = create(dataset)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.PROCESSING)  # its first worker died mid-merge
    drafts = Draft.objects.count()
    assert run(job).status == Job.Status.SUCCESS
    assert Draft.objects.count() == drafts + 1


def test_the_same_request_creates_one_job(dataset: Dataset) -> None:
    two_branches(dataset)
    first = create(dataset, request="r1")
    assert create(dataset, request="r1").pk == first.pk
    assert create(dataset, request="r2").pk != first.pk


def test_abort_while_running_writes_no_draft(dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    two_branches(dataset)
    job = create(dataset)
    real_plan = jobs.merges.merge_plan

    def abort_then_plan(**kwargs: Any) -> Any:
        jobs.job_abort(job=job)
        return real_plan(**kwargs)

    monkeypatch.setattr(jobs.merges, "merge_plan", abort_then_plan)
    drafts = Draft.objects.count()
    assert run(job).status == Job.Status.ABORTED
    assert Draft.objects.count() == drafts


def test_abort_is_checked_between_steps_of_the_plan(dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    two_branches(dataset)
    job = create(dataset)
    real_plan = jobs.merges.merge_plan

    def plan_with_abort(**kwargs: Any) -> Any:
        jobs.job_abort(job=job)
        kwargs["check"]()
        return real_plan(**kwargs)

    monkeypatch.setattr(jobs.merges, "merge_plan", plan_with_abort)
    assert run(job).status == Job.Status.ABORTED
    assert run(job).result is None


def test_a_job_past_its_time_limit_fails_with_a_message(
    dataset: Dataset, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_branches(dataset)
    settings.JOB_TIME_LIMIT_SECONDS = -1
    job = run(create(dataset))
    assert job.status == Job.Status.FAILED
    assert job.error_message == "the job exceeded its time limit of -1 s"
    assert job.result_draft is None


@pytest.mark.parametrize(
    ("status", "allowed"),
    [("QUEUING", True), ("PROCESSING", True), ("ABORTED", True), ("SUCCESS", False), ("FAILED", False)],
)
def test_abort_follows_the_state_machine(dataset: Dataset, status: str, allowed: bool) -> None:
    two_branches(dataset)
    job = create(dataset)
    Job.objects.filter(pk=job.pk).update(status=status)
    if allowed:
        assert jobs.job_abort(job=job).status == Job.Status.ABORTED
    else:
        with pytest.raises(errors.NotAllowed):
            jobs.job_abort(job=job)


@pytest.mark.parametrize(
    ("status", "allowed"),
    [("QUEUING", False), ("PROCESSING", False), ("SUCCESS", False), ("FAILED", True), ("ABORTED", True)],
)
def test_retry_follows_the_state_machine(dataset: Dataset, status: str, allowed: bool) -> None:
    two_branches(dataset)
    job = create(dataset)
    Job.objects.filter(pk=job.pk).update(status=status, error_message="x")
    if allowed:
        retried = jobs.job_retry(job=job)
        assert (retried.status, retried.error_message, retried.started_at) == (Job.Status.QUEUING, "", None)
        assert run(retried).status == Job.Status.SUCCESS
    else:
        with pytest.raises(errors.NotAllowed):
            jobs.job_retry(job=job)


def test_a_late_delivery_of_an_earlier_attempt_does_nothing(dataset: Dataset) -> None:
    two_branches(dataset)
    job = create(dataset)
    jobs.job_abort(job=job)
    retried = jobs.job_retry(job=job)
    jobs.job_run(job_id=job.pk, attempt=1)
    assert Job.objects.get(pk=job.pk).status == Job.Status.QUEUING
    assert run(retried).status == Job.Status.SUCCESS


def test_unknown_branch_or_strategy_is_refused_before_a_job_exists(dataset: Dataset) -> None:
    two_branches(dataset)
    with pytest.raises(errors.NotFound):
        create(dataset, sourceBranchName="nope")
    with pytest.raises(errors.Invalid):
        create(dataset, strategy="theirs")
    with pytest.raises(errors.Missing):
        create(dataset, title="")
    assert not Job.objects.exists()


def test_a_branch_at_root_is_refused(dataset: Dataset, user: User) -> None:
    commit_files(dataset, "main", {"a": "1"})
    services.branch_create(dataset=dataset, name="dev", revision="main")
    dataset.branches.create(name="empty")
    with pytest.raises(errors.NotAllowed):
        create(dataset, sourceBranchName="empty")


def test_an_unreachable_broker_leaves_no_job(dataset: Dataset, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    two_branches(dataset)
    settings.CELERY_TASK_ALWAYS_EAGER = False

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr("versioning.tasks.run_job.apply_async", refuse)
    with pytest.raises(errors.ServiceUnavailable):
        create(dataset)
    assert not Job.objects.exists()
