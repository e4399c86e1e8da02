"""The benchmark's own arithmetic (never timings: those are read from `make bench`)."""

import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import Series, Target, percentile
from bench.scenarios import quantity
from bench.suite import outcome


@pytest.mark.parametrize(
    ("text", "value"),
    [("50m", 0.05), ("2", 2.0), ("96Mi", 96 * 2**20), ("3Gi", 3 * 2**30), ("1.5", 1.5)],
)
def test_kubernetes_quantities_are_parsed(text: str, value: float) -> None:
    assert quantity(text) == pytest.approx(value)


def test_a_target_says_met_or_by_how_much_it_is_missed() -> None:
    assert Target("reload (s)", 1.5, 2).row().endswith("| met |")
    assert "missed by 50%" in Target("reload (s)", 3.0, 2).row()
    assert "missed by 25%" in Target("fit", 15, 20, higher_is_better=True).row()
    assert "not measured" in Target("reload (s)", None, 2).row()


def test_a_series_reports_median_min_max_and_runs() -> None:
    row = Series("start", "s", [3.0, 1.0, 2.0]).row()
    assert row == "| start | 2 s | 1 | 3 | 3 |"


@pytest.mark.parametrize(
    ("fraction", "value"), [(0.5, 50.0), (0.99, 99.0), (1.0, 100.0), (0.0, 1.0)]
)
def test_percentiles_are_nearest_rank(fraction: float, value: float) -> None:
    assert percentile([float(v) for v in range(100, 0, -1)], fraction) == value


def test_the_suite_section_reads_pytest_s_own_summary_and_failures(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(
        "def test_a():\n    pass\n\ndef test_b():\n    1 / 0\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert outcome(run.stdout) == ("1 failed, 1 passed", ["test_sample.py::test_b"])
