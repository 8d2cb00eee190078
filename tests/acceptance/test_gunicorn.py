"""The service runs under gunicorn exactly as deployed: ``gunicorn project.wsgi:application``."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_gunicorn_serves_health_and_dialect_errors(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hub.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "project.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                health = urllib.request.urlopen(f"{base}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("gunicorn did not answer /healthz")
        assert health.status == 200
        try:
            urllib.request.urlopen(f"{base}/v2/nowhere", timeout=2)
        except urllib.error.HTTPError as error:
            assert (error.code, error.headers["Content-Type"]) == (404, "application/json")
        else:
            raise AssertionError("an unknown route answered 2xx")
    finally:
        server.terminate()
        server.wait(timeout=10)
