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

Then the cold measurement (issue #20): the list cache and the per-caller memo off (``LIST_CACHE_SECONDS=0``),
and every page asked for over many distinct URLs (pages, orders, filters, sheet rows) with several access or
signing keys, so no layer can answer from memory; each signed institution request carries a fresh signature. The
bare app replays the SQL the hub ran for each of those (URL, key) requests and, for pages with signed
download URLs, signs as many URLs with the hub's own primitive. It prints, per page, requests/s and p99 of
the hub and the bare app, the hub's statements per request, and ``RATIO <page>_cold_vs_bare=<x>``. With
``--baseline REV`` a checkout of that revision serves the same cold requests beside them (``before``), so a
change is measured side by side in one run: ``RATIO <page>_cold_before_vs_bare`` and ``COLD <page>
before=… after=… speedup=…``. ``--cold-only`` skips today's single-URL lines.
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
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from scratch import recreate_database

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


recreate_database(DATABASE_URL)
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


@dataclass(frozen=True)
class ColdRequest:
    """One request of a cold page: a path with query and the key it sends (``X-Token``, or an institution
    ``SecretId`` with its secret, signed afresh for every request)."""

    path: str
    token: str = ""
    secret_id: str = ""
    secret: str = ""

    def signed(self, timestamp_ms: int) -> str:
        """The path with ``SecretId``, ``Timestamp`` and ``Signature`` for this moment."""
        query = dict(parse_qsl(urlsplit(self.path).query))
        query |= {"SecretId": self.secret_id, "Timestamp": str(timestamp_ms)}
        canonical = "&".join(f"{name}={quote(value, safe='')}" for name, value in sorted(query.items()))
        signature = services.signature_compute(secret=self.secret, message=canonical)
        return f"{urlsplit(self.path).path}?{urlencode(query | {'Signature': signature})}"

    def plan_path(self) -> str:
        """The path the bare app looks the request's statements up by: signed requests by their SecretId."""
        return (
            f"{self.path}{'&' if '?' in self.path else '?'}SecretId={self.secret_id}" if self.secret_id else self.path
        )


@dataclass(frozen=True)
class ColdPage:
    """A page measured cold: its name and the distinct requests it is asked for."""

    name: str
    requests: list[ColdRequest]


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
    cold_pages = cold_load(owner=owner, team=team, details=details, datasets=datasets, sheet_commit=sheet_commit)
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
    return pages, key, cold_pages


COLD_KEYS = 6


def cold_load(*, owner: Any, team: Any, details: Dataset, datasets: list[Dataset], sheet_commit: str) -> list[ColdPage]:
    """The cold pages: each over many distinct URLs, spread over ``COLD_KEYS`` keys of the team's owner."""
    tokens = [services.access_key_create(user=owner, workspace=team)[1] for _ in range(COLD_KEYS)]
    signing = [services.signing_key_create(user=owner, workspace=team) for _ in range(COLD_KEYS)]
    orders = ["", "&order_by=-id", "&order_by=title", "&order_by=-total_votes", "&featured=0", "&hidden=0"]
    whalerun = [f"/api/datasets/?page={page}&per_page=20{order}" for page in range(1, 9) for order in orders]
    aidmp = [f"/aids/aidmp/data/v1/datasets?page={page}&page_size={size}" for page in range(1, 13) for size in (10, 20)]
    institution = [
        f"/api/v1/datasets?limit=20&offset={offset}{kind}" for offset in range(0, 200, 20) for kind in ("", "&type=0")
    ]
    segment = f"/v1/datasets/{details.hex_id}/data/details?segmentName=images"
    details_paths = [f"{segment}&commit=main&offset={offset}&limit=128" for offset in range(0, ENTRIES, 128)]
    with_commits = [dataset for dataset in datasets[-300:] if dataset.workspace_id == team.pk][:12]
    commits = [f"/v1/datasets/{dataset.hex_id}/commits?offset=0&limit=128" for dataset in with_commits]
    graviti = [f"/v2/datasets?offset={offset}&limit={limit}" for offset in range(0, 1280, 128) for limit in (128, 64)]
    sheet = f"/v2/datasets/bench-team/sheet/commits/{sheet_commit}/sheets/train/data"
    sheet_rows = [f"{sheet}?offset={offset}&limit=128" for offset in range(0, SHEET_ROWS, SHEET_ROWS // 24)]

    def keyed(paths: list[str]) -> list[ColdRequest]:
        return [ColdRequest(path, token=tokens[n % len(tokens)]) for n, path in enumerate(paths)]

    return [
        ColdPage("whalerun_list", [ColdRequest(path) for path in whalerun]),
        ColdPage("aidmp_list", [ColdRequest(path) for path in aidmp]),
        ColdPage(
            "institution_list",
            [
                ColdRequest(path, secret_id=signing[n % COLD_KEYS][0].secret_id, secret=signing[n % COLD_KEYS][1])
                for n, path in enumerate(institution)
            ],
        ),
        ColdPage(
            "tensorbay_data_details", [ColdRequest(path, token=token) for path in details_paths for token in tokens]
        ),
        ColdPage("tensorbay_commits", keyed(commits)),
        ColdPage("graviti_dataset_list", keyed(graviti)),
        ColdPage("graviti_sheet_data", keyed(sheet_rows)),
    ]


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


def capture_cold(pages: list[ColdPage]) -> tuple[dict[str, list[str]], dict[str, int], dict[str, list[int]]]:
    """For every cold request: the statements the hub runs for it (once its key's use is recorded), the number
    of signed URLs in its answer (the bare app signs as many), and per page the statement counts."""
    client = Client(HTTP_HOST="127.0.0.1")
    plan: dict[str, list[str]] = {}
    signed: dict[str, int] = {}
    counts: dict[str, list[int]] = {}
    timestamp = int(time.time() * 1000)
    for page in pages:
        for request in page.requests:
            for _attempt in range(2):
                timestamp += 1
                path = request.signed(timestamp) if request.secret_id else request.path
                headers = {"X-Token": request.token} if request.token else {}
                with CaptureQueriesContext(connection) as queries:
                    answer = client.get(path, headers=headers)
                assert answer.status_code == 200, (path, answer.content[:300])
            plan[request.plan_path()] = [query["sql"] for query in queries.captured_queries]
            signed[request.plan_path()] = answer.content.count(b'"url":')
            counts.setdefault(page.name, []).append(len(queries.captured_queries))
    return plan, signed, counts


def cold_script(page: ColdPage, path: Path, duration: int) -> Path:
    """A wrk script that cycles through the page's requests, each wrk thread through its own half of them.

    Signed requests are signed here ahead of the run, one fresh signature per request wrk can send in
    ``duration`` seconds at up to 3000 requests/s, so no signature is ever sent twice.
    """
    lines = ["local requests = {"]
    now = int(time.time() * 1000)
    if page.requests[0].secret_id:
        total = 3000 * duration
        items = [(page.requests[n % len(page.requests)].signed(now + n), "") for n in range(total)]
    else:
        items = [(request.path, request.token) for request in page.requests]
    for target, token in items:
        headers = f'{{["X-Token"] = "{token}"}}' if token else "{}"
        lines.append(f'  {{"{target}", {headers}}},')
    lines += [
        "}",
        "local threads = 0",
        "function setup(thread) thread:set('id', threads); threads = threads + 1 end",
        "function init(args) index = id + 1 end",
        "function request()",
        "  local item = requests[index]",
        "  index = index + 2",
        "  if index > #requests then index = index - #requests end",
        "  return wrk.format('GET', item[1], item[2])",
        "end",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def baseline_checkout(revision: str, directory: Path) -> Path:
    """A worktree of the repository at ``revision``, for the ``before`` server."""
    target = directory / "baseline"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(target), revision], check=True,
                   capture_output=True)  # fmt: skip
    return target


def start(name: str, app: str, port: int, env: dict[str, str], log: Path, chdir: Path = ROOT) -> subprocess.Popen:
    """Start gunicorn with the bench's settings and wait until it answers."""
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
            "--workers", str(WORKERS), "--threads", str(THREADS), "--chdir", str(chdir), "--log-level", "warning",
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


def stop(servers: list[subprocess.Popen]) -> None:
    """Stop the servers; one that does not stop within a minute (a loaded machine) is killed."""
    for server in servers:
        server.terminate()
    for server in servers:
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


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
    parser.add_argument("--baseline", default="", help="a git revision also served cold, as 'before'")
    parser.add_argument("--cold-only", action="store_true", help="skip the single-URL measurement")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    started = time.monotonic()
    call_command("migrate", verbosity=0)
    migrated = time.monotonic()
    pages, key, cold_pages = load(args.datasets)
    loaded = time.monotonic()
    cache.clear()
    plan = capture(pages, key)
    cold_plan, cold_signed, cold_counts = capture_cold(cold_pages)
    print(f"database {urlsplit(DATABASE_URL).path.lstrip('/')}: migrated in {migrated - started:.1f} s, "
          f"{args.datasets} datasets loaded in {loaded - migrated:.1f} s")  # fmt: skip
    print(f"gunicorn gthread, {WORKERS} workers x {THREADS} threads per server, on {os.cpu_count()} cores; "
          f"wrk -t2 -c{args.connections} -d{args.duration}s, {args.rounds} interleaved rounds, medians; "
          f"load average {' '.join(f'{n:.1f}' for n in os.getloadavg())}")  # fmt: skip
    for page in pages:
        print(f"  {page.name}: {page.path} ({len(plan[page.path])} statements)")
    for cold in cold_pages:
        print(f"  {cold.name} cold: {len(cold.requests)} distinct requests, e.g. {cold.requests[-1].path}")
    connection.close()
    with tempfile.TemporaryDirectory(prefix="bench-api-") as scratch:
        directory = Path(scratch)
        (directory / "static").mkdir()
        plan_path = directory / "plan.json"
        plan_path.write_text(json.dumps({**plan, **cold_plan}), encoding="utf-8")
        signed_path = directory / "signed.json"
        signed_path.write_text(json.dumps(cold_signed), encoding="utf-8")
        files = {"MEDIA_ROOT": str(directory / "media"), "STATIC_ROOT": str(directory / "static")}
        bare_env = {"BENCH_BARE_PLAN": str(plan_path), "BENCH_BARE_DATABASE": DATABASE_URL}
        servers_env = {
            "hub": ({"LIST_CACHE_SECONDS": "60", **files}, ROOT),
            "hub_nocache": ({"LIST_CACHE_SECONDS": "0", **files}, ROOT),
            "bare": (bare_env, ROOT),
            "bare_signing": ({**bare_env, "BENCH_BARE_SIGNED": str(signed_path)}, ROOT),
        }
        if args.baseline:
            servers_env["before_nocache"] = (
                {"LIST_CACHE_SECONDS": "0", **files},
                baseline_checkout(args.baseline, directory),
            )
        apps = {name: "bench.bare:application" if name.startswith("bare") else "project.wsgi:application"
                for name in servers_env}  # fmt: skip
        ports = {name: free_port() for name in servers_env}
        servers = [
            start(name, apps[name], ports[name], env, directory / f"{name}.log", chdir)
            for name, (env, chdir) in servers_env.items()
        ]
        try:
            scripts = {}
            for keyed in (False, True):
                script = directory / f"headers-{keyed}.lua"
                script.write_text(f'wrk.headers["X-Token"] = "{key}"\n' if keyed else "\n", encoding="utf-8")
                scripts[keyed] = script
            runs: dict[tuple[str, str], list[Run]] = {}
            if not args.cold_only:
                for page in pages:
                    for name in ("hub", "hub_nocache", "bare"):  # warm every worker's connections and caches
                        drive(f"http://127.0.0.1:{ports[name]}{page.path}", scripts[page.keyed], 1, args.connections)
            cold_servers = ["hub_nocache", "bare_signing", *(["before_nocache"] if args.baseline else [])]
            for cold in cold_pages:
                for name in cold_servers:
                    script = cold_script(cold, directory / "cold-warm.lua", 1)
                    drive(f"http://127.0.0.1:{ports[name]}/", script, 1, args.connections)
            for round_number in range(args.rounds):
                if not args.cold_only:
                    for page in pages:
                        names = ["hub", "hub_nocache", "bare"]
                        for name in names if round_number % 2 == 0 else list(reversed(names)):
                            url = f"http://127.0.0.1:{ports[name]}{page.path}"
                            run = drive(url, scripts[page.keyed], args.duration, args.connections)
                            runs.setdefault((page.name, name), []).append(run)
                for cold in cold_pages:
                    for name in cold_servers if round_number % 2 == 0 else list(reversed(cold_servers)):
                        script = cold_script(cold, directory / f"cold-{cold.name}.lua", args.duration)
                        run = drive(f"http://127.0.0.1:{ports[name]}/", script, args.duration, args.connections)
                        runs.setdefault((f"{cold.name}_cold", name), []).append(run)
        finally:
            stop(servers)
            if args.baseline:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(directory / "baseline")],
                               check=False, capture_output=True)  # fmt: skip
    print(f"load average after: {' '.join(f'{n:.1f}' for n in os.getloadavg())}")
    print(f"{'page':<30}{'server':<16}{'requests/s':>12}{'p99 ms':>10}{'errors':>8}")
    medians: dict[tuple[str, str], float] = {}
    p99s: dict[tuple[str, str], float] = {}
    for (page_name, name), page_runs in runs.items():
        medians[page_name, name] = statistics.median(run.requests_per_second for run in page_runs)
        p99s[page_name, name] = statistics.median(run.p99_ms for run in page_runs)
        errors = sum(run.errors for run in page_runs)
        print(f"{page_name:<30}{name:<16}{medians[page_name, name]:>12.1f}{p99s[page_name, name]:>10.1f}{errors:>8}")
    if not args.cold_only:
        for page in pages:
            on, off = medians[page.name, "hub"], medians[page.name, "hub_nocache"]
            print(f"CACHE {page.name} on={on:.1f} off={off:.1f} speedup={on / off:.2f}")
        for page in pages:
            print(f"RATIO {page.name}_vs_bare={medians[page.name, 'hub'] / medians[page.name, 'bare']:.2f}")
    for cold in cold_pages:
        name = f"{cold.name}_cold"
        hub, bare = medians[name, "hub_nocache"], medians[name, "bare_signing"]
        counts = cold_counts[cold.name]
        print(f"COLD {cold.name} hub={hub:.1f}/s p99={p99s[name, 'hub_nocache']:.1f}ms "
              f"bare={bare:.1f}/s p99={p99s[name, 'bare_signing']:.1f}ms "
              f"queries/request={min(counts)}-{max(counts)}")  # fmt: skip
        if args.baseline:
            before = medians[name, "before_nocache"]
            print(f"COLD {cold.name} before={before:.1f}/s p99={p99s[name, 'before_nocache']:.1f}ms "
                  f"after={hub:.1f}/s speedup={hub / before:.2f}")  # fmt: skip
    for cold in cold_pages:
        name = f"{cold.name}_cold"
        print(f"RATIO {cold.name}_cold_vs_bare={medians[name, 'hub_nocache'] / medians[name, 'bare_signing']:.2f}")
        if args.baseline:
            ratio = medians[name, "before_nocache"] / medians[name, "bare_signing"]
            print(f"RATIO {cold.name}_cold_before_vs_bare={ratio:.2f}")
    print(f"elapsed {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
