"""Benchmark Graviti sheets through the data endpoints: adding 100,000 rows, and editing one row of a big sheet.

Run ``python bench/sheets.py`` (MariaDB when DATABASE_URL points at it, SQLite otherwise). Requests go through
the whole Django stack in process (``django.test.Client``), as the graviti SDK sends them: rows are added in
batches of 2,048 (``POST .../data``) and committed; a row is edited by opening a draft, one ``PATCH .../data``
and a commit. The sheets edited (1,000 and 1,000,000 rows) are built through the bulk path. ``BENCH_ADD_ROWS``
and ``BENCH_EDIT_SIZES`` shorten a run. It prints the figures and ``RATIO row_edit_1m_over_1k=<x>`` (edit of
the largest sheet over the smallest, medians of runs taken in turns); everything it creates is removed.
"""

import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ.setdefault("RATE_LIMIT_PER_KEY", "0")
os.environ.setdefault("RATE_LIMIT_PER_ADDRESS", "0")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from datasets import services as catalog  # noqa: E402
from datasets.models import Dataset, User  # noqa: E402
from versioning import services, sheets  # noqa: E402
from versioning.trees import Entry  # noqa: E402

ADD_ROWS = int(os.environ.get("BENCH_ADD_ROWS", "100000"))
EDIT_SIZES = tuple(int(n) for n in os.environ.get("BENCH_EDIT_SIZES", "1000,1000000").split(","))
BATCH = 2048
RUNS = 7
PORTEX = (
    "type: record\nfields:\n- name: id\n  type: int64\n- name: name\n  type: string\n- name: score\n  type: float32\n"
)
AVRO = json.dumps(
    {
        "type": "record",
        "name": "root",
        "namespace": "cn.graviti.portex",
        "fields": [
            {"name": "id", "type": ["null", "long"]},
            {"name": "name", "type": ["null", "string"]},
            {"name": "score", "type": ["null", "float"]},
        ],
    }
)


def row(number: int) -> dict[str, Any]:
    return {"id": number, "name": f"row {number}", "score": number / 4}


class Api:
    """The Graviti endpoints of one dataset, called in process with the owner's key."""

    def __init__(self, user: User, dataset: Dataset, key: str) -> None:
        self.client = Client(HTTP_HOST="127.0.0.1", HTTP_X_TOKEN=key)
        self.base = f"/v2/datasets/{dataset.workspace.name}/{dataset.name}"

    def call(self, method: str, path: str, body: Any, status: int) -> Any:
        answer = getattr(self.client, method)(self.base + path, json.dumps(body), content_type="application/json")
        assert answer.status_code == status, answer.content[:500]
        return answer.json()

    def draft(self) -> int:
        return self.call("post", "/drafts", {"title": "bench"}, 201)["number"]

    def commit(self, number: int) -> None:
        self.call("post", "/commits", {"draft_number": number, "title": "bench"}, 201)


def sheet_rows(size: int) -> Iterator[Entry]:
    for number in range(1, size + 1):
        yield Entry(f"train/{sheets.record_key(number)}", "", "", 0, row(number), None)


def sheet_dataset(user: User, name: str, size: int) -> Dataset:
    """A dataset with a sheet ``train`` of ``size`` rows, built through the bulk path."""
    dataset = catalog.dataset_create(workspace=user.owned_workspaces.get(), creator=user, name=name)
    draft = services.draft_create(dataset=dataset, title="sheet", creator=user)
    services.sheet_create(draft=draft, name="train", schema=sheets.schema_texts(portex=PORTEX, avro=AVRO))
    services.draft_commit(draft=draft, title="sheet")
    services.commit_import(dataset=dataset, entries=sheet_rows(size), title="rows", presorted=True, checked=True)
    return dataset


def add_rows(api: Api) -> tuple[float, float]:
    """Seconds to add ``ADD_ROWS`` rows in batches, and to commit them."""
    number = api.draft()
    api.call("post", f"/drafts/{number}/sheets", {"name": "train", "schema": PORTEX, "_avro_schema": AVRO}, 201)
    started = time.perf_counter()
    for start in range(0, ADD_ROWS, BATCH):
        rows = [row(n) for n in range(start, min(start + BATCH, ADD_ROWS))]
        api.call("post", f"/drafts/{number}/sheets/train/data", {"data": rows}, 201)
    added = time.perf_counter()
    api.commit(number)
    return added - started, time.perf_counter() - added


def edit_once(api: Api, size: int, run: int) -> float:
    """Seconds to open a draft, change one row in the middle of the sheet and commit."""
    key = sheets.record_key(size // 2 + 1)
    started = time.perf_counter()
    number = api.draft()
    api.call(
        "patch", f"/drafts/{number}/sheets/train/data", {"data": [{"name": f"edit {run}", "__record_key": key}]}, 200
    )
    api.commit(number)
    return time.perf_counter() - started


def main() -> None:
    call_command("migrate", verbosity=0)
    tag = uuid.uuid4().hex[:8]
    user = User.objects.create(username=f"bench-sheets-{tag}")
    workspace = catalog.personal_workspace(user=user)
    key = catalog.access_key_create(user=user, workspace=workspace)[1]
    try:
        added = catalog.dataset_create(workspace=workspace, creator=user, name="add")
        add_s, commit_s = add_rows(Api(user, added, key))
        built: dict[int, float] = {}
        apis = {}
        for size in EDIT_SIZES:
            started = time.perf_counter()
            apis[size] = Api(user, sheet_dataset(user, f"edit-{size}", size), key)
            built[size] = time.perf_counter() - started
        samples: dict[int, list[float]] = {size: [] for size in EDIT_SIZES}
        for run in range(RUNS):
            for size in EDIT_SIZES:  # in turns, so a change in the machine's load hits every size alike
                samples[size].append(edit_once(apis[size], size, run))
    finally:
        for dataset in Dataset.objects.filter(workspace=workspace):
            catalog.dataset_delete(dataset=dataset)
        workspace.delete()
        user.delete()
    print(f"sheet benchmark on {connection.vendor}, through the Graviti data endpoints in process")
    rate = ADD_ROWS / add_s
    print(f"add {ADD_ROWS:,} rows in batches of {BATCH}: {add_s:.1f} s ({rate:,.0f} rows/s), commit {commit_s:.1f} s")
    for size in EDIT_SIZES:
        median_ms = statistics.median(samples[size]) * 1000
        print(
            f"edit one row of a {size:,}-row sheet (draft, PATCH, commit): median {median_ms:.1f} ms of {RUNS}"
            f" (sheet built in {built[size]:.1f} s)"
        )
    big, small = max(EDIT_SIZES), min(EDIT_SIZES)
    print(f"RATIO row_edit_1m_over_1k={statistics.median(samples[big]) / statistics.median(samples[small]):.2f}")


if __name__ == "__main__":
    main()
