"""One generation or rollout at a time per repository, and nothing left behind by either.

`make service` and `make update` both change services/ and copier's scratch copies: two
at once would corrupt each other's runs. Each takes the repository's lock (refusing, with
who holds it, when another runs), sends copier's temporary files to a scratch folder of its
own, and removes that folder however it ends: SIGTERM, SIGHUP (a closed terminal or SSH
session) and SIGQUIT are turned into the same KeyboardInterrupt as Ctrl-C, so every cleanup
runs. What no handler can catch (`kill -9`, power loss) is covered where it matters: the lock
is the kernel's (released with the process) and the scratch folder is removed by the next
run; an update writes a service through a journal that the next run undoes (core/journal).
"""

import fcntl
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from hooks.core.gitrepo import git_path
from hooks.core.signals import interruptible, signals_blocked
from hooks.errors import HookError

LOCK_NAME = "services.lock"
SCRATCH = Path(".cache") / "scratch"


@contextmanager
def children_stderr_held() -> Iterator[list[str]]:
    """Hold what copier and its tasks write to stderr; show it afterwards, unless the run was
    interrupted. Ctrl-C reaches the whole process group, so a task's Python still starting
    up would print a fatal error of its own beside our one line. The list yielded receives
    the text once the block ends (a failed task's own message, for the report)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        interrupted, text = False, list[str]()
        try:
            yield text
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            with signals_blocked():
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                held.seek(0)
                text.append(held.read().decode(errors="replace"))
                if not interrupted:
                    sys.stderr.write(text[0])
                    sys.stderr.flush()


@contextmanager
def _locked(repo: Path, what: str) -> Iterator[None]:
    with git_path(repo, LOCK_NAME).open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise HookError(
                f"{holder} is changing this repository's services; wait for it to finish, "
                f"then run {what} again"
            ) from None
        handle.truncate(0)
        handle.write(f"{what} (pid {os.getpid()})")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)


@dataclass
class Session:
    """A run holding the repository's lock: its scratch folder, and what it found to undo."""

    scratch: Path
    recovered: list[str] = field(default_factory=list)


@contextmanager
def exclusive(repo: Path, what: str) -> Iterator[Session]:
    """Hold the repository's lock for `what`, undo any update a kill cut short, and yield a
    scratch folder that copier uses as its temp dir, removed on the way out."""
    from hooks.core.journal import undo_interrupted

    with _locked(repo, what), interruptible():
        previous_tempdir = tempfile.tempdir
        try:
            # Holding the lock, no other run can own what an interrupted run left here.
            shutil.rmtree(repo / SCRATCH, ignore_errors=True)
            (repo / SCRATCH).mkdir(parents=True)
            scratch = Path(tempfile.mkdtemp(dir=repo / SCRATCH))
            tempfile.tempdir = str(scratch)  # copier's clones and old/new copies land here
            yield Session(scratch, undo_interrupted(repo))
        finally:
            with signals_blocked():
                tempfile.tempdir = previous_tempdir
                shutil.rmtree(repo / SCRATCH, ignore_errors=True)
