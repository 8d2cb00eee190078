"""Benchmark label statistics at 1,000 and 1,000,000 labelled entries.

Run ``python bench/label_statistics.py`` (MariaDB when DATABASE_URL points at it, SQLite otherwise). Each dataset
gets a catalog with enum and boolean attributes, then its labelled entries through the bulk path
(``services.commit_import``). It times reading the statistics at the commit (with the process's tree and
metadata caches cleared each time, as a fresh worker would), at a draft with ten staged labels, and a commit
of those ten: medians of several runs, sizes taking turns. Everything it creates is removed at the end.
"""

import os
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from datasets.models import Dataset, User, Workspace  # noqa: E402
from versioning import selectors, services, trees  # noqa: E402
from versioning.models import Commit, Range, Tree  # noqa: E402
from versioning.trees import Entry, tree_load  # noqa: E402

SIZES = tuple(int(n) for n in os.environ.get("BENCH_SIZES", "1000,1000000").split(","))
SEGMENTS = ("test", "train", "val", "zoo")
RUNS = 7
COLORS = ("red", "green", "blue")
CATALOG = {
    "BOX2D": {
        "categories": [{"name": "cat"}, {"name": "dog"}],
        "attributes": [{"name": "color", "enum": list(COLORS)}, {"name": "occluded", "type": "boolean"}],
    }
}


def label(index: int) -> dict:
    return {
        "BOX2D": [
            {
                "category": ("cat", "dog")[index % 2],
                "attributes": {"color": COLORS[index % 3], "occluded": index % 5 == 0},
            }
        ]
    }


def entries(size: int) -> Iterator[Entry]:
    for segment in SEGMENTS:
        for index in range(size // len(SEGMENTS)):
            sha1 = f"{index:040x}"
            yield Entry.create(
                segment=segment,
                remote_path=f"img_{index:09d}.jpg",
                object_key=f"objects/{sha1}",
                sha1=sha1,
                size=1000,
                label=label(index),
            )


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def cold() -> None:
    """Forget what this process keeps of trees and metadata, as a fresh worker would not have it."""
    trees._tree_cache.clear()
    trees._metadata_text.cache_clear()


class Case:
    def __init__(self, workspace: Workspace, size: int) -> None:
        self.size = size
        self.dataset = Dataset.objects.create(workspace=workspace, name=f"stats-{size}-{uuid.uuid4().hex[:8]}")
        draft = services.draft_create(dataset=self.dataset, title="catalog")
        services.draft_metadata_set(draft=draft, catalog=CATALOG)
        services.draft_commit(draft=draft, title="catalog")
        self.build_s = timed(
            lambda: services.commit_import(dataset=self.dataset, entries=entries(size), title="import", presorted=True)
        )
        self.round = 0

    def read_commit(self) -> float:
        cold()

        def read() -> None:
            revision = selectors.revision_resolve(dataset=self.dataset, revision="main")
            assert selectors.label_statistics(revision=revision)["BOX2D"]["quantity"] >= self.size - 4

        return timed(read)

    def draft_and_commit(self) -> tuple[float, float]:
        """Stage ten relabelled entries; time the draft's statistics, then the commit."""
        self.round += 1
        draft = services.draft_create(dataset=self.dataset, title="ten labels")
        relabelled = [
            entry._replace(label=label(index + self.round))
            for index, entry in zip(range(10), entries(min(self.size, 10 * len(SEGMENTS))), strict=False)
        ]
        services.draft_stage_upserts(draft=draft, entries=relabelled)
        cold()
        revision = selectors.revision_resolve(dataset=self.dataset, revision=draft.number)
        read_s = timed(lambda: selectors.label_statistics(revision=revision))
        commit_s = timed(lambda: services.draft_commit(draft=draft, title="ten labels"))
        return read_s, commit_s


def clean_up(workspace: Workspace, user: User) -> None:
    commits = Commit.objects.filter(dataset__workspace=workspace)
    tree_ids = set(commits.values_list("tree_id", flat=True))
    range_ids = {ref.id for tree_id in tree_ids for ref in tree_load(tree_id).ranges()}
    Dataset.objects.filter(workspace=workspace).delete()
    Tree.objects.filter(pk__in=tree_ids).exclude(commits__isnull=False).delete()
    ids = sorted(range_ids)
    for start in range(0, len(ids), 1000):
        Range.objects.filter(pk__in=ids[start : start + 1000]).delete()
    workspace.delete()
    user.delete()


def main() -> None:
    call_command("migrate", verbosity=0)
    user = User.objects.create(username=f"bench-{uuid.uuid4().hex[:12]}")
    workspace = Workspace.objects.get(owner=user, kind=Workspace.Kind.USER)
    samples: dict[tuple[str, int], list[float]] = defaultdict(list)
    try:
        cases = [Case(workspace, size) for size in SIZES]
        for _ in range(RUNS):
            for case in cases:
                samples["commit read", case.size].append(case.read_commit())
                read_s, commit_s = case.draft_and_commit()
                samples["draft read", case.size].append(read_s)
                samples["commit 10", case.size].append(commit_s)
    finally:
        clean_up(workspace, user)
    figures = {key: statistics.median(values) * 1000 for key, values in samples.items()}
    columns = ["commit read", "draft read", "commit 10"]
    print(f"label statistics on {connection.vendor}: medians of {RUNS} runs in ms, caches cold for each read")
    print(" | ".join([f"{'entries':>9}", f"{'import s':>10}", *(f"{c:>12}" for c in columns)]))
    for case in cases:
        cells = [f"{figures[c, case.size]:12.1f}" for c in columns]
        print(" | ".join([f"{case.size:>9,}", f"{case.build_s:10.1f}", *cells]))
    big, small = max(SIZES), min(SIZES)
    print(f"RATIO stats_1m_over_1k={figures['commit read', big] / figures['commit read', small]:.2f}")
    print(f"RATIO stats_draft_1m_over_1k={figures['draft read', big] / figures['draft read', small]:.2f}")
    print(f"RATIO stats_commit_1m_over_1k={figures['commit 10', big] / figures['commit 10', small]:.2f}")


if __name__ == "__main__":
    main()
