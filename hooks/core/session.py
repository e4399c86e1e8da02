"""One generation or rollout at a time per repository, and nothing left behind by either.

`make service` and `make update` both change services/ and copier's scratch copies: two
at once would corrupt each other's runs. Each takes the repository's lock (refusing, with
who holds it, when another runs), sends copier's temporary files to a scratch folder of its
own, and removes that folder however it ends: SIGTERM is turned into the same
KeyboardInterrupt as Ctrl-C, so every cleanup runs.
"""

import fcntl
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from hooks.core.gitrepo import git_path
from hooks.errors import HookError

LOCK_NAME = "services.lock"
SCRATCH = Path(".cache") / "scratch"


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def signals_blocked() -> Iterator[None]:
    """Let a restore finish before Ctrl-C or SIGTERM can cut it short."""
    blocked = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def children_stderr_held() -> Iterator[None]:
    """Hold what copier and its tasks write to stderr; show it afterwards, unless the run was
    interrupted. Ctrl-C reaches the whole process group, so a task's Python still starting
    up would print a fatal error of its own beside our one line."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        interrupted = False
        try:
            yield
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            with signals_blocked():
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                if not interrupted:
                    held.seek(0)
                    sys.stderr.buffer.write(held.read())
                    sys.stderr.flush()


def ignore_interruptions() -> None:
    """From here on Ctrl-C and SIGTERM are dropped, those already pending included."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_IGN)


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


@contextmanager
def exclusive(repo: Path, what: str) -> Iterator[Path]:
    """Hold the repository's lock for `what`; yield a scratch folder that copier uses as
    its temp dir, removed on the way out (Ctrl-C and SIGTERM included)."""
    with _locked(repo, what):
        previous_handler = signal.signal(signal.SIGTERM, _interrupt)
        previous_tempdir = tempfile.tempdir
        try:
            # Holding the lock, no other run can own what an interrupted run left here.
            shutil.rmtree(repo / SCRATCH, ignore_errors=True)
            (repo / SCRATCH).mkdir(parents=True)
            scratch = Path(tempfile.mkdtemp(dir=repo / SCRATCH))
            tempfile.tempdir = str(scratch)  # copier's clones and old/new copies land here
            yield scratch
        finally:
            with signals_blocked():
                tempfile.tempdir = previous_tempdir
                if signal.getsignal(signal.SIGTERM) == _interrupt:
                    signal.signal(signal.SIGTERM, previous_handler)
                shutil.rmtree(repo / SCRATCH, ignore_errors=True)
