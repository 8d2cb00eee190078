"""Benchmark the versioning engine at 1,000 / 100,000 / 1,000,000 / 10,000,000 entries, and git at 100,000 files.

Run ``python bench/versioning.py``. On MariaDB (``DATABASE_URL=mysql://…/NAME``) it drops and recreates the
database ``NAME``, which must therefore be a scratch one: its name must contain ``bench``; without a MariaDB URL
it runs on a temporary SQLite file. Objects (filesystem storage) and the SQLite file go to a temporary
directory, in /dev/shm when there is one, the git repository to one on disk. At the end the database is
dropped and left empty and the directories removed, so teardown costs no row deletes.

Each dataset is one commit of sorted entries written by the tree code itself (``trees.RangeWriter``, streamed
from plain rows, without the per-object records an import also writes: ``bench/import.py`` measures imports),
so building 10M entries costs what encoding and storing its ranges costs. Each figure is the median of
``BENCH_RUNS`` runs (5), the sizes taking turns. It prints a table, then the RATIO lines, what one garbage
collection pass found and deleted and how long it took (the history of every dataset above, plus a deleted
dataset of 1% as many entries with their objects in storage: its tree, metaranges, ranges and objects are the
garbage, and the run fails unless the pass deletes exactly those), the process's peak RSS, and how long each
phase of the run took (``WALL_SECONDS`` is the whole run). The "diff all" column (every entry against the empty tree)
stops at 1M entries: it reads every entry, so it grows with the size by design, and took 2 minutes at 10M.
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
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from scratch import database_name, recreate_database

STARTED = time.perf_counter()
# Objects and the SQLite file: creating 100,000 files takes a minute on a disk here and seconds in memory.
SCRATCH = Path(tempfile.mkdtemp(prefix="bench-versioning-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))


def scratch_database() -> Callable[[], None] | None:
    """Point the run at a database of its own; on MariaDB, return what drops and recreates it empty."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("mysql://"):
        os.environ["DATABASE_URL"] = f"sqlite:///{SCRATCH / 'bench.sqlite3'}"
        return None
    if "bench" not in database_name(url):
        raise SystemExit("the bench drops DATABASE_URL's database: name a scratch one (*bench*)")
    return partial(recreate_database, url)


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
os.environ["MEDIA_ROOT"] = str(SCRATCH / "media")
os.environ["STORAGE_BACKEND"] = "filesystem"
reset_database = scratch_database()

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from datasets.models import Dataset, User, Workspace  # noqa: E402
from versioning import merges, selectors, services  # noqa: E402
from versioning.garbage import CollectionReport  # noqa: E402
from versioning.labels import NO_LABELS  # noqa: E402
from versioning.models import Branch, Commit, Metarange, Range  # noqa: E402
from versioning.trees import Entry, RangeWriter, TreeContent, ranges_build, tree_save  # noqa: E402

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
# Rows are made this many at a time, in comprehensions: a Python call per entry would cost more than the tree.
ROW_CHUNK = 10_000
# The largest dataset read whole for the "diff all" column: beyond it that diff is the size times the 1M one.
FULL_DIFF_LIMIT = 1_000_000


def file_name(index: int) -> str:
    return f"img_{index:09d}.jpg"


def entry(segment: str, index: int, version: int = 0) -> Entry:
    sha1 = f"{index:032x}{version:08x}"
    return Entry.create(
        segment=segment, remote_path=file_name(index), object_key=f"objects/{sha1}", sha1=sha1, size=1000 + index % 977
    )


def sorted_rows(size: int, version: int = 0, key_prefix: str = "objects") -> Iterator[list[list[Any]]]:
    """The stored rows of ``entry(segment, index, version)`` for ``size`` entries in path order, in chunks.

    ``key_prefix`` is the folder of their object keys (``<dataset hex id>`` for objects in a dataset's storage).
    """
    per_segment = size // len(SEGMENTS)
    suffix = f"{version:08x}"
    for segment in SEGMENTS:
        for start in range(0, per_segment, ROW_CHUNK):
            indexes = range(start, min(start + ROW_CHUNK, per_segment))
            sha1s = [f"{index:032x}{suffix}" for index in indexes]
            yield [
                [f"{segment}/img_{index:09d}.jpg", f"{key_prefix}/{sha1}", sha1, 1000 + index % 977, None, None]
                for index, sha1 in zip(indexes, sha1s, strict=True)
            ]


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


def build_commit(dataset: Dataset, size: int, user: User, version: int = 0, key_prefix: str = "objects") -> Commit:
    """Commit ``size`` sorted entries as the dataset's first commit on its default branch.

    The rows stream straight into the range writer, as a bulk import's would; the bench reads nothing of the
    ranges it gets back and has the tree code group them into metaranges.
    """
    writer = RangeWriter()
    add = writer.add
    for rows in sorted_rows(size, version, key_prefix):
        deque(map(add, rows), maxlen=0)
    per_segment = size // len(SEGMENTS)
    tree = TreeContent.build(
        descriptions=dict.fromkeys(SEGMENTS, ""),
        counts=dict.fromkeys(SEGMENTS, per_segment),
        ranges=ranges_build(writer.finish()),
        # Counted, as an import counts them: no entry has a label. Without it the first commit counts them all.
        statistics=dict.fromkeys(SEGMENTS, NO_LABELS),
    )
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
    # On disk, where its figures were first taken.
    root = Path(tempfile.mkdtemp(prefix="bench-git-"))
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


