"""The bare WSGI app ``bench/api.py`` measures the hub against: the hub's SQL for each page, and nothing else.

For each path (with its query) in the plan, it runs the statements the hub ran for that page on a raw
DB-API cursor (one connection per thread, kept open as the hub keeps its own), turns every row into a
dict and answers with them as JSON, written by the hub's JSON library (the standard one, as DRF's
renderer uses). Configured by ``BENCH_BARE_PLAN`` (a JSON file ``{path: [sql, …]}``) and
``BENCH_BARE_DATABASE`` (``mysql://user:pass@host:port/name``).
"""

import json
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import MySQLdb

PLAN: dict[str, list[str]] = json.loads(Path(os.environ["BENCH_BARE_PLAN"]).read_text(encoding="utf-8"))
DATABASE = urlsplit(os.environ["BENCH_BARE_DATABASE"])
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
    body = json.dumps({"results": results}, ensure_ascii=False, default=str, separators=(",", ":")).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
