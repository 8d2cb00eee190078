"""Basic search jobs through the services: one result per job, abort and time limit honoured mid-search."""

from typing import Any

import pytest

from datasets.models import Dataset
from project import errors
from tests.versioning.test_merges import commit_files
from versioning import jobs, search, services
from versioning.models import Commit, Job

pytestmark = pytest.mark.django_db

SIZE = [{"key": "size", "operator": ">", "value": 0}]


def create(dataset: Dataset, filters: list[dict] = SIZE, request: str | None = None) -> Job:
    head = Commit.objects.filter(dataset=dataset).latest("committed_at")
    return jobs.job_create(
        dataset=dataset,
        job_type="basicSearch",
        title="search",
        arguments={"commit": head.id, "conjunction": "and", "filters": filters, "unit": "file"},
        request=request,
    )


def run(job: Job) -> Job:
    jobs.job_run(job_id=job.pk, attempt=job.attempt)
    return Job.objects.get(pk=job.pk)


def results(dataset: Dataset) -> int:
    return Dataset.all_objects.filter(search_source=dataset).count()


@pytest.fixture
def searched(dataset: Dataset) -> Dataset:
    commit_files(dataset, "main", {f"f{n}": str(n) for n in range(5)})
    return dataset


def test_a_search_writes_one_result_however_often_it_runs(searched: Dataset) -> None:
    job = create(searched)
    run(job)
    finished = run(job)
    assert finished.status == Job.Status.SUCCESS
    assert results(searched) == 1
    assert finished.result == {
        "searchResultId": finished.result_dataset.hex_id,
        "searchResultCommitId": Commit.objects.get(dataset=finished.result_dataset).id,
    }


def test_a_redelivered_search_left_processing_runs_to_one_result(searched: Dataset) -> None:
    job = create(searched)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.PROCESSING)
    assert run(job).status == Job.Status.SUCCESS
    assert results(searched) == 1


def test_abort_during_the_search_leaves_no_result(searched: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    job = create(searched)
    monkeypatch.setattr(search, "CHECK_EVERY", 2)
    real_matched = search.entry_matched

    def matched_then_abort(query: search.SearchQuery, entry: Any) -> Any:
        jobs.job_abort(job=job)
        return real_matched(query, entry)

    monkeypatch.setattr(search, "entry_matched", matched_then_abort)
    finished = run(job)
    assert (finished.status, finished.result, finished.result_dataset) == ("ABORTED", None, None)
    assert results(searched) == 0


def test_a_search_past_its_time_limit_fails_without_a_result(searched: Dataset, settings: Any) -> None:
    settings.JOB_TIME_LIMIT_SECONDS = -1
    finished = run(create(searched))
    assert (finished.status, finished.error_message) == ("FAILED", "the job exceeded its time limit of -1 s")
    assert results(searched) == 0


def test_the_same_request_creates_one_search(searched: Dataset) -> None:
    first = create(searched, request="r1")
    assert create(searched, request="r1").pk == first.pk


def test_a_search_skips_the_segments_an_and_search_excludes(searched: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    job = create(searched, [*SIZE, {"key": "segment", "operator": "in", "value": ["elsewhere"]}])
    seen: list[str] = []
    real_matched = search.entry_matched

    def counting(query: search.SearchQuery, entry: Any) -> Any:
        seen.append(entry.path)
        return real_matched(query, entry)

    monkeypatch.setattr(search, "entry_matched", counting)
    finished = run(job)
    assert finished.status == Job.Status.SUCCESS and seen == []
    assert Commit.objects.get(dataset=finished.result_dataset).entry_count == 0


def test_a_result_refuses_to_be_a_branch_of_another_history(searched: Dataset) -> None:
    result = run(create(searched)).result_dataset
    with pytest.raises(errors.NotAllowed, match="already has commits"):
        services.commit_adopt(dataset=result, commit=Commit.objects.get(dataset=result), title="again")
