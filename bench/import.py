"""Benchmark ``import_files`` against the fastest raw multi-row INSERT of the same rows (issue #8).

    python bench/import.py [--entries 100000] [--repeat 3] [--million]

Runs on the database ``DATABASE_URL`` names (MariaDB when it points at one; it is migrated first). It writes
a JSON Lines file of ``--entries`` entries, imports it with ``manage.py import_files`` into a scratch dataset,
then inserts the same rows into a scratch table with the driver's ``executemany`` (mysqlclient turns it into
multi-row INSERTs as large as ``max_allowed_packet`` allows; sqlite3 reuses one prepared statement), timing
only the INSERTs, in one transaction. Both are measured ``--repeat`` times on fresh rows and the fastest run
of each counts, which keeps a busy machine's noise out of the ratio. It prints a table,
``RATIO import_vs_raw_insert=<x>`` (hub rows/s over raw rows/s) and ``PEAK_RSS_MB=<n>`` (the process's peak
resident memory after those runs). With ``--million`` it also imports 1,000,000 entries into another dataset
while sampling resident memory, and prints the samples' spread, to show memory stays flat. Everything it
creates (rows, ranges, trees, tables, files) is removed at the end. It prints figures; nothing is a pass or fail.
"""

import argparse
import hashlib
import io
import json
import os
import resource
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from datasets import services  # noqa: E402
from datasets.models import Dataset, User, Workspace  # noqa: E402
from versioning.models import Commit, Range, Tree  # noqa: E402
from versioning.trees import tree_load  # noqa: E402

RAW_BATCH = 10_000
MILLION = 1_000_000
RSS_SAMPLE_SECONDS = 0.2


def write_source(path: Path, count: int, run: str) -> None:
    """Write ``count`` import_files records whose paths and SHA-1s belong to this run only."""
    with path.open("w", encoding="utf-8") as out:
        for number in range(count):
            sha1 = hashlib.sha1(f"{run}:{number}".encode()).hexdigest()
            record = {"path": f"{run}/img-{number:07d}.jpg", "object": f"objects/{sha1}", "size": number, "sha1": sha1}
            out.write(json.dumps(record) + "\n")


def source_rows(path: Path) -> Iterator[list[tuple[str, str, str, int, None]]]:
    """The same records as table rows, a batch at a time."""
    batch: list[tuple[str, str, str, int, None]] = []
    with path.open(encoding="utf-8") as source:
        for line in source:
            record = json.loads(line)
            batch.append((record["path"], record["object"], record["sha1"], record["size"], None))
            if len(batch) == RAW_BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """The process's resident memory now."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


def timed_import(dataset: Dataset, source: Path, samples: list[float] | None = None) -> float:
    """Run import_files on the file and return its wall time; optionally sample resident memory meanwhile."""
    done = threading.Event()

    def sample() -> None:
        while not done.wait(RSS_SAMPLE_SECONDS):
            samples.append(current_rss_mb())  # type: ignore[union-attr]

    sampler = threading.Thread(target=sample, daemon=True)
    if samples is not None:
        sampler.start()
    started = time.perf_counter()
    call_command(
        "import_files",
        f"{dataset.workspace.name}/{dataset.name}",
        str(source),
        "--progress-every",
        str(10**9),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    elapsed = time.perf_counter() - started
    done.set()
    if samples is not None:
        sampler.join()
    return elapsed


def timed_raw_insert(table: str, source: Path) -> float:
    """Insert the file's rows into the scratch table with executemany; return the time spent inserting."""
    quote = connection.ops.quote_name
    statement = f"INSERT INTO {quote(table)} (path, object_key, sha1, size, label) VALUES (%s, %s, %s, %s, %s)"
    spent = 0.0
    with transaction.atomic(), connection.cursor() as cursor:
        for batch in source_rows(source):
            started = time.perf_counter()
            cursor.executemany(statement, batch)
            spent += time.perf_counter() - started
        # The commit (at the end of the block) is part of the raw write, as the import's is.
        committing = time.perf_counter()
    return spent + time.perf_counter() - committing


