"""Benchmark the versioning engine at 1,000 / 100,000 / 1,000,000 / 10,000,000 entries, and git at 100,000 files.

Run ``python bench/versioning.py`` (MariaDB when DATABASE_URL points at it, SQLite otherwise). Each dataset is
one commit of sorted entries built by the tree code itself (``trees.ranges_apply``, as the bulk import does,
without the per-object records an import also writes: ``bench/import.py`` measures imports). Each figure is
the median of several runs, the sizes taking turns. It prints a table, then the RATIO lines, the time of one
garbage collection pass over everything with about 1% garbage (a deleted dataset) and the process's peak
RSS. Everything it creates is removed at the end.
"""

import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from datasets.models import Dataset, User, Workspace  # noqa: E402
from versioning import merges, selectors, services  # noqa: E402
from versioning.garbage import CollectionReport  # noqa: E402
from versioning.models import Branch, Commit, Range, Tree  # noqa: E402
from versioning.trees import Change, Entry, TreeContent, ranges_apply, tree_load, tree_save  # noqa: E402

# BENCH_SIZES (comma-separated) runs a quicker subset; a RATIO line is printed when both its sizes ran.
SIZES = tuple(int(n) for n in os.environ.get("BENCH_SIZES", "1000,100000,1000000,10000000").split(","))
# (layout, number of changes): half of them modify files, half add new ones.
PATTERNS = (("clustered", 10), ("clustered", 100), ("scattered", 100))
OLD_PATTERN = ("clustered", 10)  # the 1M/1k and git lines as they were first measured
NEW_PATTERN = ("scattered", 100)  # the 10M/100k lines
GIT = -1  # the git row's key in the figures
SEGMENTS = ("test", "train", "val", "zoo")
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
# A merge: each side changes the same MERGE_CHANGES paths differently, so every one of them conflicts.
MERGE_CHANGES = 100
MERGE_LAYOUTS = ("clustered", "scattered")
PAGE = 100
GIT_FILES = 100_000
GARBAGE_SHARE = 0.01


def file_name(index: int) -> str:
    return f"img_{index:09d}.jpg"


def entry(segment: str, index: int, version: int = 0) -> Entry:
    sha1 = f"{index:032x}{version:08x}"
    return Entry.create(
        segment=segment, remote_path=file_name(index), object_key=f"objects/{sha1}", sha1=sha1, size=1000 + index % 977
    )


def sorted_entries(size: int, version: int = 0) -> Iterator[Entry]:
    per_segment = size // len(SEGMENTS)
    for segment in SEGMENTS:
        for index in range(per_segment):
            yield entry(segment, index, version)


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


