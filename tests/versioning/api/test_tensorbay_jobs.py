"""TensorBay v1 jobs over HTTP (spec part 2 §6, §7): squash-and-merge jobs, their states, errors and paging."""

from typing import Any

import pytest
from django.conf import LazySettings
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from datasets import services
from datasets.models import Dataset, Membership, User
from tests.factories import UserFactory
from tests.versioning.test_merges import two_branches
from versioning.models import Draft, Job

pytestmark = pytest.mark.django_db

P = "/gatewayv2/tensorbay-open-api/v1"
JOB_KEYS = {
    "title",
    "jobId",
    "jobType",
    "arguments",
    "createdAt",
    "startedAt",
    "finishedAt",
    "status",
    "errorMessage",
    "result",
    "description",
}


@pytest.fixture
def dataset(user: User) -> Dataset:
    found = services.dataset_create(workspace=services.personal_workspace(user=user), creator=user, name="cats")
    two_branches(found)
    return found


@pytest.fixture
def client(api_client: APIClient, access_key: str) -> APIClient:
    api_client.credentials(HTTP_X_TOKEN=access_key)
    return api_client


@pytest.fixture(params=["/gatewayv2/tensorbay-open-api/v1", "/v1"])
def ds(request: pytest.FixtureRequest, dataset: Dataset) -> str:
    return f"{request.param}/datasets/{dataset.hex_id}"


def merge_body(strategy: str | None = "override", **arguments: Any) -> dict[str, Any]:
    return {
        "title": f"dev->main({strategy})",
        "jobType": "squashAndMerge",
        "arguments": {
            "title": "merged",
            "sourceBranchName": "dev",
            "targetBranchName": "main",
            "strategy": strategy,
            **arguments,
        },
    }


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


def error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


def create(client: APIClient, ds: str, strategy: str | None = "override", **headers: str) -> str:
    return ok(client.post(f"{ds}/jobs", merge_body(strategy), "json", **headers), 201)["jobId"]


def get(client: APIClient, ds: str, job_id: str) -> dict[str, Any]:
    return ok(client.get(f"{ds}/jobs/{job_id}", {"jobType": "squashAndMerge"}))


def test_create_answers_the_id_and_time(client: APIClient, ds: str) -> None:
    answer = ok(client.post(f"{ds}/jobs", merge_body(), "json"), 201)
    assert set(answer) == {"jobId", "createdAt"}
    assert len(answer["jobId"]) == 32


def test_get_runs_a_queued_job_and_shows_its_result(client: APIClient, ds: str, dataset: Dataset) -> None:
    job_id = create(client, ds)
    job = get(client, ds, job_id)
    assert set(job) == JOB_KEYS
    draft = Draft.objects.get(dataset=dataset, number=job["result"]["draftNumber"])
    assert (job["status"], job["errorMessage"], draft.state, draft.branch_name) == ("SUCCESS", "", "OPEN", "main")
    assert job["startedAt"] <= job["finishedAt"]
    assert job["arguments"]["strategy"] == "override"


def test_abort_strategy_reports_the_conflicting_paths(client: APIClient, ds: str) -> None:
    job = get(client, ds, create(client, ds, "abort"))
    assert (job["status"], job["errorMessage"]) == ("SUCCESS", "conflict: 1 paths differ on both branches: s/a")


def test_null_strategy_is_abort(client: APIClient, ds: str) -> None:
    job = get(client, ds, create(client, ds, None))
    assert job["errorMessage"].startswith("conflict: 1 paths")


def test_abort_right_after_create_ends_aborted(client: APIClient, ds: str, dataset: Dataset) -> None:
    drafts = Draft.objects.filter(dataset=dataset).count()
    job_id = create(client, ds)
    ok(client.post(f"{ds}/jobs/{job_id}/abort?jobType=squashAndMerge"))
    ok(client.post(f"{ds}/jobs/{job_id}/abort?jobType=squashAndMerge"))  # a retried POST changes nothing
    job = get(client, ds, job_id)
    assert (job["status"], job["result"]) == ("ABORTED", None)
    assert Draft.objects.filter(dataset=dataset).count() == drafts


def test_retry_of_an_aborted_job_runs_it(client: APIClient, ds: str) -> None:
    job_id = create(client, ds)
    ok(client.post(f"{ds}/jobs/{job_id}/abort?jobType=squashAndMerge"))
    ok(client.post(f"{ds}/jobs/{job_id}/retry?jobType=squashAndMerge"))
    assert get(client, ds, job_id)["status"] == "SUCCESS"


def test_abort_of_a_finished_job_and_retry_of_a_successful_one_are_forbidden(client: APIClient, ds: str) -> None:
    job_id = create(client, ds)
    get(client, ds, job_id)
    assert error(client.post(f"{ds}/jobs/{job_id}/abort?jobType=squashAndMerge")) == (403, "Forbidden")
    assert error(client.post(f"{ds}/jobs/{job_id}/retry?jobType=squashAndMerge")) == (403, "Forbidden")


def test_delete_removes_the_job_from_the_list(client: APIClient, ds: str) -> None:
    job_id = create(client, ds)
    ok(client.delete(f"{ds}/jobs/{job_id}?jobType=squashAndMerge"))
    assert ok(client.get(f"{ds}/jobs", {"jobType": "squashAndMerge"}))["jobs"] == []
    assert error(client.get(f"{ds}/jobs/{job_id}", {"jobType": "squashAndMerge"})) == (404, "ResourceNotExist")


