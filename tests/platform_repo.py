"""Throwaway copies of this repository with generated services, for platform-level tests."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, snapshot_repo


def add_service(repo: Path, name: str, data: list[str] | None = None) -> None:
    """`make service name=<name>` (the hook behind it), with answers as KEY=VALUE."""
    arguments = [arg for pair in data or [] for arg in ("--data", pair)]
    subprocess.run(
        [sys.executable, "-m", "hooks", "new-service", name, *arguments],
        cwd=repo,
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )


def repo_with_services(
    destination: Path, services: dict[str, list[str]], tag: str | None = "v0.1.0"
) -> Path:
    """This repository (tagged as a release, unless tag=None) plus the given services."""
    repo = snapshot_repo(destination, tag=tag)
    (repo / ".venv").symlink_to(sys.prefix)  # as `make` bootstraps it; the Tiltfile runs hooks
    for name, data in services.items():
        add_service(repo, name, data)
    return repo


def stand_in_venvs(repo: Path) -> None:
    """The project's venvs in a clone as `make` leaves them: this session's, entry by entry,
    with stamps of their own, so that `make` as printed installs nothing."""
    for name, source in ((".venv", Path(sys.prefix)), (".venv-checkov", REPO / ".venv-checkov")):
        (repo / name).mkdir()
        for entry in source.iterdir():
            if entry.name != ".installed":
                (repo / name / entry.name).symlink_to(entry)
        (repo / name / ".installed").touch()
