"""Benchmark reading a big Graviti sheet out of key order: ordered data pages, and late pages of a search.

Run ``python bench/sheet_reads.py`` (MariaDB when DATABASE_URL points at it, SQLite otherwise). A commit holds a
sheet of ``BENCH_SHEET_ROWS`` rows (100,000 by default, the most ``order_by`` accepts), built through the bulk
path. Requests go through the whole Django stack in process with the page cache off: the first and the last
128-row page ordered by a column (``order_by=-score``), and a search matching every other row, timed at its
first and its last page once counted. It prints the figures and ``RATIO search_last_over_first_page=<x>``
(medians of runs taken in turns; a last page that re-read the sheet would cost hundreds of first pages);
everything it creates is removed.
"""

import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ.setdefault("RATE_LIMIT_PER_KEY", "0")
os.environ.setdefault("RATE_LIMIT_PER_ADDRESS", "0")
os.environ["LIST_CACHE_SECONDS"] = "0"

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from datasets import services as catalog  # noqa: E402
from datasets.models import Dataset, User  # noqa: E402
from versioning import services, sheets  # noqa: E402
from versioning.trees import Entry  # noqa: E402

SHEET_ROWS = int(os.environ.get("BENCH_SHEET_ROWS", "100000"))
PAGE = 128
RUNS = 5
PORTEX = "type: record\nfields:\n- name: id\n  type: int64\n- name: score\n  type: float32\n"
AVRO = json.dumps(
    {
        "type": "record",
        "name": "root",
        "fields": [{"name": "id", "type": ["null", "long"]}, {"name": "score", "type": ["null", "float"]}],
    }
)


def sheet_rows(size: int) -> Iterator[Entry]:
    for number in range(1, size + 1):
        yield Entry(f"train/{sheets.record_key(number)}", "", "", 0, {"id": number, "score": number % 997}, None)


def median_ms(call: Callable[[], Any]) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> None:
    call_command("migrate", verbosity=0)
    tag = uuid.uuid4().hex[:8]
    user = User.objects.create(username=f"bench-sheet-reads-{tag}")
    workspace = catalog.personal_workspace(user=user)
    key = catalog.access_key_create(user=user, workspace=workspace)[1]
    client = Client(HTTP_HOST="127.0.0.1", HTTP_X_TOKEN=key)

    def get(path: str) -> Any:
        answer = client.get(path)
        assert answer.status_code == 200, answer.content[:500]
        return json.loads(answer.content)

    try:
        dataset = catalog.dataset_create(workspace=workspace, creator=user, name="reads")
        draft = services.draft_create(dataset=dataset, title="sheet", creator=user)
        services.sheet_create(draft=draft, name="train", schema=sheets.schema_texts(portex=PORTEX, avro=AVRO))
        services.draft_commit(draft=draft, title="sheet")
        commit = services.commit_import(
            dataset=dataset, entries=sheet_rows(SHEET_ROWS), title="rows", presorted=True, checked=True
        )
        base = f"/v2/datasets/{workspace.name}/{dataset.name}"
        data = f"{base}/commits/{commit.id}/sheets/train/data?order_by=-score&limit={PAGE}"
        last = (SHEET_ROWS - 1) // PAGE * PAGE
        ordered_first = median_ms(lambda: get(f"{data}&offset=0"))
        ordered_last = median_ms(lambda: get(f"{data}&offset={last}"))
        criteria = {"where": {"$eq": [{"$mod": ["$.id", 2]}, 0]}}
        answer = client.post(
            f"{base}/searches",
            json.dumps({"sheet": "train", "criteria": criteria, "commit_id": commit.id}),
            content_type="application/json",
        )
        search = f"{base}/searches/{json.loads(answer.content)['id']}"
        started = time.perf_counter()
        matches = get(f"{search}/record-count")
        counted = (time.perf_counter() - started) * 1000
        last_match = (matches - 1) // PAGE * PAGE
        firsts: list[float] = []
        lasts: list[float] = []
        for _ in range(RUNS):  # in turns, so a change in the machine's load hits both alike
            firsts.append(median_ms(lambda: get(f"{search}/records?offset=0&limit={PAGE}")))
            lasts.append(median_ms(lambda: get(f"{search}/records?offset={last_match}&limit={PAGE}")))
    finally:
        for found in Dataset.objects.filter(workspace=workspace):
            catalog.dataset_delete(dataset=found)
        workspace.delete()
        user.delete()
    print(f"sheet read benchmark on {connection.vendor}, a {SHEET_ROWS:,}-row sheet at a commit, in process")
    print(f"page ordered by a column: first {ordered_first:.0f} ms, last {ordered_last:.0f} ms (median of {RUNS})")
    first, later = statistics.median(firsts), statistics.median(lasts)
    print(f"search of {matches:,} matches: counted in {counted:.0f} ms; first page {first:.1f} ms, last {later:.1f} ms")
    print(f"RATIO search_last_over_first_page={later / first:.2f}")


if __name__ == "__main__":
    main()
