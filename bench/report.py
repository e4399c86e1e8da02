"""Timing, summaries and the markdown report: medians, min and max, ratios, targets."""

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def timed(action: Callable[[], object]) -> float:
    """Wall-clock seconds of one call."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


@dataclass
class Series:
    """Repeated measurements of one quantity."""

    name: str
    unit: str
    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def row(self) -> str:
        if not self.values:
            return f"| {self.name} | not measured | | | |"
        low, high = min(self.values), max(self.values)
        return (
            f"| {self.name} | {self.median:.3g} {self.unit} | {low:.3g} | {high:.3g} "
            f"| {len(self.values)} |"
        )


@dataclass
class Target:
    """A target from the benchmark issue, checked by reading this report."""

    what: str
    value: float | None
    limit: float
    higher_is_better: bool = False

    def row(self) -> str:
        if self.value is None:
            return f"| {self.what} | not measured | {self.limit:g} | - |"
        met = self.value >= self.limit if self.higher_is_better else self.value <= self.limit
        verdict = "met" if met else (f"missed by {abs(self.value - self.limit) / self.limit:.0%}")
        return f"| {self.what} | {self.value:.3g} | {self.limit:g} | {verdict} |"


def machine() -> str:
    """Cores, memory and tool versions, for the report's header."""
    memory = next(
        (
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        "0",
    )
    bin_dir = Path(sys.executable).parent

    def version(*command: str) -> str:
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.TimeoutExpired):
            return "absent"
        return out.strip().splitlines()[0] if out.strip() else "absent"

    return "\n".join(
        [
            f"- {os.cpu_count()} cores, {int(memory) / 2**20:.1f} GiB memory, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
            f"- {version(str(bin_dir / 'copier'), '--version')}; "
            f"kubectl {version(str(bin_dir / 'kubectl'), 'version', '--client')}; "
            f"docker {version('/usr/bin/docker', 'version', '--format', '{{.Server.Version}}')}",
        ]
    )


def markdown(sections: list[tuple[str, list[Series], list[str]]], targets: list[Target]) -> str:
    """docs/benchmarks.md: one table per measurement, then the targets."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench`; numbers from one run on:",
        "",
        machine(),
        "",
    ]
    for title, series, notes in sections:
        lines += [f"## {title}", ""]
        if series:  # a section may be notes only (the footprint is computed, not timed)
            lines += [
                "| quantity | median | min | max | runs |",
                "|---|---|---|---|---|",
                *(s.row() for s in series),
                "",
            ]
        lines += [*notes, ""] if notes else []
    lines += [
        "## Targets",
        "",
        "| target | measured | limit | verdict |",
        "|---|---|---|---|",
        *(t.row() for t in targets),
        "",
    ]
    return "\n".join(lines)
