"""What copier's tasks write to stderr during `make service` and `make update`: shown after
a run, dropped after an interruption (when it is the noise of tasks killed mid-start)."""

import subprocess
import sys

import pytest

from hooks.core.session import children_stderr_held


def child_writes(text: str) -> None:
    code = f"import sys; sys.stderr.write({text!r})"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_tasks_stderr_is_shown_after_the_run(capfd: pytest.CaptureFixture[str]) -> None:
    with children_stderr_held():
        child_writes("a task's warning\n")
        assert capfd.readouterr().err == ""  # held while the run goes on
    child_writes("after\n")
    assert capfd.readouterr().err == "a task's warning\nafter\n"


def test_an_interrupted_run_drops_its_tasks_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(KeyboardInterrupt), children_stderr_held():
        child_writes("Fatal Python error: init_import_site: Failed to import the site module\n")
        raise KeyboardInterrupt
    print("interrupted: nothing half-done was left behind", file=sys.stderr)
    assert capfd.readouterr().err == "interrupted: nothing half-done was left behind\n"
