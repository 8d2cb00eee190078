"""Benchmark the public dataset page and diff page at 1,000 and 1,000,000 entries.

Run ``python bench/catalog.py`` (MariaDB when DATABASE_URL points at it, SQLite otherwise). Each dataset is
built through the bulk path; its pages are fetched in process through Django's test client (the whole view,
templates and signed preview links included): the first, a middle and the last page of 100 files, and the diff
of a commit that changed ten files. Sizes take turns within every run; each figure is the median of several
runs. It prints a table and RATIO lines; everything it creates is removed at the end.
"""

import os
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from datasets.models import Dataset, User, Workspace  # noqa: E402
from versioning import services  # noqa: E402
from versioning.models import Commit, Range, Tree  # noqa: E402
from versioning.trees import Entry, tree_load  # noqa: E402

SIZES = tuple(int(n) for n in os.environ.get("BENCH_SIZES", "1000,1000000").split(","))
RUNS = 7
PER_PAGE = 100


def entry(index: int, version: int = 0) -> Entry:
    sha1 = f"{index:032x}{version:08x}"
    return Entry.create(
        segment="images", remote_path=f"img_{index:09d}.jpg", object_key=f"objects/{sha1}", sha1=sha1, size=1000
    )


def entries(size: int) -> Iterator[Entry]:
    return (entry(index) for index in range(size))


def build(workspace: Workspace, user: User, size: int) -> tuple[Dataset, Commit]:
    dataset = Dataset.objects.create(workspace=workspace, name=f"bench-{size}", is_public=True)
    services.commit_import(dataset=dataset, entries=entries(size), title="import", presorted=True, committer=user)
    changed = [entry(index, 1) for index in range(size // 2, size // 2 + 10)]
    head = services.commit_import(dataset=dataset, entries=changed, title="ten changes", presorted=True)
    return dataset, head


def fetch_ms(client: Client, path: str, params: dict[str, str]) -> float:
    started = time.perf_counter()
    response = client.get(path, params)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (path, params, response.status_code)
    return elapsed * 1000


def clean_up(workspace: Workspace, user: User) -> None:
    """Delete the scratch datasets and every tree and range only they used."""
    commits = Commit.objects.filter(dataset__workspace=workspace)
    tree_ids = set(commits.values_list("tree_id", flat=True))
    range_ids = {ref.id for tree_id in tree_ids for ref in tree_load(tree_id).ranges()}
    Dataset.objects.filter(workspace=workspace).delete()
    still_used = set(Commit.objects.filter(tree_id__in=tree_ids).values_list("tree_id", flat=True))
    for tree_id in Tree.objects.exclude(pk__in=tree_ids - still_used).values_list("pk", flat=True):
        range_ids -= {ref.id for ref in tree_load(tree_id).ranges()}
    Tree.objects.filter(pk__in=tree_ids - still_used).delete()
    ids = sorted(range_ids)
    for start in range(0, len(ids), 1000):
        Range.objects.filter(pk__in=ids[start : start + 1000]).delete()
    workspace.delete()
    user.delete()


def main() -> None:
    call_command("migrate", verbosity=0)
    user = User.objects.create(username=f"bench-{uuid.uuid4().hex[:12]}")
    workspace = Workspace.objects.get(owner=user, kind=Workspace.Kind.USER)
    client = Client(HTTP_HOST="localhost")
    samples: dict[tuple[str, int], list[float]] = defaultdict(list)
    try:
        cases = {size: build(workspace, user, size) for size in SIZES}
        for _ in range(RUNS):
            for size, (dataset, head) in cases.items():
                page_path = f"/datasets/{workspace.name}/{dataset.name}/"
                last = (size + PER_PAGE - 1) // PER_PAGE
                for label, number in (("first page", 1), ("middle page", last // 2 or 1), ("last page", last)):
                    params = {"per_page": str(PER_PAGE), "page": str(number)}
                    samples[label, size].append(fetch_ms(client, page_path, params))
                samples["diff of 10", size].append(fetch_ms(client, f"{page_path}diff/", {"head": head.id}))
    finally:
        clean_up(workspace, user)
    columns = ["first page", "middle page", "last page", "diff of 10"]
    print(f"catalog page benchmark on {connection.vendor}: medians of {RUNS} runs in ms, {PER_PAGE} files a page")
    print(" | ".join([f"{'entries':>9}", *(f"{column:>12}" for column in columns)]))
    figures = {key: statistics.median(values) for key, values in samples.items()}
    for size in SIZES:
        print(" | ".join([f"{size:>9,}", *(f"{figures[column, size]:12.1f}" for column in columns)]))
    big, small = max(SIZES), min(SIZES)
    print(f"RATIO page_1m_over_1k={figures['middle page', big] / figures['middle page', small]:.2f}")
    print(f"RATIO diff_1m_over_1k={figures['diff of 10', big] / figures['diff of 10', small]:.2f}")


if __name__ == "__main__":
    main()
