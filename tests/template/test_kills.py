"""The commands that change the repository (`make update`, `make service`, `make release`)
killed by any signal at any point, and git used in another shell meanwhile: the user's index
is never changed, each service is whole, and the next command a user runs (the ones the
project prints) neither commits a loss nor calls a half-written service current."""

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hooks.core import journal
from tests.support.helpers import (
    REPO,
    commit_all,
    git,
    make,
    release,
    repo_with_services,
    start_make,
)
from tests.support.processes import alive, rollout_workers
from tests.support.updates import HISTORY_CHANGE, README_CHANGE, recorded, row

NAMES = ["svc0", "svc1", "svc2"]


def released_repo(tmp_path: Path) -> Path:
    repo = repo_with_services(tmp_path / "repo", {name: [] for name in NAMES})
    commit_all(repo, "add services")
    release(repo, "v0.2.0", {**README_CHANGE, **HISTORY_CHANGE})
    return repo


def assert_whole(repo: Path, name: str) -> None:
    """Fully at v0.2.0, or exactly as committed at v0.1.0."""
    service = repo / "services" / name
    if recorded(service) == "v0.2.0":
        assert "## Run it locally" in (service / "README.md").read_text()
        assert "revisionHistoryLimit: 3" in (service / "k8s/base/deployment.yaml").read_text()
    else:
        assert git(repo, "status", "--porcelain", "--", f"services/{name}") == "", name


@pytest.mark.parametrize(
    ("sig", "seed"),
    [(signal.SIGHUP, 1), (signal.SIGQUIT, 2), (signal.SIGKILL, 3), (signal.SIGKILL, 4)],
    ids=["SIGHUP", "SIGQUIT", "SIGKILL-a", "SIGKILL-b"],
)
def test_a_kill_anywhere_leaves_the_index_and_every_service_whole(
    tmp_path: Path, sig: signal.Signals, seed: int
) -> None:
    repo = released_repo(tmp_path)
    chance = random.Random(seed)  # noqa: S311 - spreads the kills, not security
    for _ in range(3):
        process = start_make(repo, tmp_path, "update")
        time.sleep(chance.uniform(0.3, 8.0))
        os.killpg(process.pid, sig)  # the whole group, as a closed terminal does
        _, errors = process.communicate(timeout=120)
        assert "Traceback" not in errors
        assert git(repo, "diff", "--cached", "--name-only") == ""  # the user's index, as it was
        # What the project prints next: a new service, added and committed.
        made = make(repo, "service", "name=extra")
        assert made.returncode == 0, made.stderr
        assert git(repo, "diff", "--cached", "--name-only") == ""
        git(repo, "add", "services/extra")
        git(repo, "commit", "-qm", "Add extra service")
        committed = git(repo, "show", "--name-status", "--format=", "HEAD").splitlines()
        assert committed and all(line.startswith("A\tservices/extra/") for line in committed), (
            committed
        )
        for name in NAMES:
            assert_whole(repo, name)
        git(repo, "reset", "-q", "--hard", "HEAD~1")
        shutil.rmtree(repo / "services/extra")  # its ignored env files too
    rerun = make(repo, "update")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert {recorded(repo / "services" / name) for name in NAMES} == {"v0.2.0"}


KILL_WHILE_WRITING = """
import os, signal, sys
from hooks.core import journal
written = 0
real = journal.Content.write
def write_then_die(self, path):
    global written
    real(self, path)
    written += 1
    if written == int(sys.argv[1]):
        os.kill(os.getpid(), signal.SIGKILL)
journal.Content.write = write_then_die
from hooks.cli import main
sys.exit(main(["update", "--name", "svc0"]))
"""


