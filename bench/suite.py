"""The whole test suite, once, with every package index unreachable: its wall time, and the
proof that `make test` needs no network once the venvs and images exist."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from bench.report import Series

Section = tuple[str, list[Series], list[str]]
UNREACHABLE = "http://127.0.0.1:9"  # nothing listens there
OFFLINE = {
    "PIP_INDEX_URL": f"{UNREACHABLE}/simple",
    "PIP_NO_INDEX": "1",
    "UV_OFFLINE": "1",
    "HTTP_PROXY": UNREACHABLE,
    "HTTPS_PROXY": UNREACHABLE,
    "NO_PROXY": "127.0.0.1,localhost",  # the cluster, its registry and the port-forwards
}


def suite(repo: Path) -> tuple[Section, float]:
    """11. This repository's suite, run as `make test` runs it (its workers too), offline."""
    before = cpu_times()
    started = time.perf_counter()
    pytest_args = "-q -rfE -p no:cacheprovider"
    result = subprocess.run(
        [sys.executable, "-m", "hooks", "local", "test", "--name", "", "--args", pytest_args],
        cwd=repo,
        env={**os.environ, **OFFLINE},
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    busy, total = (after - first for after, first in zip(cpu_times(), before, strict=True))
    summary, failed = outcome(result.stdout)
    wall = Series("make test, package indexes unreachable", "s", [seconds])
    notes = [
        f"Result: **{summary}** (exit status {result.returncode}); HTTP(S) went to an "
        f"unreachable proxy, loopback excepted: {', '.join(sorted(OFFLINE))}.",
        f"The machine's {os.cpu_count()} cores were busy {busy / total:.0%} of the run "
        f"({busy:.0f} core-seconds: tests, Docker and the cluster): with every core busy, "
        "the suite cannot take less than that divided by the cores.",
        *(f"Failed: `{name}`" for name in failed[:10]),
    ]
    return ("11. Test suite", [wall], notes), seconds / 60


def outcome(stdout: str) -> tuple[str, list[str]]:
    """pytest -q -rfE's last line ("1 failed, 633 passed in 626.00s", bare under -q) and the
    ids of the tests that failed or errored."""
    summary = re.findall(r"^=* ?(\d+ \w.*?) in [\d.]+s", stdout, re.MULTILINE) or ["?"]
    return summary[-1], re.findall(r"^(?:FAILED|ERROR) (\S+)", stdout, re.MULTILINE)


def cpu_times() -> tuple[float, float]:
    """Core-seconds this machine has spent busy, and in all, since boot (/proc/stat)."""
    with open("/proc/stat") as stat:
        ticks = [int(n) for n in stat.readline().split()[1:]]
    hertz = os.sysconf("SC_CLK_TCK")
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks) - idle) / hertz, sum(ticks) / hertz
