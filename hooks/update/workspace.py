"""Where copier updates a service: a private clone of the repository holding only that
service, never the user's working tree or index.

Copier writes a git tree of its destination's whole index and applies a diff at the
repository's root, so in the user's repository it would see (and could bring back) whatever
else the index holds, and while it ran the index would not be the user's. Here each service
is updated in a clone of its own (objects shared, nothing copied) whose only commit holds
that service as the repository's HEAD has it. What copier changed there is read back as a
list of changes, which update/rollout writes into the real folder through the journal.
"""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hooks.core.gitrepo import git
from hooks.core.journal import Change, Content

# The workspace commit's identity: a CI runner may have none configured.
IDENTITY = {
    "GIT_AUTHOR_NAME": "make update",
    "GIT_AUTHOR_EMAIL": "update@localhost",
    "GIT_COMMITTER_NAME": "make update",
    "GIT_COMMITTER_EMAIL": "update@localhost",
}
CONFLICT_MARKER = "<<<<<<< "


@dataclass
class Workspace:
    """A clone at `root` whose HEAD holds only `relative` (the service's path) of `base`."""

    root: Path
    relative: str

    @property
    def service(self) -> Path:
        return self.root / self.relative


def create(repo: Path, base: str, relative: str, into: Path) -> Workspace:
    """Clone `repo` into `into` (tags and branches, objects shared) and check out a commit
    holding only `relative` as commit `base` has it."""
    git(repo, "clone", "--quiet", "--shared", "--no-checkout", str(repo), str(into))
    git(into, "read-tree", f"--prefix={relative}/", f"{base}:{relative}")
    tree = git(into, "write-tree").strip()
    commit = git(into, "commit-tree", tree, "-m", f"{relative} at {base}", env=IDENTITY).strip()
    git(into, "update-ref", "--no-deref", "HEAD", commit)
    git(into, "checkout-index", "--all")
    return Workspace(into, relative)


@contextmanager
def inside(workspace: Workspace, scratch: Path) -> Iterator[None]:
    """Run copier as if from the workspace's root (the template is `.` to a service of this
    repository), its temporary files in `scratch`."""
    previous_directory, previous_tempdir = Path.cwd(), tempfile.tempdir
    scratch.mkdir(parents=True, exist_ok=True)
    os.chdir(workspace.root)
    tempfile.tempdir = str(scratch)
    try:
        yield
    finally:
        os.chdir(previous_directory)
        tempfile.tempdir = previous_tempdir


def snapshot(folder: Path) -> dict[str, Content]:
    """Every file and link under `folder` (folders themselves aside), by relative path."""
    found = {}
    for directory, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if name != ".git"]
        for name in files + [f for f in folders if Path(directory, f).is_symlink()]:
            path = Path(directory, name)
            content = Content.read(path)
            if content is not None:
                found[path.relative_to(folder).as_posix()] = content
    return found


def changes_between(before: dict[str, Content], after: dict[str, Content]) -> list[Change]:
    """What turns `before` into `after`, path by path, in a stable order."""
    return [
        Change(path, before.get(path), after.get(path))
        for path in sorted(before.keys() | after.keys())
        if before.get(path) != after.get(path)
    ]


def outside_the_service(workspace: Workspace) -> list[str]:
    """Paths of the workspace, besides the service, that anything created or changed."""
    status = git(
        workspace.root,
        "status",
        "--porcelain",
        "--untracked-files=all",
        "--ignored",
        "--",
        ".",
        f":(exclude){workspace.relative}",
    )
    return [line[3:] for line in status.splitlines() if line.strip()]


def conflicts_in(repo: Path, service: Path) -> list[str]:
    """Files of the service with conflict markers, .rej files, or unmerged index entries."""
    relative = str(service.relative_to(repo))
    found = set(git(repo, "diff", "--name-only", "--diff-filter=U", "--", relative).split())
    for path in service.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            name = str(path.relative_to(repo))
            if path.suffix == ".rej":
                found.add(name)
            else:
                try:
                    text = path.read_text()
                except (UnicodeDecodeError, OSError):
                    continue
                if any(line.startswith(CONFLICT_MARKER) for line in text.splitlines()):
                    found.add(name)
    return sorted(found)
