"""Schemathesis against each dialect's published schema on a live server: no 5xx, and every answer (errors
included) with a documented status, content type and body.

``FUZZ_CASES`` bounds the generated requests per dialect (``bench/fuzz.py`` raises it to thousands). Generation
is derandomized, so a run repeats exactly. Authenticated paths are reached, not only refusals: token dialects
send seeded access keys, institution requests are signed one by one, and generated path parameters are
mostly swapped for the seeded datasets' real ids, names and revisions.
"""

import hashlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from datasets import services
from datasets.models import Dataset, Membership, User, Workspace
from storage_configs.services import storage_config_create
from tests.acceptance.conftest import HubServer
from tests.factories import UserFactory
from versioning import jobs, sheets
from versioning import selectors as versioning_selectors
from versioning import services as versioning
from versioning.models import Draft
from versioning.trees import Entry, Part

DIALECTS = ["whalerun", "aidmp", "institution", "tensorbay", "graviti"]
FUZZ_CASES = int(os.environ.get("FUZZ_CASES", "100"))
# Every answer, errors included, has a documented status, content type and body.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Writes that destroy seeded rows run after everything else, so the other operations still find them.
METHOD_ORDER = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}


@dataclass
class FuzzWorld:
    """What the fuzzer knows about the seeded data: keys, a signing key, and real path parameter values."""

    owner_id: int
    owner_key: str
    reader_key: str
    stranger_key: str
    secret_id: str
    secret: str
    path_values: dict[str, dict[str, list[Any]]] = field(default_factory=dict)


@dataclass
class FuzzReport:
    """Cases sent and the failures they met, per dialect."""

    cases: int = 0
    server_errors: int = 0
    failures: list[str] = field(default_factory=list)


class InstitutionSignature(requests.auth.AuthBase):
    """Sign the request as it will be sent: ``SecretId``, ``Timestamp`` and the HMAC of the canonical query."""

    def __init__(self, secret_id: str, secret: str) -> None:
        self.secret_id = secret_id
        self.secret = secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        url = urlsplit(request.url or "")
        pairs = [(name, value) for name, value in parse_qsl(url.query, keep_blank_values=True) if name != "Signature"]
        pairs = [pair for pair in pairs if pair[0] not in ("SecretId", "Timestamp")]
        pairs += [("SecretId", self.secret_id), ("Timestamp", str(int(time.time() * 1000)))]
        canonical = "&".join(f"{name}={quote(value, safe='')}" for name, value in sorted(pairs))
        signature = services.signature_compute(secret=self.secret, message=canonical)
        query = "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in pairs)
        request.url = url._replace(query=f"{query}&Signature={signature}").geturl()
        return request


def seeded_entries(segment: str, count: int) -> list[Entry]:
    """Entries with labels, as a TensorBay client uploads them."""
    entries = []
    for number in range(count):
        body = f"{segment}/{number}".encode()
        sha1 = hashlib.sha1(body).hexdigest()
        entries.append(
            Entry.create(
                segment=segment,
                remote_path=f"{number}.jpg",
                object_key=f"objects/{sha1}",
                sha1=sha1,
                size=len(body),
                label={"CLASSIFICATION": {"category": "cat"}},
            )
        )
    return entries


SHEET_AVRO = (
    '{"type": "record", "name": "root", "fields": [{"name": "id", "type": ["null", "long"]},'
    ' {"name": "tags", "type": ["null", {"type": "array", "items": "string"}]}]}'
)


def seed_sheet(draft: Draft) -> None:
    """A Graviti sheet ``table`` with a few rows."""
    versioning.draft_segment_put(draft=draft, name="table")
    schema = sheets.schema_texts(portex="type: record\nfields: []\n", avro=SHEET_AVRO)
    versioning.draft_segment_metadata_set(draft=draft, name="table", key=sheets.SCHEMA_KEY, value=schema)
    versioning.sheet_rows_add(draft=draft, name="table", rows=[{"id": number, "tags": ["a"]} for number in range(3)])


def seed_search(dataset: Dataset, commit_id: str) -> str:
    """A search of the sheet ``table``; return its id."""
    revision = versioning_selectors.revision_resolve(dataset=dataset, revision=commit_id)
    return versioning.search_create(revision=revision, sheet="table", criteria={"where": {"$gt": ["$.id", 0]}}).id


