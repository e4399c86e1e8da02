"""Services' updates prepared at once, each in a Python process of its own.

A rollout's time is copier's, and copier is single-threaded and holds the GIL: processes,
as many as there are cores, are what makes fifty services take a fraction of the time. A
worker is `python -m hooks.update.parallel`: services' work comes pickled on its stdin, one
after the other, and each prepared update (rollout.Prepared) goes pickled to its stdout. It
writes only in its own scratch folder; the rollout alone writes to the repository, one
service at a time.

Stopping: workers run in a session of their own, out of reach of the terminal's signals
(Ctrl-C, a closed terminal), which are the rollout's to handle: it kills its workers and says
what was done. A worker also dies with the rollout however that dies (kill -9 included), so
nothing outlives it to write in the scratch folder the next run clears. Plain subprocesses
rather than multiprocessing: its resource tracker, in the terminal's process group, prints a
traceback when the terminal closes.
"""

import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, cast

from hooks.core.signals import STOPPING, die_with_parent, signals_blocked
from hooks.update import reuse

# Updates prepared at once.
JOBS = os.cpu_count() or 1

# Where `hooks` is imported from, for the workers.
HOOKS_HOME = Path(__file__).resolve().parents[2]


def run(
    work: list[Any],
    cache: Path,
    prepare: Callable[..., Any],
    crashed: Callable[[Any, str], Any],
) -> Iterator[Any]:
    """`prepare(item)` for each item, each result as it is ready: in this process for a
    single item, else in JOBS workers, each serving item after item (its imports and
    caches paid once). An item whose worker ends without a result gives
    `crashed(item, why)`, and a new worker takes the rest."""
    if len(work) <= 1 or JOBS == 1:
        for item in work:
            yield prepare(item)
        return
    todo: queue.SimpleQueue[Any] = queue.SimpleQueue()
    for item in work:
        todo.put(item)
    results: queue.SimpleQueue[Any] = queue.SimpleQueue()
    started: list[subprocess.Popen[bytes]] = []
    stopping = threading.Event()
    guard = threading.Lock()

    def start() -> subprocess.Popen[bytes] | None:
        with guard:
            if stopping.is_set():
                return None
            process = subprocess.Popen(
                [sys.executable, "-m", "hooks.update.parallel", str(cache), str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": str(HOOKS_HOME)},
                start_new_session=True,
            )
            started.append(process)
            return process

    def serve() -> None:
        process = start()
        while process is not None and not stopping.is_set():
            try:
                item = todo.get_nowait()
            except queue.Empty:
                break
            try:
                stdin, stdout = cast(IO[bytes], process.stdin), cast(IO[bytes], process.stdout)
                pickle.dump(item, stdin)
                stdin.flush()
                results.put(pickle.load(stdout))  # noqa: S301 - our own worker's
            except Exception:  # the worker died: this item failed, a new worker goes on
                process.kill()
                results.put(crashed(item, f"its worker ended (exit status {process.wait()})"))
                process = start()
        if process is not None and process.stdin is not None:
            process.stdin.close()  # the worker's cue to end

    threads = [threading.Thread(target=serve, daemon=True) for _ in range(min(JOBS, len(work)))]
    # Started with the stopping signals blocked, which they keep: a signal then goes to this
    # thread alone, so that signals_blocked() here holds it back from a write for the whole
    # process (a signal mask is per thread, and the kernel hands a signal to any thread that
    # does not block it).
    with signals_blocked():
        for thread in threads:
            thread.start()
    try:
        for _ in work:
            while True:
                try:
                    yield results.get(timeout=0.2)  # a timeout lets signals through
                    break
                except queue.Empty:
                    continue
    except BaseException:
        with guard:
            stopping.set()
            for process in started:
                process.kill()
        raise
    finally:
        for thread in threads:
            thread.join()
        for process in started:
            process.wait()


def _worker() -> None:
    from hooks.update.rollout import prepare  # rollout starts workers: imported here

    cache, parent = Path(sys.argv[1]), int(sys.argv[2])
    die_with_parent(parent)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPPING)  # its starter's mask, not its own
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # what anything prints stays apart
    with reuse.installed(cache):
        while True:
            try:
                item = pickle.load(sys.stdin.buffer)  # noqa: S301 - from our rollout
            except EOFError:
                return
            pickle.dump(prepare(item), answers)
            answers.flush()


if __name__ == "__main__":
    _worker()
