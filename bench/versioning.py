"""Benchmark the versioning engine at 1,000 / 100,000 / 1,000,000 entries, and git at 100,000 files.

Run ``python bench/versioning.py`` (MariaDB when DATABASE_URL points at it, SQLite otherwise). Datasets are
built through the bulk path (``services.commit_import``); each figure is the median of several runs. It
prints a table, then the RATIO lines and the process's peak RSS. Everything it creates is removed at the end.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from datasets.models import Dataset, User, Workspace  # noqa: E402
from versioning import merges, selectors, services  # noqa: E402
from versioning.models import Branch, Commit, Range, Tree  # noqa: E402
from versioning.trees import Entry, tree_load  # noqa: E402

# BENCH_SIZES (comma-separated) runs a quicker subset; the RATIO lines compare the largest with the smallest.
SIZES = tuple(int(n) for n in os.environ.get("BENCH_SIZES", "1000,100000,1000000").split(","))
PATTERNS = ("clustered", "scattered")
RATIO_PATTERN = "clustered"
GIT = -1  # the git row's key in the figures
SEGMENTS = ("test", "train", "val", "zoo")
RUNS = 9
CHANGED = 10
# A merge: each side changes the same MERGE_CHANGES paths differently, so every one of them conflicts.
MERGE_CHANGES = 100
PAGE = 100
GIT_FILES = 100_000


def file_name(index: int) -> str:
    return f"img_{index:09d}.jpg"


def entry(segment: str, index: int, version: int = 0) -> Entry:
    sha1 = f"{index:032x}{version:08x}"
    return Entry.create(
        segment=segment, remote_path=file_name(index), object_key=f"objects/{sha1}", sha1=sha1, size=1000 + index % 977
    )


def sorted_entries(size: int) -> Iterator[Entry]:
    per_segment = size // len(SEGMENTS)
    for segment in SEGMENTS:
        for index in range(per_segment):
            yield entry(segment, index)


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
        self.base = services.commit_import(
            dataset=self.dataset, entries=sorted_entries(self.size), title="import", presorted=True, committer=self.user
        )

    def ten_changes(self, clustered: bool) -> list[Entry]:
        """Five modified and five new files: next to each other in one folder, or scattered over the dataset."""
        self.version += 1
        if clustered:
            segment = self.rng.choice(SEGMENTS)
            start = self.rng.randrange(self.per_segment - 5)
            modified = [entry(segment, start + n, self.version) for n in range(5)]
            added = [
                Entry.create(
                    segment=segment,
                    remote_path=f"{file_name(start)}.v{self.version}-{n}",
                    object_key=f"objects/new{self.version}-{n}",
                    sha1=f"{self.version:032x}{n:08x}",
                    size=1000,
                )
                for n in range(5)
            ]
            return modified + added
        picks = [(self.rng.choice(SEGMENTS), self.rng.randrange(self.per_segment)) for _ in range(CHANGED)]
        modified = [entry(segment, index, self.version) for segment, index in picks[:5]]
        added = [
            entry(segment, self.per_segment + self.version * CHANGED + n) for n, (segment, _) in enumerate(picks[5:])
        ]
        return modified + added

    def commit_once(self, clustered: bool) -> tuple[float, float, Commit]:
        """Stage ten changes in a new draft and commit it: (stage seconds, commit seconds, the commit)."""
        draft = services.draft_create(dataset=self.dataset, title="ten files", creator=self.user)
        changes = self.ten_changes(clustered)
        stage_s = timed(lambda: services.draft_stage_upserts(draft=draft, entries=changes))
        started = time.perf_counter()
        commit = services.draft_commit(draft=draft, title="ten files", committer=self.user)
        return stage_s, time.perf_counter() - started, commit

    def page_once(self) -> float:
        """Read a page of 100 entries at a random offset of a segment at the (old) import commit."""
        old = selectors.revision_resolve(dataset=self.dataset, revision=self.base.id)
        segment = self.rng.choice(SEGMENTS)
        offset = self.rng.randrange(self.per_segment - PAGE)

        def page() -> None:
            assert len(selectors.entry_list(revision=old, segment=segment, offset=offset, limit=PAGE).items) == PAGE

        return timed(page)

    def diff_once(self, older: Commit, newer: Commit) -> float:
        """Diff two commits ten changes apart."""
        base = selectors.revision_resolve(dataset=self.dataset, revision=older.id)
        head = selectors.revision_resolve(dataset=self.dataset, revision=newer.id)

        def diff() -> None:
            assert selectors.diff_entries(base=base, head=head).total == CHANGED

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
            picks = [(segment, index) for segment in SEGMENTS for index in range(self.per_segment)]
            picks = self.rng.sample(picks, MERGE_CHANGES)
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


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def git_runs(rng: random.Random) -> dict[str, tuple[list[float], list[float]]]:
    """Commit the same kinds of ten-file change in a git repository of 100,000 files (one folder per segment)."""
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
        for pattern in PATTERNS:
            commit_times, add_times = [], []
            for run in range(RUNS):
                if pattern == "clustered":
                    segment = rng.choice(SEGMENTS)
                    start = rng.randrange(per_segment - 5)
                    paths = [f"{segment}/{file_name(start + n)}" for n in range(5)]
                    paths += [f"{segment}/{file_name(start)}.v{run}-{n}" for n in range(5)]
                else:
                    picks = [rng.choice(SEGMENTS) for _ in range(CHANGED)]
                    paths = [f"{s}/{file_name(rng.randrange(per_segment))}" for s in picks[:5]]
                    paths += [f"{s}/{file_name(per_segment + run * CHANGED + n)}" for n, s in enumerate(picks[5:])]
                for path in paths:
                    (repo / path).write_text(f"{pattern} {run}\n")
                add_times.append(timed(lambda paths=paths: git(repo, "add", *paths)))
                commit_times.append(timed(lambda run=run: git(repo, "commit", "-q", "-m", f"ten files {run}")))
            results[pattern] = (commit_times, add_times)
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


def main() -> None:
    call_command("migrate", verbosity=0)
    rng = random.Random(4)
    user = User.objects.create(username=f"bench-{uuid.uuid4().hex[:12]}")
    workspace = Workspace.objects.get(owner=user, kind=Workspace.Kind.USER)
    figures: dict[tuple[str, int], float] = {}
    samples: dict[tuple[str, int], list[float]] = defaultdict(list)
    try:
        cases = [HubCase(workspace, user, size, rng) for size in SIZES]
        # Sizes take turns within every run, so a change in the machine's load hits them alike.
        for pattern in PATTERNS:
            commits: dict[int, list[Commit]] = defaultdict(list)
            for _ in range(RUNS):
                for case in cases:
                    stage_s, commit_s, commit = case.commit_once(clustered=pattern == "clustered")
                    samples[f"stage {pattern}", case.size].append(stage_s)
                    samples[f"commit {pattern}", case.size].append(commit_s)
                    commits[case.size].append(commit)
            for index in range(RUNS - 1):
                for case in cases:
                    older, newer = commits[case.size][index], commits[case.size][index + 1]
                    samples[f"diff {pattern}", case.size].append(case.diff_once(older, newer))
        for _ in range(RUNS):
            for case in cases:
                samples["page 100", case.size].append(case.page_once())
        for pattern in PATTERNS:
            branches = {case.size: case.merge_branches(clustered=pattern == "clustered") for case in cases}
            for _ in range(RUNS):
                for case in cases:
                    samples[f"merge {pattern}", case.size].append(case.merge_once(*branches[case.size]))
        for key, values in samples.items():
            figures[key] = median_ms(values)
        for case in cases:
            figures["import s", case.size] = case.build_s
            figures["diff all s", case.size] = case.full_diff()
        for pattern, (commit_s, add_s) in git_runs(rng).items():
            figures[f"commit {pattern}", GIT] = median_ms(commit_s)
            figures[f"stage {pattern}", GIT] = median_ms(add_s)
    finally:
        clean_up(workspace, user)
    columns = ["import s", "page 100", "diff all s"]
    columns += [f"{kind} {pattern}" for pattern in PATTERNS for kind in ("stage", "commit", "diff", "merge")]
    print(f"versioning benchmark on {connection.vendor}: medians of {RUNS} runs in ms (columns ending in s: seconds)")
    print("10 changes = 5 modified + 5 new files, clustered (one folder, side by side) or scattered (anywhere);")
    print(f"merge = squash-and-merge of two branches that changed the same {MERGE_CHANGES} paths each (all conflict)")
    print(f"the git row is a {GIT_FILES:,}-file repository: stage = git add of the 10 files, commit = git commit")
    print(" | ".join([f"{'entries':>9}", *(f"{c:>16}" for c in columns)]))
    for size in [*SIZES, GIT]:
        label = f"{GIT_FILES:,} git" if size == GIT else f"{size:,}"
        cells = [f"{figures[c, size]:16.1f}" if (c, size) in figures else f"{'-':>16}" for c in columns]
        print(" | ".join([f"{label:>9}", *cells]))
    big, small, pattern = max(SIZES), min(SIZES), RATIO_PATTERN
    print(f"RATIO commit_1m_over_1k={figures[f'commit {pattern}', big] / figures[f'commit {pattern}', small]:.2f}")
    print(f"RATIO list_1m_over_1k={figures['page 100', big] / figures['page 100', small]:.2f}")
    print(f"RATIO diff_1m_over_1k={figures[f'diff {pattern}', big] / figures[f'diff {pattern}', small]:.2f}")
    print(f"RATIO merge_1m_over_1k={figures[f'merge {pattern}', big] / figures[f'merge {pattern}', small]:.2f}")
    print(f"MERGE_MS_AT_{big}={figures[f'merge {pattern}', big]:.1f}")
    same_size = GIT_FILES if GIT_FILES in SIZES else big
    git_ratio = figures[f"commit {pattern}", same_size] / figures[f"commit {pattern}", GIT]
    print(f"RATIO commit_vs_git_100k={git_ratio:.2f}")
    print(f"PEAK_RSS_MB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}")


if __name__ == "__main__":
    main()