def seed_search_job(dataset: Dataset, commit_id: str) -> str:
    """A finished basic search of the dataset at the commit; return its job id."""
    arguments = {"commit": commit_id, "filters": [{"key": "size", "operator": ">", "value": 0}]}
    job = jobs.job_create(dataset=dataset, job_type="basicSearch", title="search", arguments=arguments)
    jobs.job_run(job_id=job.pk, attempt=job.attempt)
    return job.pk


def seed_dataset(*, owner: User, workspace: Workspace, name: str, is_public: bool) -> tuple[Dataset, list[str], int]:
    """A dataset with two commits on main, a ``dev`` branch, a ``v1`` tag and an open draft."""
    dataset = services.dataset_create(
        workspace=workspace, creator=owner, name=name, is_public=is_public, tags={"数据类型": ["图片"]}
    )
    commits = []
    for title, segments in (("first", ("train", "test")), ("second", ("train", "val"))):
        draft = versioning.draft_create(dataset=dataset, title=title, creator=owner)
        for segment in segments:
            versioning.draft_stage_upserts(draft=draft, entries=seeded_entries(segment, 3))
        if title == "second":
            seed_sheet(draft)
        commits.append(versioning.draft_commit(draft=draft, title=title, committer=owner).id)
    versioning.branch_create(dataset=dataset, name="dev", revision=commits[0])
    versioning.tag_create(dataset=dataset, name="v1", revision=commits[0], creator=owner)
    draft = versioning.draft_create(dataset=dataset, title="open", creator=owner)
    versioning.draft_stage_upserts(draft=draft, entries=seeded_entries("open", 2))
    return dataset, commits, draft.number


FRAME_ID = "01GZ6T7Y3C0000000000000000"


def seed_fusion_dataset(*, owner: User, workspace: Workspace) -> tuple[Dataset, list[str], int]:
    """A fusion dataset with a committed frame of two sensors and an open draft."""
    dataset = services.dataset_create(
        workspace=workspace, creator=owner, name="fuzz-fusion", is_public=True, kind=Dataset.Kind.FUSION
    )
    draft = versioning.draft_create(dataset=dataset, title="frames", creator=owner)
    versioning.draft_segment_put(draft=draft, name="train")
    parts = []
    for sensor, kind in (("CAM", "CAMERA"), ("LIDAR", "LIDAR")):
        versioning.draft_sensor_put(draft=draft, segment="train", sensor={"name": sensor, "type": kind})
        entry = seeded_entries(sensor, 1)[0]
        parts.append((FRAME_ID, Part(sensor, "0.bin", entry.object_key, entry.sha1, entry.size, entry.label)))
    versioning.draft_frame_parts_put(draft=draft, segment="train", parts=parts)
    commit = versioning.draft_commit(draft=draft, title="frames", committer=owner).id
    return dataset, [commit], versioning.draft_create(dataset=dataset, title="open", creator=owner).number


@pytest.fixture
def fuzz_world(db: None) -> FuzzWorld:
    """A team workspace with a public and a private dataset, an owner, a reader and a stranger with keys."""
    owner = UserFactory(username="fuzz-owner")
    reader = UserFactory(username="fuzz-reader")
    stranger = UserFactory(username="fuzz-stranger")
    team = services.workspace_get_or_create(name="fuzz-team", owner=owner)
    services.membership_set(workspace=team, user=reader, role=Membership.Role.READER)
    storage_config_create(workspace=team, name="fuzz-local", kind="local", file_path="fuzz")
    seeded = [
        seed_dataset(owner=owner, workspace=team, name=name, is_public=is_public)
        for name, is_public in (("fuzz-public", True), ("fuzz-private", False))
    ]
    seeded.append(seed_fusion_dataset(owner=owner, workspace=team))
    _, secret = signing_key = services.signing_key_create(user=owner, workspace=team)
    commits = [commit for _, dataset_commits, _ in seeded for commit in dataset_commits]
    drafts = [number for _, _, number in seeded]
    return FuzzWorld(
        owner_id=owner.pk,
        owner_key=services.access_key_create(user=owner, workspace=team)[1],
        reader_key=services.access_key_create(user=reader, workspace=team)[1],
        stranger_key=services.access_key_create(user=stranger, workspace=services.personal_workspace(user=stranger))[1],
        secret_id=signing_key[0].secret_id,
        secret=secret,
        path_values={
            "whalerun": {"dataset_id": [dataset.pk for dataset, _, _ in seeded]},
            "tensorbay": {
                "dataset_id": [dataset.uuid.hex for dataset, _, _ in seeded],
                "draft_number": drafts,
                "name": ["fuzz-local"],
                "basehead": [f"commit-{commit}" for commit in commits] + [f"draft-{number}" for number in drafts],
                "segment": ["train", "val", "open"],
                "job_id": [seed_search_job(dataset, dataset_commits[-1]) for dataset, dataset_commits, _ in seeded],
            },
            "graviti": {
                "workspace": ["fuzz-team"],
                "dataset": [dataset.name for dataset, _, _ in seeded],
                "branch": ["main", "dev"],
                "commit_id": commits,
                "revision": ["main", "dev", "v1", *commits],
                "draft_number": drafts,
                "tag": ["v1"],
                "storage_config": ["fuzz-local"],
                "sheet": ["table", "train"],
                # The fusion dataset has no sheet to search.
                "search_id": [seed_search(dataset, dataset_commits[-1]) for dataset, dataset_commits, _ in seeded[:2]],
            },
        },
    )


