"""Squash-and-merge jobs through the unchanged tensorbay SDK over TLS, on the embedded default (no broker) and
with a real Celery worker on RabbitMQ, plus the faults: a worker killed mid-merge, a broker that is away.

The branches follow the SDK project's own integration test (spec part 2 §7.3): ``dev`` adds
``Segment1/hello0..9`` labelled ``02``, ``main`` adds ``hello0..3`` with the same bytes labelled ``01``.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

pytest.importorskip(
    "tensorbay", reason="the tensorbay SDK is not installed: pip install --no-deps -r requirements/tensorbay.txt"
)

from tensorbay import GAS
from tensorbay.client import config as sdk_config
from tensorbay.client import job as sdk_job
from tensorbay.dataset import Data, Dataset
from tensorbay.exception import ResourceNotExistError
from tensorbay.label import Box2DSubcatalog, LabeledBox2D

from datasets import services
from tests.acceptance.conftest import ROOT, HubServer, server_database_url
from tests.acceptance.tcp_proxy import TcpProxy
from tests.factories import UserFactory
from versioning import services as versioning
from versioning.models import Draft, Job
from versioning.trees import Entry

pytestmark = pytest.mark.django_db(transaction=True)

sdk_config.timeout = 90
sdk_config.max_retries = 5
RABBITMQ = ("127.0.0.1", 5672)
WORKER_STARTUP_SECONDS = 90
JOB_SECONDS = 120


def rabbitmq_answers() -> bool:
    try:
        with socket.create_connection(RABBITMQ, timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def quick_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK polls a job every 5 s; the flows poll faster, with the SDK's own loop."""
    monkeypatch.setattr(sdk_job, "_JOB_UPDATE_INTERVAL", 0.2)


class Worker:
    """``celery -A project worker`` in a process group of its own, started and killed by the test."""

    def __init__(self, env: dict[str, str], directory: Path, queue: str) -> None:
        self.env, self.directory, self.queue = env, directory, queue
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.directory / f"worker-{self.starts}.log"

    def start(self) -> None:
        self.starts += 1
        command = [
            sys.executable, "-m", "celery", "-A", "project", "worker", "-Q", self.queue, "--concurrency", "1",
            "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--hostname", f"{self.queue}-{self.starts}@%h",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + WORKER_STARTUP_SECONDS
        while b" ready." not in self.log_path.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start: {self.log_path.read_text(errors='replace')}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, as a machine that dies would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)  # a warm shutdown: the running task ends first
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Hub:
    """A server the SDK talks to and, with a broker, the worker that runs its jobs."""

    server: HubServer
    worker: Worker | None = None


def broker_hub(
    start_hub: Callable[..., HubServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broker_url: str
) -> Hub:
    """A hub and a worker on the broker, on a queue of their own."""
    if not rabbitmq_answers():
        pytest.skip("RabbitMQ does not answer on 127.0.0.1:5672 (Debian package rabbitmq-server)")
    queue = f"hub-test-{uuid.uuid4().hex[:12]}"
    env = {"CELERY_BROKER_URL": broker_url, "CELERY_TASK_DEFAULT_QUEUE": queue}
    server = start_hub(env=env, workers=2, threads=4)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.ca_bundle))
    worker_env = {
        **os.environ,
        **env,
        "DATABASE_URL": server_database_url(),
        "MEDIA_ROOT": str(server.media_root),
    }
    worker_env.pop("DB_ENGINE", None)
    return Hub(server=server, worker=Worker(worker_env, tmp_path, queue))