class HubCase:
    """One dataset of ``size`` entries and the measurements taken on it."""

    def __init__(self, workspace: Workspace, user: User, size: int, rng: random.Random) -> None:
        self.size = size
        self.user = user
        self.rng = rng
        self.dataset = Dataset.objects.create(workspace=workspace, name=f"bench-{size}-{uuid.uuid4().hex[:8]}")
        self.per_segment = size // len(SEGMENTS)
        self.build_s = timed(self.build)
        self.version = 0

    def build(self) -> None:
        self.base = build_commit(self.dataset, self.size, self.user)

    def changes(self, clustered: bool, count: int) -> list[Entry]:
        """Half modified and half new files: next to each other in one folder, or scattered over the dataset."""
        self.version += 1
        half = count // 2
        if clustered:
            segment = self.rng.choice(SEGMENTS)
            start = self.rng.randrange(self.per_segment - half)
            modified = [entry(segment, start + n, self.version) for n in range(half)]
            added = [
                Entry.create(
                    segment=segment,
                    remote_path=f"{file_name(start)}.v{self.version}-{n}",
                    object_key=f"objects/new{self.version}-{n}",
                    sha1=f"{self.version:032x}{n:08x}",
                    size=1000,
                )
                for n in range(count - half)
            ]
            return modified + added
        picks = [(self.rng.choice(SEGMENTS), self.rng.randrange(self.per_segment)) for _ in range(count)]
        modified = [entry(segment, index, self.version) for segment, index in picks[:half]]
        added = [
            entry(segment, self.per_segment + self.version * count + n) for n, (segment, _) in enumerate(picks[half:])
        ]
        return modified + added

    def commit_once(self, clustered: bool, count: int) -> tuple[float, float, Commit]:
        """Stage the changes in a new draft and commit it: (stage seconds, commit seconds, the commit)."""
        draft = services.draft_create(dataset=self.dataset, title=f"{count} files", creator=self.user)
        changes = self.changes(clustered, count)
        stage_s = timed(lambda: services.draft_stage_upserts(draft=draft, entries=changes))
        started = time.perf_counter()
        commit = services.draft_commit(draft=draft, title=f"{count} files", committer=self.user)
        self.last_count = len({change.path for change in changes})
        return stage_s, time.perf_counter() - started, commit

    def page_once(self) -> float:
        """Read a page of 100 entries at a random offset of a segment at the (old) import commit."""
        old = selectors.revision_resolve(dataset=self.dataset, revision=self.base.id)
        segment = self.rng.choice(SEGMENTS)
        offset = self.rng.randrange(self.per_segment - PAGE)

        def page() -> None:
            assert len(selectors.entry_list(revision=old, segment=segment, offset=offset, limit=PAGE).items) == PAGE

        return timed(page)

    def diff_once(self, older: Commit, newer: Commit, count: int) -> float:
        """Diff two commits one change of ``count`` files apart."""
        base = selectors.revision_resolve(dataset=self.dataset, revision=older.id)
        head = selectors.revision_resolve(dataset=self.dataset, revision=newer.id)

        def diff() -> None:
            assert selectors.diff_entries(base=base, head=head).total <= count

        return timed(diff)

    def merge_branches(self, clustered: bool) -> tuple[Branch, Branch]:
        """A source branch and the default one that both changed the same 100 paths to different contents."""
        name = f"merge-{'clustered' if clustered else 'scattered'}"
        services.branch_create(dataset=self.dataset, name=name, revision=self.dataset.default_branch)
        if clustered:
            segment = self.rng.choice(SEGMENTS)
            start = self.rng.randrange(self.per_segment - MERGE_CHANGES)
            picks = [(segment, start + n) for n in range(MERGE_CHANGES)]
        else:
            # Sampled from a range, not a list of every path: at 10M entries that list alone is gigabytes.
            spots = self.rng.sample(range(len(SEGMENTS) * self.per_segment), MERGE_CHANGES)
            picks = [(SEGMENTS[spot // self.per_segment], spot % self.per_segment) for spot in spots]
        for branch in (name, self.dataset.default_branch):
            self.version += 1
            services.commit_import(
                dataset=self.dataset,
                entries=[entry(segment, index, self.version) for segment, index in picks],
                title=f"{MERGE_CHANGES} changes",
                branch_name=branch,
            )
        return (
            Branch.objects.select_related("head", "dataset").get(dataset=self.dataset, name=name),
            Branch.objects.select_related("head", "dataset").get(
                dataset=self.dataset, name=self.dataset.default_branch
            ),
        )

    def merge_once(self, source: Branch, target: Branch) -> float:
        """Merge the source into the target (source wins) as a new draft: plan and write it."""

        def merge() -> None:
            result = merges.merge_prepare(source=source, target=target, strategy="override", title="merge")
            assert len(result.conflicts) == MERGE_CHANGES

        return timed(merge)

    def full_diff(self) -> float:
        """Diff the whole import against ROOT (every entry an add), streaming."""
        root = selectors.revision_resolve(dataset=self.dataset, revision="00000000000000000000000000000000")
        base = selectors.revision_resolve(dataset=self.dataset, revision=self.base.id)

        def diff() -> None:
            assert selectors.diff_entries(base=root, head=base, limit=1).total == self.size

        return timed(diff)


def build_commit(dataset: Dataset, size: int, user: User, version: int = 0) -> Commit:
    """Commit ``size`` sorted entries as the dataset's first commit on its default branch."""
    ranges, delta = ranges_apply((), (Change(e.path, e) for e in sorted_entries(size, version)))
    tree = TreeContent.build(descriptions=dict.fromkeys(SEGMENTS, ""), counts=delta, ranges=ranges)
    branch = Branch.objects.get(dataset=dataset, name=dataset.default_branch)
    commit = Commit.objects.create(
        id=uuid.uuid4().hex,
        dataset=dataset,
        tree_id=tree_save(tree),
        depth=1,
        title="import",
        committer=user,
        committed_at=timezone.now(),
        entry_count=tree.entry_count,
        total_size=tree.total_size,
    )
    branch.head = commit
    branch.save(update_fields=["head", "updated_at"])
    return commit


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def git_runs(rng: random.Random) -> dict[tuple[str, int], tuple[list[float], list[float]]]:
    """Commit the same kinds of change in a git repository of 100,000 files (one folder per segment)."""
    root = Path(tempfile.mkdtemp(prefix="bench-git-", dir=Path(__file__).resolve().parent.parent))
    try:
        repo = root / "repo"
        repo.mkdir()
        git(repo, "init", "-q")
        git(repo, "config", "user.email", "bench@example.com")
        git(repo, "config", "user.name", "bench")
        # No background gc or maintenance: it would still be writing when the repository is removed.
        git(repo, "config", "gc.auto", "0")
        git(repo, "config", "maintenance.auto", "false")
        per_segment = GIT_FILES // len(SEGMENTS)
        for segment in SEGMENTS:
            (repo / segment).mkdir()
            for index in range(per_segment):
                (repo / segment / file_name(index)).write_text(f"{segment} {index}\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "import")
        results = {}
        added = 0
        for layout, count in PATTERNS:
            half = count // 2
            commit_times, add_times = [], []
            for run in range(RUNS):
                if layout == "clustered":
                    segment = rng.choice(SEGMENTS)
                    start = rng.randrange(per_segment - half)
                    paths = [f"{segment}/{file_name(start + n)}" for n in range(half)]
                    paths += [f"{segment}/{file_name(start)}.v{run}-{n}" for n in range(count - half)]
                else:
                    picks = [rng.choice(SEGMENTS) for _ in range(count)]
                    paths = [f"{s}/{file_name(rng.randrange(per_segment))}" for s in picks[:half]]
                    paths += [f"{s}/{file_name(per_segment + added + n)}" for n, s in enumerate(picks[half:])]
                    added += count
                for path in paths:
                    (repo / path).write_text(f"{layout} {count} {run}\n")
                add_times.append(timed(lambda paths=paths: git(repo, "add", *paths)))
                commit_times.append(timed(lambda run=run: git(repo, "commit", "-q", "-m", f"change {run}")))
            results[layout, count] = (commit_times, add_times)
        return results
    finally:
        shutil.rmtree(root, ignore_errors=True)


def clean_up(workspace: Workspace, user: User) -> None:
    """Delete the scratch datasets and every tree and range only they used."""
    commits = Commit.objects.filter(dataset__workspace=workspace)
    tree_ids = set(commits.values_list("tree_id", flat=True))
    range_ids = {ref.id for tree_id in tree_ids for ref in tree_load(tree_id).ranges}
    Dataset.objects.filter(workspace=workspace).delete()
    still_used = set(Commit.objects.filter(tree_id__in=tree_ids).values_list("tree_id", flat=True))
    for tree_id in Tree.objects.exclude(pk__in=tree_ids - still_used).values_list("pk", flat=True):
        range_ids -= {ref.id for ref in tree_load(tree_id).ranges}
    Tree.objects.filter(pk__in=tree_ids - still_used).delete()
    ids = sorted(range_ids)
    for start in range(0, len(ids), 1000):
        Range.objects.filter(pk__in=ids[start : start + 1000]).delete()
    workspace.delete()
    user.delete()


def gc_pass(workspace: Workspace, user: User, live_entries: int) -> tuple[float, CollectionReport]:
    """Delete a dataset of about 1% of the live entries, then time one collection pass (no grace period)."""
    doomed = Dataset.objects.create(workspace=workspace, name=f"bench-garbage-{uuid.uuid4().hex[:8]}")
    size = max(int(live_entries * GARBAGE_SHARE) // len(SEGMENTS) * len(SEGMENTS), len(SEGMENTS))
    # Entries of their own version, so no range is shared with the live datasets: all of it is garbage.
    build_commit(doomed, size, user, version=2**31)
    doomed.delete()
    started = time.perf_counter()
    report = services.garbage_collect(grace=timedelta(0))
    return time.perf_counter() - started, report


def label(pattern: tuple[str, int]) -> str:
    return f"{pattern[0]} {pattern[1]}"


def main() -> None:
    call_command("migrate", verbosity=0)
    rng = random.Random(4)
    user = User.objects.create(username=f"bench-{uuid.uuid4().hex[:12]}")
    workspace = Workspace.objects.get(owner=user, kind=Workspace.Kind.USER)
    figures: dict[tuple[str, int], float] = {}
    samples: dict[tuple[str, int], list[float]] = defaultdict(list)
    gc_s: float | None = None
    try:
        cases = [HubCase(workspace, user, size, rng) for size in SIZES]
        # Sizes take turns within every run, so a change in the machine's load hits them alike.
        for pattern in PATTERNS:
            layout, count = pattern
            commits: dict[int, list[Commit]] = defaultdict(list)
            for _ in range(RUNS):
                for case in cases:
                    stage_s, commit_s, commit = case.commit_once(clustered=layout == "clustered", count=count)
                    samples[f"stage {label(pattern)}", case.size].append(stage_s)
                    samples[f"commit {label(pattern)}", case.size].append(commit_s)
                    commits[case.size].append(commit)
            for index in range(RUNS - 1):
                for case in cases:
                    older, newer = commits[case.size][index], commits[case.size][index + 1]
                    samples[f"diff {label(pattern)}", case.size].append(case.diff_once(older, newer, count))
        for _ in range(RUNS):
            for case in cases:
                samples["page 100", case.size].append(case.page_once())
        for layout in MERGE_LAYOUTS:
            branches = {case.size: case.merge_branches(clustered=layout == "clustered") for case in cases}
            for _ in range(RUNS):
                for case in cases:
                    samples[f"merge {layout}", case.size].append(case.merge_once(*branches[case.size]))
        for key, values in samples.items():
            figures[key] = median_ms(values)
        for case in cases:
            figures["build s", case.size] = case.build_s
            figures["diff all s", case.size] = case.full_diff()
        for pattern, (commit_s, add_s) in git_runs(rng).items():
            figures[f"commit {label(pattern)}", GIT] = median_ms(commit_s)
            figures[f"stage {label(pattern)}", GIT] = median_ms(add_s)
        gc_s, gc_report = gc_pass(workspace, user, sum(SIZES))
    finally:
        clean_up(workspace, user)
    columns = ["build s", "page 100", "diff all s"]
    columns += [f"{kind} {label(pattern)}" for pattern in PATTERNS for kind in ("stage", "commit", "diff")]
    columns += [f"merge {layout}" for layout in MERGE_LAYOUTS]
    print(f"versioning benchmark on {connection.vendor}: medians of {RUNS} runs in ms (columns ending in s: seconds)")
    print("N changes = N/2 modified + N/2 new files, clustered (one folder, side by side) or scattered (anywhere);")
    print(f"merge = squash-and-merge of two branches that changed the same {MERGE_CHANGES} paths each (all conflict)")
    print(f"the git row is a {GIT_FILES:,}-file repository: stage = git add of the files, commit = git commit")
    print(" | ".join([f"{'entries':>10}", *(f"{c:>20}" for c in columns)]))
    for size in [*SIZES, GIT]:
        name = f"{GIT_FILES // 1000}k git" if size == GIT else f"{size:,}"
        cells = [f"{figures[c, size]:20.1f}" if (c, size) in figures else f"{'-':>20}" for c in columns]
        print(" | ".join([f"{name:>10}", *cells]))

    def ratio(name: str, column: str, big: int, small: int) -> None:
        if (column, big) in figures and (column, small) in figures:
            print(f"RATIO {name}={figures[column, big] / figures[column, small]:.2f}")

    old, new = label(OLD_PATTERN), label(NEW_PATTERN)
    ratio("commit_1m_over_1k", f"commit {old}", 1_000_000, 1000)
    ratio("list_1m_over_1k", "page 100", 1_000_000, 1000)
    ratio("diff_1m_over_1k", f"diff {old}", 1_000_000, 1000)
    ratio("merge_1m_over_1k", "merge clustered", 1_000_000, 1000)
    ratio("commit_10m_over_100k", f"commit {new}", 10_000_000, 100_000)
    ratio("diff_10m_over_100k", f"diff {new}", 10_000_000, 100_000)
    ratio("list_10m_over_100k", "page 100", 10_000_000, 100_000)
    ratio("merge_10m_over_100k", "merge scattered", 10_000_000, 100_000)
    ratio("commit_vs_git_100k", f"commit {old}", 100_000, GIT)
    ratio("commit_scattered_100_vs_git_100k", f"commit {new}", 100_000, GIT)
    big = max(SIZES)
    print(f"MERGE_MS_AT_{big}={figures['merge clustered', big]:.1f}")
    if gc_s is not None:
        tallies = gc_report.tallies
        print(
            f"gc pass over {sum(SIZES):,} live entries: {tallies['trees'].deleted} trees and "
            f"{tallies['ranges'].deleted} ranges deleted ({tallies['ranges'].deleted_bytes / 1e6:.1f} MB), "
            f"{len(gc_report.errors)} errors"
        )
        print(f"gc_seconds_{'10m' if 10_000_000 in SIZES else 'largest'}={gc_s:.2f}")
    print(f"PEAK_RSS_MB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}")


if __name__ == "__main__":
    main()
