"""Helpers the tests and the benchmark share: throwaway repositories of this template, its
services, and `make` as a user runs it (fixtures live in conftest.py)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from hooks.core.venvs import cached_venv, locked_venv, venv_cache

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache"
# The tests' cached venvs; a throwaway repository's own suite (its `make check`) reuses these.
VENV_CACHE = venv_cache(REPO)
BIN = Path(sys.executable).parent
VENV = Path(sys.prefix)
CHECKOV_VENV = REPO / ".venv-checkov"
HADOLINT = str(BIN / "hadolint")
# The longest names a service and a peer can have (40 characters, copier.yml's limit).
LONGEST_NAME = "a" + "b" * 38 + "z"
LONGEST_PEER = "c" + "d" * 38 + "e"
# This session's venvs stand in for a throwaway repository's own, taken as installed (-o),
# whatever the times of their stamps and of the clone's requirements files; the tests' own
# venvs are this session's too (VENV_CACHE).
VENVS = (
    *(f"VENV={VENV}", f"CHECKOV_VENV={CHECKOV_VENV}"),
    *("-o", f"{VENV}/.installed", "-o", f"{CHECKOV_VENV}/.installed"),
    *("-o", ".cache/test-venvs.installed"),
)
# The longest modules (`make test args=--durations=0`) start first in a parallel run, so
# that short ones, not a long one begun last, fill its end. Only the order depends on this.
LONGEST_FIRST = (
    "test_dev_loop.py",
    "test_database.py",
    "test_ci_rollout_pr.py",
    "test_kills.py",
    "test_calls.py",
    "test_database_answer.py",
    "test_env_canaries.py",
    "test_documented_commands.py",
    "test_rollout.py",
    "test_update.py",
    "test_rollout_concurrency.py",
    "test_containers.py",
    "test_load.py",
)


def git(repo: Path, *args: str) -> str:
    """Run git in repo; fail the test with git's message if it fails."""
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    assert result.returncode == 0, f"git {args}: {result.stderr}"
    return result.stdout


def snapshot_repo(destination: Path, tag: str | None = None) -> Path:
    """The working tree (tracked and untracked, not ignored, without generated services) as a
    fresh one-commit repository.

    Tests never depend on this repository's own history, tags or dirty state.
    """
    files = git(REPO, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0")
    for name in filter(None, files):
        if name.startswith("services/") and name.count("/") > 1:
            continue  # generated services record commits that exist only in this repo
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-qm", "template snapshot")
    if tag:
        git(destination, "tag", tag)
    return destination


def make(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`make` as a user runs it, with this session's venvs standing in for the repo's."""
    return subprocess.run(
        ["make", "--no-print-directory", *VENVS, *args],
        cwd=repo,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def start_make(repo: Path, tmpdir: Path, *args: str) -> subprocess.Popen[str]:
    """`make` in the background, in a process group of its own (to signal it as Ctrl-C
    would), with a temp dir of its own to check afterwards."""
    return subprocess.Popen(
        ["make", "--no-print-directory", *VENVS, *args],
        cwd=repo,
        env={**os.environ, "TMPDIR": str(tmpdir)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def edit(path: Path, old: str, new: str) -> None:
    """Replace text that must be there."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


def release(repo: Path, version: str, edits: dict[str, tuple[str, str]]) -> None:
    """A new template release: edits to template files (path -> old, new), committed, tagged."""
    for path, (old, new) in edits.items():
        edit(repo / path, old, new)
    commit_all(repo, f"template {version}")
    git(repo, "tag", version)


def add_service(
    repo: Path, name: str, data: list[str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`make service name=<name>` (the hook behind it), with answers as KEY=VALUE."""
    arguments = [arg for pair in data or [] for arg in ("--data", pair)]
    return subprocess.run(
        [sys.executable, "-m", "hooks", "new-service", *arguments, "--", name],
        cwd=repo,
        check=check,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    """hadolint as the checks run it: warnings fail."""
    return subprocess.run(
        [HADOLINT, "--failure-threshold", "warning", "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
    )


def repo_with_services(
    destination: Path, services: dict[str, list[str]], tag: str | None = "v0.1.0"
) -> Path:
    """This repository (tagged as a release, unless tag=None) plus the given services.

    Generation is a function of the template, the tag and the services in order (a port is the
    lowest free one), so each worker generates a combination once and copies it after that.
    """
    key = json.dumps([tag, list(services.items())])
    if key not in _GENERATED:
        repo = snapshot_repo(Path(_GENERATED_ROOT.name) / str(len(_GENERATED)), tag=tag)
        (repo / ".venv").symlink_to(sys.prefix)  # as `make` bootstraps it; the Tiltfile runs hooks
        for name, data in services.items():
            add_service(repo, name, data)
        _GENERATED[key] = repo
    shutil.copytree(_GENERATED[key], destination, symlinks=True, dirs_exist_ok=True)
    return destination


_GENERATED: dict[str, Path] = {}  # repo_with_services' combinations, by their inputs
_GENERATED_ROOT = tempfile.TemporaryDirectory(prefix="generated-")  # removed at exit


def stand_in_venvs(repo: Path) -> None:
    """The project's venvs in a clone as `make` leaves them: this session's, entry by entry,
    with stamps of their own, so that `make` as printed installs nothing."""
    for name, source in ((".venv", Path(sys.prefix)), (".venv-checkov", REPO / ".venv-checkov")):
        (repo / name).mkdir()
        for entry in source.iterdir():
            if entry.name != ".installed":
                (repo / name / entry.name).symlink_to(entry)
        (repo / name / ".installed").touch()


TEMPLATE_LOCKS = REPO / "template" / "locks"  # one folder per variant (hooks/update/pins.py)


def service_venv(lock: Path = TEMPLATE_LOCKS / "base" / "requirements-dev.lock") -> Path:
    """A venv with a service's locked dev dependencies (the template's base variant's by
    default)."""
    return locked_venv(VENV_CACHE, lock)


def crd_venv() -> Path:
    """A venv with the Prometheus Operator CRD models (tests/crd_schema.py runs in it)."""
    crd = REPO / "tests" / "support" / "requirements-crd.txt"
    return cached_venv(VENV_CACHE, "crd-venv", crd, "--no-deps")


def make_in_service(
    service: Path, *targets: str, args: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The service's own `make` targets, in the cached venv of its requirements-dev.lock
    (`args` for pytest, `env` over this process's environment)."""
    venv = service_venv(service / "requirements-dev.lock").parent.parent
    settings = [f"VENV={venv}", "-o", f"{venv}/.installed", f"args=-p no:cacheprovider {args}"]
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(service), *targets, *settings],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


if __name__ == "__main__":
    # `make test` builds the tests' own venvs first, so that the suite runs offline.
    for variant_lock in sorted(TEMPLATE_LOCKS.glob("*/requirements-dev.lock")):
        service_venv(variant_lock)
    crd_venv()