@pytest.fixture(params=["embedded", "rabbitmq"])
def hub(
    request: pytest.FixtureRequest,
    start_hub: Callable[..., HubServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Hub]:
    """The session's hub with no broker, or a hub with a Celery worker on RabbitMQ."""
    if request.param == "embedded":
        yield Hub(server=request.getfixturevalue("hub_server"))
        return
    found = broker_hub(start_hub, tmp_path, monkeypatch, f"amqp://guest:guest@{RABBITMQ[0]}:{RABBITMQ[1]}//")
    assert found.worker is not None
    found.worker.start()
    try:
        yield found
    finally:
        found.worker.stop()


def new_gas(hub: Hub, username: str) -> GAS:
    user = UserFactory(username=username)
    workspace = services.personal_workspace(user=user)
    return GAS(services.access_key_create(user=user, workspace=workspace)[1], hub.server.url)


def labelled_dataset(name: str, directory: Path, count: int, category: str) -> Dataset:
    """``Segment1/hello0..count-1`` with one BOX2D label of the category each; the bytes depend on the index."""
    directory.mkdir(parents=True, exist_ok=True)
    dataset = Dataset(name)
    dataset.catalog.box2d = Box2DSubcatalog()
    for known in ("01", "02"):
        dataset.catalog.box2d.add_category(known)
    segment = dataset.create_segment("Segment1")
    for index in range(count):
        path = directory / f"hello{index}.txt"
        path.write_bytes(f"CONTENT{index}".encode())
        data = Data(str(path))
        data.label.box2d = [LabeledBox2D(1, 2, 3, 4, category=category)]
        segment.append(data)
    return dataset


def conflicting_branches(gas: GAS, name: str, tmp_path: Path) -> Any:
    """Commit 1 empty; ``dev`` adds hello0..9 labelled 02; ``main`` adds hello0..3 labelled 01 (§7.3)."""
    client = gas.create_dataset(name)
    client.create_draft("empty")
    client.commit("empty")
    client.create_branch("dev")
    client.create_draft("dev", branch_name="dev")
    gas.upload_dataset(labelled_dataset(name, tmp_path / "dev", 10, "02"), branch_name="dev").commit("dev")
    client.checkout(revision="main")
    client.create_draft("main", branch_name="main")
    gas.upload_dataset(labelled_dataset(name, tmp_path / "main", 4, "01"), branch_name="main").commit("main")
    return gas.get_dataset(name)


def listing(client: Any, draft_number: int) -> dict[str, tuple[bytes, list[str]]]:
    """Every file of Segment1 in the draft: its bytes and its BOX2D categories."""
    client.checkout(draft_number=draft_number)
    return {
        data.path: (data.open().read(), [box.category for box in getattr(data.label, "box2d", None) or []])
        for data in client.get_segment("Segment1").list_data()
    }


def expected(names: range, category: str) -> dict[str, tuple[bytes, list[str]]]:
    return {f"hello{index}.txt": (f"CONTENT{index}".encode(), [category]) for index in names}


STRATEGY_OUTCOMES = {
    "abort": expected(range(4), "01"),
    "override": expected(range(10), "02"),
    "skip": {**expected(range(4, 10), "02"), **expected(range(4), "01")},
}


@pytest.mark.parametrize("strategy", ["abort", "override", "skip"])
def test_squash_and_merge_by_strategy(hub: Hub, tmp_path: Path, strategy: str) -> None:
    gas = new_gas(hub, "merger")
    client = conflicting_branches(gas, f"merge-{strategy}", tmp_path)
    dev_head = client.get_branch("dev").commit_id
    main_head = client.get_branch("main").commit_id

    job = client.squash_and_merge.create_job(
        draft_title="merged", source_branch_name="dev", target_branch_name="main", strategy=strategy
    )
    job.update(until_complete=True)

    assert job.status == "SUCCESS"
    conflicts = "conflict: 4 paths differ on both branches: " + ", ".join(
        f"Segment1/hello{index}.txt" for index in range(4)
    )
    assert job.error_message == (conflicts if strategy == "abort" else "")
    draft = job.result
    assert (draft.branch_name, draft.status, draft.parent_commit_id) == ("main", "OPEN", main_head)
    assert listing(client, draft.number) == STRATEGY_OUTCOMES[strategy]
    client.commit("merged")
    assert client.get_branch("main").commit_id != main_head
    assert listing_at(gas, client, "main") == STRATEGY_OUTCOMES[strategy]
    assert client.get_branch("dev").commit_id == dev_head


def listing_at(gas: GAS, client: Any, revision: str) -> dict[str, tuple[bytes, list[str]]]:
    client.checkout(revision=revision)
    return {
        data.path: (data.open().read(), [box.category for box in getattr(data.label, "box2d", None) or []])
        for data in client.get_segment("Segment1").list_data()
    }


def test_three_way_merge_without_conflicts_is_the_same_for_every_strategy(hub: Hub, tmp_path: Path) -> None:
    gas = new_gas(hub, "merger")
    name = "no-conflict"
    client = gas.create_dataset(name)
    client.create_draft("base")
    gas.upload_dataset(labelled_dataset(name, tmp_path / "base", 6, "01")).commit("base")
    client = gas.get_dataset(name)
    client.create_branch("dev")
    # dev edits hello1 (new label), deletes hello2 and adds hello6; main edits hello3 and deletes hello4
    client.create_draft("dev", branch_name="dev")
    segment = client.get_segment("Segment1")
    segment.delete_data("hello2.txt")
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "hello6.txt").write_bytes(b"CONTENT6")
    segment.upload_file(str(extra / "hello6.txt"))
    relabelled = Data(str(tmp_path / "base" / "hello1.txt"))
    relabelled.label.box2d = [LabeledBox2D(1, 2, 3, 4, category="02")]
    segment.upload_label(relabelled)
    client.commit("dev")
    client.checkout(revision="main")
    client.create_draft("main", branch_name="main")
    segment = client.get_segment("Segment1")
    segment.delete_data("hello4.txt")
    (extra / "hello3.txt").write_bytes(b"EDITED3")
    edited = Data(str(extra / "hello3.txt"))
    edited.label.box2d = [LabeledBox2D(1, 2, 3, 4, category="01")]
    segment.upload_data(edited)
    client.commit("main")

    merged = {
        "hello0.txt": (b"CONTENT0", ["01"]),
        "hello1.txt": (b"CONTENT1", ["02"]),
        "hello3.txt": (b"EDITED3", ["01"]),
        "hello5.txt": (b"CONTENT5", ["01"]),
        "hello6.txt": (b"CONTENT6", []),
    }
    for strategy in ("abort", "override", "skip"):
        job = client.squash_and_merge.create_job(
            draft_title=strategy, source_branch_name="dev", target_branch_name="main", strategy=strategy
        )
        job.update(until_complete=True)
        assert (job.status, job.error_message) == ("SUCCESS", "")
        assert listing(client, job.result.number) == merged


