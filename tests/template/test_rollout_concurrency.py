"""`make update` beside another run, and under Ctrl-C or SIGTERM: one at a time, each service
whole, and a rerun converges."""

import os
import random
import signal
import time
from pathlib import Path

import pytest

from tests.support.helpers import commit_all, git, make, release, repo_with_services, start_make
from tests.support.updates import HISTORY_CHANGE, README_CHANGE, recorded, row


def lock_holder(repo: Path) -> str:
    lock = repo / ".git" / "services.lock"
    return lock.read_text() if lock.exists() else ""


def test_a_second_rollout_refuses_while_the_first_runs(tmp_path: Path) -> None:
    repo = repo_with_services(tmp_path / "repo", {f"svc{n}": [] for n in range(4)})
    commit_all(repo, "add services")
    release(repo, "v0.2.0", README_CHANGE)
    first = start_make(repo, tmp_path, "update")
    deadline = time.monotonic() + 60
    while "make update" not in lock_holder(repo) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = make(repo, "update")
    output, _ = first.communicate(timeout=300)
    assert second.returncode != 0 and "Traceback" not in second.stderr
    assert "is changing this repository's services; wait for it to finish" in second.stderr
    assert first.returncode == 0, output
    assert {row(output, f"svc{n}")[3] for n in range(4)} == {"updated"}


@pytest.mark.parametrize("seed", [1, 2])
def test_an_interrupted_rollout_leaves_each_service_whole_and_the_rerun_converges(
    tmp_path: Path, seed: int
) -> None:
    names = [f"svc{n}" for n in range(3)]
    repo = repo_with_services(tmp_path / "repo", {name: [] for name in names})
    commit_all(repo, "add services")
    release(repo, "v0.2.0", {**README_CHANGE, **HISTORY_CHANGE})
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    chance = random.Random(seed)  # noqa: S311 - spreads the signals, not security
    # After how many progress lines the signal is sent: 1 is "updating 3 service(s) ...",
    # 2 and 3 each say a service ended.
    stops = [(signal.SIGINT, 1), (signal.SIGTERM, 2), (signal.SIGINT, 3), (signal.SIGTERM, 1)]
    states = set()
    for sig, step in stops:
        process = start_make(repo, tmpdir, "update")
        assert process.stdout is not None
        seen = 0
        for line in process.stdout:  # the signal lands while services are being updated
            seen += line.startswith(("updating ", "[1/3]", "[2/3]"))
            if seen == step:
                break
        time.sleep(chance.uniform(0, 1.0))
        os.killpg(process.pid, sig)
        _, errors = process.communicate(timeout=120)
        assert "Traceback" not in errors
        assert list(tmpdir.iterdir()) == [] and not (repo / ".cache/scratch").exists()
        assert git(repo, "diff", "--cached", "--name-only") == ""  # the user's index, kept
        for name in names:
            service = repo / "services" / name
            if recorded(service) == "v0.2.0":  # fully updated ...
                assert "## Run it locally" in (service / "README.md").read_text()
                assert (
                    "revisionHistoryLimit: 3" in (service / "k8s/base/deployment.yaml").read_text()
                )
            else:  # ... or untouched
                assert git(repo, "status", "--porcelain", "--", f"services/{name}") == ""
        states.add(tuple(recorded(repo / "services" / name) for name in names))
    assert len(states) > 1  # the signals landed at different points of the rollout
    rerun = make(repo, "update")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert {recorded(repo / "services" / name) for name in names} == {"v0.2.0"}
    assert list(tmpdir.iterdir()) == []