def prepare(case: Case, data: st.DataObject, dialect: str, world: FuzzWorld) -> dict[str, Any]:
    """Point most cases at seeded rows with a seeded credential; return extra arguments for sending."""
    real_values = world.path_values.get(dialect, {})
    parameters = case.path_parameters or {}
    for name in [name for name in parameters if name in real_values]:
        if data.draw(st.integers(0, 3), label=f"real {name}"):
            parameters[name] = data.draw(st.sampled_from(real_values[name]), label=name)
    body = case.body
    whalerun_user = dialect == "whalerun" and isinstance(body, dict) and "user_id" in body
    if whalerun_user and data.draw(st.booleans(), label="real user_id"):
        body["user_id"] = world.owner_id
    if dialect == "institution":
        if data.draw(st.integers(0, 3), label="signed"):
            return {"auth": InstitutionSignature(world.secret_id, world.secret)}
        return {}
    if dialect != "whalerun":
        keys = [world.owner_key, world.owner_key, world.reader_key, world.stranger_key, None]
        key = data.draw(st.sampled_from(keys), label="X-Token")
        if key is not None:
            case.headers = {**(case.headers or {}), "X-Token": key}
    return {}


def describe(case: Case, response: requests.Response, failure: Failure) -> str:
    """One failure, short enough to list many: the request, the status, the check and its first lines."""
    summary = " | ".join(line.strip() for line in failure.message.splitlines()[:12] if line.strip())
    return f"{case.method} {case.formatted_path} -> {response.status_code}: {failure.title}: {summary[:600]}"


def fuzz_operation(operation: Any, *, examples: int, send: Callable[[Case, st.DataObject], None]) -> Callable[[], None]:
    """A derandomized Hypothesis run of ``examples`` positive and negative cases of one operation."""
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, data=st.data())
    def run(case: Case, data: st.DataObject) -> None:
        send(case, data)

    return run


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_fuzzed_requests_get_no_server_error_and_match_the_schema(
    dialect: str, hub_server: HubServer, fuzz_world: FuzzWorld
) -> None:
    schema = schemathesis.openapi.from_url(f"{hub_server.url}openapi/{dialect}.json", timeout=30)
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda operation: (METHOD_ORDER.get(operation.method.upper(), 1), operation.path),
    )
    base_url = hub_server.url.rstrip("/")
    report = FuzzReport()
    session = requests.Session()

    def send(case: Case, data: st.DataObject) -> None:
        extra = prepare(case, data, dialect, fuzz_world)
        response = case.call(base_url=base_url, session=session, timeout=60, **extra)
        report.cases += 1
        if response.status_code >= 500:
            report.server_errors += 1
        try:
            case.validate_response(response, checks=CHECKS, transport_kwargs={"base_url": base_url, **extra})
        except FailureGroup as group:
            report.failures += [describe(case, response, failure) for failure in group.exceptions]
        except Failure as failure:
            report.failures.append(describe(case, response, failure))

    examples = max(1, math.ceil(FUZZ_CASES / len(operations)))
    for operation in operations:
        fuzz_operation(operation, examples=examples, send=send)()
    print(f"FUZZ {dialect} cases={report.cases} server_errors={report.server_errors}")
    assert not report.failures, "\n\n".join(report.failures)
