"""What copier may see and touch during one service's update, and the proof that it kept out.

`private_index`: while copier updates a service, the repository's index holds only that
service as committed, so copier's tree of "the project" (and the diff it applies at the
repository root) covers the service alone. The user's index is put back afterwards.
`WorktreeSnapshot`: a tree of every file git does not ignore, taken with an index of its
own, to show that nothing outside the service moved.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hooks.core.gitrepo import git, git_path
from hooks.core.session import signals_blocked

SAVED_INDEX = "index.before-update"


def restore_saved_index(repo: Path) -> None:
    """Put back the user's index if a run was killed before it could (SIGKILL, power)."""
    saved = git_path(repo, SAVED_INDEX)
    if saved.exists():
        os.replace(saved, git_path(repo, "index"))


@contextmanager
def private_index(repo: Path, service: Path) -> Iterator[None]:
    """The index holds only `service`, as HEAD has it, until the block ends."""
    index, saved = git_path(repo, "index"), git_path(repo, SAVED_INDEX)
    relative = service.relative_to(repo).as_posix()
    os.link(index, saved)  # the user's index, kept by a second name
    try:
        only_service = Path(f"{index}.service")
        git(repo, "read-tree", "--empty", index=only_service)
        git(repo, "read-tree", f"--prefix={relative}/", f"HEAD:{relative}", index=only_service)
        os.replace(only_service, index)
        yield
    finally:
        with signals_blocked():
            os.replace(saved, index)


class WorktreeSnapshot:
    """Trees of the working tree (every file git does not ignore), by a private index."""

    def __init__(self, repo: Path, index: Path) -> None:
        self.repo, self.index = repo, index

    def take(self) -> str:
        git(self.repo, "add", "--all", "--", ".", index=self.index)
        return git(self.repo, "write-tree", index=self.index).strip()

    def moved_outside(self, before: str, after: str, service: Path) -> list[str]:
        """Paths outside `service` whose content, presence or mode differs."""
        relative = service.relative_to(self.repo).as_posix()
        changed = git(
            self.repo,
            "diff-tree",
            "-r",
            "--name-only",
            "--no-renames",
            before,
            after,
            "--",
            ".",
            f":(exclude){relative}",
        )
        return changed.split()

    def restore(self, tree: str, paths: list[str]) -> None:
        """Put these paths back as `tree` has them (removing those it lacks)."""
        with signals_blocked():
            for path in paths:
                present = git(self.repo, "ls-tree", "--name-only", tree, "--", path).strip()
                if present:
                    git(
                        self.repo,
                        "restore",
                        f"--source={tree}",
                        "--worktree",
                        "--",
                        path,
                        index=self.index,
                    )
                else:
                    (self.repo / path).unlink(missing_ok=True)
