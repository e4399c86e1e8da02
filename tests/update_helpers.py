"""Template releases and `make` runs for the update tests, on throwaway repositories."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, git

VENV = Path(sys.prefix)
CHECKOV_VENV = REPO / ".venv-checkov"
# This session's venvs stand in for the throwaway repository's own: nothing is installed,
# whatever the times of their stamps and of the clone's requirements files (-o).
VENVS = (
    *(f"VENV={VENV}", f"CHECKOV_VENV={CHECKOV_VENV}"),
    *("-o", f"{VENV}/.installed", "-o", f"{CHECKOV_VENV}/.installed"),
)


def make(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`make` as a user runs it, with this session's venvs standing in for the repo's."""
    return subprocess.run(
        ["make", "--no-print-directory", *VENVS, *args],
        cwd=repo,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
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
