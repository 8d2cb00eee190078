"""Throughput of five list pages against a bare WSGI app running the same SQL (issue #10, issue #18).

    python bench/api.py [--datasets 10000] [--rounds 3] [--duration 4] [--connections 8]

It drops and recreates the MariaDB database ``BENCH_DATABASE_URL`` names (default
``mysql://root@127.0.0.1:3306/datasethub_bench_api``), migrates it and loads ``--datasets`` datasets with bulk
inserts (public and private, hidden and featured, tags, licences, whale.run files, branches; some with
commits, one with a page of entries for TensorBay's ``data/details``, and a Graviti sheet of 100,000 rows whose
128-row page in the middle is ``graviti_sheet_data``). It captures the SQL the hub runs
for each measured page (list cache off), then starts on loopback, over plain HTTP, with the same gunicorn
settings: the hub with the list cache on (Redis ``BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379/15``),
the hub with the list cache off, and ``bench/bare.py`` replaying that SQL. ``wrk`` drives each page on each
server in turn for ``--duration`` seconds, ``--rounds`` times (interleaved, so a noisy neighbour hurts every
server alike); medians count. It prints requests/s and p99 latency per page and server, a ``CACHE`` line per
page (cache on against off) and ``RATIO <page>_vs_bare=<x>`` (hub with its default settings, requests/s over
the bare app's). Rate limits are off and DEBUG is off. It prints figures; nothing is a pass or fail.
"""

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/datasethub_bench_api")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
# Two cores: a worker per core plus one, each with a few threads to overlap waits on the database.
WORKERS, THREADS = 3, 4
SERVER_ENV = {
    "DATABASE_URL": DATABASE_URL,
    "DB_CONN_MAX_AGE": "60",
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    "LOG_LEVEL": "WARNING",
    "RATE_LIMIT_PER_KEY": "0",
    "RATE_LIMIT_PER_ADDRESS": "0",
    "REDIS_URL": REDIS_URL,
}
ENTRIES = 1000
SHEET_ROWS = 100_000
SHEET_AVRO = json.dumps(
    {
        "type": "record",
        "name": "root",
        "fields": [{"name": "id", "type": ["null", "long"]}, {"name": "name", "type": ["null", "string"]}],
    }
)

sys.path.insert(0, str(ROOT))
os.environ.update({"DJANGO_SETTINGS_MODULE": "project.settings", **SERVER_ENV, "LIST_CACHE_SECONDS": "0"})


def recreate_database() -> None:
    """Drop and create the bench database, so every run starts from the same rows."""
    import MySQLdb

    url = urlsplit(DATABASE_URL)
    name = url.path.lstrip("/")
    if not re.fullmatch(r"\w+", name):
        raise SystemExit(f"BENCH_DATABASE_URL must name a plain database: {name!r}")
    server = MySQLdb.connect(
        host=url.hostname or "127.0.0.1",
        port=url.port or 3306,
        user=unquote(url.username or "root"),
        password=unquote(url.password or ""),
    )
    with server.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    server.close()


recreate_database()
# Static files are not served here; WhiteNoise's warning about their missing directory is noise.
warnings.filterwarnings("ignore", message="No directory at")

import django  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from datasets import services  # noqa: E402
from datasets.models import Dataset, DatasetFile, Licence, Tag, TagCategory, User, Workspace  # noqa: E402
from versioning import services as versioning  # noqa: E402
from versioning import sheets  # noqa: E402
from versioning.models import Branch  # noqa: E402
from versioning.trees import Entry  # noqa: E402


@dataclass(frozen=True)
class Page:
    """One measured page: its name in the RATIO line, its path with query, and whether it sends the key."""

    name: str
    path: str
    keyed: bool


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def entries(count: int, segment: str) -> list[Entry]:
    return [
        Entry.create(
            segment=segment, remote_path=f"img-{n:05d}.jpg", object_key=f"objects/{segment}-{n}",
            sha1=sha1(f"{segment}{n}"), size=1000 + n, label={"CLASSIFICATION": {"category": f"c{n % 10}"}},
        )
        for n in range(count)
    ]  # fmt: skip


