"""Services' updates prepared at once, each in a Python process of its own.

A rollout's time is copier's, and copier is single-threaded and holds the GIL: processes,
as many as there are cores, are what makes fifty services take a fraction of the time. A
worker is `python -m hooks.update.parallel`: the work comes pickled on its stdin and the
prepared update (rollout.Prepared) goes pickled to its stdout. It writes only in its own
scratch folder; the rollout alone writes to the repository, one service at a time.

Stopping: workers run in a session of their own, out of reach of the terminal's signals
(Ctrl-C, a closed terminal), which are the rollout's to handle: it kills its workers and says
what was done. A worker also dies with the rollout however that dies (kill -9 included), so
nothing outlives it to write in the scratch folder the next run clears. Plain subprocesses
rather than multiprocessing: its resource tracker, in the terminal's process group, prints a
traceback when the terminal closes.
"""

import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from hooks.core.signals import die_with_parent
from hooks.update import reuse

# Updates prepared at once.
JOBS = os.cpu_count() or 1

# Where `hooks` is imported from, for the workers.
HOOKS_HOME = Path(__file__).resolve().parents[2]


def run(
    work: list[tuple[Any, ...]],
    cache: Path,
    prepare: Callable[..., Any],
    crashed: Callable[[tuple[Any, ...], str], Any],
) -> Iterator[Any]:
    """`prepare(*item)` for each item, each result as it is ready: in this process for a
    single item, else in workers. A worker that ends without a result gives
    `crashed(item, why)`."""
    if len(work) <= 1 or JOBS == 1:
        for item in work:
            yield prepare(*item)
        return
    started: list[subprocess.Popen[bytes]] = []
    stopping = threading.Event()
    guard = threading.Lock()

    def in_worker(item: tuple[Any, ...]) -> Any:
        with guard:
            if stopping.is_set():
                return None
            process = subprocess.Popen(
                [sys.executable, "-m", "hooks.update.parallel", str(cache), str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=Path.cwd(),
                env={**os.environ, "PYTHONPATH": str(HOOKS_HOME)},
                start_new_session=True,
            )
            started.append(process)
        output, _ = process.communicate(pickle.dumps(item))
        if process.returncode != 0:
            return crashed(item, f"its worker ended with exit status {process.returncode}")
        return pickle.loads(output)  # noqa: S301 - our own worker's answer

    with ThreadPoolExecutor(min(JOBS, len(work))) as pool:
        futures = [pool.submit(in_worker, item) for item in work]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            with guard:
                stopping.set()
                for process in started:
                    process.kill()
            raise


def _worker() -> None:
    from hooks.update.rollout import prepare  # rollout starts workers: imported here

    cache, parent = Path(sys.argv[1]), int(sys.argv[2])
    die_with_parent(parent)
    answer = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # what anything prints stays apart
    item = pickle.load(sys.stdin.buffer)  # noqa: S301 - from the rollout that started us
    with reuse.installed(cache):
        prepared = prepare(*item)
    pickle.dump(prepared, answer)
    answer.close()


if __name__ == "__main__":
    _worker()