def kill_while_writing(repo: Path, after: int) -> None:
    """`make update name=svc0`, SIGKILLed after `after` files of svc0 were written."""
    killed = subprocess.run(
        [sys.executable, "-c", KILL_WHILE_WRITING, str(after)],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr


@pytest.mark.parametrize("after", [1, 2])
@pytest.mark.parametrize("entry", ["update", "service", "check"])
def test_an_update_killed_while_writing_is_undone_by_the_next_command(
    tmp_path: Path, after: int, entry: str
) -> None:
    repo = released_repo(tmp_path)
    kill_while_writing(repo, after)
    half = git(repo, "status", "--porcelain", "--", "services/svc0").splitlines()
    assert len(half) == after  # the kill landed mid-way: some files written, not all

    command = {
        "update": ["update", "name=svc0"],
        "service": ["service", "name=extra"],
        "check": ["check", "args=-k no_conflicts"],
    }[entry]
    result = make(repo, *command)

    assert "services/svc0: an update was interrupted while writing it; undone" in result.stdout
    if entry == "update":
        assert result.returncode == 0, result.stdout + result.stderr
        assert row(result.stdout, "svc0")[3] == "updated"
        assert_whole(repo, "svc0")
        assert recorded(repo / "services/svc0") == "v0.2.0"
    else:
        assert git(repo, "status", "--porcelain", "--", "services/svc0") == ""
    assert git(repo, "diff", "--cached", "--name-only") == ""


def test_an_edit_made_after_the_kill_is_kept_and_named(tmp_path: Path) -> None:
    repo = released_repo(tmp_path)
    kill_while_writing(repo, 2)
    [first, *_] = [line[3:] for line in git(repo, "status", "--porcelain").splitlines()]
    (repo / first).write_text("mine, written after the kill\n")
    result = make(repo, "update", "name=svc0")
    assert f"kept your later changes to {first.removeprefix('services/svc0/')}" in result.stdout
    assert (repo / first).read_text() == "mine, written after the kill\n"


def test_git_commands_in_another_shell_never_see_a_changed_index(tmp_path: Path) -> None:
    names = [f"svc{n}" for n in range(4)]
    repo = repo_with_services(tmp_path / "repo", {name: [] for name in names})
    commit_all(repo, "add services")
    release(repo, "v0.2.0", README_CHANGE)
    (repo / "docs" / "notes.md").write_text("the user's work in progress\n")
    git(repo, "add", "docs/notes.md")  # staged before the update: must stay staged, alone

    update = start_make(repo, tmp_path, "update")
    seen: list[list[str]] = []
    stop = threading.Event()

    def another_shell() -> None:
        while not stop.is_set():
            staged = git(repo, "diff", "--cached", "--name-status").splitlines()
            seen.append(staged)
            git(repo, "status", "--porcelain")
            git(repo, "stash", "list")

    shell = threading.Thread(target=another_shell)
    shell.start()
    output, errors = update.communicate(timeout=300)
    stop.set()
    shell.join()

    assert update.returncode == 0, output + errors
    assert len(seen) > 5  # the other shell ran all along
    assert all(staged == ["A\tdocs/notes.md"] for staged in seen)
    git(repo, "commit", "-qm", "the user's commit, made after the update")
    committed = git(repo, "show", "--name-status", "--format=", "HEAD").splitlines()
    assert committed == ["A\tdocs/notes.md"]
    assert {recorded(repo / "services" / name) for name in names} == {"v0.2.0"}


def test_the_update_killed_alone_leaves_no_worker_behind(tmp_path: Path) -> None:
    """The OOM killer, or kill -9 PID, stops the update and not its workers' group: the
    workers die with it, so nothing keeps writing while the next command runs."""
    repo = released_repo(tmp_path)
    update = start_make(repo, tmp_path, "update")
    assert update.stdout is not None
    for line in update.stdout:
        if line.startswith("updating "):
            break
    main, workers = rollout_workers(repo)
    for worker in workers:  # frozen: without dying with the update they would stay
        os.kill(worker, signal.SIGSTOP)
    try:
        os.kill(main, signal.SIGKILL)
        update.communicate(timeout=120)
        deadline = time.monotonic() + 30
        while any(alive(worker) for worker in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(worker) for worker in workers)
    finally:
        for worker in workers:
            if alive(worker):
                os.kill(worker, signal.SIGKILL)
    rerun = make(repo, "update")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert {recorded(repo / "services" / name) for name in NAMES} == {"v0.2.0"}
    assert git(repo, "diff", "--cached", "--name-only") == ""


def test_a_commit_in_another_shell_during_the_update_commits_only_what_was_staged(
    tmp_path: Path,
) -> None:
    repo = released_repo(tmp_path)
    update = start_make(repo, tmp_path, "update")
    assert update.stdout is not None
    for line in update.stdout:
        if line.startswith("[1/3]"):  # one service written, the others still to come
            break
    (repo / "docs" / "mine.md").write_text("committed mid-update\n")
    git(repo, "add", "docs/mine.md")
    git(repo, "commit", "-qm", "the user's commit, made during the update")
    rest, errors = update.communicate(timeout=300)
    committed = git(repo, "show", "--name-status", "--format=", "HEAD").splitlines()
    assert committed == ["A\tdocs/mine.md"]
    assert update.returncode == 0, rest + errors
    assert {recorded(repo / "services" / name) for name in NAMES} == {"v0.2.0"}


@pytest.mark.parametrize("seed", [5, 6])
def test_make_service_killed_anywhere_leaves_nothing_and_the_rerun_works(
    tmp_path: Path, seed: int
) -> None:
    repo = repo_with_services(tmp_path / "repo", {})
    chance = random.Random(seed)  # noqa: S311 - spreads the kills, not security
    for _ in range(3):
        process = start_make(repo, tmp_path, "service", "name=orders")
        time.sleep(chance.uniform(0.2, 3.0))
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=60)
        service = repo / "services/orders"
        if service.exists():  # it got through: whole, then
            assert (service / "src/orders/main.py").is_file()
            assert (service / ".copier-answers.yml").is_file()
            shutil.rmtree(service)
        assert git(repo, "status", "--porcelain", "--", "services") == ""
    again = make(repo, "service", "name=orders")
    assert again.returncode == 0, again.stderr
    assert not (repo / ".cache/scratch").exists()


