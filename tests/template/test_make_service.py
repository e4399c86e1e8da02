"""`make service`: generates from a version that exists in git, so every service can update."""

import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hooks.core.answers import read_answers
from tests.support.helpers import VENV, git, make, release, snapshot_repo, start_make


def recorded_commit(service: Path) -> str:
    return read_answers(service)["_commit"]


def copier_update(repo: Path, service: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV / "bin" / "copier"), "update", "--trust", "--defaults", f"services/{service}"],
        cwd=repo,
        capture_output=True,
        text=True,
    )


README = "template/README.md.jinja"


def test_make_service_generates_a_service_and_says_what_next(tmp_path: Path) -> None:
    repo = snapshot_repo(tmp_path)
    result = make(repo, "service", "name=orders", "data=service_port=9000 team=payments")
    assert result.returncode == 0, result.stderr
    service = repo / "services" / "orders"
    answers = read_answers(service)
    assert (answers["service_name"], answers["service_port"], answers["team"]) == (
        "orders",
        9000,
        "payments",
    )
    said = result.stdout + result.stderr  # copier prints its message on stderr
    assert "Service 'orders' is ready in services/orders. Next, from the repository root:" in said
    assert "git add services/orders && git commit" in said and "make dev" in said
    assert "make test name=orders" in said and "make run name=orders" in said
    assert (service / ".env.development").read_text() == (service / ".env.example").read_text()
    # No release yet: HEAD of a clean tree, which exists in git.
    head = git(repo, "rev-parse", "HEAD")
    assert git(repo, "rev-parse", recorded_commit(service)) == head


def test_services_generated_back_to_back_from_a_release_can_each_update(tmp_path: Path) -> None:
    repo = snapshot_repo(tmp_path, tag="v0.1.0")
    for name in ("alpha", "beta"):  # nothing committed in between: the tree is dirty
        result = make(repo, "service", f"name={name}")
        assert result.returncode == 0, result.stderr
        assert recorded_commit(repo / "services" / name) == "v0.1.0"
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "add services")
    release(repo, "v0.2.0", {README: ("## Layout", "A convention from v0.2.0.\n\n## Layout")})
    for name in ("alpha", "beta"):
        result = copier_update(repo, name)
        assert result.returncode == 0, result.stderr
        assert recorded_commit(repo / "services" / name) == "v0.2.0"
        assert "A convention from v0.2.0." in (repo / "services" / name / "README.md").read_text()


@pytest.mark.parametrize("tag", [None, "v0.1.0"], ids=["no-release", "release"])
def test_unreleased_template_changes_are_refused_with_what_to_commit(
    tmp_path: Path, tag: str | None
) -> None:
    repo = snapshot_repo(tmp_path, tag=tag)
    readme = repo / "template" / "README.md.jinja"
    readme.write_text(readme.read_text() + "work in progress\n")
    result = make(repo, "service", "name=orders", "ref=HEAD")
    assert result.returncode != 0
    assert "Commit them first (git add -A && git commit):\n  template/README.md.jinja" in (
        result.stderr
    )
    assert not (repo / "services" / "orders").exists()


def test_a_second_service_right_after_the_first_needs_no_release_and_no_commit(
    tmp_path: Path,
) -> None:
    # What else is uncommitted (the first service, notes) does not change what copier renders.
    repo = snapshot_repo(tmp_path)
    (repo / "notes.txt").write_text("work in progress")
    for name in ("alpha", "beta"):
        result = make(repo, "service", f"name={name}")
        assert result.returncode == 0, result.stderr
    head = git(repo, "rev-parse", "HEAD")
    for name in ("alpha", "beta"):
        assert git(repo, "rev-parse", recorded_commit(repo / "services" / name)) == head


def files_of(service: Path) -> set[str]:
    """A service's files, with its name taken out."""
    return {str(p.relative_to(service)).replace(service.name, "NAME") for p in service.rglob("*")}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_make_service_leaves_a_whole_service_or_nothing(
    tmp_path: Path, sig: signal.Signals
) -> None:
    repo = snapshot_repo(tmp_path / "repo")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    clean = git(repo, "status", "--porcelain", "--untracked-files=all")
    started = time.monotonic()
    assert make(repo, "service", "name=probe").returncode == 0
    duration = time.monotonic() - started
    whole = files_of(repo / "services" / "probe")
    shutil.rmtree(repo / "services" / "probe")
    outcomes = []
    for step in range(8):  # signals spread over the whole run, copier's task included
        process = start_make(repo, tmpdir, "service", "name=orders")
        time.sleep(duration * (step + 0.5) / 8)
        os.killpg(process.pid, sig)
        process.communicate(timeout=60)
        service = repo / "services" / "orders"
        outcomes.append(service.exists())
        if service.exists():  # finished before the signal, or it came after the last step
            assert files_of(service) == whole
            shutil.rmtree(service)
        assert list(tmpdir.iterdir()) == [] and not (repo / ".cache" / "scratch").exists()
        assert git(repo, "status", "--porcelain", "--untracked-files=all") == clean
    assert not all(outcomes)  # most signals landed while it ran


def test_ctrl_c_at_a_prompt_ends_with_one_line(tmp_path: Path) -> None:
    repo = snapshot_repo(tmp_path)
    main, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "hooks", "new-service", "orders"],
        cwd=repo,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
    )
    os.close(terminal)
    # The first question asked (the name is given): its prompt is its help line.
    prompt = yaml.safe_load((repo / "copier.yml").read_text())["description"]["help"].encode()
    shown = b""
    deadline = time.monotonic() + 60
    while prompt not in shown and time.monotonic() < deadline:
        if select.select([main], [], [], 1)[0]:
            shown += os.read(main, 4096)
    assert prompt in shown, shown
    os.write(main, b"\x03")  # Ctrl-C, as the terminal sends it
    while True:
        try:
            chunk = os.read(main, 4096) if select.select([main], [], [], 10)[0] else b""
        except OSError:  # the process closed the terminal
            chunk = b""
        if not chunk:
            break
        shown += chunk
    process.wait(timeout=30)
    os.close(main)
    text = shown.decode(errors="replace")
    assert process.returncode == 130
    assert "Traceback" not in text
    assert text.strip().splitlines()[-1].endswith("interrupted: nothing half-done was left behind")
    assert not (repo / "services" / "orders").exists()


def test_answers_reach_copier_exactly_as_typed(tmp_path: Path) -> None:
    repo = snapshot_repo(tmp_path / "repo", tag="v0.1.0")
    (repo / ".venv").symlink_to(VENV)
    typed = "costs $5, $(HOME) and $$PATH; or `id` & more"
    result = make(repo, "service", "name=billing", f"data=description='{typed}'")
    assert result.returncode == 0, result.stderr
    assert read_answers(repo / "services/billing")["description"] == typed