def load(count: int) -> tuple[list[Page], str]:
    """Load the catalog; return the measured pages and the access key they send."""
    rng = random.Random(10)
    owner = services.user_get_or_create(username="bench")
    team = services.workspace_get_or_create(name="bench-team", owner=owner)
    creators = [owner] + [services.user_get_or_create(username=f"user{n:02d}") for n in range(49)]
    workspaces = [team] + [services.personal_workspace(user=user) for user in creators[1:]]
    licences = [Licence.objects.create(name=name) for name in ("MIT", "CC-BY-4.0", "CC0-1.0", "Apache-2.0")]
    tags = [
        Tag.objects.create(category=category, name=value)
        for category in [TagCategory.objects.create(name=name) for name in ("数据类型", "应用场景", "任务")]
        for value in ("图片", "文本", "语音", "视频")
    ]
    with transaction.atomic():
        rows = [
            Dataset(
                workspace=workspaces[0] if n % 5 == 0 else rng.choice(workspaces),
                creator=rng.choice(creators),
                name=f"dataset-{n:05d}",
                alias=f"Dataset {n}" if n % 2 else "",
                title=f"Dataset number {n}",
                description=f"Rows of sample data, batch {n % 97}.",
                licence=rng.choice([None, *licences]),
                data_type=rng.choice(Dataset.DataType.values),
                is_public=n % 10 < 7,
                hidden=n % 50 == 0,
                featured=n % 40 == 0,
                total_votes=rng.randrange(100),
                total_comments=rng.randrange(20),
            )
            for n in range(count)
        ]
        Dataset.objects.bulk_create(rows, batch_size=1000)
        datasets = list(Dataset.objects.order_by("pk"))
        Branch.objects.bulk_create([Branch(dataset=dataset, name="main") for dataset in datasets], batch_size=2000)
        Dataset.tags.through.objects.bulk_create(
            [
                Dataset.tags.through(dataset_id=dataset.pk, tag_id=tag.pk)
                for dataset in datasets
                for tag in rng.sample(tags, rng.randrange(4))
            ],
            batch_size=5000,
        )
        DatasetFile.objects.bulk_create(
            [
                DatasetFile(
                    user_id=dataset.creator_id, name=f"part-{part}.csv", oss_object=f"files/{dataset.pk}/{part}",
                    size=1000, sha1=sha1(f"{dataset.pk}/{part}"), dataset=dataset,
                )
                for dataset in datasets[::3]
                for part in range(2)
            ],
            batch_size=5000,
        )  # fmt: skip
    # The newest datasets, which the lists show first, carry commits; one holds a page of entries.
    for dataset in datasets[-300:]:
        versioning.commit_import(dataset=dataset, entries=entries(3, "train"), title="import", committer=owner)
    details = services.dataset_create(workspace=team, creator=owner, name="details", is_public=True)
    versioning.commit_import(dataset=details, entries=entries(ENTRIES, "images"), title="import", committer=owner)
    sheet_commit = load_sheet(team, owner)
    key = services.access_key_create(user=owner, workspace=team)[1]
    pages = [
        Page("whalerun_list", "/api/datasets/?page=1&per_page=20", keyed=False),
        Page("aidmp_list", "/aids/aidmp/data/v1/datasets?page=1&page_size=10", keyed=False),
        Page(
            "tensorbay_data_details",
            f"/v1/datasets/{details.hex_id}/data/details?commit=main&segmentName=images",
            keyed=True,
        ),
        Page("graviti_dataset_list", "/v2/datasets?offset=0&limit=128", keyed=True),
        Page(
            "graviti_sheet_data",
            f"/v2/datasets/bench-team/sheet/commits/{sheet_commit}/sheets/train/data?offset=50048&limit=128",
            keyed=True,
        ),
    ]
    return pages, key


def load_sheet(team: Workspace, owner: User) -> str:
    """A Graviti dataset whose sheet ``train`` holds ``SHEET_ROWS`` rows; return the commit that has them."""
    dataset = services.dataset_create(workspace=team, creator=owner, name="sheet", is_public=True)
    draft = versioning.draft_create(dataset=dataset, title="sheet", creator=owner)
    schema = sheets.schema_texts(portex="type: record\nfields: []\n", avro=SHEET_AVRO)
    versioning.sheet_create(draft=draft, name="train", schema=schema)
    versioning.draft_commit(draft=draft, title="sheet", committer=owner)
    rows = (
        Entry(f"train/{sheets.record_key(n)}", "", "", 0, {"id": n, "name": f"row {n}"}, None)
        for n in range(1, SHEET_ROWS + 1)
    )
    return versioning.commit_import(dataset=dataset, entries=rows, title="rows", presorted=True, checked=True).id


def capture(pages: list[Page], key: str) -> dict[str, list[str]]:
    """The statements the hub runs for each page, once warm (the key's last use is already recorded)."""
    client = Client(HTTP_HOST="127.0.0.1")
    plan = {}
    for page in pages:
        headers = {"X-Token": key} if page.keyed else {}
        assert client.get(page.path, headers=headers).status_code == 200, page.path
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page.path, headers=headers).status_code == 200, page.path
        plan[page.path] = [query["sql"] for query in queries.captured_queries]
    return plan


