"""TensorBay v1 views of jobs (spec part 2 §6, §7): create, read, list, delete, abort and retry them.

The SDK puts ``jobType`` in the query of every call but create (in delete, abort and retry inside the path
string, which still reaches the server as a query parameter); a job of another type does not exist.
"""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from project.api.authentication import caller_key
from project.api.base import parse_body
from project.api.fields import StrictCharField
from project.api.tensorbay import EMPTY, envelope
from versioning import jobs, selectors
from versioning.api.tensorbay.common import PAGE_PARAMETERS, DatasetScopedView, unix
from versioning.models import Job

JOB_TYPE_PARAMETER = OpenApiParameter("jobType", str, enum=list(selectors.JOB_TYPES))


def optional_unix(value: Any) -> int | None:
    """A datetime as unix seconds, or None."""
    return None if value is None else unix(value)


class JobSerializer(serializers.Serializer):
    """Job (spec part 2 §6.2)."""

    title = serializers.CharField()
    jobId = serializers.CharField()  # noqa: N815
    jobType = serializers.CharField()  # noqa: N815
    arguments = serializers.DictField()
    createdAt = serializers.IntegerField()  # noqa: N815
    startedAt = serializers.IntegerField(allow_null=True)  # noqa: N815
    finishedAt = serializers.IntegerField(allow_null=True)  # noqa: N815
    status = serializers.ChoiceField(choices=Job.Status.values)
    errorMessage = serializers.CharField()  # noqa: N815
    result = serializers.DictField(allow_null=True)
    description = serializers.CharField()

    def to_representation(self, job: Job) -> dict[str, Any]:
        return {
            "title": job.title,
            "jobId": job.pk,
            "jobType": job.job_type,
            "arguments": job.arguments,
            "createdAt": unix(job.created_at),
            "startedAt": optional_unix(job.started_at),
            "finishedAt": optional_unix(job.finished_at),
            "status": job.status,
            "errorMessage": job.error_message,
            "result": job.result,
            "description": job.description,
        }


class JobCreateSerializer(serializers.Serializer):
    title = StrictCharField(max_length=255)
    jobType = StrictCharField()  # noqa: N815
    arguments = serializers.DictField()
    description = StrictCharField(required=False, default="", allow_blank=True)


class JobScopedView(DatasetScopedView):
    """A view of one job: ``datasets/{id}/jobs/{jobId}…?jobType=…``."""

    def job(self, request: Request, dataset_id: str, job_id: str) -> Job:
        """The dataset's job in the path, of the ``jobType`` the query names (if any)."""
        dataset = self.dataset(request, dataset_id)
        jobs.jobs_fail_overdue(dataset=dataset)
        return selectors.job_get(dataset=dataset, job_id=job_id, job_type=request.query_params.get("jobType") or None)


class JobCollectionView(DatasetScopedView):
    """``datasets/{id}/jobs``."""

    list_key = "jobs"

    @extend_schema(
        operation_id="list_jobs",
        parameters=[
            JOB_TYPE_PARAMETER,
            OpenApiParameter("status", str, enum=Job.Status.values),
            *PAGE_PARAMETERS,
        ],
        responses=envelope("jobs", JobSerializer),
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        """List the dataset's jobs, newest first; with no broker, queued jobs on the page start now."""
        dataset = self.dataset(request, dataset_id)
        jobs.jobs_fail_overdue(dataset=dataset)
        found = selectors.job_list(
            dataset=dataset,
            job_type=request.query_params.get("jobType") or None,
            status=request.query_params.get("status") or None,
        )
        page = list(self.paginator.paginate_queryset(found, request, view=self) or [])
        jobs.jobs_run_queued(jobs=page)
        return self.paginator.get_paginated_response(JobSerializer(page, many=True).data)

    @extend_schema(
        operation_id="create_job",
        request=JobCreateSerializer,
        responses={
            201: inline_serializer(
                "TensorBayJobCreated", {"jobId": serializers.CharField(), "createdAt": serializers.IntegerField()}
            )
        },
    )
    def post(self, request: Request, dataset_id: str) -> Response:
        """Queue a job; a retry of the request (same ``X-Request-Id``) answers with the job it created."""
        body = parse_body(JobCreateSerializer, request)
        key = caller_key(request)
        job = jobs.job_create(
            dataset=self.dataset(request, dataset_id),
            job_type=body["jobType"],
            title=body["title"],
            arguments=body["arguments"],
            description=body["description"],
            creator=key.user,
            request=jobs.request_key(caller=str(key.pk), request_id=request.headers.get("X-Request-Id", "")),
        )
        return Response({"jobId": job.pk, "createdAt": unix(job.created_at)}, status=201)


class JobView(JobScopedView):
    """``datasets/{id}/jobs/{jobId}``."""

    @extend_schema(operation_id="get_job", parameters=[JOB_TYPE_PARAMETER], responses=JobSerializer)
    def get(self, request: Request, dataset_id: str, job_id: str) -> Response:
        """The job; with no broker, a queued job runs now, so the answer shows it finished."""
        job = self.job(request, dataset_id, job_id)
        jobs.jobs_run_queued(jobs=[job])
        return Response(JobSerializer(job).data)

    @extend_schema(operation_id="delete_job", parameters=[JOB_TYPE_PARAMETER], responses={200: EMPTY})
    def delete(self, request: Request, dataset_id: str, job_id: str) -> Response:
        """Delete the job in whatever state it is; its result draft stays."""
        jobs.job_delete(job=self.job(request, dataset_id, job_id))
        return Response({})


class JobAbortView(JobScopedView):
    """``datasets/{id}/jobs/{jobId}/abort``."""

    @extend_schema(operation_id="abort_job", parameters=[JOB_TYPE_PARAMETER], request=None, responses={200: EMPTY})
    def post(self, request: Request, dataset_id: str, job_id: str) -> Response:
        """Abort a queued or running job (again on an aborted one changes nothing)."""
        jobs.job_abort(job=self.job(request, dataset_id, job_id))
        return Response({})


class JobRetryView(JobScopedView):
    """``datasets/{id}/jobs/{jobId}/retry``."""

    @extend_schema(operation_id="retry_job", parameters=[JOB_TYPE_PARAMETER], request=None, responses={200: EMPTY})
    def post(self, request: Request, dataset_id: str, job_id: str) -> Response:
        """Queue a failed or aborted job again."""
        jobs.job_retry(job=self.job(request, dataset_id, job_id))
        return Response({})