@pytest.mark.parametrize("seed", [7, 8])
def test_make_release_killed_anywhere_is_finished_by_running_it_again(
    tmp_path: Path, seed: int
) -> None:
    repo = repo_with_services(tmp_path / "repo", {}, tag=None)
    chance = random.Random(seed)  # noqa: S311 - spreads the kills, not security
    process = start_make(repo, tmp_path, "release", "version=0.2.0")
    time.sleep(chance.uniform(0.0, 1.5))
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    again = make(repo, "release", "version=0.2.0")
    tags = git(repo, "tag", "--list").split()
    if again.returncode:  # the first run had finished
        assert "v0.2.0 already exists" in again.stderr
    assert tags == ["v0.2.0"]
    assert git(repo, "rev-parse", "v0.2.0^{commit}") == git(repo, "rev-parse", "HEAD")
    assert "## v0.2.0 - " in git(repo, "show", "v0.2.0:CHANGELOG.md")


KILL_BEFORE_RENAME = """
import os, signal, sys
renamed = 0
real = os.replace
def replace_or_die(source, target):
    global renamed
    if str(source).endswith(".journal-tmp"):
        renamed += 1
        if renamed == int(sys.argv[1]):
            os.kill(os.getpid(), signal.SIGKILL)
    real(source, target)
os.replace = replace_or_die
from hooks.cli import main
sys.exit(main(["update", "--name", "svc0"]))
"""


def leftovers(repo: Path) -> list[str]:
    found = git(repo, "status", "--porcelain", "--ignored", "--untracked-files=all")
    return [line for line in found.splitlines() if "journal-tmp" in line]


def test_a_file_written_but_not_yet_renamed_when_killed_leaves_nothing(tmp_path: Path) -> None:
    repo = released_repo(tmp_path)
    killed = subprocess.run(
        [sys.executable, "-c", KILL_BEFORE_RENAME, "2"],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert leftovers(repo)  # the kill landed between writing a file and renaming it
    result = make(repo, "update", "name=svc0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "services/svc0: an update was interrupted while writing it; undone" in result.stdout
    assert leftovers(repo) == []
    assert recorded(repo / "services/svc0") == "v0.2.0"
    assert_whole(repo, "svc0")


SIGNAL_WHILE_WRITING = """
import os, signal, sys
from hooks.core import journal
real = journal.Content.write
def write_then_signal(self, path):
    real(self, path)
    os.kill(os.getpid(), signal.SIGHUP)  # to the process: any thread not blocking it takes it
journal.Content.write = write_then_signal
from hooks.cli import main
sys.exit(main(["update"]))
"""


def test_a_signal_while_a_service_is_written_waits_for_the_whole_service(tmp_path: Path) -> None:
    """The rollout's threads (update/parallel) never take a signal its writes hold back."""
    repo = released_repo(tmp_path)
    stopped = subprocess.run(
        [sys.executable, "-c", SIGNAL_WHILE_WRITING],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
    )
    assert stopped.returncode != 0, stopped.stdout
    assert "interrupted" in stopped.stdout + stopped.stderr
    assert list(journal.pending(repo)) == []  # nothing half-written for the next run to undo
    assert leftovers(repo) == []
    for name in NAMES:
        assert_whole(repo, name)
