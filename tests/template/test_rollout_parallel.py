"""`make update` prepares services in parallel worker processes and reuses what copier would
redo for each (hooks/update/parallel.py, hooks/update/reuse.py): the result is copier's own,
byte for byte, and a worker's death costs only the service it was preparing."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import REPO, commit_all, edit, git, make, repo_with_services, start_make
from tests.support.processes import rollout_workers
from tests.support.updates import HISTORY_CHANGE, README_CHANGE, files, recorded, row

NAMES = ["alpha", "beta", "gamma", "delta"]

# `make update`, with copier alone: no reuse, one service after the other, in this process.
PLAIN_UPDATE = """
import contextlib, sys
from hooks.update import parallel, reuse, rollout
parallel.JOBS = 1
rollout.reuse.installed = lambda cache: contextlib.nullcontext()
from hooks.cli import main
sys.exit(main(["update"]))
"""


def released_with_edits(repo: Path) -> None:
    """Four services, two with edits of their own (one that conflicts with the release), and
    a release that changes two files, renames one (declared) and adds one."""
    repo_with_services(repo, {name: [] for name in NAMES})
    commit_all(repo, "add services")
    edit(repo / "services/beta/README.md", "## Run it\n", "## Run it, our way\n")  # conflicts
    with (repo / "services/gamma/src/gamma/main.py").open("a") as main:
        main.write("# gamma's own line\n")
    commit_all(repo, "services' own edits")
    for path, (old, new) in {**README_CHANGE, **HISTORY_CHANGE}.items():
        edit(repo / path, old, new)
    (repo / "template/CODEOWNERS.jinja").write_text("* @{{ team }}\n")
    commit_all(repo, "v0.2.0")
    git(repo, "tag", "v0.2.0")


def test_a_parallel_rollout_writes_what_copier_alone_writes(tmp_path: Path) -> None:
    ours = tmp_path / "ours"
    released_with_edits(ours)
    plain = tmp_path / "plain"
    shutil.copytree(ours, plain, symlinks=True)

    parallel = make(ours, "update")
    alone = subprocess.run(
        [sys.executable, "-c", PLAIN_UPDATE],
        cwd=plain,
        env={**os.environ, "PYTHONPATH": str(plain)},
        capture_output=True,
        text=True,
        check=False,
    )

    results = {name: row(parallel.stdout, name)[3] for name in NAMES}
    assert results == {name: row(alone.stdout, name)[3] for name in NAMES}, alone.stderr
    assert results == {
        "alpha": "updated",
        "beta": "conflicts",
        "gamma": "updated",
        "delta": "updated",
    }
    for name in NAMES:
        assert files(ours / "services" / name) == files(plain / "services" / name), name
    assert "# gamma's own line" in (ours / "services/gamma/src/gamma/main.py").read_text()
    assert (ours / "services/delta/CODEOWNERS").read_text() == "* @unassigned\n"
    assert git(ours, "diff", "--cached", "--name-only") == ""


def test_the_templates_tasks_run_here_only_when_its_hooks_are_the_running_ones(
    tmp_path: Path,
) -> None:
    from hooks.update.reuse import _tasks_in_process

    started: list[Any] = []

    class Recorder:
        @staticmethod
        def run(command: Any, **options: Any) -> subprocess.CompletedProcess[str]:
            started.append(command)
            return subprocess.CompletedProcess(command, 0)

    run = _tasks_in_process(Recorder).run
    same = tmp_path / "same" / "hooks"
    shutil.copytree(REPO / "hooks", same, ignore=shutil.ignore_patterns("__pycache__"))
    changed = tmp_path / "changed" / "hooks"
    shutil.copytree(same, changed)
    (changed / "update" / "carry.py").write_text("# a later version\n", encoding="utf-8")
    not_a_service = tmp_path / "empty"
    not_a_service.mkdir()

    here = run([sys.executable, str(same / "__main__.py"), "env-files", str(not_a_service)])
    assert started == [] and here.returncode == 0  # ran here: nothing to create, no error
    there = [sys.executable, str(changed / "__main__.py"), "env-files", str(not_a_service)]
    run(there)
    assert started == [there]  # another version of the hooks: its own Python runs it
    other = ["/usr/bin/env", "python3", "-c", "pass"]
    run(other)
    assert started == [there, other]


def test_a_worker_killed_mid_update_fails_only_its_service_and_a_rerun_converges(
    tmp_path: Path,
) -> None:
    names = [f"svc{n}" for n in range(5)]
    repo = repo_with_services(tmp_path / "repo", {name: [] for name in names})
    commit_all(repo, "add services")
    for path, (old, new) in README_CHANGE.items():
        edit(repo / path, old, new)
    commit_all(repo, "v0.2.0")
    git(repo, "tag", "v0.2.0")
    update = start_make(repo, tmp_path, "update")
    assert update.stdout is not None
    for line in update.stdout:
        if line.startswith("updating "):
            break
    _, workers = rollout_workers(repo)
    os.kill(workers[0], signal.SIGKILL)
    output, errors = update.communicate(timeout=300)

    results = {name: row(output, name)[3] for name in names}
    failed = [name for name, result in results.items() if result == "failed"]
    assert len(failed) <= 1, output  # the one it was preparing, if any
    assert set(results.values()) <= {"updated", "failed"}, output
    for name in failed:
        assert "its worker ended" in output
        assert git(repo, "status", "--porcelain", "--", f"services/{name}") == ""
    assert "Traceback" not in errors
    rerun = make(repo, "update")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert {recorded(repo / "services" / name) for name in names} == {"v0.2.0"}


@pytest.mark.parametrize("count", [1, 3])
def test_the_table_lists_services_in_order_whatever_order_they_finish(
    tmp_path: Path, count: int
) -> None:
    names = [f"svc{n}" for n in reversed(range(count))]
    repo = repo_with_services(tmp_path / "repo", {name: [] for name in names})
    commit_all(repo, "add services")
    for path, (old, new) in README_CHANGE.items():
        edit(repo / path, old, new)
    commit_all(repo, "v0.2.0")
    git(repo, "tag", "v0.2.0")
    result = make(repo, "update")
    assert result.returncode == 0, result.stdout + result.stderr
    table = result.stdout[result.stdout.index("service ") :].splitlines()[1 : count + 1]
    assert [line.split()[0] for line in table] == sorted(names)
    progress = [line for line in result.stdout.splitlines() if line.startswith("[")]
    assert [line.split("]")[0] for line in progress] == [
        f"[{n}/{count}" for n in range(1, count + 1)
    ]
