"""The bare WSGI app ``bench/api.py`` measures the hub against: the hub's SQL for each page, and nothing else.

For each path (with its query) in the plan, it runs the statements the hub ran for that page on a raw
DB-API cursor (one connection per thread, kept open as the hub keeps its own), turns every row into a
dict and answers with them as JSON, written by the hub's JSON library (the standard one, as DRF's
renderer uses). Configured by ``BENCH_BARE_PLAN`` (a JSON file ``{path: [sql, …]}``) and
``BENCH_BARE_DATABASE`` (``mysql://user:pass@host:port/name``).

A signed institution request is looked up without its ``Timestamp`` and ``Signature`` (they change with every
request). With ``BENCH_BARE_SIGNED`` (a JSON file ``{path: n}``) it also signs ``n`` download URLs per request
with the hub's signing primitive (``storage_configs.tokens.DownloadSigner``), as the hub does for a page.
"""

import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import MySQLdb
from django.conf import settings

settings.configure(SECRET_KEY="bench-bare-app-signing-key", SECRET_KEY_FALLBACKS=[])

from storage_configs.tokens import DownloadGrant, DownloadSigner  # noqa: E402

PLAN: dict[str, list[str]] = json.loads(Path(os.environ["BENCH_BARE_PLAN"]).read_text(encoding="utf-8"))
SIGNED: dict[str, int] = (
    json.loads(Path(os.environ["BENCH_BARE_SIGNED"]).read_text(encoding="utf-8"))
    if os.environ.get("BENCH_BARE_SIGNED")
    else {}
)
DATABASE = urlsplit(os.environ["BENCH_BARE_DATABASE"])
SIGNATURE_PARAMETERS = ("Timestamp=", "Signature=")
local = threading.local()


def cursor() -> Any:
    """This thread's cursor, connecting on first use."""
    if not hasattr(local, "connection"):
        local.connection = MySQLdb.connect(
            host=DATABASE.hostname or "127.0.0.1",
            port=DATABASE.port or 3306,
            user=unquote(DATABASE.username or "root"),
            password=unquote(DATABASE.password or ""),
            database=DATABASE.path.lstrip("/"),
            charset="utf8mb4",
            autocommit=True,
        )
    return local.connection.cursor()


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Replay the page's statements and answer their rows as JSON."""
    query = environ.get("QUERY_STRING", "")
    if "Signature=" in query:
        query = "&".join(part for part in query.split("&") if not part.startswith(SIGNATURE_PARAMETERS))
    path = environ["PATH_INFO"] + (f"?{query}" if query else "")
    statements = PLAN.get(path)
    if statements is None:
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b"{}"]
    results = []
    with cursor() as current:
        for statement in statements:
            current.execute(statement)
            names = [column[0] for column in current.description or ()]
            results.append([dict(zip(names, row, strict=True)) for row in current.fetchall()])
    if SIGNED.get(path):
        expires_at = int(time.time()) + 3600
        signer = DownloadSigner()
        results.append([signer.token(DownloadGrant("hub", f"objects/{n}", expires_at)) for n in range(SIGNED[path])])
    body = json.dumps({"results": results}, ensure_ascii=False, default=str, separators=(",", ":")).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