def test_abort_retry_list_and_delete(hub: Hub, tmp_path: Path) -> None:
    gas = new_gas(hub, "merger")
    client = conflicting_branches(gas, "lifecycle", tmp_path)
    jobs = client.squash_and_merge
    drafts_before = len(client.list_drafts())

    job = jobs.create_job(draft_title="m", source_branch_name="dev", target_branch_name="main", strategy="skip")
    job.abort()
    job.update()
    assert job.status == "ABORTED"
    assert job.result is None
    assert len(client.list_drafts()) == drafts_before

    job.retry()
    job.update(until_complete=True)
    assert job.status == "SUCCESS"
    assert (job.result.branch_name, len(client.list_drafts())) == ("main", drafts_before + 1)

    second = jobs.create_job(draft_title="n", source_branch_name="dev", target_branch_name="main")
    listed = list(jobs.list_jobs())
    assert [found.job_id for found in listed] == [second.job_id, job.job_id]
    assert jobs.get_job(job.job_id).status == "SUCCESS"
    jobs.delete_job(job.job_id)
    jobs.delete_job(second.job_id)
    assert list(jobs.list_jobs()) == []
    with pytest.raises(ResourceNotExistError):
        jobs.get_job(job.job_id)


def test_another_workspace_sees_no_job(hub: Hub, tmp_path: Path) -> None:
    gas = new_gas(hub, "merger")
    client = conflicting_branches(gas, "private-jobs", tmp_path)
    job = client.squash_and_merge.create_job(draft_title="m", source_branch_name="dev", target_branch_name="main")
    other = new_gas(hub, "outsider")
    params = {"jobType": "squashAndMerge"}
    with pytest.raises(ResourceNotExistError):
        other._client.open_api_do("GET", "jobs", client.dataset_id, params=params)
    with pytest.raises(ResourceNotExistError):
        other._client.open_api_do("GET", f"jobs/{job.job_id}", client.dataset_id, params=params)
    with pytest.raises(ResourceNotExistError):
        other._client.open_api_do("POST", f"jobs/{job.job_id}/abort?jobType=squashAndMerge", client.dataset_id)
    job.update(until_complete=True)
    assert job.status == "SUCCESS"


