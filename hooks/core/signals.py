"""Stopping signals: SIGTERM, SIGHUP (a closed terminal or SSH session) and SIGQUIT get the
same care as Ctrl-C, and the few steps that must not be cut in half block them all."""

import ctypes
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

# Every signal a user or a terminal sends to stop a run; SIGINT is Python's KeyboardInterrupt.
STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def signals_blocked() -> Iterator[None]:
    """Let a write or a restore finish before a stopping signal can cut it short."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, set(STOPPING))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def ignore_interruptions() -> None:
    """From here on stopping signals are dropped, those already pending included."""
    for number in STOPPING:
        signal.signal(number, signal.SIG_IGN)


@contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM, SIGHUP and SIGQUIT raise KeyboardInterrupt, as Ctrl-C does, until the end."""
    previous = {number: signal.signal(number, _interrupt) for number in STOPPING[1:]}
    try:
        yield
    finally:
        with signals_blocked():
            for number, handler in previous.items():
                if signal.getsignal(number) == _interrupt:
                    signal.signal(number, handler)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int) -> None:
    """This process gets SIGKILL when `parent`, the process that started it, dies, however it
    dies (Linux; elsewhere a no-op). For helpers whose work only their parent may use."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)