class Phases:
    """Wall-clock seconds of each phase of the run, in the order they ran."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._since = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._since
        print(f"{name}: {now - self._since:.1f} s", file=sys.stderr, flush=True)  # progress while it runs
        self._since = now


def gc_pass(workspace: Workspace, user: User, live_entries: int, phases: Phases) -> tuple[float, CollectionReport, int]:
    """Delete a dataset of 1% as many entries as live ones, with their objects in storage, and time one
    collection pass (no grace period): (its seconds, its report, how many ranges the dataset had)."""
    doomed = Dataset.objects.create(workspace=workspace, name=f"bench-garbage-{uuid.uuid4().hex[:8]}")
    size = max(int(live_entries * GARBAGE_SHARE) // len(SEGMENTS) * len(SEGMENTS), len(SEGMENTS))
    ranges_before, metaranges_before = Range.objects.count(), Metarange.objects.count()
    # Entries of their own version, so no range is shared with the live datasets: all of it is garbage.
    build_commit(doomed, size, user, version=2**31, key_prefix=doomed.hex_id)
    garbage_ranges = Range.objects.count() - ranges_before
    garbage_metaranges = Metarange.objects.count() - metaranges_before
    # Written as the filesystem storage lays them out (MEDIA_ROOT/<key>), without its per-call checks.
    folder = Path(os.environ["MEDIA_ROOT"]) / doomed.hex_id
    folder.mkdir(parents=True)
    for rows in sorted_rows(size, 2**31, doomed.hex_id):
        for row in rows:
            with open(folder / row[2], "wb") as stored:
                stored.write(b"x")
    objects = len(os.listdir(folder))  # entries of different segments share objects of equal SHA-1
    doomed.delete()
    phases.done("gc garbage")
    started = time.perf_counter()
    report = services.garbage_collect(grace=timedelta(0))
    seconds = time.perf_counter() - started
    phases.done("gc pass")
    deleted = {kind: tally.deleted for kind, tally in report.tallies.items()}
    expected = {"trees": 1, "metaranges": garbage_metaranges, "ranges": garbage_ranges, "storage objects": objects}
    if any(deleted[kind] != count for kind, count in expected.items()) or report.errors:
        raise RuntimeError(f"the pass should have deleted {expected}, deleted {deleted}: {report.errors}")
    return seconds, report, garbage_ranges


def label(pattern: tuple[str, int]) -> str:
    return f"{pattern[0]} {pattern[1]}"


def main() -> None:
    phases = Phases()
    if reset_database is not None:
        reset_database()
    call_command("migrate", verbosity=0)
    rng = random.Random(4)
    user = User.objects.create(username=f"bench-{uuid.uuid4().hex[:12]}")
    workspace = Workspace.objects.get(owner=user, kind=Workspace.Kind.USER)
    figures: dict[tuple[str, int], float] = {}
    samples: dict[tuple[str, int], list[float]] = defaultdict(list)
    gc_s: float | None = None
    phases.done("set up")
    try:
        cases = []
        for size in SIZES:
            cases.append(HubCase(workspace, user, size, rng))
            phases.done(f"build {size:,}")
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
            phases.done(f"commits {label(pattern)}")
            for index in range(RUNS - 1):
                for case in cases:
                    older, newer = commits[case.size][index], commits[case.size][index + 1]
                    samples[f"diff {label(pattern)}", case.size].append(case.diff_once(older, newer, count))
            phases.done(f"diffs {label(pattern)}")
        for _ in range(RUNS):
            for case in cases:
                samples["page 100", case.size].append(case.page_once())
        phases.done("pages")
        for layout in MERGE_LAYOUTS:
            branches = {case.size: case.merge_branches(clustered=layout == "clustered") for case in cases}
            for _ in range(RUNS):
                for case in cases:
                    samples[f"merge {layout}", case.size].append(case.merge_once(*branches[case.size]))
            phases.done(f"merges {layout}")
        for key, values in samples.items():
            figures[key] = median_ms(values)
        for case in cases:
            figures["build s", case.size] = case.build_s
            if case.size <= FULL_DIFF_LIMIT:
                figures["diff all s", case.size] = case.full_diff()
        phases.done("diffs all")
        for pattern, (commit_s, add_s) in git_runs(rng).items():
            figures[f"commit {label(pattern)}", GIT] = median_ms(commit_s)
            figures[f"stage {label(pattern)}", GIT] = median_ms(add_s)
        phases.done("git")
        gc_s, gc_report, garbage_ranges = gc_pass(workspace, user, sum(SIZES), phases)
    finally:
        connection.close()
        if reset_database is not None:
            reset_database()
        shutil.rmtree(SCRATCH, ignore_errors=True)
        phases.done("tear down")
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
        deleted = ", ".join(
            f"{tally.deleted} {kind} ({tally.deleted_bytes / 1e6:.1f} MB)" for kind, tally in tallies.items()
        )
        print(
            f"gc pass over {sum(SIZES):,} live entries and a deleted dataset of {garbage_ranges} ranges: "
            f"deleted {deleted}"
        )
        print(f"gc errors: {len(gc_report.errors)}, unreachable but kept: {sum(t.kept for t in tallies.values())}")
        print(f"gc_seconds_{'10m' if 10_000_000 in SIZES else 'largest'}={gc_s:.2f}")
    print(f"PEAK_RSS_MB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}")
    print("phases (s): " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in phases.seconds.items()))
    print(f"WALL_SECONDS={time.perf_counter() - STARTED:.0f}")


if __name__ == "__main__":
    main()