def start(name: str, app: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start gunicorn with the bench's settings and wait until it answers."""
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
            "--workers", str(WORKERS), "--threads", str(THREADS), "--chdir", str(ROOT), "--log-level", "warning",
        ],
        env={**os.environ, **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
        except urllib.error.HTTPError:
            return server
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start: {log.read_text()}") from None
            time.sleep(0.3)
        else:
            return server


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Run:
    requests_per_second: float
    p99_ms: float
    errors: int


def to_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def drive(url: str, script: Path, duration: int, connections: int) -> Run:
    """One wrk run; non-2xx answers and socket errors are counted, not hidden."""
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    )
    return Run(rps, p99, errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=4, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    started = time.monotonic()
    call_command("migrate", verbosity=0)
    migrated = time.monotonic()
    pages, key = load(args.datasets)
    loaded = time.monotonic()
    cache.clear()
    plan = capture(pages, key)
    print(f"database {urlsplit(DATABASE_URL).path.lstrip('/')}: migrated in {migrated - started:.1f} s, "
          f"{args.datasets} datasets loaded in {loaded - migrated:.1f} s")  # fmt: skip
    print(f"gunicorn gthread, {WORKERS} workers x {THREADS} threads per server, on {os.cpu_count()} cores; "
          f"wrk -t2 -c{args.connections} -d{args.duration}s, {args.rounds} interleaved rounds, medians")  # fmt: skip
    for page in pages:
        print(f"  {page.name}: {page.path} ({len(plan[page.path])} statements)")
    connection.close()
    with tempfile.TemporaryDirectory(prefix="bench-api-") as scratch:
        directory = Path(scratch)
        (directory / "static").mkdir()
        plan_path = directory / "plan.json"
        plan_path.write_text(json.dumps(plan), encoding="utf-8")
        files = {"MEDIA_ROOT": str(directory / "media"), "STATIC_ROOT": str(directory / "static")}
        servers_env = {
            "hub": {"LIST_CACHE_SECONDS": "60", **files},
            "hub_nocache": {"LIST_CACHE_SECONDS": "0", **files},
            "bare": {"BENCH_BARE_PLAN": str(plan_path), "BENCH_BARE_DATABASE": DATABASE_URL},
        }
        apps = {
            "hub": "project.wsgi:application",
            "hub_nocache": "project.wsgi:application",
            "bare": "bench.bare:application",
        }
        ports = {name: free_port() for name in servers_env}
        servers = [
            start(name, apps[name], ports[name], env, directory / f"{name}.log") for name, env in servers_env.items()
        ]
        try:
            scripts = {}
            for keyed in (False, True):
                script = directory / f"headers-{keyed}.lua"
                script.write_text(f'wrk.headers["X-Token"] = "{key}"\n' if keyed else "\n", encoding="utf-8")
                scripts[keyed] = script
            runs: dict[tuple[str, str], list[Run]] = {}
            for page in pages:
                for port in ports.values():  # warm every worker's connections and caches
                    drive(f"http://127.0.0.1:{port}{page.path}", scripts[page.keyed], 1, args.connections)
            for round_number in range(args.rounds):
                for page in pages:
                    order = list(ports) if round_number % 2 == 0 else list(reversed(ports))
                    for name in order:
                        url = f"http://127.0.0.1:{ports[name]}{page.path}"
                        run = drive(url, scripts[page.keyed], args.duration, args.connections)
                        runs.setdefault((page.name, name), []).append(run)
        finally:
            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(timeout=30)
    print(f"{'page':<26}{'server':<13}{'requests/s':>12}{'p99 ms':>10}{'errors':>8}")
    medians: dict[tuple[str, str], float] = {}
    for (page_name, name), page_runs in runs.items():
        medians[page_name, name] = statistics.median(run.requests_per_second for run in page_runs)
        p99 = statistics.median(run.p99_ms for run in page_runs)
        errors = sum(run.errors for run in page_runs)
        print(f"{page_name:<26}{name:<13}{medians[page_name, name]:>12.1f}{p99:>10.1f}{errors:>8}")
    for page in pages:
        on, off = medians[page.name, "hub"], medians[page.name, "hub_nocache"]
        print(f"CACHE {page.name} on={on:.1f} off={off:.1f} speedup={on / off:.2f}")
    for page in pages:
        print(f"RATIO {page.name}_vs_bare={medians[page.name, 'hub'] / medians[page.name, 'bare']:.2f}")
    print(f"elapsed {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
