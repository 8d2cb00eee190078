"""Fuzz every dialect at length: tests/acceptance/test_fuzz.py with thousands of cases, on MariaDB and Redis.

Run ``python bench/fuzz.py [CASES]`` (default 2000 per dialect). ``DATABASE_URL`` and ``REDIS_URL`` are used
when set; otherwise a ``datasethub_bench_fuzz`` database on the local MariaDB and Redis database 15. Prints
``FUZZ <dialect> cases=<n> server_errors=<n>`` for each dialect and exits non-zero when any check failed.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CASES = 2000


def main() -> int:
    """Run the fuzz module with the full budget and print its per-dialect lines."""
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CASES
    env = {
        **os.environ,
        "FUZZ_CASES": str(cases),
        # The fuzzer sends thousands of requests from loopback: no rate limit may answer for the server.
        "RATE_LIMIT_PER_KEY": "0",
        "RATE_LIMIT_PER_ADDRESS": "0",
    }
    env.setdefault("DATABASE_URL", "mysql://root@127.0.0.1:3306/datasethub_bench_fuzz")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
    env.pop("DB_ENGINE", None)
    command = [sys.executable, "-m", "pytest", "tests/acceptance/test_fuzz.py", "-q", "-s", "-p", "no:cacheprovider"]
    print(f"fuzzing {cases} cases per dialect on {env['DATABASE_URL']} and {env['REDIS_URL']}", flush=True)
    output: list[str] = []
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as pytest_run:
        assert pytest_run.stdout is not None
        for line in pytest_run.stdout:
            output.append(line)
            for figure in re.findall(r"FUZZ \w+ cases=\d+ server_errors=\d+", line):
                print(figure, flush=True)
    if pytest_run.returncode != 0:
        print("".join(output[-400:]), file=sys.stderr)
    return pytest_run.returncode


if __name__ == "__main__":
    sys.exit(main())