# Faults, with a worker on RabbitMQ

LARGE = 40_000


def large_branches(name: str) -> tuple[Any, str]:
    """A dataset whose merge has many changes on both sides: dev rewrites segment a, main adds segment b."""
    owner = UserFactory(username="bulk")
    dataset = services.dataset_create(workspace=services.personal_workspace(user=owner), creator=owner, name=name)

    def entries(segment: str, salt: str) -> Iterator[Entry]:
        for index in range(LARGE):
            sha1 = f"{salt}{index:039x}"[-40:]
            yield Entry.create(segment=segment, remote_path=f"f{index:06d}", object_key=sha1, sha1=sha1, size=1)

    versioning.commit_import(dataset=dataset, entries=entries("a", "0"), title="base", presorted=True)
    versioning.branch_create(dataset=dataset, name="dev", revision="main")
    versioning.commit_import(dataset=dataset, entries=entries("a", "1"), title="dev", branch_name="dev", presorted=True)
    versioning.commit_import(dataset=dataset, entries=entries("b", "2"), title="main", presorted=True)
    key = services.access_key_create(user=owner, workspace=dataset.workspace)[1]
    return dataset, key


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_a_worker_killed_mid_merge_is_replaced_and_the_job_ends_with_one_draft(
    start_hub: Callable[..., HubServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = broker_hub(start_hub, tmp_path, monkeypatch, f"amqp://guest:guest@{RABBITMQ[0]}:{RABBITMQ[1]}//")
    assert hub.worker is not None
    dataset, key = large_branches("large")
    drafts = Draft.objects.filter(dataset=dataset).count()
    client = GAS(key, hub.server.url).get_dataset("large")
    hub.worker.start()
    try:
        job = client.squash_and_merge.create_job(
            draft_title="m", source_branch_name="dev", target_branch_name="main", strategy="override"
        )
        wait_for(lambda: Job.objects.get(pk=job.job_id).status == "PROCESSING", JOB_SECONDS, "the merge to start")
        hub.worker.kill()
        assert Job.objects.get(pk=job.job_id).status == "PROCESSING"
        assert Draft.objects.filter(dataset=dataset).count() == drafts  # nothing half-written
        hub.worker.start()
        job.update(until_complete=True)
    finally:
        hub.worker.stop()
    assert job.status == "SUCCESS"
    assert Draft.objects.filter(dataset=dataset).count() == drafts + 1
    # The broker delivered the task again, to the restarted worker.
    assert re.search(r"run_job\[[-0-9a-f]+\] received", (tmp_path / "worker-2.log").read_text(errors="replace"))


def test_a_broker_that_is_away_answers_503_and_creates_nothing(
    start_hub: Callable[..., HubServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TcpProxy(*RABBITMQ) as proxy:
        hub = broker_hub(start_hub, tmp_path, monkeypatch, f"amqp://guest:guest@127.0.0.1:{proxy.port}//")
        gas = new_gas(hub, "merger")
        client = conflicting_branches(gas, "no-broker", tmp_path)
        proxy.refuse()
        health = requests.get(f"{hub.server.url}healthz", timeout=30, verify=str(hub.server.ca_bundle))
        assert (health.status_code, health.json()["broker"].startswith("unavailable")) == (503, True)
        answer = requests.post(
            f"{hub.server.url}gatewayv2/tensorbay-open-api/v1/datasets/{client.dataset_id}/jobs",
            json={
                "title": "m",
                "jobType": "squashAndMerge",
                "arguments": {"title": "m", "sourceBranchName": "dev", "targetBranchName": "main"},
            },
            headers={"X-Token": gas._client.access_key},
            timeout=60,
            verify=str(hub.server.ca_bundle),
        )
        assert (answer.status_code, answer.json()["code"]) == (503, "InternalServerError")
        assert not Job.objects.exists()
        proxy.restore()
        assert hub.worker is not None
        hub.worker.start()
        try:
            job = client.squash_and_merge.create_job(
                draft_title="m", source_branch_name="dev", target_branch_name="main"
            )
            job.update(until_complete=True)
        finally:
            hub.worker.stop()
        assert job.status == "SUCCESS"