def test_list_is_newest_first_and_paged(client: APIClient, ds: str) -> None:
    ids = [create(client, ds) for _ in range(3)]
    page = ok(client.get(f"{ds}/jobs", {"jobType": "squashAndMerge", "offset": 1, "limit": 1}))
    assert (page["offset"], page["recordSize"], page["totalCount"]) == (1, 1, 3)
    every = ok(client.get(f"{ds}/jobs", {"jobType": "squashAndMerge"}))["jobs"]
    assert {job["jobId"] for job in every} == set(ids)
    assert page["jobs"][0]["jobId"] == every[1]["jobId"]
    assert all(job["jobType"] == "squashAndMerge" for job in every)


def test_list_filters_by_status(client: APIClient, ds: str) -> None:
    aborted = create(client, ds)
    ok(client.post(f"{ds}/jobs/{aborted}/abort?jobType=squashAndMerge"))
    create(client, ds)
    listed = ok(client.get(f"{ds}/jobs", {"jobType": "squashAndMerge", "status": "ABORTED"}))["jobs"]
    assert [job["jobId"] for job in listed] == [aborted]


def test_list_costs_a_fixed_number_of_queries(client: APIClient, ds: str, django_assert_max_num_queries: Any) -> None:
    for _ in range(5):
        job_id = create(client, ds)
        ok(client.post(f"{ds}/jobs/{job_id}/abort?jobType=squashAndMerge"))
    with django_assert_max_num_queries(8):
        assert ok(client.get(f"{ds}/jobs", {"jobType": "squashAndMerge"}))["totalCount"] == 5


def test_a_retried_post_with_the_same_request_id_creates_one_job(client: APIClient, ds: str, settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}  # no replay cache
    first = create(client, ds, HTTP_X_REQUEST_ID="req-1")
    assert create(client, ds, HTTP_X_REQUEST_ID="req-1") == first
    assert create(client, ds, HTTP_X_REQUEST_ID="req-2") != first
    assert Job.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"jobType": "squashAndMerge", "arguments": {}}, (400, "RequestParamsMissing")),
        ({"title": "t", "arguments": {}}, (400, "RequestParamsMissing")),
        ({"title": "t", "jobType": "squashAndMerge"}, (400, "RequestParamsMissing")),
        ({"title": "t", "jobType": "rebase", "arguments": {}}, (400, "InvalidParamsValue")),
        (merge_body("theirs"), (400, "InvalidParamsValue")),
        (merge_body(title=""), (400, "RequestParamsMissing")),
        (merge_body(sourceBranchName="nope"), (404, "ResourceNotExist")),
        (merge_body(targetBranchName="nope"), (404, "ResourceNotExist")),
        (merge_body(sourceBranchName="main"), (400, "InvalidParamsValue")),
    ],
)
def test_bad_create_bodies_are_refused(client: APIClient, ds: str, body: dict, expected: tuple[int, str]) -> None:
    assert error(client.post(f"{ds}/jobs", body, "json")) == expected
    assert not Job.objects.exists()


def test_a_branch_at_root_is_forbidden(client: APIClient, ds: str, dataset: Dataset) -> None:
    dataset.branches.create(name="empty")
    body = merge_body(sourceBranchName="empty")
    assert error(client.post(f"{ds}/jobs", body, "json")) == (403, "Forbidden")


def test_unknown_job_or_other_type_is_not_found(client: APIClient, ds: str) -> None:
    job_id = create(client, ds)
    assert error(client.get(f"{ds}/jobs/{'0' * 32}", {"jobType": "squashAndMerge"})) == (404, "ResourceNotExist")
    assert error(client.get(f"{ds}/jobs/{job_id}", {"jobType": "basicSearch"})) == (404, "ResourceNotExist")
    assert error(client.get(f"{ds}/jobs/{job_id}", {"jobType": "rebase"})) == (400, "InvalidParamsValue")
    assert error(client.delete(f"{ds}/jobs/{job_id}?jobType=basicSearch")) == (404, "ResourceNotExist")


def test_a_reader_reads_jobs_but_cannot_change_them(api_client: APIClient, ds: str, dataset: Dataset) -> None:
    reader = UserFactory(username="rita")
    services.membership_set(workspace=dataset.workspace, user=reader, role=Membership.Role.READER)
    key = services.access_key_create(user=reader, workspace=dataset.workspace)[1]
    owner_key = services.access_key_create(user=dataset.creator, workspace=dataset.workspace)[1]
    api_client.credentials(HTTP_X_TOKEN=owner_key)
    job_id = create(api_client, ds)
    api_client.credentials(HTTP_X_TOKEN=key)
    assert get(api_client, ds, job_id)["status"] == "SUCCESS"
    assert ok(api_client.get(f"{ds}/jobs", {"jobType": "squashAndMerge"}))["totalCount"] == 1
    assert error(api_client.post(f"{ds}/jobs", merge_body(), "json"))[0] == 403
    assert error(api_client.delete(f"{ds}/jobs/{job_id}?jobType=squashAndMerge"))[0] == 403
    assert error(api_client.post(f"{ds}/jobs/{job_id}/abort?jobType=squashAndMerge"))[0] == 403
    assert error(api_client.post(f"{ds}/jobs/{job_id}/retry?jobType=squashAndMerge"))[0] == 403


def test_an_unreachable_broker_answers_503_and_creates_nothing(
    client: APIClient, ds: str, settings: LazySettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr("versioning.tasks.run_job.apply_async", refuse)
    assert error(client.post(f"{ds}/jobs", merge_body(), "json")) == (503, "InternalServerError")
    assert not Job.objects.exists()