def create_table(table: str) -> None:
    """A table shaped like staged entries: path, object key, SHA-1, size and label."""
    quote = connection.ops.quote_name
    mysql = connection.vendor == "mysql"
    path_type = "VARCHAR(700) COLLATE utf8mb4_bin" if mysql else "VARCHAR(700)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {quote(table)} (id BIGINT PRIMARY KEY {'AUTO_INCREMENT' if mysql else ''},"
            f" path {path_type} NOT NULL UNIQUE, object_key VARCHAR(1024) NOT NULL, sha1 CHAR(40) NOT NULL,"
            " size BIGINT NOT NULL, label TEXT NULL)"
        )


def clean_up(workspace: Workspace, owner: User, tables: list[str]) -> None:
    """Remove the run's datasets with their commits, trees and ranges, the workspace, the user and the tables."""
    trees = set(Commit.objects.filter(dataset__workspace=workspace).values_list("tree_id", flat=True))
    ranges = {ref.id for tree_id in trees for ref in tree_load(tree_id).ranges()}
    for dataset in Dataset.objects.filter(workspace=workspace):
        services.dataset_delete(dataset=dataset)
    # Paths and SHA-1s carry the run id, so no other tree can share these ranges.
    Tree.objects.filter(pk__in=trees).delete()
    for start in range(0, len(ranges), RAW_BATCH):
        Range.objects.filter(pk__in=sorted(ranges)[start : start + RAW_BATCH]).delete()
    workspace.delete()
    owner.delete()
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(table)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000, help="entries to import and insert (default 100000)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="measure both paths this many times and keep the fastest (default 3)"
    )
    parser.add_argument("--million", action="store_true", help="also import 1,000,000 entries and sample memory")
    options = parser.parse_args()

    call_command("migrate", verbosity=0)
    run = f"bench-{uuid.uuid4().hex[:12]}"
    table = f"bench_import_raw_{run[6:]}"
    owner = services.user_get_or_create(username=run)
    workspace = services.workspace_get_or_create(name=run, owner=owner)
    with tempfile.TemporaryDirectory() as directory:
        try:
            import_times, raw_times = [], []
            for attempt in range(options.repeat):
                # A fresh file (paths and SHA-1s) per attempt, so no attempt finds ranges an earlier one stored.
                source = Path(directory) / f"entries-{attempt}.jsonl"
                write_source(source, options.entries, f"{run}-{attempt}")
                dataset = services.dataset_create(workspace=workspace, creator=owner, name=f"import-{attempt}")
                import_times.append(timed_import(dataset, source))
                create_table(f"{table}_{attempt}")
                raw_times.append(timed_raw_insert(f"{table}_{attempt}", source))
                source.unlink()
            peak = peak_rss_mb()
            import_seconds, raw_seconds = min(import_times), min(raw_times)
            hub_rate, raw_rate = options.entries / import_seconds, options.entries / raw_seconds
            million: tuple[float, list[float]] | None = None
            if options.million:
                big = Path(directory) / "million.jsonl"
                write_source(big, MILLION, f"{run}-m")
                big_dataset = services.dataset_create(workspace=workspace, creator=owner, name="million")
                samples: list[float] = []
                million = (timed_import(big_dataset, big, samples), samples)
        finally:
            clean_up(workspace, owner, [f"{table}_{attempt}" for attempt in range(options.repeat)])

    version = getattr(connection, "mysql_version", ())
    print(f"database: {connection.vendor} {'.'.join(map(str, version))}".strip())
    print(f"{'path':<34}{'rows':>10}{'seconds':>10}{'rows/s':>12}")
    print(f"fastest of {options.repeat} runs each")
    print(f"{'import_files (one commit)':<34}{options.entries:>10}{import_seconds:>10.2f}{hub_rate:>12.0f}")
    print(f"{'raw multi-row INSERT':<34}{options.entries:>10}{raw_seconds:>10.2f}{raw_rate:>12.0f}")
    if million is not None:
        seconds, samples = million
        quarter = max(1, len(samples) // 4)
        print(f"{'import_files, 1,000,000 entries':<34}{MILLION:>10}{seconds:>10.2f}{MILLION / seconds:>12.0f}")
        print(
            f"RSS_MB during the 1,000,000 import: first quarter max {max(samples[:quarter], default=0):.0f}, "
            f"last quarter max {max(samples[-quarter:], default=0):.0f}, overall max {max(samples, default=0):.0f} "
            f"({len(samples)} samples)"
        )
    print(f"RATIO import_vs_raw_insert={hub_rate / raw_rate:.2f}")
    print(f"PEAK_RSS_MB={peak:.0f}")


if __name__ == "__main__":
    main()
