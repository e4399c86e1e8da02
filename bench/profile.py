"""Where one service's update spends its time: `make update --name NAME` (one service is
prepared in the rollout's own process) with a timer around each step of
hooks/update/rollout.py and around what copier does inside them. Timers rather than
cProfile, which slows pure-Python code (YAML, Jinja) several times and so misplaces the time.

`python -m bench.profile NAME`, run in the platform repository: its steps as JSON."""

import functools
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.report import Series, timed

# (label, module, attribute path): the outermost call of each is timed.
STEPS = [
    ("the rollout, in all", "hooks.cli", "main"),
    ("a workspace for the service (git)", "hooks.update.workspace", "create"),
    ("copier update", "copier", "run_update"),
    ("in copier: Jinja rendering", "jinja2.environment", "Template.render"),
    ("in copier: the template's tasks (in-process)", "copier._main", "Worker._execute_tasks"),
    ("the call graph's files", "hooks.core.graph", "write_generated"),
    ("locks following the template's pins", "hooks.update.rollout", "follow_template_locks"),
    ("the update written, journaled", "hooks.core.journal", "apply"),
    ("waiting on child processes (git), all steps", "subprocess", "Popen.communicate"),
    ("waiting on child processes (git), all steps", "subprocess", "Popen.wait"),
]
SPAWNED = "child processes started"


@dataclass
class Timings:
    """Seconds and calls per label; a label's calls nested in one of its own count once."""

    seconds: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    under_way: set[str] = field(default_factory=set)

    def timer(self, label: str, real: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(real)
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            if label in self.under_way:
                return real(*args, **kwargs)
            self.under_way.add(label)
            started = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                self.under_way.discard(label)
                self.seconds[label] += time.perf_counter() - started
                self.calls[label] += 1

        return timed_call


def main() -> int:
    import importlib

    timings = Timings()
    for label, module, path in STEPS:
        owner: Any = importlib.import_module(module)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        setattr(owner, name, timings.timer(label, getattr(owner, name)))
    spawn = subprocess.Popen.__init__

    def counted(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
        timings.calls[SPAWNED] += 1
        spawn(self, *args, **kwargs)

    subprocess.Popen.__init__ = counted  # type: ignore[method-assign]
    from hooks.cli import main as hooks_main

    status = hooks_main(["update", "--name", sys.argv[1]])
    print(json.dumps({label: [timings.seconds[label], n] for label, n in timings.calls.items()}))
    return status


def update_profile(repo: Path, name: str) -> tuple[str, list[Series], list[str]]:
    """The steps of `make update` of `name` in `repo`, whose service is behind, once."""
    done: list[subprocess.CompletedProcess[str]] = []
    wall = timed(
        lambda: done.append(
            subprocess.run(
                [sys.executable, "-m", "bench.profile", name],
                cwd=repo,
                check=True,
                capture_output=True,
                text=True,
            )
        )
    )
    steps = json.loads(done[0].stdout.splitlines()[-1])
    rows = [
        "| step | seconds | calls |",
        "|---|---|---|",
        f"| the process, wall | {wall:.2f} | 1 |",
    ]
    for label in dict.fromkeys(label for label, _, _ in STEPS):
        seconds, count = steps.get(label, [0.0, 0])
        rows.append(f"| {label} | {seconds:.2f} | {count} |")
    notes = [
        *rows,
        "",
        f"Child processes started: **{steps.get(SPAWNED, [0, 0])[1]}** (git, for the most part)."
        " The process's wall less the rollout's is Python's start and imports; the steps in"
        " copier are part of copier update, and waiting on git is part of the steps.",
    ]
    return "2b. One service's update, step by step", [], notes


if __name__ == "__main__":
    sys.exit(main())
